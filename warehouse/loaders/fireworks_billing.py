"""Fireworks billing metrics: the ``firectl billing export-metrics`` CSV as usage metering lines.

Columns (confirmed against docs.fireworks.ai ``/accounts/exporting-billing-metrics``
on 2026-12-01): ``email, start_time, end_time, usage_type, accelerator_type,
accelerator_seconds, base_model_name, model_bucket, parameter_count,
prompt_tokens, completion_tokens``; one row per usage event, timestamps like
``2025-10-20 17:16:48 UTC``.  The export carries metered quantities only, NO
dollars (Fireworks' rated costs are a different export), so every row becomes a
*metering line*: ``BilledCost = 0`` USD, ``ChargeCategory = 'Usage'``,
``x_source_format = 'fireworks_billing'``; the models price the tokens and
accelerator-seconds later from the price history.

Mapping: rows with ``accelerator_seconds`` > 0 are on-demand (dedicated)
deployment time: ``x_product_kind = 'dedicated_gpu'``, ``x_gpu_seconds`` =
accelerator-seconds, ``x_gpu_class`` from ``accelerator_type``; fine-tuning /
training rows are ``other``; the rest (serverless inference) are
``hosted_api``.  Tokens: ``x_input_tokens`` = ``prompt_tokens`` (the export has
no cached split), ``x_output_tokens`` = ``completion_tokens``.  An event row with
``end_time`` equal to ``start_time`` (second resolution) is given the period
[start, start + 1 s); ``end_time`` before ``start_time`` is rejected.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from warehouse.ingest import number_sql
from warehouse.loaders import DAY, UnreadableFile
from warehouse.loaders.openai_costs import COUNT_SQL, RFC3339_SQL, drop_temp, head_text, read_csv_rows, register_gpu_classes

FORMAT = "fireworks_billing"
SCOPE = ("BillingAccountId", DAY)  # the export has no account: the day
METERING_ONLY = True  # lines carry quantities; BilledCost is always 0

REQUIRED_COLUMNS = (
    "start_time",
    "end_time",
    "usage_type",
    "accelerator_type",
    "accelerator_seconds",
    "base_model_name",
    "prompt_tokens",
    "completion_tokens",
)
_OPTIONAL_COLUMNS = ("email", "model_bucket", "parameter_count")


def sniff(path: Path, head: bytes) -> bool:
    """A Fireworks billing-metrics CSV: its header names every metering column."""
    text = head_text(head).lstrip()
    first = text.splitlines()[0] if text else ""
    header = {c.strip().strip('"') for c in first.split(",")}
    return set(REQUIRED_COLUMNS) <= header


def stage(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Stage every metrics row (valid -> metering line, other -> reject); return rows read."""
    columns = read_csv_rows(con, path, "_sw_fireworks_csv", "Fireworks billing-metrics")
    try:
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        if missing:
            raise UnreadableFile(f"{path}: Fireworks billing-metrics CSV lacks column(s) {', '.join(missing)}")
        optional = ", ".join(f'"{c}"' if c in columns else f"NULL AS {c}" for c in _OPTIONAL_COLUMNS)
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _sw_fireworks_raw AS
            SELECT x_source_row, {", ".join(REQUIRED_COLUMNS)}, {optional}, raw FROM _sw_fireworks_csv
            """
        )
        con.execute(_PARSE_SQL)
        register_gpu_classes(con, "SELECT accelerator_type FROM _sw_fireworks", "_sw_fireworks_gpu")
        con.execute(_REJECTS_SQL)
        con.execute(_LINES_SQL)
        return con.execute("SELECT count(*) FROM _sw_fireworks").fetchone()[0]
    finally:
        drop_temp(con, "_sw_fireworks_csv", "_sw_fireworks_raw", "_sw_fireworks", "_sw_fireworks_gpu")


_PARSE_SQL = f"""
CREATE OR REPLACE TEMP TABLE _sw_fireworks AS
WITH typed AS (
    SELECT *,
        {RFC3339_SQL.format('start_time')} AS period_start,
        {RFC3339_SQL.format('end_time')} AS period_end_raw,
        {number_sql("nullif(trim(accelerator_seconds), '')", 'DECIMAL(38, 3)')} AS acc_seconds,
        {COUNT_SQL.format("nullif(trim(prompt_tokens), '')")} AS prompt,
        {COUNT_SQL.format("nullif(trim(completion_tokens), '')")} AS completion,
        nullif(trim(accelerator_type), '') AS accelerator,
        nullif(trim(base_model_name), '') AS model
    FROM _sw_fireworks_raw
)
SELECT *,
    greatest(period_end_raw, period_start + INTERVAL 1 SECOND) AS period_end,
    CASE
        WHEN upper(coalesce(usage_type, '')) SIMILAR TO '.*(FINE_TUN|TRAIN).*' THEN 'other'
        WHEN acc_seconds > 0 THEN 'dedicated_gpu'
        ELSE 'hosted_api'
    END AS product_kind,
    CASE
        WHEN nullif(trim(start_time), '') IS NULL THEN {{'col': 'start_time', 'reason': 'missing mandatory field: start_time'}}
        WHEN nullif(trim(end_time), '') IS NULL THEN {{'col': 'end_time', 'reason': 'missing mandatory field: end_time'}}
        WHEN period_start IS NULL THEN {{'col': 'start_time', 'reason': 'start_time ' || start_time || ' is not a timestamp'}}
        WHEN period_end_raw IS NULL THEN {{'col': 'end_time', 'reason': 'end_time ' || end_time || ' is not a timestamp'}}
        WHEN period_end_raw < period_start THEN {{'col': 'end_time', 'reason': 'end_time is before start_time (end before start)'}}
        WHEN nullif(trim(usage_type), '') IS NULL THEN {{'col': 'usage_type', 'reason': 'missing mandatory field: usage_type'}}
        WHEN nullif(trim(accelerator_seconds), '') IS NOT NULL AND (acc_seconds IS NULL OR acc_seconds < 0)
            THEN {{'col': 'accelerator_seconds', 'reason': 'accelerator_seconds ' || accelerator_seconds || ' is not a number of seconds'}}
        WHEN acc_seconds >= 1e12
            THEN {{'col': 'accelerator_seconds', 'reason': 'accelerator_seconds ' || accelerator_seconds || ' is out of range'}}
        WHEN nullif(trim(prompt_tokens), '') IS NOT NULL AND (prompt IS NULL OR prompt < 0)
            THEN {{'col': 'prompt_tokens', 'reason': 'prompt_tokens ' || prompt_tokens || ' is not a token count'}}
        WHEN nullif(trim(completion_tokens), '') IS NOT NULL AND (completion IS NULL OR completion < 0)
            THEN {{'col': 'completion_tokens', 'reason': 'completion_tokens ' || completion_tokens || ' is not a token count'}}
        WHEN acc_seconds IS NULL AND prompt IS NULL AND completion IS NULL
            THEN {{'col': 'accelerator_seconds', 'reason': 'row meters nothing: no accelerator_seconds, prompt_tokens or completion_tokens'}}
    END AS problem
