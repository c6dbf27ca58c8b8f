"""Ingesting usage and invoice exports: every export row becomes a billed line; corrections replace.

One job per module; the format loaders in ``warehouse.loaders`` (contract in
``warehouse/loaders/__init__.py``) say how each format reads:

* ``files``: finding exports (folders walked in order, no symlink followed out of them,
  AWS manifests grouping their parts into one delivery), hashes, a file's first bytes;
* ``formats``: the loader modules and which one reads a file (``detect_format``);
* ``deliveries``: the delivery and scope books: the newest delivery of each scope is its
  truth, superseded lines move to ``billing_line_items_archive``, bytes delivered again
  become current again, ``forget`` gives a scope back (see that module);
* ``load``: the transactional load of one delivery (``ingest_delivery``, ``ingest_file``)
  and of every export under some paths (``ingest_paths``): in ONE transaction the loader
  stages the rows, the framework inserts the lines, records the files,
  their rejects and data-quality notes, records the delivery's scopes and moves the
  lines it supersedes, and checks that every row read was loaded or rejected; any
  failure rolls the whole delivery back;
* ``staging``: the temp tables a loader fills and the direct ``LineSink``: writing every
  line twice (``stage_lines``, then billing_line_items) dominates the cost of a multi-GB
  export, so a loader whose ``stage`` accepts ``lines`` hands the framework ONE ``SELECT``
  inserted straight into billing_line_items (a NULL ``x_natural_key`` marks a reject,
  ``x_noted`` a row with a note; the loader then writes their reasons);
* ``settings``: DuckDB settings for one ingest; ``sqlkit``: the SQL the loaders share.

Teams are not decided here: attribution is a model (``dbt_like_sql/staging/stg_line_attribution.sql``)
over every stored line and the current rules, so editing the rules re-attributes every month.

Everything bulk happens inside DuckDB; Python only passes parameters.
"""

from __future__ import annotations

from warehouse.ingest.files import file_sha256, iter_export_files, read_head
from warehouse.ingest.formats import Loader, detect_format, discover_loaders, known_formats, resolve_loader
from warehouse.ingest.deliveries import listing as list_deliveries
from warehouse.ingest.load import (
    IngestResult, forget_delivery, ingest_delivery, ingest_file, ingest_paths, noted_rows, rejected_rows,
)
from warehouse.ingest.settings import INGEST_MEMORY_LIMIT
from warehouse.ingest.sqlkit import (
    GZIP_MAGIC, HEAD_BYTES, ISO_4217_CODES, clean_sql, currency_list, decimal_sql, error_summary, in_set_sql,
    lazy_sql, number_sql, provider_id_sql, quote_ident, symbol_mismatch_sql, timestamp_sql,
)
from warehouse.ingest.staging import (
    LINE_ID_SQL, STAGE_COLUMNS, FileLoad, LineSink, check_staged, create_stage_tables, drop_stage_tables, insert_lines,
    line_id, stage_file,
)
from warehouse.ingest.contract import FRAMEWORK_COLUMNS, UnreadableFile

__all__ = [
    "FRAMEWORK_COLUMNS", "GZIP_MAGIC", "HEAD_BYTES", "INGEST_MEMORY_LIMIT", "ISO_4217_CODES", "LINE_ID_SQL",
    "STAGE_COLUMNS", "FileLoad", "IngestResult", "ingest_delivery", "noted_rows", "forget_delivery",
    "list_deliveries", "LineSink", "Loader", "UnreadableFile",
    "check_staged", "clean_sql", "create_stage_tables", "currency_list", "decimal_sql", "detect_format",
    "discover_loaders", "drop_stage_tables", "error_summary", "file_sha256", "in_set_sql", "ingest_file",
    "ingest_paths", "insert_lines", "iter_export_files", "known_formats", "lazy_sql", "line_id",
    "number_sql", "provider_id_sql", "quote_ident", "read_head", "rejected_rows", "resolve_loader", "stage_file",
    "symbol_mismatch_sql", "timestamp_sql",
]
