"""OpenAI API token prices, read from the markdown twin of OpenAI's pricing docs.

OpenAI has no price API.  ``https://developers.openai.com/api/docs/pricing.md``
prints one markdown table per service tier, each under its own heading::

    ### Standard pricing data      -> tier "standard"
    ### Batch pricing data         -> tier "batch"
    ### Flex pricing data          -> tier "flex"
    ### Fast pricing data          -> tier "priority"  (OpenAI renamed Priority
                                      processing to "Fast mode" on 2026-07-30;
                                      ``service_tier`` "priority" and "fast" bill alike)
    ### Priority pricing data      -> tier "priority"  (the heading before the rename)

Every tier table has the same nine columns: the model id, then input, cached
input, cache writes and output for short context, then the same four for long
context.  Long-context rates are recorded with the tier suffixed
``_long_context`` (e.g. ``standard_long_context``); the note says the threshold
when the model cell names it (``gpt-5.5 (<272K context length)``).

Model cells hold the API model id (``gpt-4o-mini``), so the sku is that id with
the context-length qualifier removed; no display-name mapping is needed.  OpenAI
cache writes have no duration, so they carry the processing tier like every other
component.  The "Grouped Pricing Table" sections (image, audio, realtime,
specialised models) are priced per modality and are not read.
"""

from __future__ import annotations

import re
from decimal import Decimal

from scrapers.base import PriceRecord, Request, Source, to_decimal

PRICING_URL = "https://developers.openai.com/api/docs/pricing.md"

# Heading word -> our tier name.
TIER_BY_HEADING = {
    "Standard": "standard",
    "Batch": "batch",
    "Flex": "flex",
    "Fast": "priority",
    "Priority": "priority",
}
TIER_NOTES = {
    "Fast": "Fast mode (formerly Priority processing)",
}

EXPECTED_HEADER = (
    "model",
    "short context input",
    "short context cached input",
    "short context cache writes",
    "short context output",
    "long context input",
    "long context cached input",
    "long context cache writes",
    "long context output",
)
# Column index -> component, for the short (1..4) and long (5..8) halves.
SHORT_COLUMNS = {1: "input_token", 2: "cached_input_token", 3: "cache_write_token", 4: "output_token"}
LONG_COLUMNS = {5: "input_token", 6: "cached_input_token", 7: "cache_write_token", 8: "output_token"}

_HEADING_RE = re.compile(r"^###\s+(\w+)\s+pricing data\s*$", re.MULTILINE)
_MODEL_CELL_RE = re.compile(r"^([a-z0-9][a-z0-9._:-]*)(?:\s+\(<(\d+)K context length\))?$")
_UNIT_RE = re.compile(r"Prices per ([^.\n]+?)(?: unless noted)?\.")
_PRICE_RE = re.compile(r"^\$\d{1,3}(?:,\d{3})*(?:\.\d+)?$|^\$\d+(?:\.\d+)?$")
# Above this a per-1M-token price is a misparse, not a price.
MAX_PLAUSIBLE_PER_MILLION = Decimal("5000")


def markdown_table_after(text: str, start: int) -> list[list[str]]:
    """The rows (header first, separator dropped) of the first markdown table at or after ``start``.

    The table must begin before any further heading; otherwise the section has no table and
    an empty list is returned.
    """
    rows: list[list[str]] = []
    in_table = False
    for line in text[start:].splitlines()[1:]:
        stripped = line.strip()
        if not in_table:
            if stripped.startswith("#"):
                return []
            if stripped.startswith("|"):
                in_table = True
            else:
                continue
        if not stripped.startswith("|"):
            break
        cells = [c.strip() for c in stripped.strip("|").split("|")]
        if all(re.fullmatch(r":?-{2,}:?", c) for c in cells):
            continue
        rows.append(cells)
    return rows


