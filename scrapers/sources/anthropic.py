"""Anthropic Claude API token prices, read from the markdown twin of Anthropic's pricing docs.

Anthropic has no price API.  ``https://platform.claude.com/docs/en/about-claude/pricing.md``
carries three tables this source reads:

* ``## Model pricing``: base input, 5-minute cache writes, 1-hour cache writes,
  cache hits and refreshes, output; USD per MTok (million tokens).
* ``### Batch processing``: batch input and batch output.
* ``### Fast mode pricing``: input and output in fast mode (``speed: "fast"``).

Tier naming (documented choice, shared with the ``genai_prices`` catalog source):

* input / cache hits / output at standard rates -> tier ``standard``;
* cache writes -> component ``cache_write_token`` with tier ``cache_5m`` or ``cache_1h``
  (the two durations bill differently and usage reports them apart as
  ``cache_creation.ephemeral_5m_input_tokens`` / ``ephemeral_1h_input_tokens``);
* batch -> ``batch``; fast mode -> ``fast``;
* rows split by prompt length (``Claude Haiku 5.5 (for prompts over 100,000 tokens)``)
  -> the over-threshold row gets ``_long_context`` appended (``standard_long_context``,
  ``cache_5m_long_context``, ``batch_long_context``...) and a note with the threshold.

The page names models by display name; the sku is the API model alias:
``Claude Opus 5.5`` -> ``claude-opus-5-5``, ``Claude Sonnet 5`` -> ``claude-sonnet-5``,
``Claude Opus 4`` -> ``claude-opus-4-0`` (Anthropic's alias for the 4.0 models),
``Claude Haiku 3.5`` -> ``claude-3-5-haiku`` and ``Claude Haiku 3`` -> ``claude-3-haiku``
(the 3.x API ids put the version first).  Dated snapshot ids
(``claude-haiku-4-5-20251001``) are matched to these aliases by whoever prices usage.
A linked parenthetical after the name (``([retired, except on Google Cloud](...))``)
is kept as the record's note.  The separate Sonnet 4.5 long-context table and tool
prices are not read.
"""

from __future__ import annotations

import re
from decimal import Decimal

from scrapers.base import PriceRecord, Request, Source, first_repeat, to_decimal

PRICING_URL = "https://platform.claude.com/docs/en/about-claude/pricing.md"

MODEL_HEADER = ("model", "base input tokens", "5m cache writes", "1h cache writes", "cache hits and refreshes", "output tokens")
BATCH_HEADER = ("model", "batch input", "batch output")
FAST_HEADER = ("model", "input", "output")

_NAME_RE = re.compile(r"^Claude ([A-Z][a-z]+) (\d+)(?:\.(\d+))?$")
_LINKED_PAREN_RE = re.compile(r"\s*\(\[([^\]]+)\]\([^)]*\)\)")
_LENGTH_RE = re.compile(r"^(.*?)\s*\(for prompts (up to|over) ([\d,]+) tokens\)$")
_SUP_RE = re.compile(r"<sup>.*?</sup>")
_PRICE_RE = re.compile(r"^\$(\d+(?:\.\d+)?) / MTok$")
MAX_PLAUSIBLE_PER_MILLION = Decimal("5000")


def api_model_id(display_name: str) -> str | None:
    """The API model alias for a pricing-page display name, or None if the name has another form."""
    m = _NAME_RE.match(display_name)
    if not m:
        return None
    family, major, minor = m.group(1).lower(), int(m.group(2)), m.group(3)
    if major <= 3:
        return f"claude-{major}-{minor}-{family}" if minor else f"claude-{major}-{family}"
    if minor is None:
        return f"claude-{family}-{major}-0" if major == 4 else f"claude-{family}-{major}"
    return f"claude-{family}-{major}-{minor}"


def _table_after(text: str, heading: str) -> list[list[str]] | None:
    """Rows of the first markdown table under ``heading`` (None if the heading is absent)."""
    pos = text.find(f"\n{heading}\n")
    if pos < 0:
        return None
    rows: list[list[str]] = []
    in_table = False
    for line in text[pos + 1 :].splitlines()[1:]:
        s = line.strip()
        if not in_table:
            if s.startswith("#"):
                break
            if s.startswith("|"):
                in_table = True
            else:
                continue
        if not s.startswith("|"):
            break
        cells = [c.strip() for c in s.strip("|").split("|")]
        if all(re.fullmatch(r":?-{2,}:?", c) for c in cells):
            continue
        rows.append(cells)
    return rows


def _norm_header(cells: list[str]) -> tuple[str, ...]:
    return tuple(re.sub(r"\s+", " ", c.replace("&", "and")).strip().lower() for c in cells)


