"""Reading provider exports into temp tables: JSON documents, CSV rows, Admin-API pages; and the SQL they share.

Helpers of the provider loaders (``warehouse.loaders._declared`` runs them); the leading
underscore keeps this module out of loader discovery.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from scrapers.gpus import try_normalise_gpu
from warehouse.ingest.sqlkit import GZIP_MAGIC, error_summary
from warehouse.ingest.contract import UnreadableFile

def head_text(head: bytes) -> str:
    """The sniffed bytes as text, without a UTF-8 byte-order mark (undecodable bytes replaced)."""
    return head.decode("utf-8", errors="replace").lstrip("\ufeff")


# RFC 3339 / ISO text -> UTC TIMESTAMP.  A value with an offset (or "Z", or " UTC") is
# converted to UTC; an offset-less value is taken as UTC, never as the session time zone.
RFC3339_SQL = (
    "CASE WHEN NOT regexp_matches({0}, '^\\s*[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') THEN NULL "
    "WHEN regexp_matches({0}, '([Zz]|[+-][0-9]{{2}}:?[0-9]{{2}}| UTC)$') "
    "THEN TRY_CAST({0} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' ELSE TRY_CAST({0} AS TIMESTAMP) END"
)


# A whole count (tokens, seconds since the epoch, GPUs) -> BIGINT; NULL for text, fractions or a
# count of 10^15 or more (no bucket holds a quadrillion tokens; the bound keeps sums of a few
# counts far inside BIGINT and the DECIMAL(24, 6) quantity columns, so such a record is
# rejected instead of overflowing and failing the whole file).
# (A plain TRY_CAST to BIGINT would silently round "12.5" to 13; DuckDB's casts also read
# "1_000" as 1000, which no export means, so an underscore makes any number NULL.)
COUNT_SQL = (
    "CASE WHEN contains({0}, '_') THEN NULL "
    "WHEN TRY_CAST({0} AS DECIMAL(38, 6)) = trunc(TRY_CAST({0} AS DECIMAL(38, 6))) "
    "AND abs(TRY_CAST({0} AS DECIMAL(38, 6))) < 1e15 "
    "THEN CAST(TRY_CAST({0} AS DECIMAL(38, 6)) AS BIGINT) END"
)


def register_gpu_classes(con: duckdb.DuckDBPyConnection, source_sql: str, table: str) -> None:
    """Create ``table(raw, gpu_class)`` mapping each distinct provider GPU name to its normalised class.

    ``source_sql`` selects one VARCHAR column of provider GPU names.  Names that
    ``scrapers.gpus`` does not know map to NULL (the raw name stays in SkuId, so the
    line is visible as unclassified instead of being mislabelled or dropped).
    """
    names = [r[0] for r in con.execute(f"SELECT DISTINCT n FROM ({source_sql}) AS s(n) WHERE n IS NOT NULL").fetchall()]
    classes = [try_normalise_gpu(n) for n in names]
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} AS "
        "SELECT unnest(CAST(? AS VARCHAR[])) AS raw, unnest(CAST(? AS VARCHAR[])) AS gpu_class",
        [names, classes],
    )


def drop_temp(con: duckdb.DuckDBPyConnection, *tables: str) -> None:
    """Drop a loader's scratch temp tables.

    Inside a transaction that already failed nothing can run (the rollback drops
    them anyway); that case is ignored so the original error is the one reported.
    """
    for table in tables:
        try:
            con.execute(f"DROP TABLE IF EXISTS {table}")
        except duckdb.TransactionException:
            return


@contextmanager
def insertion_order_kept(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Keep file order while reading into a temp table, so ``rowid`` is the record's ordinal in the file.

    The ingest framework turns ``preserve_insertion_order`` off for memory; row
    numbers must still follow the file, so it is switched on around the read only.
    Row ids of one insert are contiguous in insertion order (inside a transaction
    they start at a large offset), so the ordinal is ``rowid - min(rowid) + 1``.
    """
    (kept,) = con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()
    if kept:
        yield
        return
    con.execute("SET preserve_insertion_order = true")
    try:
        yield
    finally:
        con.execute("SET preserve_insertion_order = false")


