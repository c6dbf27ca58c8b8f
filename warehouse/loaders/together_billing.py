"""Together AI billing usage, in spendwatch's documented JSON shape, as billed line items.

Together AI publishes no billing/usage export schema (searched Together's docs and
public code on 2026-12-01: only balance/credits endpoints and the per-response
OpenAI-style ``usage`` object are documented), so this loader reads a shape
spendwatch defines, kept close to Together's API conventions (snake_case,
OpenAI-style ``usage`` token names, ``hardware`` ids such as
``2x_nvidia_h100_80gb_sxm`` as their dedicated-endpoint API uses):

.. code-block:: json

    {"object": "together.billing_usage",
     "start_date": "2026-11-01", "end_date": "2026-12-01",
     "data": [{"start_time": "2026-11-01T00:00:00Z", "end_time": "2026-11-02T00:00:00Z",
               "usage_type": "serverless_inference",
               "model": "meta-llama/Llama-3.3-70B-Instruct-Turbo",
               "endpoint_id": null, "hardware": null, "api_key_id": "key_...",
               "prompt_tokens": 41250000, "cached_prompt_tokens": 6100000,
               "completion_tokens": 9870000, "billed_seconds": null,
               "cost": "45.2540", "currency": "USD"}]}

``usage_type`` is ``serverless_inference`` / ``batch_inference`` (``hosted_api``),
``dedicated_endpoint`` (``dedicated_gpu``: ``billed_seconds`` of the endpoint's
hardware, ``x_gpu_count`` from the ``<n>x_`` prefix, ``x_gpu_seconds =
billed_seconds x n``, ``x_gpu_class`` from the hardware id) or ``fine_tuning``
(``other``).  ``cost`` is a decimal string in ``currency`` (USD).  As with
OpenAI, ``cached_prompt_tokens`` is a subset of ``prompt_tokens``:
``x_input_tokens`` = prompt - cached.  These lines carry both money and tokens
(there is no separate Together usage format to double-count against).
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from warehouse.ingest.sqlkit import number_sql
from warehouse.ingest.contract import UnreadableFile
from warehouse.loaders import DAY
from warehouse.loaders._declared import (
    Check, Declared, amount, billed, count, gpu_classes, iso, key, missing, noted, period, usage_line, usd,
)
from warehouse.loaders._io import COUNT_SQL, RFC3339_SQL, drop_temp, head_text, read_json_docs

FORMAT = "together_billing"
SCOPE = ("BillingAccountId", DAY)  # the export has no account: the day

USAGE_TYPES = {
    "serverless_inference": "hosted_api",
    "batch_inference": "hosted_api",
    "dedicated_endpoint": "dedicated_gpu",
    "fine_tuning": "other",
}
_OBJECT = re.compile(r'"object"\s*:\s*"together\.billing_usage"')


def sniff(path: Path, head: bytes) -> bool:
    """A Together billing usage document: top-level ``"object": "together.billing_usage"``."""
    text = head_text(head).lstrip()
    return text.startswith(("{", "[")) and bool(_OBJECT.search(text))


def _read(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> None:
    """The items of every together.billing_usage object into ``table(x_source_row, item)``."""
    read_json_docs(con, path, "_sw_together_docs", "Together billing")
    try:
        bad = con.execute(
            """SELECT doc_i FROM _sw_together_docs
               WHERE in_array OR json_type(doc) IS DISTINCT FROM 'OBJECT'
                  OR (doc ->> '$.object') IS DISTINCT FROM 'together.billing_usage'
                  OR json_type(doc -> '$.data') IS DISTINCT FROM 'ARRAY'
               ORDER BY doc_i LIMIT 1"""
        ).fetchone()
        if bad is not None:
            raise UnreadableFile(
                f"{path}: JSON value {bad[0]} is not a together.billing_usage object with a 'data' array "
                "(expected $.object = together.billing_usage and $.data[*])"
            )
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE {table} AS
            SELECT CAST(row_number() OVER (ORDER BY doc_i, item_i) AS INTEGER) AS x_source_row, item
            FROM (
                SELECT doc_i, unnest(items) AS item, generate_subscripts(items, 1) AS item_i
                FROM (SELECT doc_i, CAST(doc -> '$.data' AS JSON[]) AS items FROM _sw_together_docs)
            )
            """
        )
    finally:
        drop_temp(con, "_sw_together_docs")


_PARSE = f"""
WITH kinds AS (
    SELECT unnest(CAST(? AS VARCHAR[])) AS usage_type, unnest(CAST(? AS VARCHAR[])) AS product_kind
), fields AS (
    SELECT
        x_source_row,
        CAST(item AS VARCHAR) AS raw,
        item ->> '$.start_time' AS start_raw,
        item ->> '$.end_time' AS end_raw,
        item ->> '$.usage_type' AS usage_type,
        item ->> '$.model' AS model,
        item ->> '$.endpoint_id' AS endpoint_id,
        item ->> '$.hardware' AS hardware,
        item ->> '$.api_key_id' AS api_key_id,
        item ->> '$.prompt_tokens' AS prompt_raw,
        item ->> '$.cached_prompt_tokens' AS cached_raw,
        item ->> '$.completion_tokens' AS completion_raw,
        item ->> '$.billed_seconds' AS seconds_raw,
        item ->> '$.cost' AS cost_raw,
        item ->> '$.currency' AS currency_raw
    FROM {{raw}}
)
SELECT fields.* REPLACE (coalesce(kinds.usage_type, fields.usage_type) AS usage_type),
    coalesce(kinds.product_kind, 'other') AS product_kind, kinds.usage_type IS NULL AS unknown_type,
    fields.usage_type AS usage_type_raw,
    {RFC3339_SQL.format('start_raw')} AS period_start,
    {RFC3339_SQL.format('end_raw')} AS period_end,
    {COUNT_SQL.format('prompt_raw')} AS prompt,
    {COUNT_SQL.format('cached_raw')} AS cached,
    {COUNT_SQL.format('completion_raw')} AS completion,
    {number_sql('seconds_raw', 'DECIMAL(38, 3)')} AS billed_seconds,
    TRY_CAST(regexp_extract(hardware, '^([0-9]+)x[_-]', 1) AS INTEGER) AS gpu_count,
    {number_sql('cost_raw', 'DECIMAL(38, 18)')} AS cost
FROM fields LEFT JOIN kinds ON kinds.usage_type = lower(trim(fields.usage_type))
"""