FROM typed
"""

_REJECTS_SQL = """
INSERT INTO stage_rejects BY NAME
SELECT x_source_row AS row_number, problem.col AS column_name, problem.reason AS reason, raw
FROM _sw_fireworks WHERE problem IS NOT NULL
"""

_LINES_SQL = """
INSERT INTO stage_lines BY NAME
WITH lines AS (
    SELECT f.*, g.gpu_class,
        'fireworks|' || coalesce(email, '') || '|' || usage_type || '|' || coalesce(accelerator, '') || '|'
            || coalesce(model, '') || '|' || strftime(period_start, '%Y-%m-%dT%H:%M:%SZ') || '|'
            || strftime(period_end, '%Y-%m-%dT%H:%M:%SZ') AS base_key
    FROM _sw_fireworks f LEFT JOIN _sw_fireworks_gpu g ON g.raw = f.accelerator
    WHERE problem IS NULL
)
SELECT
    email AS BillingAccountName,
    'USD' AS BillingCurrency,
    CAST(0 AS DECIMAL(18, 6)) AS BilledCost,
    CAST(0 AS DECIMAL(18, 6)) AS EffectiveCost,
    CASE WHEN product_kind = 'dedicated_gpu' THEN acc_seconds ELSE coalesce(prompt, 0) + coalesce(completion, 0) END
        AS ConsumedQuantity,
    CASE WHEN product_kind = 'dedicated_gpu' THEN 'Accelerator-Seconds' ELSE 'Tokens' END AS ConsumedUnit,
    'Usage' AS ChargeCategory,
    usage_type || coalesce(': ' || model, '') || coalesce(' on ' || accelerator, '')
        || ' (metering only, priced later)' AS ChargeDescription,
    'Usage-Based' AS ChargeFrequency,
    period_start AS ChargePeriodStart,
    period_end AS ChargePeriodEnd,
    date_trunc('month', period_start) AS BillingPeriodStart,
    date_trunc('month', period_start) + INTERVAL 1 MONTH AS BillingPeriodEnd,
    'Fireworks AI' AS InvoiceIssuerName,
    'Fireworks AI' AS ServiceProviderName,
    'Fireworks AI' AS HostProviderName,
    'Fireworks AI' AS ServiceName,
    CASE WHEN product_kind = 'dedicated_gpu' THEN 'Compute' ELSE 'AI and Machine Learning' END AS ServiceCategory,
    coalesce(model, accelerator) AS SkuId,
    'fireworks' AS x_provider,
    product_kind AS x_product_kind,
    gpu_class AS x_gpu_class,
    CASE WHEN acc_seconds > 0 THEN acc_seconds END AS x_gpu_seconds,
    model AS x_model,
    prompt AS x_input_tokens,
    completion AS x_output_tokens,
    base_key || CASE WHEN row_number() OVER (PARTITION BY base_key ORDER BY x_source_row) > 1
                     THEN '#' || row_number() OVER (PARTITION BY base_key ORDER BY x_source_row) ELSE '' END
        AS x_natural_key,
    x_source_row
FROM lines
"""