class AnthropicSource(Source):
    """Anthropic's published Claude API prices per model, USD per 1M tokens."""

    source_id = "anthropic"
    provider = "anthropic"
    kind = "hosted_api"
    extension = "md"
    expected_skus = ("claude-sonnet-5-5", "claude-sonnet-4-5", "claude-haiku-4-5")

    def requests(self) -> list[Request]:
        """One GET of the pricing markdown; no key needed."""
        return [Request(url=PRICING_URL, headers={"Accept": "text/markdown"})]

    def parse(self, payload: bytes) -> list[PriceRecord]:
        """Standard, cache-write, batch and fast-mode prices; strict about tables and cells."""
        try:
            text = "\n" + payload.decode("utf-8").replace("\r\n", "\n")
        except UnicodeDecodeError:
            raise self.fail("payload is not UTF-8 text") from None

        model_rows = _table_after(text, "## Model pricing")
        if model_rows is None:
            raise self.fail("the '## Model pricing' section is missing")
        records = self._model_table(model_rows)
        skus = {r.sku for r in records}
        missing = [s for s in self.expected_skus if s not in skus]
        if missing:
            raise self.fail(f"expected models missing from the model pricing table: {', '.join(missing)}")

        batch_rows = _table_after(text, "### Batch processing")
        if batch_rows is not None:
            records += self._two_price_table(batch_rows, BATCH_HEADER, "batch", "'### Batch processing' table")
        fast_rows = _table_after(text, "### Fast mode pricing")
        if fast_rows is not None:
            records += self._two_price_table(fast_rows, FAST_HEADER, "fast", "'### Fast mode pricing' table")

        if (r := first_repeat(records)) is not None:
            raise self.fail(f"{r.sku}: two prices for {r.component} in tier {r.tier}")
        return records

    # --- tables --------------------------------------------------------------
    def _model_table(self, rows: list[list[str]]) -> list[PriceRecord]:
        where = "'## Model pricing' table"
        if not rows:
            raise self.fail(f"{where}: no table under the heading")
        if _norm_header(rows[0]) != MODEL_HEADER:
            raise self.fail(f"{where}: columns changed, got {rows[0]}")
        if len(rows) < 2:
            raise self.fail(f"{where}: no model rows")
        out: list[PriceRecord] = []
        for n, cells in enumerate(rows[1:], start=1):
            if len(cells) != len(MODEL_HEADER):
                raise self.fail(f"{where}, row {n}: {len(cells)} cells, expected {len(MODEL_HEADER)}")
            for sku, suffix, note in self._skus(cells[0], f"{where}, row {n}"):
                base, w5, w1, hit, output = (self._price(c, f"{where}, {sku}, column {MODEL_HEADER[i + 1]!r}") for i, c in enumerate(cells[1:]))
                out += [
                    self._rec(sku, "input_token", base, f"standard{suffix}", note),
                    self._rec(sku, "cache_write_token", w5, f"cache_5m{suffix}", note),
                    self._rec(sku, "cache_write_token", w1, f"cache_1h{suffix}", note),
                    self._rec(sku, "cached_input_token", hit, f"standard{suffix}", note),
                    self._rec(sku, "output_token", output, f"standard{suffix}", note),
                ]
        return out

    def _two_price_table(self, rows: list[list[str]], header: tuple[str, ...], tier: str, where: str) -> list[PriceRecord]:
        if not rows:
            raise self.fail(f"{where}: no table under the heading")
        if _norm_header(rows[0]) != header:
            raise self.fail(f"{where}: columns changed, got {rows[0]}")
        out: list[PriceRecord] = []
        for n, cells in enumerate(rows[1:], start=1):
            if len(cells) != 3:
                raise self.fail(f"{where}, row {n}: {len(cells)} cells, expected 3")
            # One row can price several models: "Claude Opus 5 / Claude Opus 4.8".
            for name in cells[0].split(" / "):
                for sku, suffix, note in self._skus(name, f"{where}, row {n}"):
                    inp = self._price(cells[1], f"{where}, {sku}, input")
                    outp = self._price(cells[2], f"{where}, {sku}, output")
                    out += [
                        self._rec(sku, "input_token", inp, f"{tier}{suffix}", note),
                        self._rec(sku, "output_token", outp, f"{tier}{suffix}", note),
                    ]
        return out

    # --- cells ---------------------------------------------------------------
    def _skus(self, cell: str, where: str) -> list[tuple[str, str, str | None]]:
        """(sku, tier suffix, note) for a model-name cell; a name of unknown form is a layout change."""
        notes: list[str] = []
        name = _SUP_RE.sub("", cell).replace("**", "").strip()
        for m in _LINKED_PAREN_RE.finditer(name):
            notes.append(m.group(1))
        name = _LINKED_PAREN_RE.sub("", name).strip()
        suffix = ""
        length = _LENGTH_RE.match(name)
        if length:
            name = length.group(1)
            threshold = length.group(3)
            if length.group(2) == "over":
                suffix = "_long_context"
                notes.append(f"prompts over {threshold} tokens")
            else:
                notes.append(f"prompts up to {threshold} tokens")
        sku = api_model_id(name)
        if sku is None:
            raise self.fail(f"{where}: model name {cell!r} is not of the form 'Claude <Family> <version>'")
        return [(sku, suffix, "; ".join(notes) or None)]

    def _price(self, cell: str, what: str) -> Decimal:
        """A ``$3.75 / MTok`` cell (footnote markers removed) as Decimal."""
        cleaned = _SUP_RE.sub("", cell).strip()
        m = _PRICE_RE.match(cleaned)
        if not m:
            raise self.fail(f"{what}: {cell!r} is not a '$N / MTok' price")
        value = to_decimal(self.source_id, m.group(1), what)
        if value <= 0 or value > MAX_PLAUSIBLE_PER_MILLION:
            raise self.fail(f"{what}: implausible price {cell!r}")
        return value

    def _rec(self, sku: str, component: str, amount: Decimal, tier: str, note: str | None) -> PriceRecord:
        return self.record(sku=sku, component=component, amount=amount, currency="USD", unit="1M_tokens", tier=tier, note=note)


SOURCE = AnthropicSource()
