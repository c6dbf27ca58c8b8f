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

import re
from pathlib import Path

import duckdb

from warehouse.loaders import DAY
from warehouse.loaders.openai_costs import COUNT_SQL, admin_results, drop_temp, head_text

FORMAT = "openai_usage"
SCOPE = ("BillingAccountId", DAY)  # organisation (when known) and bucket day; the format is the dataset
METERING_ONLY = True  # lines carry quantities; BilledCost is always 0

_RESULT_OBJECT = re.compile(r'"object"\s*:\s*"organization\.usage\.completions\.result"')
_PAGE_OBJECT = re.compile(r'"object"\s*:\s*"(page|bucket)"')


def sniff(path: Path, head: bytes) -> bool:
    """An OpenAI usage page whose results are ``organization.usage.completions.result`` objects."""
    text = head_text(head).lstrip()
    if not text.startswith(("{", "[")):
        return False
    return bool(_RESULT_OBJECT.search(text) and _PAGE_OBJECT.search(text))


def stage(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Stage every completions usage result: a valid one as a metering line, any other as a reject; return results read."""
    admin_results(con, path, "_sw_openai_usage_raw", "OpenAI")
    try:
        con.execute(_PARSE_SQL)
        con.execute(_REJECTS_SQL)
        con.execute(_LINES_SQL)
        return con.execute("SELECT count(*) FROM _sw_openai_usage").fetchone()[0]
    finally:
        drop_temp(con, "_sw_openai_usage_raw")
        drop_temp(con, "_sw_openai_usage")


_PARSE_SQL = f"""
CREATE OR REPLACE TEMP TABLE _sw_openai_usage AS
WITH fields AS (
    SELECT
        x_source_row,
        CAST(res AS VARCHAR) AS raw,
        bucket ->> '$.start_time' AS start_raw,
        bucket ->> '$.end_time' AS end_raw,
        res ->> '$.input_tokens' AS input_raw,
        res ->> '$.input_cached_tokens' AS cached_raw,
        res ->> '$.input_cache_write_tokens' AS write_raw,
        res ->> '$.input_uncached_tokens' AS uncached_raw,
        res ->> '$.output_tokens' AS output_raw,
        res ->> '$.project_id' AS project_id,
        res ->> '$.user_id' AS user_id,
        res ->> '$.api_key_id' AS api_key_id,
        res ->> '$.model' AS model,
        res ->> '$.batch' AS batch,
        res ->> '$.service_tier' AS service_tier
    FROM _sw_openai_usage_raw
), typed AS (
    SELECT *,
        CASE WHEN TRY_CAST(start_raw AS BIGINT) BETWEEN 0 AND 32503680000 THEN {COUNT_SQL.format('start_raw')} END AS start_s,
        CASE WHEN TRY_CAST(end_raw AS BIGINT) BETWEEN 0 AND 32503680000 THEN {COUNT_SQL.format('end_raw')} END AS end_s,
        {COUNT_SQL.format('input_raw')} AS input_tokens,
        CASE WHEN cached_raw IS NULL THEN 0 ELSE {COUNT_SQL.format('cached_raw')} END AS cached_tokens,
        {COUNT_SQL.format('write_raw')} AS write_tokens,
        {COUNT_SQL.format('uncached_raw')} AS uncached_reported,
        {COUNT_SQL.format('output_raw')} AS output_tokens
    FROM fields
)
SELECT *,
    make_timestamp(start_s * 1000000) AS period_start,
    make_timestamp(end_s * 1000000) AS period_end,
    input_tokens - cached_tokens - coalesce(write_tokens, 0) AS uncached_tokens,
    CASE
        WHEN start_raw IS NULL THEN {{'col': 'start_time', 'reason': 'missing mandatory field: bucket start_time'}}
        WHEN end_raw IS NULL THEN {{'col': 'end_time', 'reason': 'missing mandatory field: bucket end_time'}}
        WHEN start_s IS NULL THEN {{'col': 'start_time', 'reason': 'start_time ' || start_raw || ' is not Unix seconds'}}
        WHEN end_s IS NULL THEN {{'col': 'end_time', 'reason': 'end_time ' || end_raw || ' is not Unix seconds'}}
        WHEN end_s <= start_s THEN {{'col': 'end_time', 'reason': 'end_time is not after start_time (end before start)'}}
        WHEN input_raw IS NULL THEN {{'col': 'input_tokens', 'reason': 'missing mandatory field: input_tokens'}}
        WHEN input_tokens IS NULL OR input_tokens < 0 THEN {{'col': 'input_tokens', 'reason': 'input_tokens ' || input_raw || ' is not a token count'}}
        WHEN output_raw IS NULL THEN {{'col': 'output_tokens', 'reason': 'missing mandatory field: output_tokens'}}
        WHEN output_tokens IS NULL OR output_tokens < 0 THEN {{'col': 'output_tokens', 'reason': 'output_tokens ' || output_raw || ' is not a token count'}}
        WHEN cached_tokens IS NULL OR cached_tokens < 0 THEN {{'col': 'input_cached_tokens', 'reason': 'input_cached_tokens ' || cached_raw || ' is not a token count'}}
        WHEN write_raw IS NOT NULL AND (write_tokens IS NULL OR write_tokens < 0) THEN {{'col': 'input_cache_write_tokens', 'reason': 'input_cache_write_tokens ' || write_raw || ' is not a token count'}}
        WHEN cached_tokens + coalesce(write_tokens, 0) > input_tokens THEN {{'col': 'input_cached_tokens', 'reason': 'cached (' || cached_tokens || ') plus cache-write (' || coalesce(write_tokens, 0) || ') tokens exceed input_tokens (' || input_tokens || '); they must be a subset of it'}}
        WHEN uncached_raw IS NOT NULL AND uncached_reported IS DISTINCT FROM input_tokens - cached_tokens - coalesce(write_tokens, 0)
            THEN {{'col': 'input_uncached_tokens', 'reason': 'input_uncached_tokens ' || uncached_raw || ' disagrees with input_tokens - input_cached_tokens - input_cache_write_tokens = ' || (input_tokens - cached_tokens - coalesce(write_tokens, 0))}}
    END AS problem
FROM typed
"""

_REJECTS_SQL = """
INSERT INTO stage_rejects BY NAME
SELECT x_source_row AS row_number, problem.col AS column_name, problem.reason AS reason, raw
FROM _sw_openai_usage WHERE problem IS NOT NULL
"""

_LINES_SQL = """
INSERT INTO stage_lines BY NAME
WITH lines AS (
    SELECT *,
        CASE WHEN batch = 'true' THEN 'batch' ELSE coalesce(service_tier, 'default') END AS tier,
        'openai|usage_completions|' || coalesce(project_id, '') || '|' || coalesce(model, '') || '|'
            || coalesce(api_key_id, '') || '|' || coalesce(user_id, '') || '|' || coalesce(batch, '') || '|'
            || coalesce(service_tier, '') || '|' || strftime(period_start, '%Y-%m-%dT%H:%M:%SZ') || '|'
            || strftime(period_end, '%Y-%m-%dT%H:%M:%SZ') AS base_key
    FROM _sw_openai_usage WHERE problem IS NULL
)
SELECT
    project_id AS SubAccountId,
    'USD' AS BillingCurrency,
    CAST(0 AS DECIMAL(18, 6)) AS BilledCost,
    CAST(0 AS DECIMAL(18, 6)) AS EffectiveCost,
    input_tokens + output_tokens AS ConsumedQuantity,
    'Tokens' AS ConsumedUnit,
    'Usage' AS ChargeCategory,
    'Completions token usage (metering only, cost in openai_costs)' || coalesce(': ' || model, '') AS ChargeDescription,
    'Usage-Based' AS ChargeFrequency,
    period_start AS ChargePeriodStart,
    period_end AS ChargePeriodEnd,
    date_trunc('month', period_start) AS BillingPeriodStart,
    date_trunc('month', period_start) + INTERVAL 1 MONTH AS BillingPeriodEnd,
    'OpenAI' AS InvoiceIssuerName,
    'OpenAI' AS ServiceProviderName,
    'OpenAI' AS HostProviderName,
    'OpenAI API' AS ServiceName,
    'AI and Machine Learning' AS ServiceCategory,
    model AS SkuId,
    CASE WHEN model IS NOT NULL THEN model || '|' || tier END AS SkuPriceId,
    'openai' AS x_provider,
    'hosted_api' AS x_product_kind,
    project_id AS x_project_id,
    api_key_id AS x_api_key_id,
    model AS x_model,
    uncached_tokens AS x_input_tokens,
    cached_tokens AS x_cached_input_tokens,
    write_tokens AS x_cache_write_tokens,
    output_tokens AS x_output_tokens,
    base_key || CASE WHEN row_number() OVER (PARTITION BY base_key ORDER BY x_source_row) > 1
                     THEN '#' || row_number() OVER (PARTITION BY base_key ORDER BY x_source_row) ELSE '' END
        AS x_natural_key,
    x_source_row
FROM lines
"""
