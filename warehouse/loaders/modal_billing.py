"""Modal workspace billing report: ``modal billing report --csv/--json`` or ``workspace_billing_report()`` rows.

One row per billable Modal object (an App, a Sandbox, ...) per interval, with the
object's total cost in USD for that interval.  Three shapes are read (confirmed
against modal-labs/modal-client ``modal/_billing.py`` and ``modal/cli/billing.py``
and modal.com/docs/reference/modal.billing on 2026-12-01):

* the CLI's CSV: header ``Object ID,Description,Environment,Interval Start,Cost``
  plus ``Tags`` (a JSON object as text) when ``--tag-names`` was given;
* the CLI's ``--json``: an array of objects with those same keys;
* the Python API's items dumped to JSON: ``object_id``, ``description``,
  ``environment_name``, ``interval_start``, ``cost`` (Decimal as text),
  ``tags`` (an object).

``Interval Start`` is ISO 8601 in UTC without an offset (with one when the CLI ran
with ``--tz``; it is converted to UTC).  The report does not say its resolution
(``d`` daily by default, or ``h`` hourly), so it is inferred per file: any start
off midnight, or two distinct starts less than a day apart, means hourly;
otherwise daily.  ``ChargePeriodEnd = interval start + 1 hour / 1 day``.

Mapping: ``x_workspace_id`` (and SubAccountId) = environment name,
``x_endpoint_id`` = ResourceId = object id, ``ResourceName`` = description, tags
-> ``Tags``.  Every row is Modal serverless compute, ``x_product_kind =
'serverless_gpu'``: the report gives one total per object and interval (GPU, CPU
and memory together; it has no per-resource split to keep as separate lines), so
``x_gpu_seconds`` stays NULL and ``x_gpu_class`` is set only when the description
names a GPU (a token such as ``h100``, ``a100-40gb`` or ``l40s``).
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from scrapers.gpus import try_normalise_gpu
from warehouse.ingest.sqlkit import number_sql
from warehouse.ingest.contract import UnreadableFile
from warehouse.loaders import DAY
from warehouse.loaders._declared import Check, Declared, amount, billed, iso, key, missing, usage_line
from warehouse.loaders._io import (
    RFC3339_SQL, check_columns, drop_temp, first_char, head_text, read_csv_rows, read_json_docs,
)

FORMAT = "modal_billing"
SCOPE = ("BillingAccountId", DAY)  # the report has no account: the day

CSV_COLUMNS = ("Object ID", "Description", "Environment", "Interval Start", "Cost")
_CLI_JSON = (re.compile(r'"Object ID"\s*:'), re.compile(r'"Interval Start"\s*:'), re.compile(r'"Cost"\s*:'))
_API_JSON = (
    re.compile(r'"object_id"\s*:'),
    re.compile(r'"environment_name"\s*:'),
    re.compile(r'"interval_start"\s*:'),
    re.compile(r'"cost"\s*:'),
)


def sniff(path: Path, head: bytes) -> bool:
    """A Modal billing report: the CLI's CSV header, or JSON rows with its column names or the API's keys."""
    text = head_text(head).lstrip()
    if text.startswith(("[", "{")):
        return all(p.search(text) for p in _CLI_JSON) or all(p.search(text) for p in _API_JSON)
    first = text.splitlines()[0] if text else ""
    header = tuple(c.strip().strip('"') for c in first.split(","))
    return header[: len(CSV_COLUMNS)] == CSV_COLUMNS


def _read(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> None:
    """The CLI's CSV, or its --json / the API's rows, into ``table`` with the normalised column names."""
    (_read_json if first_char(path) in ("[", "{") else _read_csv)(con, path, table)


def _read_csv(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> None:
    """Load the CLI CSV into ``table`` with the normalised column names (file order kept)."""
    columns = read_csv_rows(con, path, "_sw_modal_csv", "Modal billing")
    try:
        check_columns(con, path, columns, tuple(CSV_COLUMNS), ("Tags",), "Modal billing")
        tags = '"Tags"' if "Tags" in columns else "NULL"
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE {table} AS
            SELECT x_source_row,
                   "Object ID" AS object_id, "Description" AS description, "Environment" AS environment,
                   "Interval Start" AS start_raw, "Cost" AS cost_raw, {tags} AS tags_raw, raw
            FROM _sw_modal_csv
            """
        )
    finally:
        drop_temp(con, "_sw_modal_csv")


