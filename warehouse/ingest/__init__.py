"""Ingesting usage and invoice exports: every export row becomes a billed line with a team, exactly once.

The framework drives the format loaders in ``warehouse.loaders`` (contract in
``warehouse/loaders/__init__.py``):

1. ``detect_format`` sniffs the file's content and picks the loader.
2. ``ingest_file`` hashes the file; a file already ingested (same sha256) is skipped
   and nothing changes.  Otherwise, in ONE transaction, the loader stages the rows
   into the temp tables ``stage_lines`` / ``stage_rejects``, the framework attributes
   every staged line to a team (first matching ``[[attribution]]`` rule, else
   ``unallocated``), deletes the rows of earlier files that this export restates
   (same ``x_natural_key``), inserts the new lines, records the file in
   ``ingested_files`` and its rejects in ``ingest_rejects``, and checks that every
   row read was either loaded or rejected.  Any failure rolls the whole file back.
3. ``ingest_paths`` walks files and folders, one transaction per file.

Direct loaders.  Writing every line twice (``stage_lines``, then billing_line_items)
dominates the cost of a multi-GB export, so a loader whose ``stage`` accepts a third
argument ``lines`` (a ``LineSink``) may instead hand the framework ONE ``SELECT`` of
its staged columns: the framework inserts it straight into billing_line_items with
the line id, the team (the same first-matching-rule attribution, evaluated inline)
and the provenance.  A row the loader rejects is one whose ``x_natural_key`` is NULL:
it is inserted marked (``x_source_format = ''``, placeholders in NOT NULL columns),
its row numbers are listed in ``stage_rejected`` for the loader to write its
``stage_rejects``, and the framework deletes it before restated rows are replaced.
Everything else (one transaction, read = loaded + rejected, exactly-once, restatement,
totals, rollback on any error) is the same as for staged loaders.

Everything bulk happens inside DuckDB; Python only passes parameters.
"""

from __future__ import annotations

from warehouse.ingest.attribution import attribute, attribution_sql, load_rules
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
from warehouse.loaders import FRAMEWORK_COLUMNS, UnreadableFile

__all__ = [
    "FRAMEWORK_COLUMNS", "GZIP_MAGIC", "HEAD_BYTES", "INGEST_MEMORY_LIMIT", "ISO_4217_CODES", "LINE_ID_SQL",
    "STAGE_COLUMNS", "FileLoad", "IngestResult", "ingest_delivery", "noted_rows", "forget_delivery",
    "list_deliveries", "LineSink", "Loader", "UnreadableFile", "attribute", "attribution_sql",
    "check_staged", "clean_sql", "create_stage_tables", "currency_list", "decimal_sql", "detect_format",
    "discover_loaders", "drop_stage_tables", "error_summary", "file_sha256", "in_set_sql", "ingest_file",
    "ingest_paths", "insert_lines", "iter_export_files", "known_formats", "lazy_sql", "line_id", "load_rules",
    "number_sql", "provider_id_sql", "quote_ident", "read_head", "rejected_rows", "resolve_loader", "stage_file",
    "symbol_mismatch_sql", "timestamp_sql",
]
