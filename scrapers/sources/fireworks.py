"""Fireworks AI serverless token prices, read from the HTML tables of its serverless pricing docs.

Fireworks has no price API.  The serverless pricing page
(``https://docs.fireworks.ai/serverless/pricing``; ``fireworks.ai/pricing`` links to the
same per-token list) is HTML with:

* a ``Model | Input | Cached input | Output`` table of headline models, USD per 1M tokens.
  Each model name links to its model page ``https://app.fireworks.ai/models/<account>/<slug>``;
  the sku is the API model id built from that link, ``accounts/<account>/models/<slug>``
  (``Kimi K2.6`` -> ``accounts/fireworks/models/kimi-k2p6``), so no display-name mapping
  is kept.  A "family" row (``DeepSeek V3 family``) is priced under the model its link
  names.  Fast variants are their own rows and skus.
* an "Other base models — by size and architecture" table: one price per 1M tokens
  for input and output of any other model, by parameter count.  Each size band is a
  sku ``size-tier:<band>`` (``size-tier:4b-16b-parameters``) with the band's label as note.
* the sentence "Batch inference is billed at 50% of serverless pricing on both input and
  output".  Batch has no table of its own; when the sentence is present, batch input and
  output prices are derived from it (tier ``batch``, note naming the rule).

Embedding prices (per 1M input tokens by parameter count) are not read.
"""

from __future__ import annotations

import re
from decimal import Decimal

from bs4 import BeautifulSoup, Tag

from scrapers.base import PriceRecord, Request, Source, first_repeat, to_decimal

PRICING_URL = "https://docs.fireworks.ai/serverless/pricing"

MODEL_HEADER = ["model", "input", "cached input", "output"]
SIZE_HEADER = ["base model parameter count", "price per 1m tokens"]
_MODEL_LINK_RE = re.compile(r"/models/([a-z0-9][a-z0-9-]*)/([a-z0-9][a-z0-9._-]*)/?$")
_PRICE_RE = re.compile(r"^\$(\d+(?:\.\d+)?)$")
_BATCH_RE = re.compile(r"Batch inference\s+is billed at\s+(\d{1,3})%\s+of serverless pricing on both input and output", re.I)
MAX_PLAUSIBLE_PER_MILLION = Decimal("1000")


def _size_slug(label: str) -> str:
    """``MoE 56.1B - 176B parameters (e.g. DBRX)`` -> ``moe-56-1b-176b-parameters``."""
    label = re.sub(r"\(.*?\)", "", label)
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


def _header(table: Tag) -> list[str]:
    first = table.find("tr")
    if first is None:
        return []
    return [re.sub(r"\s+", " ", c.get_text(" ", strip=True)).lower() for c in first.find_all(["th", "td"])]


