"""Anthropic cost report: saved pages of ``GET /v1/organizations/cost_report`` as billed line items.

Page envelope ``{data: [{starting_at, ending_at, results: [...]}], has_more, next_page}``
with daily buckets; each result carries ``amount``, ``currency`` and, depending on
``group_by[]`` (``workspace_id``, ``description``), ``workspace_id``, ``description``,
``cost_type`` (tokens, web_search, code_execution, session_usage), ``model``,
``token_type``, ``service_tier``, ``context_window``, ``inference_geo`` and ``speed``
(null when not grouped by them).  Confirmed against platform.claude.com's API
reference (``/docs/en/api/admin/cost_report``) on 2026-12-01.

Unit traps handled here:

* ``amount`` is a DECIMAL STRING IN CENTS ("lowest currency units"): ``"123.45"``
  means $1.2345.  It is divided by 100 in exact decimal arithmetic.
* ``currency`` is upper case and currently always ``"USD"``; anything else is
  rejected as unknown.
* ``starting_at`` / ``ending_at`` are RFC 3339 timestamps, converted to UTC.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from warehouse.loaders import DAY
from warehouse.ingest import number_sql
from warehouse.loaders.openai_costs import RFC3339_SQL, admin_results, drop_temp, head_text

FORMAT = "anthropic_cost"
SCOPE = ("BillingAccountId", DAY)  # organisation (when known) and bucket day; the format is the dataset

_STARTING_AT = re.compile(r'"starting_at"\s*:')
_AMOUNT = re.compile(r'"amount"\s*:')
_CURRENCY = re.compile(r'"currency"\s*:')
_USAGE_KEYS = re.compile(r'"(uncached_input_tokens|cache_read_input_tokens|output_tokens)"\s*:')


def sniff(path: Path, head: bytes) -> bool:
    """An Anthropic cost report page: ``starting_at`` buckets with ``amount``/``currency`` results, no token counts."""
    text = head_text(head).lstrip()
    if not text.startswith(("{", "[")):
        return False
    return bool(
        _STARTING_AT.search(text) and _AMOUNT.search(text) and _CURRENCY.search(text) and not _USAGE_KEYS.search(text)
    )


def stage(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Stage every cost result of the file: a valid one into stage_lines, any other into stage_rejects; return results read."""
    admin_results(con, path, "_sw_anthropic_cost_raw", "Anthropic")
    try:
        con.execute(_PARSE_SQL)
        con.execute(_REJECTS_SQL)
        con.execute(_LINES_SQL)
        return con.execute("SELECT count(*) FROM _sw_anthropic_cost").fetchone()[0]
    finally:
        drop_temp(con, "_sw_anthropic_cost_raw")
        drop_temp(con, "_sw_anthropic_cost")


