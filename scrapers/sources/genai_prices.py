"""The price catalog bundled with the ``genai-prices`` package, a cross-check of provider prices.

Offline: ``local_payload()`` serialises the package's bundled data
(``genai_prices.data.providers``) for our providers openai, anthropic, together and
fireworks into JSON, and ``parse()`` turns that JSON into records, USD per 1M tokens.

The package's data model and how it is flattened:

* ``ModelInfo.prices`` is one ``ModelPrice`` or a list of ``ConditionalPrice``s with a
  ``StartDateConstraint`` (a price change on a date) or a ``TimeOfDateConstraint`` (an
  off-peak window).  The catalog's *current* price is taken as the date-constrained
  (or unconstrained) entry with the latest start date; its record carries the note
  ``catalog price from YYYY-MM-DD``.  Time-of-day prices are off-peak discounts and
  are not read.
* A price may be ``TieredPrices`` (a base rate and higher rates once the prompt passes
  a token threshold).  The base rate is taken; the note names the first threshold.
* ``price_variants`` are request-context overrides:
  ``{"processing": "batch"}`` -> tier ``batch``, ``{"service_tier": "flex"}`` -> ``flex``,
  ``{"service_tier": "priority"}`` -> ``priority`` (OpenAI's ``"fast"`` service tier is
  the renamed priority tier and is the same price: it is not repeated),
  ``{"speed": "fast"}`` (Anthropic fast mode) -> ``fast``.  Variants are resolved like the
  package does for a request after all their start dates: first listed wins per price.
* Price keys: ``input_mtok`` -> ``input_token``, ``output_mtok`` -> ``output_token``,
  ``cache_read_mtok`` -> ``cached_input_token``, ``cache_write_mtok`` ->
  ``cache_write_token`` and, for Anthropic, ``cache_write_1h_mtok`` -> ``cache_write_token``.
  Anthropic cache writes use the tiers of the ``anthropic`` source: ``cache_5m`` /
  ``cache_1h`` (``batch_cache_5m`` ... for other tiers); other providers' cache writes
  carry the processing tier.  Audio, image, character and search prices are not read.

``provider`` is our provider id and ``sku`` the vendor's model id as the catalog names it,
except Fireworks, whose short ids (``kimi-k2p6``) get the API prefix
``accounts/fireworks/models/`` so they match the ``fireworks`` source.  Catalog entries
whose id is only a prefix matcher (``ft:gpt-3.5-turbo-``) are skipped.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from scrapers.base import PriceRecord, Request, Source

PROVIDERS = ("openai", "anthropic", "together", "fireworks")
PRICE_KEYS = {
    "input_mtok": "input_token",
    "output_mtok": "output_token",
    "cache_read_mtok": "cached_input_token",
    "cache_write_mtok": "cache_write_token",
    "cache_write_1h_mtok": "cache_write_token",
}
FIREWORKS_PREFIX = "accounts/fireworks/models/"


def _variant_tier(when: dict[str, str], provider: str) -> str | None:
    """Our tier for a variant's request context, or None if it is not priced separately here."""
    if when == {"processing": "batch"}:
        return "batch"
    if when == {"service_tier": "flex"}:
        return "flex"
    if when == {"service_tier": "priority"}:
        return "priority"
    if when == {"speed": "fast"}:
        return "fast"
    return None  # service_tier default (no override) and fast (the renamed priority tier)


def _price_json(value: Any) -> Any:
    """A ``Decimal`` or ``TieredPrices`` as JSON (decimals as strings, never floats)."""
    from genai_prices.types import TieredPrices

    if isinstance(value, TieredPrices):
        return {"base": str(value.base), "tiers": [{"start": t.start, "price": str(t.price)} for t in value.tiers]}
    return str(value)


def _model_price_json(model_price: Any) -> dict[str, Any]:
    return {k: _price_json(v) for k, v in model_price.__dict__.items() if not k.startswith("_") and v is not None}


