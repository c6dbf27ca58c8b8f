"""LiteLLM's model cost map, the catalog LiteLLM's router prices every call with: a third cross-check catalog.

``model_prices_and_context_window.json`` in BerriAI/litellm (the raw file on GitHub; the ``litellm``
package ships a copy as ``litellm/model_prices_and_context_window_backup.json``) maps a model name to
its prices, in USD PER TOKEN, as JSON numbers (``"input_cost_per_token": 2e-06`` is $2 per 1M tokens)::

    "o3": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 2e-06,
           "output_cost_per_token": 8e-06, "cache_read_input_token_cost": 5e-07,
           "input_cost_per_token_batches": 1e-06, "input_cost_per_token_flex": 1e-06, ...},
    "o3-2025-04-16": {... the same prices ...},
    "claude-haiku-latest": {"alias_of": "claude-haiku-5-5"},
    "together_ai/openai/gpt-oss-120b": {"litellm_provider": "together_ai", ...}

Amounts are kept exactly as published (JSON numbers read as Decimal), unit ``token``, like OpenRouter's.

Mapping:

* ``provider`` is ``litellm_provider`` mapped to our ids (``together_ai`` -> together, ``fireworks_ai``
  -> fireworks); other providers (``azure``, ``bedrock`` ...) keep LiteLLM's name, so Azure's ``o3`` is
  never taken for OpenAI's.  ``sku`` is the key without its ``<litellm_provider>/`` prefix; a bare
  Fireworks id gets ``accounts/fireworks/models/`` so it matches the ``fireworks`` source.
* Components: ``input_cost_per_token`` -> ``input_token``, ``output_cost_per_token`` -> ``output_token``,
  ``cache_read_input_token_cost`` -> ``cached_input_token``, ``cache_creation_input_token_cost`` ->
  ``cache_write_token``; the suffixes ``_batches``, ``_flex`` and ``_priority`` are the tiers ``batch``,
  ``flex`` and ``priority`` (no suffix: ``standard``).  Anthropic's cache writes take the tiers of the
  ``anthropic`` source: ``cache_5m``, and ``cache_1h`` for ``cache_creation_input_token_cost_above_1hr``.
  Long-context (``_above_272k_tokens``), audio, image and per-query prices are not read.
* Only text models are read (``mode`` chat, completion, responses, embedding), and fine-tuning
  templates (``ft:...``) are skipped.

Aliases are one model, so a price change is one change:

* ``{"alias_of": "<key>"}`` entries name their model;
* a dated snapshot (``o3-2025-04-16``, ``claude-sonnet-4-5-20250929``, ``gpt-5-chat-latest``) with
  exactly the prices of its undated name (``o3``) is that model;
* a prefixed key (``openai/o3``, ``fireworks_ai/kimi-k2p6``) whose sku is another key's, at the same
  prices, is that model.

The model's record carries the undated name as ``sku`` and its note lists the aliases.  A dated
snapshot at other prices (``gpt-4o-2024-05-13``) is a model of its own.  Two keys that map to one sku
at different prices keep their own keys as skus rather than one hiding the other.

LiteLLM has shipped absurd values that were corrected days later: every entry is a claim to check.
Negative, zero or out-of-bounds prices are returned as published; the plausibility gates drop them one
by one (this is a catalog) and the ``price_discrepancies`` model compares what is left with the
providers' own prices.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from scrapers.base import PriceRecord, Request, Source

MAP_URL = "https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json"
PROVIDERS = {"together_ai": "together", "fireworks_ai": "fireworks"}  # LiteLLM name -> ours; others kept
FIREWORKS_PREFIX = "accounts/fireworks/models/"
TEXT_MODES = ("chat", "completion", "responses", "embedding")
BASE_FIELDS = {
    "input_cost_per_token": "input_token",
    "output_cost_per_token": "output_token",
    "cache_read_input_token_cost": "cached_input_token",
    "cache_creation_input_token_cost": "cache_write_token",
}
TIER_SUFFIXES = {"": "standard", "_batches": "batch", "_flex": "flex", "_priority": "priority"}
ANTHROPIC_1H = "cache_creation_input_token_cost_above_1hr"
_DATED = re.compile(r"^(?P<base>.+?)-(?:\d{4}-\d{2}-\d{2}|\d{8}|\d{4}|latest)$")
MIN_MODELS = 50

Prices = dict[tuple[str, str], Decimal]  # (component, tier) -> USD per token


class LiteLLMSource(Source):
    """LiteLLM's model cost map, per-token USD prices of thousands of models, as a cross-check catalog."""

    source_id = "litellm"
    provider = "litellm"
    kind = "hosted_api"
    catalog = True
    extension = "json"
    expected_skus = ("gpt-4o", "o3", "claude-sonnet-4-5")

    def requests(self) -> list[Request]:
        """One public GET of the raw file on GitHub."""
        return [Request(url=MAP_URL, headers={"Accept": "application/json"})]

    def parse(self, payload: bytes) -> list[PriceRecord]:
        """One record per model (aliases folded), priced component and tier."""
        doc = self.load_json(payload, "payload", exact=True)
        if not isinstance(doc, dict):
            raise self.fail(f"payload is a JSON {type(doc).__name__}, expected the model map (an object)")
        models: dict[str, tuple[str, str, Prices]] = {}  # key -> (provider, sku, prices)
        aliases: dict[str, str] = {}
        for key, entry in doc.items():
            if not isinstance(entry, dict):
                raise self.fail(f"{key!r}: entry is a {type(entry).__name__}, not an object")
            if isinstance(entry.get("alias_of"), str):
                aliases[key] = entry["alias_of"]
                continue
            model = self._model(key, entry)
            if model is not None:
                models[key] = model
        if len(models) < MIN_MODELS:
            raise self.fail(f"only {len(models)} priced text models, expected at least {MIN_MODELS}")
        records = [rec for key, names in self._fold(models, aliases).items() for rec in self._records(*models[key], names)]
        skus = {r.sku for r in records}
        missing = [s for s in self.expected_skus if s not in skus]
        if missing:
            raise self.fail(f"expected models missing: {', '.join(missing)}")
        return records

    # --- helpers -----------------------------------------------------------
    def _model(self, key: str, entry: dict[str, Any]) -> tuple[str, str, Prices] | None:
        """(provider, sku, prices) of a priced text model, or None for anything else."""
        vendor = entry.get("litellm_provider")
        if not isinstance(vendor, str) or entry.get("mode") not in TEXT_MODES or key.startswith("ft:"):
            return None
        prices: Prices = {}
        for base, component in BASE_FIELDS.items():
            for suffix, tier in TIER_SUFFIXES.items():
                if base + suffix in entry:
                    prices[(component, tier)] = self._amount(entry[base + suffix], f"{key} {base + suffix}")
        if ANTHROPIC_1H in entry and vendor == "anthropic":
            prices[("cache_write_token", "cache_1h")] = self._amount(entry[ANTHROPIC_1H], f"{key} {ANTHROPIC_1H}")
        if not prices:
            return None
        sku = key.removeprefix(f"{vendor}/")
        provider = PROVIDERS.get(vendor, vendor)
        if provider == "fireworks" and "/" not in sku:
            sku = FIREWORKS_PREFIX + sku
        return provider, sku, prices

    def _fold(self, models: dict[str, tuple[str, str, Prices]], aliases: dict[str, str]) -> dict[str, list[str]]:
        """The canonical key of each model -> every key naming it (canonical first)."""
        by_sku: dict[tuple[str, str], list[str]] = {}
        for key, (provider, sku, _) in models.items():
            by_sku.setdefault((provider, sku), []).append(key)
        canon: dict[str, str] = {}  # key -> canonical key
        for (provider, sku), keys in by_sku.items():
            head = min(keys, key=lambda k: (len(k), k))  # the shortest spelling names the model
            if all(models[k][2] == models[head][2] for k in keys):
                canon.update({k: head for k in keys})
            else:  # one sku at two prices: each key stays its own model, under its own name
                for k in keys:
                    canon[k] = k
                    models[k] = (provider, k.removeprefix("fireworks_ai/").removeprefix("together_ai/"), models[k][2])
        for key, (provider, sku, prices) in models.items():  # a dated snapshot at its undated name's prices
            m = _DATED.match(sku)
            base_keys = by_sku.get((provider, m.group("base"))) if m else None
            if base_keys and canon[key] == key and models[canon[base_keys[0]]][2] == prices:
                canon[key] = canon[base_keys[0]]
        for key in canon:  # follow a re-pointed head to its model
            while canon[canon[key]] != canon[key]:
                canon[key] = canon[canon[key]]
        groups: dict[str, list[str]] = {}
        for key in models:
            groups.setdefault(canon[key], []).append(key)
        for alias, target in aliases.items():
            if target in canon:
                groups[canon[target]].append(alias)
        return {head: sorted(keys, key=lambda k: (k != head, k)) for head, keys in groups.items()}

    def _records(self, provider: str, sku: str, prices: Prices, names: list[str]) -> list[PriceRecord]:
        note = "litellm key " + names[0] + (f"; aliases {', '.join(names[1:])}" if len(names) > 1 else "")
        out = []
        for (component, tier), amount in prices.items():
            if provider == "anthropic" and component == "cache_write_token" and tier != "cache_1h":
                tier = "cache_5m" if tier == "standard" else f"{tier}_cache_5m"
            out.append(self.record(provider=provider, sku=sku, component=component, amount=amount, currency="USD",
                                   unit="token", tier=tier, note=note))
        return out

    def _amount(self, value: Any, what: str) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            raise self.fail(f"{what}: {value!r} is not a number")
        amount = Decimal(value)
        if not amount.is_finite():
            raise self.fail(f"{what}: {value!r} is not finite")
        return amount


SOURCE = LiteLLMSource()