def _read_json(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> None:
    """Load CLI ``--json`` or API-dump rows into ``table`` with the normalised column names."""
    read_json_docs(con, path, "_sw_modal_docs", "Modal billing")
    try:
        bad = con.execute(
            "SELECT doc_i FROM _sw_modal_docs WHERE NOT in_array AND json_type(doc) NOT IN ('ARRAY', 'OBJECT') "
            "ORDER BY doc_i LIMIT 1"
        ).fetchone()
        if bad is not None:
            raise UnreadableFile(f"{path}: JSON value {bad[0]} is not a Modal billing row or array of rows "
                                 "(expected $[*] or one row object)")
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE {table} AS
            WITH listed AS (
                SELECT doc_i, CASE WHEN json_type(doc) = 'ARRAY' AND NOT in_array THEN CAST(doc AS JSON[]) ELSE [doc] END AS rows
                FROM _sw_modal_docs
            ), items AS (
                SELECT doc_i, unnest(rows) AS r, generate_subscripts(rows, 1) AS row_i FROM listed
            )
            SELECT CAST(row_number() OVER (ORDER BY doc_i, row_i) AS INTEGER) AS x_source_row,
                   coalesce(r ->> '$.object_id', r ->> '$."Object ID"') AS object_id,
                   coalesce(r ->> '$.description', r ->> '$."Description"') AS description,
                   coalesce(r ->> '$.environment_name', r ->> '$."Environment"') AS environment,
                   coalesce(r ->> '$.interval_start', r ->> '$."Interval Start"') AS start_raw,
                   coalesce(r ->> '$.cost', r ->> '$."Cost"') AS cost_raw,
                   CASE WHEN json_type(r -> '$.tags') = 'OBJECT' THEN CAST(r -> '$.tags' AS VARCHAR)
                        ELSE coalesce(r ->> '$.tags', r ->> '$."Tags"') END AS tags_raw,
                   CAST(r AS VARCHAR) AS raw
            FROM items
            """
        )
    finally:
        drop_temp(con, "_sw_modal_docs")


def gpu_in_description(description: str) -> str | None:
    """The GPU class a Modal object's description names (e.g. ``llm-h100`` -> H100-80GB-SXM), else None.

    Only whole tokens (or a token and its size suffix, ``a100-40gb``) that begin with
    the GPU's own name count, so ``gpt4-chat`` is not mistaken for a T4.
    """
    tokens = [t for t in re.split(r"[^a-z0-9]+", description.lower()) if t]
    for i, token in enumerate(tokens):
        candidates = ([token + tokens[i + 1]] if i + 1 < len(tokens) else []) + [token]
        for candidate in candidates:
            cls = try_normalise_gpu(candidate)
            if cls and candidate.startswith(cls.split("-")[0].lower()):
                return cls
    return None


def _register_description_gpus(con: duckdb.DuckDBPyConnection, parsed: str) -> list[str]:
    """Map each distinct description, and each distinct ``gpu`` tag value, to a GPU class.

    Modal's report does not say which GPU an object ran on; teams that tag their apps
    (``{"gpu": "H100"}``) get the class from the tag, others from a description that names it.
    """
    names = [r[0] for r in con.execute(f"SELECT DISTINCT description FROM {parsed} WHERE description IS NOT NULL").fetchall()]
    classes = [gpu_in_description(n) for n in names]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _sw_modal_gpu AS "
        "SELECT unnest(CAST(? AS VARCHAR[])) AS description, unnest(CAST(? AS VARCHAR[])) AS gpu_class",
        [names, classes],
    )
    tag_values = [
        r[0]
        for r in con.execute(
            f"SELECT DISTINCT json_extract_string(tags, '$.gpu') FROM {parsed} "
            "WHERE json_extract_string(tags, '$.gpu') IS NOT NULL"
        ).fetchall()
    ]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _sw_modal_tag_gpu AS "
        "SELECT unnest(CAST(? AS VARCHAR[])) AS tag_gpu, unnest(CAST(? AS VARCHAR[])) AS gpu_class",
        [tag_values, [try_normalise_gpu(v) for v in tag_values]],
    )
    return ["_sw_modal_gpu", "_sw_modal_tag_gpu"]


_PARSE = f"""
WITH typed AS (
    SELECT *,
        {RFC3339_SQL.format('start_raw')} AS period_start,
        {number_sql('cost_raw', 'DECIMAL(38, 18)')} AS cost,
        CASE WHEN nullif(trim(tags_raw), '') IS NOT NULL THEN TRY_CAST(tags_raw AS JSON) END AS tags
    FROM {{raw}}
), starts AS (
    SELECT period_start, lead(period_start) OVER (ORDER BY period_start) AS next_start
    FROM (SELECT DISTINCT period_start FROM typed WHERE period_start IS NOT NULL)
), resolution AS (
    SELECT CASE WHEN bool_or(period_start <> date_trunc('day', period_start))
                  OR min(next_start - period_start) < INTERVAL 1 DAY THEN 'hour' ELSE 'day' END AS resolution
    FROM starts
)
SELECT typed.*, resolution.resolution, nullif(trim(cost_raw), '') AS cost_given,
    period_start + CASE resolution.resolution WHEN 'hour' THEN INTERVAL 1 HOUR ELSE INTERVAL 1 DAY END AS period_end
FROM typed, resolution
"""

_CHECKS = [
    missing("object_id", "nullif(trim(object_id), '')", "Object ID"),
    missing("interval_start", "nullif(trim(start_raw), '')", "Interval Start"),
    Check("interval_start", "period_start IS NULL", "'Interval Start ' || start_raw || ' is not an ISO 8601 timestamp'"),
    *amount("cost", "cost_given", "cost", label="Cost"),
]
# Tags that are not a JSON object are no reason to lose the money: the row loads without them.
_NOTES = [Check("tags", "nullif(trim(tags_raw), '') IS NOT NULL AND json_type(tags) IS DISTINCT FROM 'OBJECT'",
                "'Tags is not a JSON object: not loaded (the record is kept here)'")]

_LINES = f"""
SELECT {usage_line('Modal', 'modal')}, {billed('cost')},
    environment AS SubAccountId, environment AS SubAccountName,
    coalesce(description, object_id) || ' (' || CASE resolution WHEN 'hour' THEN 'hourly' ELSE 'daily' END || ')'
        AS ChargeDescription,
    'Modal' AS ServiceName, 'Compute' AS ServiceCategory, object_id AS ResourceId, description AS ResourceName,
    CASE WHEN json_type(tags) = 'OBJECT' THEN tags END AS Tags, 'serverless_gpu' AS x_product_kind, environment AS x_workspace_id, object_id AS x_endpoint_id,
    coalesce(tg.gpu_class, g.gpu_class) AS x_gpu_class,
    'modal|' || {key('environment', 'object_id', iso('period_start'))} AS base_key,
    x_source_row
FROM {{accepted}} m
LEFT JOIN _sw_modal_gpu g USING (description)
LEFT JOIN _sw_modal_tag_gpu tg ON tg.tag_gpu = json_extract_string(m.tags, '$.gpu')
"""

LOADER = Declared(format=FORMAT, read=_read, parse=_PARSE, checks=_CHECKS, lines=_LINES, notes=_NOTES,
                  prepare=_register_description_gpus)
stage = LOADER.stage
