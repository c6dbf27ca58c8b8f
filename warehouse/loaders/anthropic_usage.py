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

import duckdb

from warehouse.loaders import DAY
from warehouse.loaders.openai_costs import COUNT_SQL, RFC3339_SQL, admin_results, drop_temp, head_text

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


def stage(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Stage every messages usage result: a valid one as a metering line, any other as a reject; return results read."""
    admin_results(con, path, "_sw_anthropic_usage_raw", "Anthropic")
    try:
        con.execute(_PARSE_SQL)
        con.execute(_REJECTS_SQL)
        con.execute(_LINES_SQL)
        return con.execute("SELECT count(*) FROM _sw_anthropic_usage").fetchone()[0]
    finally:
        drop_temp(con, "_sw_anthropic_usage_raw")
        drop_temp(con, "_sw_anthropic_usage")


_TOKEN_FIELDS = (
    # (column alias, JSON path, mandatory)
    ("uncached", "$.uncached_input_tokens", True),
    ("cache_read", "$.cache_read_input_tokens", False),
    ("write_5m", "$.cache_creation.ephemeral_5m_input_tokens", False),
    ("write_1h", "$.cache_creation.ephemeral_1h_input_tokens", False),
    ("output", "$.output_tokens", True),
)


def _token_checks() -> str:
    checks = []
    for alias, json_path, mandatory in _TOKEN_FIELDS:
        name = json_path[2:]
        if mandatory:
            checks.append(
                f"WHEN {alias}_raw IS NULL THEN {{'col': '{name}', 'reason': 'missing mandatory field: {name}'}}"
            )
        checks.append(
            f"WHEN {alias}_raw IS NOT NULL AND ({alias} IS NULL OR {alias} < 0) "
            f"THEN {{'col': '{name}', 'reason': '{name} ' || {alias}_raw || ' is not a token count'}}"
        )
    return "\n        ".join(checks)


_PARSE_SQL = f"""
CREATE OR REPLACE TEMP TABLE _sw_anthropic_usage AS
WITH fields AS (
    SELECT
        x_source_row,
        CAST(res AS VARCHAR) AS raw,
        bucket ->> '$.starting_at' AS start_raw,
        bucket ->> '$.ending_at' AS end_raw,
        {", ".join(f"res ->> '{p}' AS {a}_raw" for a, p, _ in _TOKEN_FIELDS)},
        res ->> '$.workspace_id' AS workspace_id,
        res ->> '$.api_key_id' AS api_key_id,
        res ->> '$.model' AS model,
        res ->> '$.service_tier' AS service_tier,
        res ->> '$.context_window' AS context_window,
        res ->> '$.inference_geo' AS inference_geo,
        res ->> '$.speed' AS speed
    FROM _sw_anthropic_usage_raw
), typed AS (
    SELECT *,
        {RFC3339_SQL.format('start_raw')} AS period_start,
        {RFC3339_SQL.format('end_raw')} AS period_end,
        {", ".join(f"{COUNT_SQL.format(a + '_raw')} AS {a}" for a, _, _ in _TOKEN_FIELDS)}
    FROM fields
)
SELECT *,
    CASE
        WHEN start_raw IS NULL THEN {{'col': 'starting_at', 'reason': 'missing mandatory field: bucket starting_at'}}
        WHEN end_raw IS NULL THEN {{'col': 'ending_at', 'reason': 'missing mandatory field: bucket ending_at'}}
        WHEN period_start IS NULL THEN {{'col': 'starting_at', 'reason': 'starting_at ' || start_raw || ' is not an RFC 3339 timestamp'}}
        WHEN period_end IS NULL THEN {{'col': 'ending_at', 'reason': 'ending_at ' || end_raw || ' is not an RFC 3339 timestamp'}}
        WHEN period_end <= period_start THEN {{'col': 'ending_at', 'reason': 'ending_at is not after starting_at (end before start)'}}
        {_token_checks()}
    END AS problem
FROM typed
"""

_REJECTS_SQL = """
INSERT INTO stage_rejects BY NAME
SELECT x_source_row AS row_number, problem.col AS column_name, problem.reason AS reason, raw
FROM _sw_anthropic_usage WHERE problem IS NOT NULL
"""

_LINES_SQL = """
INSERT INTO stage_lines BY NAME
WITH lines AS (
    SELECT *,
        coalesce(write_5m, 0) + coalesce(write_1h, 0) AS cache_write,
        'anthropic|usage_messages|' || coalesce(workspace_id, '') || '|' || coalesce(api_key_id, '') || '|'
            || coalesce(model, '') || '|' || coalesce(service_tier, '') || '|' || coalesce(context_window, '') || '|'
            || coalesce(inference_geo, '') || '|' || coalesce(speed, '') || '|'
            || strftime(period_start, '%Y-%m-%dT%H:%M:%SZ') || '|'
            || strftime(period_end, '%Y-%m-%dT%H:%M:%SZ') AS base_key
    FROM _sw_anthropic_usage WHERE problem IS NULL
)
SELECT
    workspace_id AS SubAccountId,
    'USD' AS BillingCurrency,
    CAST(0 AS DECIMAL(18, 6)) AS BilledCost,
    CAST(0 AS DECIMAL(18, 6)) AS EffectiveCost,
    uncached + coalesce(cache_read, 0) + cache_write + output AS ConsumedQuantity,
    'Tokens' AS ConsumedUnit,
    'Usage' AS ChargeCategory,
    'Messages token usage (metering only, cost in anthropic_cost)' || coalesce(': ' || model, '') AS ChargeDescription,
    'Usage-Based' AS ChargeFrequency,
    period_start AS ChargePeriodStart,
    period_end AS ChargePeriodEnd,
    date_trunc('month', period_start) AS BillingPeriodStart,
    date_trunc('month', period_start) + INTERVAL 1 MONTH AS BillingPeriodEnd,
    'Anthropic' AS InvoiceIssuerName,
    'Anthropic' AS ServiceProviderName,
    'Anthropic' AS HostProviderName,
    'Claude API' AS ServiceName,
    'AI and Machine Learning' AS ServiceCategory,
    model AS SkuId,
    CASE WHEN model IS NOT NULL THEN model || '|' || coalesce(service_tier, 'standard') END AS SkuPriceId,
    'anthropic' AS x_provider,
    'hosted_api' AS x_product_kind,
    workspace_id AS x_workspace_id,
    api_key_id AS x_api_key_id,
    model AS x_model,
    uncached AS x_input_tokens,
    coalesce(cache_read, 0) AS x_cached_input_tokens,
    cache_write AS x_cache_write_tokens,
    output AS x_output_tokens,
    base_key || CASE WHEN row_number() OVER (PARTITION BY base_key ORDER BY x_source_row) > 1
                     THEN '#' || row_number() OVER (PARTITION BY base_key ORDER BY x_source_row) ELSE '' END
        AS x_natural_key,
    x_source_row
FROM lines
"""
