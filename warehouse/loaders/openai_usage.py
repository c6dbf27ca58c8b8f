"""OpenAI completions usage: saved pages of ``GET /v1/organization/usage/completions`` as token metering lines.

These pages carry tokens, not money.  Each ``organization.usage.completions.result``
(per bucket, and per project / model / API key / user / batch / service tier when
grouped) becomes one *metering line*:

* ``BilledCost = EffectiveCost = 0`` in ``USD``, ``ChargeCategory = 'Usage'``,
  ``x_source_format = 'openai_usage'``.  Money for the same calls comes from the
  ``openai_costs`` export, so summing BilledCost over every line never
  double-counts; token columns are set only here (never on cost lines), so summing
  tokens never double-counts either.
* Token trap: ``input_tokens`` INCLUDES ``input_cached_tokens`` (cache reads) and
  ``input_cache_write_tokens`` (cache writes, reported by newer API versions).
  The line carries the three disjoint parts: ``x_input_tokens`` = uncached =
  input - cached - cache writes, ``x_cached_input_tokens`` = cached,
  ``x_cache_write_tokens`` = cache writes, so ``x_input + x_cached + x_cache_write
  = input_tokens``.  Where the API also reports ``input_uncached_tokens`` it must
  equal that difference, or the result is rejected (the field meanings changed).

``SkuId`` is the model and ``SkuPriceId`` is ``<model>|<tier>`` (tier ``batch`` for
batch results, else the service tier, else ``default``): the identity the price
history is keyed on, for pricing the tokens later.
"""

from __future__ import annotations

from pathlib import Path

from warehouse.loaders import DAY
from warehouse.loaders._declared import METERED, Check, admin, count, iso, json_counts, key, usage_line
from warehouse.loaders.openai_costs import BUCKET_CHECKS, BUCKET_PERIOD, is_admin_page

FORMAT = "openai_usage"
SCOPE = ("BillingAccountId", DAY)  # organisation (when known) and bucket day; the format is the dataset
METERING_ONLY = True  # lines carry quantities; BilledCost is always 0

def sniff(path: Path, head: bytes) -> bool:
    """An OpenAI usage page whose results are ``organization.usage.completions.result`` objects."""
    return is_admin_page(head, "organization.usage.completions.result")


_TOKENS = {"input": "$.input_tokens", "cached": "$.input_cached_tokens", "write": "$.input_cache_write_tokens",
           "uncached_reported": "$.input_uncached_tokens", "output": "$.output_tokens"}
_UNCACHED = "input - coalesce(cached, 0) - coalesce(write, 0)"

LOADER = admin(
    "OpenAI", BUCKET_PERIOD, fmt=FORMAT,
    fields=f"""
        {json_counts("res", _TOKENS)},
        res ->> '$.project_id' AS project_id, res ->> '$.user_id' AS user_id, res ->> '$.api_key_id' AS api_key_id,
        res ->> '$.model' AS model, res ->> '$.batch' AS batch, res ->> '$.service_tier' AS service_tier""",
    checks=[
        *BUCKET_CHECKS,
        *count("input_tokens", "input_raw", "input", mandatory=True),
        *count("output_tokens", "output_raw", "output", mandatory=True),
        *count("input_cached_tokens", "cached_raw", "cached"),
        *count("input_cache_write_tokens", "write_raw", "write"),
        Check("input_cached_tokens", "coalesce(cached, 0) + coalesce(write, 0) > input",
              "'cached (' || coalesce(cached, 0) || ') plus cache-write (' || coalesce(write, 0) || ') tokens exceed "
              "input_tokens (' || input || '); they must be a subset of it'"),
        Check("input_uncached_tokens", f"uncached_reported_raw IS NOT NULL AND uncached_reported IS DISTINCT FROM {_UNCACHED}",
              "'input_uncached_tokens ' || uncached_reported_raw || ' disagrees with input_tokens - input_cached_tokens "
              f"- input_cache_write_tokens = ' || ({_UNCACHED})"),
    ],
    lines=f"""
    SELECT {usage_line('OpenAI', 'openai')}, {METERED},
        project_id AS SubAccountId, input + output AS ConsumedQuantity, 'Tokens' AS ConsumedUnit,
        'Completions token usage (metering only, cost in openai_costs)' || coalesce(': ' || model, '') AS ChargeDescription,
        'OpenAI API' AS ServiceName, 'AI and Machine Learning' AS ServiceCategory, model AS SkuId,
        CASE WHEN model IS NOT NULL THEN model || '|' || CASE WHEN batch = 'true' THEN 'batch'
             ELSE coalesce(service_tier, 'default') END END AS SkuPriceId,
        'hosted_api' AS x_product_kind, project_id AS x_project_id, api_key_id AS x_api_key_id, model AS x_model,
        {_UNCACHED} AS x_input_tokens, coalesce(cached, 0) AS x_cached_input_tokens, write AS x_cache_write_tokens,
        output AS x_output_tokens,
        'openai|usage_completions|' || {key('project_id', 'model', 'api_key_id', 'user_id', 'batch', 'service_tier',
                                            iso('period_start'), iso('period_end'))} AS base_key,
        x_source_row
    FROM {{accepted}}""",
)
stage = LOADER.stage
