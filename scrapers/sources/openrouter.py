"""OpenRouter's public model catalog, a cross-check of the providers' own prices.

``GET https://openrouter.ai/api/v1/models`` (no key) returns ``{"data": [model, ...]}``;
each model has ``pricing`` with decimal STRINGS in USD PER TOKEN (``"0.0000025"`` is
$2.50 per 1M tokens).  The amounts are kept exactly as published, unit ``token``:
converting here would hide the per-token vs per-million trap instead of testing it.

Mapping:

* ``pricing.prompt`` -> ``input_token``, ``completion`` -> ``output_token``,
  ``input_cache_read`` -> ``cached_input_token``, ``input_cache_write`` -> ``cache_write_token``;
  ``request`` -> ``request`` only where non-zero and only once ``scrapers.base.UNITS``
  has a per-request unit (it has none yet, so per-request fees are not emitted).
  ``image``, ``web_search`` and ``internal_reasoning`` have no component and are not read.
* ``provider`` is the vendor prefix of the id mapped to our provider ids
  (``openai/gpt-4o`` -> provider ``openai``, sku ``gpt-4o``); prefixes without a provider
  of ours (``meta-llama``, ``mistralai``...) stay as they are.  For ``anthropic`` the
  dots of OpenRouter's version numbers become dashes so the sku is Anthropic's API alias
  (``claude-3.7-sonnet`` -> ``claude-3-7-sonnet``).  Variant suffixes (``:free``,
  ``:beta``, ``:thinking``) stay on the sku: they are separately priced offerings.
* The ``"-1"`` sentinel ("no price", e.g. ``openrouter/auto``) and zero prices of free
  models are returned as published; the fetch layer drops non-positive amounts and
  counts them.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from scrapers.base import UNITS, PriceRecord, Request, Source

MODELS_URL = "https://openrouter.ai/api/v1/models"

# OpenRouter vendor prefix -> our provider id.  Prefixes not listed are kept as they are.
VENDOR_TO_PROVIDER = {"openai": "openai", "anthropic": "anthropic", "openrouter": "openrouter"}

TOKEN_FIELDS = {
    "prompt": "input_token",
    "completion": "output_token",
    "input_cache_read": "cached_input_token",
    "input_cache_write": "cache_write_token",
}
SENTINEL = Decimal("-1")
MIN_MODELS = 50


def split_model_id(model_id: str) -> tuple[str, str]:
    """(our provider id, vendor sku) for an OpenRouter model id such as ``openai/gpt-4o``."""
    vendor, _, rest = model_id.partition("/")
    provider = VENDOR_TO_PROVIDER.get(vendor, vendor)
    sku = rest
    if provider == "anthropic":
        base, colon, variant = rest.partition(":")
        sku = base.replace(".", "-") + colon + variant
    return provider, sku


class OpenRouterSource(Source):
    """OpenRouter's per-token catalog prices, for comparison with the providers' own lists."""

    source_id = "openrouter"
    provider = "openrouter"
    kind = "hosted_api"
    catalog = True
    extension = "json"
    expected_skus = ("gpt-4o", "gpt-4o-mini", "claude-3-7-sonnet")

    def requests(self) -> list[Request]:
        """One public GET; OpenRouter needs no key for the model list."""
        return [Request(url=MODELS_URL, headers={"Accept": "application/json"})]

    def parse(self, payload: bytes) -> list[PriceRecord]:
        """One record per model and priced component, amounts exactly as the catalog prints them."""
        doc = self.load_json(payload, "payload")
        models = doc.get("data") if isinstance(doc, dict) else None
        if not isinstance(models, list):
            raise self.fail("top-level 'data' list is missing")
        if len(models) < MIN_MODELS:
            raise self.fail(f"only {len(models)} models listed, expected at least {MIN_MODELS}")

        records: list[PriceRecord] = []
        with_request_unit = "request" in UNITS
        for i, model in enumerate(models):
            if not isinstance(model, dict) or not isinstance(model.get("id"), str) or "/" not in model["id"]:
                raise self.fail(f"model #{i}: missing or malformed 'id'")
            model_id = model["id"]
            pricing = model.get("pricing")
            if not isinstance(pricing, dict) or "prompt" not in pricing or "completion" not in pricing:
                raise self.fail(f"{model_id}: 'pricing' with 'prompt' and 'completion' is missing")
            provider, sku = split_model_id(model_id)
            for field, component in TOKEN_FIELDS.items():
                if field in pricing:
                    amount = self._amount(pricing[field], f"{model_id} pricing.{field}")
                    records.append(self._rec(provider, sku, component, amount, "token", model_id))
            if with_request_unit and "request" in pricing:
                amount = self._amount(pricing["request"], f"{model_id} pricing.request")
                if amount != 0:
                    records.append(self._rec(provider, sku, "request", amount, "request", model_id))

        present = {r.sku for r in records if r.component == "input_token"}
        missing = [s for s in self.expected_skus if s not in present]
        if missing:
            raise self.fail(f"expected models missing: {', '.join(missing)}")
        return records

    def _amount(self, value: object, what: str) -> Decimal:
        """A decimal string as Decimal.  Its range is left to the plausibility gates
        (``scrapers.plausibility``): in a catalog, a negative (the ``-1`` 'no price' sentinel) or
        implausible entry is dropped alone and counted, never a failure of the whole catalog."""
        if not isinstance(value, str):
            raise self.fail(f"{what}: expected a decimal string, got {type(value).__name__}")
        try:
            amount = Decimal(value.strip())
        except InvalidOperation:
            raise self.fail(f"{what}: {value!r} is not a decimal number") from None
        if not amount.is_finite():
            raise self.fail(f"{what}: {value!r} is not finite")
        return amount

    def _rec(self, provider: str, sku: str, component: str, amount: Decimal, unit: str, model_id: str) -> PriceRecord:
        note = f"openrouter id {model_id}"
        if amount == SENTINEL:
            note += "; -1 sentinel: no price (router model)"
        return self.record(provider=provider, sku=sku, component=component, amount=amount, currency="USD", unit=unit, note=note)


SOURCE = OpenRouterSource()