# Largest single JSON value read (a file that is one big object, e.g. a wrapper of many records).
MAX_JSON_BYTES = 256 * 1024 * 1024


def first_char(path: Path) -> str:
    """The file's first non-blank character (of its content when gzipped), or '' for an empty file.

    A file that cannot be read (a truncated or corrupt gzip stream) is an ``UnreadableFile``.
    """
    from warehouse.ingest import read_head

    return head_text(read_head(path, 4096)).lstrip()[:1]


def last_char(path: Path) -> str:
    """The file's last non-blank character ('' for a gzip file: its end is checked by decompressing)."""
    with path.open("rb") as f:
        if f.read(2) == GZIP_MAGIC:
            return "]"  # a truncated gzip stream fails on its own (EOFError -> UnreadableFile)
        size = f.seek(0, 2)
        f.seek(max(0, size - 4096))
        tail = f.read().rstrip()
    return tail[-1:].decode("latin-1")


def read_json_docs(con: duckdb.DuckDBPyConnection, path: Path, table: str, what: str) -> None:
    """Read the file's JSON into ``table(doc_i, doc, in_array)``, numbered 1.. in file order.

    A file whose top level is an array is streamed element by element (each element
    one row, ``in_array`` true), so a large export never has to fit in memory as one
    value; otherwise each top-level value is one row (``in_array`` false).
    """
    in_array = first_char(path) == "["
    if in_array and last_char(path) != "]":  # DuckDB's array reader accepts an array cut off after a comma
        raise UnreadableFile(f"{path}: not a readable {what} JSON file: the top-level array is not closed "
                             "(a truncated file?)")
    try:
        with insertion_order_kept(con):
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {table}_read AS "
                "SELECT json AS doc FROM read_json_objects(?, format = ?, maximum_object_size = ?)",
                [str(path), "array" if in_array else "unstructured", MAX_JSON_BYTES],
            )
    except duckdb.Error as e:
        raise UnreadableFile(f"{path}: not a readable {what} JSON file: {error_summary(e)}") from None
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS "
            f"SELECT rowid - (SELECT min(rowid) FROM {table}_read) + 1 AS doc_i, doc, ? AS in_array FROM {table}_read",
            [in_array],
        )
    finally:
        drop_temp(con, f"{table}_read")
    if not in_array and con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0:
        drop_temp(con, table)
        raise UnreadableFile(f"{path}: empty file, no {what} JSON in it")


def read_csv_rows(con: duckdb.DuckDBPyConnection, path: Path, table: str, what: str) -> list[str]:
    """Read the CSV (header row, every cell as text) into ``table`` with ``x_source_row`` = 1-based data row.

    Returns the header's column names.  Also adds ``raw``, the row as a JSON object,
    for rejects.  A file that is not well-formed CSV is unreadable as a whole.
    """
    try:
        with insertion_order_kept(con):
            # gzip by content, not by name; a short row padded with NULLs (the loader's checks
            # then reject it) rather than failing the file; the serial reader, which allows
            # a quoted line break in a padded file (see warehouse.loaders.focus).
            with path.open("rb") as f:
                compression = "gzip" if f.read(2) == GZIP_MAGIC else "none"
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {table}_read AS "
                "SELECT * FROM read_csv(?, header = true, all_varchar = true, hive_partitioning = false, "
                "delim = ',', quote = '\"', escape = '\"', "
                "null_padding = true, parallel = false, compression = ?)",
                [str(path), compression],
            )
    except duckdb.Error as e:
        raise UnreadableFile(f"{path}: not a readable {what} CSV: {error_summary(e)}") from None
    try:
        columns = [r[0] for r in con.execute(f"DESCRIBE {table}_read").fetchall()]
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS "
            f"SELECT CAST(s.rowid - (SELECT min(rowid) FROM {table}_read) + 1 AS INTEGER) AS x_source_row, s.*, "
            f"CAST(to_json(s) AS VARCHAR) AS raw FROM {table}_read AS s"
        )
    finally:
        drop_temp(con, f"{table}_read")
    return columns