_PARSE_SQL = f"""
CREATE OR REPLACE TEMP TABLE _sw_anthropic_cost AS
WITH fields AS (
    SELECT
        x_source_row,
        CAST(res AS VARCHAR) AS raw,
        bucket ->> '$.starting_at' AS start_raw,
        bucket ->> '$.ending_at' AS end_raw,
        res ->> '$.amount' AS amount_raw,
        res ->> '$.currency' AS currency_raw,
        res ->> '$.workspace_id' AS workspace_id,
        res ->> '$.description' AS description,
        res ->> '$.cost_type' AS cost_type,
        res ->> '$.model' AS model,
        res ->> '$.token_type' AS token_type,
        res ->> '$.service_tier' AS service_tier,
        res ->> '$.context_window' AS context_window,
        res ->> '$.inference_geo' AS inference_geo,
        res ->> '$.speed' AS speed
    FROM _sw_anthropic_cost_raw
), typed AS (
    SELECT *,
        {RFC3339_SQL.format('start_raw')} AS period_start,
        {RFC3339_SQL.format('end_raw')} AS period_end,
        {number_sql('amount_raw', 'DECIMAL(38, 10)')} AS amount_cents
    FROM fields
)
SELECT *,
    -- cents -> dollars in exact decimal arithmetic ("123.45" -> 1.2345)
    amount_cents * CAST(0.01 AS DECIMAL(3, 2)) AS amount,
    CASE
        WHEN start_raw IS NULL THEN {{'col': 'starting_at', 'reason': 'missing mandatory field: bucket starting_at'}}
        WHEN end_raw IS NULL THEN {{'col': 'ending_at', 'reason': 'missing mandatory field: bucket ending_at'}}
        WHEN period_start IS NULL THEN {{'col': 'starting_at', 'reason': 'starting_at ' || start_raw || ' is not an RFC 3339 timestamp'}}
        WHEN period_end IS NULL THEN {{'col': 'ending_at', 'reason': 'ending_at ' || end_raw || ' is not an RFC 3339 timestamp'}}
        WHEN period_end <= period_start THEN {{'col': 'ending_at', 'reason': 'ending_at is not after starting_at (end before start)'}}
        WHEN amount_raw IS NULL THEN {{'col': 'amount', 'reason': 'missing mandatory field: amount'}}
        WHEN amount_cents IS NULL THEN {{'col': 'amount', 'reason': 'non-numeric amount ' || amount_raw}}
        WHEN abs(amount_cents) >= 1e14 THEN {{'col': 'amount', 'reason': 'amount ' || amount_raw || ' is out of range'}}
        WHEN currency_raw IS NULL THEN {{'col': 'currency', 'reason': 'missing mandatory field: currency'}}
        WHEN upper(trim(currency_raw)) <> 'USD' THEN {{'col': 'currency', 'reason': 'unknown currency ' || currency_raw || ' (Anthropic reports USD)'}}
    END AS problem
FROM typed
"""

_REJECTS_SQL = """
INSERT INTO stage_rejects BY NAME
SELECT x_source_row AS row_number, problem.col AS column_name, problem.reason AS reason, raw
FROM _sw_anthropic_cost WHERE problem IS NOT NULL
"""

_LINES_SQL = """
INSERT INTO stage_lines BY NAME
WITH lines AS (
    SELECT *,
        'anthropic|cost|' || coalesce(workspace_id, '') || '|' || coalesce(description, '') || '|'
            || coalesce(cost_type, '') || '|' || coalesce(model, '') || '|' || coalesce(token_type, '') || '|'
            || coalesce(service_tier, '') || '|' || coalesce(context_window, '') || '|'
            || coalesce(inference_geo, '') || '|' || coalesce(speed, '') || '|'
            || strftime(period_start, '%Y-%m-%dT%H:%M:%SZ') || '|'
            || strftime(period_end, '%Y-%m-%dT%H:%M:%SZ') AS base_key
    FROM _sw_anthropic_cost WHERE problem IS NULL
)
SELECT
    workspace_id AS SubAccountId,
    'USD' AS BillingCurrency,
    amount AS BilledCost,
    amount AS EffectiveCost,
    CASE WHEN amount < 0 THEN 'Credit' ELSE 'Usage' END AS ChargeCategory,
    coalesce(description, cost_type, 'Claude API usage') AS ChargeDescription,
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
    CASE WHEN model IS NOT NULL
         THEN model || '|' || coalesce(service_tier, '') || '|' || coalesce(token_type, '') || '|' || coalesce(context_window, '')
    END AS SkuPriceId,
    'anthropic' AS x_provider,
    'hosted_api' AS x_product_kind,
    workspace_id AS x_workspace_id,
    model AS x_model,
    base_key || CASE WHEN row_number() OVER (PARTITION BY base_key ORDER BY x_source_row) > 1
                     THEN '#' || row_number() OVER (PARTITION BY base_key ORDER BY x_source_row) ELSE '' END
        AS x_natural_key,
    x_source_row
FROM lines
"""