def _constraint_json(constraint: Any) -> dict[str, Any]:
    from genai_prices.types import StartDateConstraint, TimeOfDateConstraint

    if constraint is None:
        return {"start_date": None}
    if isinstance(constraint, StartDateConstraint):
        return {"start_date": constraint.start_date.isoformat()}
    if isinstance(constraint, TimeOfDateConstraint):
        return {"start_date": None, "time_of_day": [constraint.start_time.isoformat(), constraint.end_time.isoformat()]}
    raise TypeError(f"unknown genai-prices constraint {type(constraint).__name__}")


def bundled_catalog_json() -> bytes:
    """The bundled catalog of the installed genai-prices, for our providers, as stable JSON."""
    import genai_prices
    from genai_prices.data import providers
    from genai_prices.types import ModelPrice

    out_providers = []
    for p in providers:
        if p.id not in PROVIDERS:
            continue
        models = []
        for m in p.models:
            if isinstance(m.prices, ModelPrice):
                prices = [{"start_date": None, "prices": _model_price_json(m.prices)}]
            else:
                prices = [{**_constraint_json(c.constraint), "prices": _model_price_json(c.prices)} for c in m.prices]
            variants = [
                {"when": dict(v.when), **_constraint_json(v.constraint), "prices": _model_price_json(v.prices)}
                for v in (m.price_variants or [])
            ]
            models.append({"id": m.id, "name": m.name, "deprecated": m.deprecated, "prices": prices, "price_variants": variants})
        out_providers.append({"id": p.id, "name": p.name, "pricing_urls": p.pricing_urls, "models": models})
    doc = {"package": "genai-prices", "version": genai_prices.__version__, "unit": "USD per 1M tokens", "providers": out_providers}
    return (json.dumps(doc, indent=1, sort_keys=False, ensure_ascii=False) + "\n").encode("utf-8")