def admin_results(con: duckdb.DuckDBPyConnection, path: Path, table: str, provider: str) -> None:
    """Flatten saved Admin-API pages into ``table(x_source_row, bucket JSON, res JSON)``.

    One row per result, numbered 1.. in file order, page-major then bucket-major
    (page 1 bucket 1 result 1, result 2, ..., page 1 bucket 2 result 1, ...).  The
    file may hold one page object, a JSON array of pages, or several concatenated
    page objects.  A page without a ``data`` array or a bucket without a
    ``results`` array makes the file unreadable (nothing could be staged from it
    without silently losing records).
    """
    read_json_docs(con, path, f"{table}_docs", f"{provider} Admin API")
    try:
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE {table}_pages AS
            WITH listed AS (
                SELECT doc_i,
                       CASE WHEN json_type(doc) = 'ARRAY' AND NOT in_array THEN CAST(doc AS JSON[]) ELSE [doc] END AS pages
                FROM {table}_docs
            )
            SELECT row_number() OVER (ORDER BY doc_i, page_i) AS page_no, page
            FROM (SELECT doc_i, unnest(pages) AS page, generate_subscripts(pages, 1) AS page_i FROM listed)
            """
        )
    finally:
        drop_temp(con, f"{table}_docs")
    try:
        bad_page = con.execute(
            f"""SELECT page_no, coalesce(json_type(page), 'nothing') FROM {table}_pages
                WHERE json_type(page) IS DISTINCT FROM 'OBJECT'
                   OR json_type(page -> '$.data') IS DISTINCT FROM 'ARRAY'
                ORDER BY page_no LIMIT 1"""
        ).fetchone()
        if bad_page is not None:
            raise UnreadableFile(
                f"{path}: page {bad_page[0]} is not a {provider} Admin API page: expected a 'data' array of "
                "buckets ($.data[*].results[*])"
            )
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE {table}_buckets AS
            SELECT page_no, bucket_i, bucket
            FROM (
                SELECT page_no, unnest(b) AS bucket, generate_subscripts(b, 1) AS bucket_i
                FROM (SELECT page_no, CAST(page -> '$.data' AS JSON[]) AS b FROM {table}_pages)
            )
            """
        )
        bad_bucket = con.execute(
            f"""SELECT page_no, bucket_i FROM {table}_buckets
                WHERE json_type(bucket -> '$.results') IS DISTINCT FROM 'ARRAY'
                ORDER BY page_no, bucket_i LIMIT 1"""
        ).fetchone()
        if bad_bucket is not None:
            raise UnreadableFile(
                f"{path}: page {bad_bucket[0]} bucket {bad_bucket[1]} has no 'results' array "
                "(expected $.data[*].results[*])"
            )
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE {table} AS
            SELECT CAST(row_number() OVER (ORDER BY page_no, bucket_i, res_i) AS INTEGER) AS x_source_row,
                   bucket, res
            FROM (
                SELECT page_no, bucket_i, bucket, unnest(r) AS res, generate_subscripts(r, 1) AS res_i
                FROM (SELECT *, CAST(bucket -> '$.results' AS JSON[]) AS r FROM {table}_buckets)
            )
            """
        )
    finally:
        drop_temp(con, f"{table}_pages")
        drop_temp(con, f"{table}_buckets")




def check_columns(con: duckdb.DuckDBPyConnection, path: Path, columns: list[str], required: tuple[str, ...],
                  optional: tuple[str, ...], what: str) -> None:
    """A CSV without a required column is unreadable; a column the format does not define gets a note."""
    missing = [c for c in required if c not in columns]
    if missing:
        raise UnreadableFile(f"{path}: {what} CSV lacks column(s) {', '.join(missing)}")
    note_unknown_columns(con, columns, (*required, *optional))


def note_unknown_columns(con: duckdb.DuckDBPyConnection, columns: list[str], known: tuple[str, ...]) -> None:
    """One file-level data-quality note per CSV column the format does not define (kept out of the lines)."""
    unknown = [[c] for c in columns if c not in known]
    if unknown:
        con.executemany("INSERT INTO stage_notes VALUES (NULL, ?, 'not a column of this format: not loaded', NULL)",
                        unknown)
