"""Together AI serverless token prices, from the models API or (without a key) the pricing page.

With ``TOGETHER_API_KEY`` set, ``GET https://api.together.xyz/v1/models`` (Bearer key)
returns a flat JSON array (no ``{"data": ...}`` envelope; one is accepted too) of models::

    {"id": "moonshotai/Kimi-K3", "object": "model", "type": "chat", ...,
     "pricing": {"hourly": 0, "input": 3, "output": 15, "base": 0, "finetune": 0,
                 "cached_input": 0.3}}

``pricing.input`` / ``output`` / ``cached_input`` are JSON numbers in USD per 1M tokens
(Together's OpenAPI text calls them "price per token", but the values are per million:
``0.15`` for openai/gpt-oss-120b is the $0.15 / 1M of the pricing page).  A payload whose chat
prices look per-token (all below $0.001) is rejected rather than misread by 1e6.
Only models billed per token are read: types ``chat``, ``language``, ``code``,
``moderation`` and ``embedding``; image, audio, video, transcription and rerank models
are billed per image, second or search unit.  Zero prices (free variants, dedicated-only
models) are returned as published; the fetch layer drops non-positive amounts and counts them.
The sku is the API model id.

Without a key, ``https://www.together.ai/pricing`` (HTML) is fetched.  Its tables name
models by display name; ``DISPLAY_TO_API_ID`` maps the names of current serverless chat
models to their API ids.  A name not in the map keeps its display name as sku, with a
note saying so, so the price is still recorded and the gap is visible.

``parse()`` sniffs the payload: JSON (``[`` or ``{``) or HTML (``<``).
"""

from __future__ import annotations

import os
import re
from decimal import Decimal

from bs4 import BeautifulSoup

from scrapers.base import PriceRecord, Request, Source, to_decimal

MODELS_URL = "https://api.together.xyz/v1/models"
PRICING_PAGE_URL = "https://www.together.ai/pricing"
API_KEY_ENV = "TOGETHER_API_KEY"

TOKEN_BILLED_TYPES = {"chat", "language", "code", "moderation", "embedding"}
PRICE_FIELDS = {"input": "input_token", "output": "output_token", "cached_input": "cached_input_token"}
MAX_PLAUSIBLE_PER_MILLION = Decimal("1000")
PER_TOKEN_SUSPICION = Decimal("0.001")

# Pricing-page display name -> API model id (the page does not print API ids).
DISPLAY_TO_API_ID = {
    "OpenAI gpt-oss-120B": "openai/gpt-oss-120b",
    "Kimi K3": "moonshotai/Kimi-K3",
    "Kimi K3.1 Pro": "moonshotai/Kimi-K3.1-Pro",
    "DeepSeek V4.1 Flash": "deepseek-ai/DeepSeek-V4.1-Flash",
    "GLM 5.3": "zai-org/GLM-5.3",
    "GLM 5.3 Flash": "zai-org/GLM-5.3-Flash",
    "MiniMax M3": "MiniMaxAI/MiniMax-M3",
    "Qwen3.5 9B": "Qwen/Qwen3.5-9B",
    "Qwen3.8 Flash": "Qwen/Qwen3.8-Flash",
    "Llama 3.1 405B Instruct Turbo": "meta-llama/Meta-Llama-3.1-405B-Instruct-Turbo",
    "Llama 4 Maverick": "meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8",
}

_PRICE_CELL_RE = re.compile(r"^\$(\d+(?:\.\d+)?)$")


