"""Anthropic messages usage: saved pages of ``GET /v1/organizations/usage_report/messages`` as token metering lines.

Page envelope as the cost report (``data: [{starting_at, ending_at, results}]``,
``has_more``, ``next_page``); each result carries ``uncached_input_tokens``,
``cache_read_input_tokens``, ``cache_creation: {ephemeral_5m_input_tokens,
ephemeral_1h_input_tokens}``, ``output_tokens``, ``server_tool_use`` and, when
grouped, ``model``, ``workspace_id``, ``api_key_id``, ``service_tier``,
``context_window``, ``inference_geo``, ``speed``.  Confirmed against the example
response in platform.claude.com's API reference
(``/docs/en/api/admin-api/usage-cost/get-messages-usage-report``) on 2026-12-01.

Each result becomes one *metering line* (``BilledCost = 0`` USD,
``ChargeCategory = 'Usage'``, ``x_source_format = 'anthropic_usage'``); money
comes from the ``anthropic_cost`` report.  Anthropic's token fields are already
disjoint (uncached input does not include cache reads or writes), so they map
straight onto ``x_input_tokens`` / ``x_cached_input_tokens`` /
``x_cache_write_tokens`` (5-minute plus 1-hour cache writes) / ``x_output_tokens``.
"""

from __future__ import annotations

import re
from pathlib import Path

from warehouse.loaders import DAY
from warehouse.loaders._declared import METERED, admin, count, iso, json_counts, key, usage_line
from warehouse.loaders._io import head_text
from warehouse.loaders.anthropic_cost import BUCKET_CHECKS, BUCKET_PERIOD

FORMAT = "anthropic_usage"
SCOPE = ("BillingAccountId", DAY)  # organisation (when known) and bucket day; the format is the dataset
METERING_ONLY = True  # lines carry quantities; BilledCost is always 0

_STARTING_AT = re.compile(r'"starting_at"\s*:')
_UNCACHED = re.compile(r'"uncached_input_tokens"\s*:')
_OUTPUT = re.compile(r'"output_tokens"\s*:')


def sniff(path: Path, head: bytes) -> bool:
    """An Anthropic messages usage page: ``starting_at`` buckets with ``uncached_input_tokens`` results."""
    text = head_text(head).lstrip()
    if not text.startswith(("{", "[")):
        return False
    return bool(_STARTING_AT.search(text) and _UNCACHED.search(text) and _OUTPUT.search(text))


_TOKEN_FIELDS = (
    # (column alias, JSON path, mandatory)
    ("uncached", "$.uncached_input_tokens", True),
    ("cache_read", "$.cache_read_input_tokens", False),
    ("write_5m", "$.cache_creation.ephemeral_5m_input_tokens", False),
    ("write_1h", "$.cache_creation.ephemeral_1h_input_tokens", False),
    ("output", "$.output_tokens", True),
)
_GROUPS = ("workspace_id", "api_key_id", "model", "service_tier", "context_window", "inference_geo", "speed")
_WRITE = "coalesce(write_5m, 0) + coalesce(write_1h, 0)"

LOADER = admin(
    "Anthropic", BUCKET_PERIOD, fmt=FORMAT,
    fields=f"""
        {json_counts("res", {a: p for a, p, _ in _TOKEN_FIELDS})},
        {", ".join(f"res ->> '$.{g}' AS {g}" for g in _GROUPS)}""",
    checks=[*BUCKET_CHECKS,
            *(c for a, p, mandatory in _TOKEN_FIELDS for c in count(p[2:], f"{a}_raw", a, mandatory=mandatory))],
    lines=f"""
    SELECT {usage_line('Anthropic', 'anthropic')}, {METERED},
        workspace_id AS SubAccountId, uncached + coalesce(cache_read, 0) + {_WRITE} + output AS ConsumedQuantity,
        'Tokens' AS ConsumedUnit,
        'Messages token usage (metering only, cost in anthropic_cost)' || coalesce(': ' || model, '') AS ChargeDescription,
        'Claude API' AS ServiceName, 'AI and Machine Learning' AS ServiceCategory, model AS SkuId,
        CASE WHEN model IS NOT NULL THEN model || '|' || coalesce(service_tier, 'standard') END AS SkuPriceId,
        'hosted_api' AS x_product_kind, workspace_id AS x_workspace_id, api_key_id AS x_api_key_id, model AS x_model,
        uncached AS x_input_tokens, coalesce(cache_read, 0) AS x_cached_input_tokens, {_WRITE} AS x_cache_write_tokens,
        output AS x_output_tokens,
        'anthropic|usage_messages|' || {key(*_GROUPS, iso('period_start'), iso('period_end'))} AS base_key,
        x_source_row
    FROM {{accepted}}""",
)
stage = LOADER.stage