class OpenAISource(Source):
    """OpenAI's published per-token prices for every service tier, USD per 1M tokens."""

    source_id = "openai"
    provider = "openai"
    kind = "hosted_api"
    extension = "md"
    expected_skus = ("gpt-6.1-sol", "gpt-4o", "gpt-4o-mini")

    def requests(self) -> list[Request]:
        """One GET of the pricing markdown; no key needed."""
        return [Request(url=PRICING_URL, headers={"Accept": "text/markdown"})]

    def parse(self, payload: bytes) -> list[PriceRecord]:
        """Every token price of the tier tables; strict about headings, columns and cells."""
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail("payload is not UTF-8 text") from None
        headings = [(m.group(1), m.start()) for m in _HEADING_RE.finditer(text)]
        standard = [h for h in headings if h[0] == "Standard"]
        if len(standard) != 1:
            raise self.fail(f"expected exactly one '### Standard pricing data' heading, found {len(standard)}")
        units = _UNIT_RE.findall(text[: standard[0][1]])
        if not units or units[-1] != "1M tokens":
            raise self.fail("the tier tables are not introduced by 'Prices per 1M tokens.' (unit changed?)")

        records: list[PriceRecord] = []
        standard_skus: set[str] = set()
        seen_tiers: set[str] = set()
        for word, pos in headings:
            tier = TIER_BY_HEADING.get(word)
            if tier is None:
                continue  # a tier this source does not know (reported by the table name only)
            if tier in seen_tiers:
                raise self.fail(f"more than one table for tier {tier!r} ('### {word} pricing data')")
            seen_tiers.add(tier)
            table_records, skus = self._parse_tier_table(text, pos, word, tier)
            records.extend(table_records)
            if tier == "standard":
                standard_skus = skus

        missing = [s for s in self.expected_skus if s not in standard_skus]
        if missing:
            raise self.fail(f"expected models missing from the Standard table: {', '.join(missing)}")
        return records

    def _parse_tier_table(self, text: str, pos: int, word: str, tier: str) -> tuple[list[PriceRecord], set[str]]:
        """The records of one tier table and the set of model ids it lists."""
        where = f"'### {word} pricing data' table"
        rows = markdown_table_after(text, pos)
        if not rows:
            raise self.fail(f"{where}: no table under the heading")
        header = tuple(c.lower() for c in rows[0])
        if header != EXPECTED_HEADER:
            raise self.fail(f"{where}: columns changed, got {list(rows[0])}")
        if len(rows) < 2:
            raise self.fail(f"{where}: table has no model rows")

        records: list[PriceRecord] = []
        skus: set[str] = set()
        tier_note = TIER_NOTES.get(word)
        for n, cells in enumerate(rows[1:], start=1):
            if len(cells) != len(EXPECTED_HEADER):
                raise self.fail(f"{where}, row {n}: {len(cells)} cells, expected {len(EXPECTED_HEADER)}")
            match = _MODEL_CELL_RE.match(cells[0])
            if not match:
                raise self.fail(f"{where}, row {n}: model cell {cells[0]!r} is not an API model id")
            sku, limit_k = match.group(1), match.group(2)
            if sku in skus:
                raise self.fail(f"{where}: model {sku!r} listed twice")
            skus.add(sku)
            prices = {i: self._price(cells[i], f"{where}, {sku}, column {EXPECTED_HEADER[i]!r}") for i in range(1, 9)}
            if prices[1] is None or prices[4] is None:
                raise self.fail(f"{where}, {sku}: short-context input or output price is missing")

            for col, component in SHORT_COLUMNS.items():
                if prices[col] is not None:
                    records.append(self._record(sku, component, prices[col], tier, tier_note))
            long_note = (
                f"prompts over {limit_k}K input tokens" if limit_k else "long-context rate (prompts over the short-context limit)"
            )
            if tier_note:
                long_note = f"{tier_note}; {long_note}"
            for col, component in LONG_COLUMNS.items():
                if prices[col] is not None:
                    records.append(self._record(sku, component, prices[col], f"{tier}_long_context", long_note))
        return records, skus

    def _price(self, cell: str, what: str) -> Decimal | None:
        """A ``$2.50`` cell as Decimal, ``-`` as no price; anything else is a layout change."""
        if cell in ("-", "", "—"):
            return None
        if not _PRICE_RE.match(cell):
            raise self.fail(f"{what}: {cell!r} is not a dollar price")
        value = to_decimal(self.source_id, cell, what)
        if value <= 0 or value > MAX_PLAUSIBLE_PER_MILLION:
            raise self.fail(f"{what}: implausible price {cell!r} per 1M tokens")
        return value

    def _record(self, sku: str, component: str, amount: Decimal, tier: str, note: str | None) -> PriceRecord:
        return self.record(sku=sku, component=component, amount=amount, currency="USD", unit="1M_tokens", tier=tier, note=note)


SOURCE = OpenAISource()

__all__ = ["SOURCE", "OpenAISource", "markdown_table_after"]