class TogetherSource(Source):
    """Together AI's serverless per-token prices, USD per 1M tokens."""

    source_id = "together"
    provider = "together"
    kind = "hosted_api"
    extension = "json"
    expected_skus = ("openai/gpt-oss-120b",)

    def requests(self) -> list[Request]:
        """The models API with the key from the environment, else the public pricing page."""
        key = os.environ.get(API_KEY_ENV, "").strip()
        if key:
            return [Request(url=MODELS_URL, headers={"Authorization": f"Bearer {key}", "Accept": "application/json"})]
        return [Request(url=PRICING_PAGE_URL, headers={"Accept": "text/html"})]

    def parse(self, payload: bytes) -> list[PriceRecord]:
        """Sniff JSON (models API) or HTML (pricing page) and parse it strictly."""
        head = payload.lstrip()[:1]
        if head in (b"[", b"{"):
            records = self._parse_api(payload)
        elif head == b"<":
            records = self._parse_page(payload)
        else:
            raise self.fail("payload is neither JSON (models API) nor HTML (pricing page)")
        skus = {r.sku for r in records}
        missing = [s for s in self.expected_skus if s not in skus]
        if missing:
            raise self.fail(f"expected models missing: {', '.join(missing)}")
        return records

    # --- models API ------------------------------------------------------------
    def _parse_api(self, payload: bytes) -> list[PriceRecord]:
        doc = self.load_json(payload, "models API payload")
        models = doc.get("data") if isinstance(doc, dict) else doc
        if not isinstance(models, list) or not models:
            raise self.fail("models API payload has no model list")

        records: list[PriceRecord] = []
        for i, model in enumerate(models):
            if not isinstance(model, dict) or not isinstance(model.get("id"), str):
                raise self.fail(f"model #{i}: missing 'id'")
            model_id = model["id"]
            if model.get("type") not in TOKEN_BILLED_TYPES:
                continue
            pricing = model.get("pricing")
            if not isinstance(pricing, dict) or "input" not in pricing or "output" not in pricing:
                raise self.fail(f"{model_id}: 'pricing' with 'input' and 'output' is missing")
            for field, component in PRICE_FIELDS.items():
                if field not in pricing or pricing[field] is None:
                    continue
                value = pricing[field]
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise self.fail(f"{model_id}: pricing.{field} is {value!r}, expected a number")
                amount = to_decimal(self.source_id, value, f"{model_id} pricing.{field}")
                if amount < 0 or amount > MAX_PLAUSIBLE_PER_MILLION:
                    raise self.fail(f"{model_id}: pricing.{field} = {value!r} is not a plausible USD per 1M tokens")
                records.append(self._rec(model_id, component, amount, None))

        chat_inputs = [r.amount for r in records if r.component == "input_token" and r.amount > 0]
        if not chat_inputs:
            raise self.fail("no model has a positive input price")
        if max(chat_inputs) < PER_TOKEN_SUSPICION:
            raise self.fail("every input price is below $0.001: prices look per token, expected USD per 1M tokens")
        return records

    # --- pricing page ----------------------------------------------------------
    def _parse_page(self, payload: bytes) -> list[PriceRecord]:
        soup = BeautifulSoup(payload, "lxml")
        records: list[PriceRecord] = []
        tables = 0
        for table in soup.find_all("table"):
            header = [c.get_text(" ", strip=True).lower() for c in table.find_all("tr")[0].find_all(["th", "td"])] if table.find("tr") else []
            if not header or header[0] != "model" or "input" not in header or "output" not in header:
                continue  # image, audio, embedding and GPU tables are priced in other units
            tables += 1
            columns = {name: idx for idx, name in enumerate(header)}
            for n, row in enumerate(table.find_all("tr")[1:], start=1):
                cells = [c.get_text(" ", strip=True) for c in row.find_all(["td", "th"])]
                if len(cells) != len(header):
                    raise self.fail(f"pricing page table {tables}, row {n}: {len(cells)} cells, expected {len(header)}")
                name = cells[0]
                if not name:
                    raise self.fail(f"pricing page table {tables}, row {n}: empty model name")
                sku = DISPLAY_TO_API_ID.get(name, name)
                note = None if name in DISPLAY_TO_API_ID else "pricing-page display name; no API id mapping"
                for col, component in (("input", "input_token"), ("cached input", "cached_input_token"), ("output", "output_token")):
                    if col not in columns:
                        continue
                    cell = cells[columns[col]]
                    if col == "cached input" and cell in ("-", "—", ""):
                        continue
                    m = _PRICE_CELL_RE.match(cell)
                    if not m:
                        raise self.fail(f"pricing page, {name}: {col} cell {cell!r} is not a dollar price")
                    amount = to_decimal(self.source_id, m.group(1), f"{name} {col}")
                    if amount <= 0 or amount > MAX_PLAUSIBLE_PER_MILLION:
                        raise self.fail(f"pricing page, {name}: implausible {col} price {cell!r}")
                    records.append(self._rec(sku, component, amount, note))
        if not tables:
            raise self.fail("pricing page has no 'Model | Input | Output' table (layout changed?)")
        if "per 1m tokens" not in soup.get_text(" ", strip=True).lower():
            raise self.fail("pricing page does not state prices per 1M tokens")
        return records

    def _rec(self, sku: str, component: str, amount: Decimal, note: str | None) -> PriceRecord:
        return self.record(sku=sku, component=component, amount=amount, currency="USD", unit="1M_tokens", tier="standard", note=note)


SOURCE = TogetherSource()