class FireworksSource(Source):
    """Fireworks AI's serverless per-token prices, USD per 1M tokens."""

    source_id = "fireworks"
    provider = "fireworks"
    kind = "hosted_api"
    extension = "html"
    expected_skus = ("accounts/fireworks/models/kimi-k2p6", "accounts/fireworks/models/gpt-oss-120b")

    def requests(self) -> list[Request]:
        """One GET of the serverless pricing page."""
        return [Request(url=PRICING_URL, headers={"Accept": "text/html"})]

    def parse(self, payload: bytes) -> list[PriceRecord]:
        """Headline-model and size-tier prices, plus batch prices derived from the page's batch rule."""
        soup = BeautifulSoup(payload, "lxml")
        text = re.sub(r"\s+", " ", soup.get_text(" ", strip=True))
        if "per 1 million tokens" not in text.lower():
            raise self.fail("the page does not state prices 'per 1 million tokens' (not the pricing page?)")

        tables = soup.find_all("table")
        model_tables = [t for t in tables if _header(t) == MODEL_HEADER]
        if not model_tables:
            raise self.fail("no 'Model | Input | Cached input | Output' table (layout changed?)")
        records: list[PriceRecord] = []
        for table in model_tables:
            records += self._model_table(table)
        for table in tables:
            if _header(table) == SIZE_HEADER and self._under_size_heading(table):
                records += self._size_table(table)

        skus = {r.sku for r in records}
        missing = [s for s in self.expected_skus if s not in skus]
        if missing:
            raise self.fail(f"expected models missing: {', '.join(missing)}")

        batch = _BATCH_RE.search(text)
        if batch:
            share = Decimal(batch.group(1)) / Decimal(100)
            note = f"derived: the page bills batch at {batch.group(1)}% of serverless on input and output"
            records += [
                self.record(sku=r.sku, component=r.component, amount=r.amount * share, currency="USD", unit="1M_tokens", tier="batch", note=note)
                for r in list(records)
                if r.component in ("input_token", "output_token")
            ]
        if (r := first_repeat(records)) is not None:
            raise self.fail(f"{r.sku}: listed twice ({r.component}, {r.tier})")
        return records

    def _model_table(self, table: Tag) -> list[PriceRecord]:
        out: list[PriceRecord] = []
        rows = table.find_all("tr")[1:]
        if not rows:
            raise self.fail("the model table has no rows")
        for n, row in enumerate(rows, start=1):
            cells = row.find_all(["td", "th"])
            if len(cells) != 4:
                raise self.fail(f"model table, row {n}: {len(cells)} cells, expected 4")
            name = cells[0].get_text(" ", strip=True)
            link = cells[0].find("a", href=True)
            m = _MODEL_LINK_RE.search(link["href"]) if link else None
            if not m:
                raise self.fail(f"model table, row {n} ({name!r}): no link to a model page to take the model id from")
            sku = f"accounts/{m.group(1)}/models/{m.group(2)}"
            note = f"pricing page name: {name}"
            inp = self._price(cells[1].get_text(strip=True), f"{name} input")
            cached = self._optional_price(cells[2].get_text(strip=True), f"{name} cached input")
            output = self._price(cells[3].get_text(strip=True), f"{name} output")
            out.append(self._rec(sku, "input_token", inp, note))
            if cached is not None:
                out.append(self._rec(sku, "cached_input_token", cached, note))
            out.append(self._rec(sku, "output_token", output, note))
        return out

    def _under_size_heading(self, table: Tag) -> bool:
        heading = table.find_previous(["h2", "h3", "h4"])
        return heading is not None and "by size" in heading.get_text(" ", strip=True).lower()

    def _size_table(self, table: Tag) -> list[PriceRecord]:
        out: list[PriceRecord] = []
        for n, row in enumerate(table.find_all("tr")[1:], start=1):
            cells = [c.get_text(" ", strip=True) for c in row.find_all(["td", "th"])]
            if len(cells) != 2 or not cells[0]:
                raise self.fail(f"size-tier table, row {n}: expected a label and a price, got {cells}")
            price = self._price(cells[1], f"size tier {cells[0]!r}")
            sku = f"size-tier:{_size_slug(cells[0])}"
            note = f"base-model size tier: {cells[0]}; same price for input and output"
            out += [self._rec(sku, "input_token", price, note), self._rec(sku, "output_token", price, note)]
        return out

    def _optional_price(self, cell: str, what: str) -> Decimal | None:
        """A price cell that may be a dash (no cached-input discount published)."""
        if cell in ("-", "—", ""):
            return None
        return self._price(cell, what)

    def _price(self, cell: str, what: str) -> Decimal:
        """A ``$0.95`` cell as Decimal; anything else is a layout change."""
        m = _PRICE_RE.match(cell)
        if not m:
            raise self.fail(f"{what}: {cell!r} is not a dollar price")
        value = to_decimal(self.source_id, m.group(1), what)
        if value <= 0 or value > MAX_PLAUSIBLE_PER_MILLION:
            raise self.fail(f"{what}: implausible price {cell!r} per 1M tokens")
        return value

    def _rec(self, sku: str, component: str, amount: Decimal, note: str) -> PriceRecord:
        return self.record(sku=sku, component=component, amount=amount, currency="USD", unit="1M_tokens", tier="standard", note=note)


SOURCE = FireworksSource()