_CHECKS = [
    *period("start_time", "end_time", "start_raw", "end_raw", "period_start", "period_end"),
    missing("usage_type", "usage_type"),
    *amount("cost", "cost_raw", "cost"),
    *usd("currency", "currency_raw", "Together"),
]
# Tokens and seconds are not the money: a count that cannot be read loads the line with a
# note, the count (and what is derived from it) NULL.  Cached tokens above the prompt leave
# both unknown (the uncached input would be negative).
_QUANTITY_NOTES = [
    *noted(count("prompt_tokens", "prompt_raw", "prompt"), "prompt"),
    *noted(count("cached_prompt_tokens", "cached_raw", "cached"), "cached"),
    *noted(count("completion_tokens", "completion_raw", "completion"), "completion"),
    *noted([Check("cached_prompt_tokens", "coalesce(cached, 0) > coalesce(prompt, 0)",
                  "'cached_prompt_tokens (' || cached || ') exceed prompt_tokens (' || coalesce(prompt, 0) || '); "
                  "they must be a subset of it'")], "prompt", "cached"),
    *noted([Check("billed_seconds", "seconds_raw IS NOT NULL AND (billed_seconds IS NULL OR billed_seconds < 0)",
                  "'billed_seconds ' || seconds_raw || ' is not a number of seconds'"),
            Check("billed_seconds", "billed_seconds * coalesce(gpu_count, 1) >= 1e14",
                  "'billed_seconds ' || seconds_raw || ' is out of range'")], "billed_seconds"),
]



_LINES = f"""
SELECT {usage_line('Together AI', 'together')}, {billed('cost')},
    CASE WHEN product_kind = 'dedicated_gpu' THEN billed_seconds
         WHEN (prompt_raw IS NOT NULL AND prompt IS NULL) OR (completion_raw IS NOT NULL AND completion IS NULL) THEN NULL
         ELSE coalesce(prompt, 0) + coalesce(completion, 0) END AS ConsumedQuantity,  -- a noted count: unknown
    CASE WHEN product_kind = 'dedicated_gpu' THEN CASE WHEN billed_seconds IS NOT NULL THEN 'Seconds' END ELSE 'Tokens' END
        AS ConsumedUnit,
    usage_type || coalesce(': ' || model, '') || coalesce(' on ' || hardware, '') AS ChargeDescription,
    'Together AI' AS ServiceName,
    CASE WHEN product_kind = 'dedicated_gpu' THEN 'Compute' WHEN unknown_type THEN 'Other'
         ELSE 'AI and Machine Learning' END AS ServiceCategory,
    endpoint_id AS ResourceId, CASE WHEN endpoint_id IS NOT NULL THEN 'Dedicated Endpoint' END AS ResourceType,
    coalesce(model, hardware) AS SkuId, product_kind AS x_product_kind, api_key_id AS x_api_key_id,
    endpoint_id AS x_endpoint_id, CASE WHEN NOT unknown_type THEN g.gpu_class END AS x_gpu_class,
    CASE WHEN NOT unknown_type THEN gpu_count END AS x_gpu_count,
    CASE WHEN product_kind = 'dedicated_gpu' THEN billed_seconds * coalesce(gpu_count, 1) END AS x_gpu_seconds,
    model AS x_model, CASE WHEN prompt IS NOT NULL AND (cached_raw IS NULL OR cached IS NOT NULL)
         THEN prompt - coalesce(cached, 0) END AS x_input_tokens,
    cached AS x_cached_input_tokens, completion AS x_output_tokens,
    'together|' || {key('usage_type', 'model', 'endpoint_id', 'hardware', 'api_key_id', iso('period_start'), iso('period_end'))}
        AS base_key,
    x_source_row
FROM {{accepted}} t LEFT JOIN _sw_together_gpu g ON g.raw = t.hardware
"""

# An odd spelling of a usage type ("Serverless_Inference ") reads as the type, with a note.
# A usage type Together may add later ("audio_transcription") loads as written, with a note:
# its money counts in spend, its product kind is 'other' (no GPU class, no GPU seconds), so
# neither the serverless/API models nor the GPU models count it as theirs.
_NOTES = [Check("usage_type", "usage_type_raw <> usage_type",
                "'usage_type \"' || usage_type_raw || '\" read as ' || usage_type"),
          Check("usage_type", "unknown_type",
                "'unknown usage_type \"' || usage_type_raw || '\": kept as written, product kind other "
                "(known: " + ", ".join(USAGE_TYPES) + ")'"),
          *_QUANTITY_NOTES]

LOADER = Declared(
    format=FORMAT, read=_read, parse=_PARSE, checks=_CHECKS, lines=_LINES, notes=_NOTES,
    prepare=gpu_classes("hardware", "_sw_together_gpu"),
                  params=(list(USAGE_TYPES), list(USAGE_TYPES.values())))
stage = LOADER.stage