class GenaiPricesSource(Source):
    """The genai-prices package's curated, dated catalog of LLM prices, USD per 1M tokens."""

    source_id = "genai_prices"
    provider = "genai_prices"
    kind = "hosted_api"
    catalog = True
    extension = "json"
    expected_skus = ("gpt-4o", "claude-sonnet-4-5", "openai/gpt-oss-120b", "accounts/fireworks/models/kimi-k2p6")

    def requests(self) -> list[Request]:
        """No HTTP: the catalog ships inside the installed package."""
        return []

    def local_payload(self) -> bytes | None:
        """The installed package's bundled catalog, serialised (see ``bundled_catalog_json``)."""
        return bundled_catalog_json()

    def primary_url(self) -> str:
        """Provenance of an offline payload: the package and its version."""
        import genai_prices

        return f"python-package:genai-prices=={genai_prices.__version__}"

    def parse(self, payload: bytes) -> list[PriceRecord]:
        """Current base-tier prices and batch/flex/priority/fast variants of every catalog model."""
        doc = self.load_json(payload, "payload")
        if not isinstance(doc, dict) or doc.get("package") != "genai-prices" or not isinstance(doc.get("providers"), list):
            raise self.fail("not a genai-prices catalog serialisation ('package'/'providers' missing)")
        found = {p.get("id") for p in doc["providers"] if isinstance(p, dict)}
        missing_providers = [p for p in PROVIDERS if p not in found]
        if missing_providers:
            raise self.fail(f"providers missing from the catalog: {', '.join(missing_providers)}")

        records: list[PriceRecord] = []
        for prov in doc["providers"]:
            pid = prov["id"]
            if pid not in PROVIDERS:
                continue
            models = prov.get("models")
            if not isinstance(models, list) or not models:
                raise self.fail(f"provider {pid}: no models")
            for model in models:
                records += self._model(pid, model)

        skus = {r.sku for r in records}
        missing = [s for s in self.expected_skus if s not in skus]
        if missing:
            raise self.fail(f"expected models missing: {', '.join(missing)}")
        return records

    def _model(self, provider: str, model: dict[str, Any]) -> list[PriceRecord]:
        model_id = model.get("id")
        if not isinstance(model_id, str) or not model_id:
            raise self.fail(f"provider {provider}: a model without an id")
        if model_id.endswith(("-", ".")):
            return []  # a prefix matcher, not a model id
        sku = FIREWORKS_PREFIX + model_id if provider == "fireworks" and "/" not in model_id else model_id
        where = f"{provider}/{model_id}"
        entries = model.get("prices")
        if not isinstance(entries, list) or not entries:
            raise self.fail(f"{where}: 'prices' missing")

        dated = [e for e in entries if "time_of_day" not in e]
        if not dated:
            raise self.fail(f"{where}: only time-of-day prices")
        current = max(dated, key=lambda e: self._date(e.get("start_date"), where) or date.min)
        since = current.get("start_date")
        base_note = f"catalog price from {since}" if since else None

        out = self._prices(provider, sku, current.get("prices"), "standard", base_note, where)
        merged: dict[str, dict[str, Any]] = {}
        starts: dict[str, str | None] = {}
        for variant in model.get("price_variants") or []:
            tier = _variant_tier(variant.get("when") or {}, provider)
            if tier is None or "time_of_day" in variant:
                continue
            bucket = merged.setdefault(tier, {})
            for key, value in (variant.get("prices") or {}).items():
                bucket.setdefault(key, value)
            starts.setdefault(tier, variant.get("start_date"))
        for tier, prices in merged.items():
            note = f"catalog price from {starts[tier]}" if starts.get(tier) else None
            out += self._prices(provider, sku, prices, tier, note, where)
        return out

    def _prices(self, provider: str, sku: str, prices: Any, tier: str, note: str | None, where: str) -> list[PriceRecord]:
        if not isinstance(prices, dict):
            raise self.fail(f"{where}: malformed prices for tier {tier}")
        out: list[PriceRecord] = []
        for key, component in PRICE_KEYS.items():
            if key not in prices:
                continue
            if key == "cache_write_1h_mtok" and provider != "anthropic":
                continue
            amount, tier_note = self._amount(prices[key], f"{where} {tier} {key}")
            rec_tier = tier
            if provider == "anthropic" and component == "cache_write_token":
                duration = "cache_1h" if key == "cache_write_1h_mtok" else "cache_5m"
                rec_tier = duration if tier == "standard" else f"{tier}_{duration}"
            rec_note = "; ".join(n for n in (note, tier_note) if n) or None
            out.append(
                self.record(provider=provider, sku=sku, component=component, amount=amount, currency="USD", unit="1M_tokens", tier=rec_tier, note=rec_note)
            )
        return out

    def _amount(self, value: Any, what: str) -> tuple[Decimal, str | None]:
        """A price string, or the base of a tiered price (with a note naming the first threshold)."""
        note = None
        if isinstance(value, dict):
            tiers = value.get("tiers") or []
            if "base" not in value or not isinstance(tiers, list):
                raise self.fail(f"{what}: malformed tiered price")
            if tiers:
                note = f"base tier; higher rate above {tiers[0].get('start')} input tokens"
            value = value["base"]
        if not isinstance(value, str):
            raise self.fail(f"{what}: expected a decimal string, got {type(value).__name__}")
        try:
            amount = Decimal(value)
        except InvalidOperation:
            raise self.fail(f"{what}: {value!r} is not a decimal") from None
        if not amount.is_finite():
            raise self.fail(f"{what}: {value!r} is not a finite price per 1M tokens")
        # its range is the plausibility gates' (scrapers.plausibility): an implausible entry of this
        # catalog is dropped alone and counted, never a failure of the whole catalog
        return amount, note

    def _date(self, value: Any, where: str) -> date | None:
        if value is None:
            return None
        try:
            return date.fromisoformat(value)
        except (TypeError, ValueError):
            raise self.fail(f"{where}: bad start_date {value!r}") from None


SOURCE = GenaiPricesSource()
