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

from warehouse.ingest.sqlkit import number_sql
from warehouse.loaders import DAY
from warehouse.loaders._declared import (
    METERED, Check, Declared, count, gpu_classes, iso, key, missing, period, usage_line,
)
from warehouse.loaders._io import COUNT_SQL, RFC3339_SQL, check_columns, drop_temp, head_text, read_csv_rows

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


def _read(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> None:
    """The CSV's rows into ``table``: the metering columns (optional ones NULL when absent) and ``raw``."""
    columns = read_csv_rows(con, path, "_sw_fireworks_csv", "Fireworks billing-metrics")
    try:
        check_columns(con, path, columns, tuple(REQUIRED_COLUMNS), tuple(_OPTIONAL_COLUMNS), "Fireworks billing-metrics")
        optional = ", ".join(f'"{c}"' if c in columns else f"NULL AS {c}" for c in _OPTIONAL_COLUMNS)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS "
                    f"SELECT x_source_row, {', '.join(REQUIRED_COLUMNS)}, {optional}, raw FROM _sw_fireworks_csv")
    finally:
        drop_temp(con, "_sw_fireworks_csv")


_PARSE = f"""
WITH typed AS (
    SELECT *,
        {RFC3339_SQL.format('start_time')} AS period_start,
        {RFC3339_SQL.format('end_time')} AS period_end_raw,
        nullif(trim(start_time), '') AS start_given, nullif(trim(end_time), '') AS end_given,
        nullif(trim(accelerator_seconds), '') AS seconds_given,
        {number_sql("nullif(trim(accelerator_seconds), '')", 'DECIMAL(38, 3)')} AS acc_seconds,
        nullif(trim(prompt_tokens), '') AS prompt_given, nullif(trim(completion_tokens), '') AS completion_given,
        {COUNT_SQL.format("nullif(trim(prompt_tokens), '')")} AS prompt,
        {COUNT_SQL.format("nullif(trim(completion_tokens), '')")} AS completion,
        nullif(trim(accelerator_type), '') AS accelerator,
        nullif(trim(base_model_name), '') AS model
    FROM {{raw}}
)
SELECT *,
    greatest(period_end_raw, period_start + INTERVAL 1 SECOND) AS period_end,
    CASE
        WHEN upper(coalesce(usage_type, '')) SIMILAR TO '.*(FINE_TUN|TRAIN).*' THEN 'other'
        WHEN acc_seconds > 0 THEN 'dedicated_gpu'
        ELSE 'hosted_api'
    END AS product_kind
FROM typed
"""

# An event's end may equal its start (second resolution); only an end before the start is refused.
_CHECKS = [
    *period("start_time", "end_time", "start_given", "end_given", "period_start", "period_end_raw",
            what="a timestamp", strict=False),
    missing("usage_type", "nullif(trim(usage_type), '')"),
    Check("accelerator_seconds", "seconds_given IS NOT NULL AND (acc_seconds IS NULL OR acc_seconds < 0)",
          "'accelerator_seconds ' || accelerator_seconds || ' is not a number of seconds'"),
    Check("accelerator_seconds", "acc_seconds >= 1e12", "'accelerator_seconds ' || accelerator_seconds || ' is out of range'"),
    *count("prompt_tokens", "prompt_given", "prompt"),
    *count("completion_tokens", "completion_given", "completion"),
    Check("accelerator_seconds", "acc_seconds IS NULL AND prompt IS NULL AND completion IS NULL",
          "'row meters nothing: no accelerator_seconds, prompt_tokens or completion_tokens'"),
]



_LINES = f"""
SELECT {usage_line('Fireworks AI', 'fireworks')}, {METERED},
    email AS BillingAccountName,
    CASE WHEN product_kind = 'dedicated_gpu' THEN acc_seconds ELSE coalesce(prompt, 0) + coalesce(completion, 0) END
        AS ConsumedQuantity,
    CASE WHEN product_kind = 'dedicated_gpu' THEN 'Accelerator-Seconds' ELSE 'Tokens' END AS ConsumedUnit,
    usage_type || coalesce(': ' || model, '') || coalesce(' on ' || accelerator, '')
        || ' (metering only, priced later)' AS ChargeDescription,
    'Fireworks AI' AS ServiceName,
    CASE WHEN product_kind = 'dedicated_gpu' THEN 'Compute' ELSE 'AI and Machine Learning' END AS ServiceCategory,
    coalesce(model, accelerator) AS SkuId, product_kind AS x_product_kind, g.gpu_class AS x_gpu_class,
    CASE WHEN acc_seconds > 0 THEN acc_seconds END AS x_gpu_seconds, model AS x_model,
    prompt AS x_input_tokens, completion AS x_output_tokens,
    'fireworks|' || {key('email', 'usage_type', 'accelerator', 'model', iso('period_start'), iso('period_end'))} AS base_key,
    x_source_row
FROM {{accepted}} f LEFT JOIN _sw_fireworks_gpu g ON g.raw = f.accelerator
"""

LOADER = Declared(
    format=FORMAT, read=_read, parse=_PARSE, checks=_CHECKS, lines=_LINES,
    prepare=gpu_classes("accelerator_type", "_sw_fireworks_gpu"))
stage = LOADER.stage
