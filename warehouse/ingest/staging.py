"""Staging and inserting a file's lines: the temp tables, the direct ``LineSink`` and the line ids."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from spendwatch.core.errors import SpendwatchError
from warehouse.ingest.formats import Loader
from warehouse.ingest.settings import _set
from warehouse.ingest.sqlkit import error_summary, quote_ident as _q
from warehouse.ingest.contract import FRAMEWORK_COLUMNS, UnreadableFile

# x_line_id: the first 16 hex digits (64 bits) of the file's sha256, '-', the 1-based
# source row zero-padded to 10 digits, e.g. "2d711642b726b044-0000000042".  Deterministic
# and unique per (file, row).  Keys of one file share a prefix and arrive in order, which
# compresses well.  There is no index on it (migration 006): it is unique because a file is
# ingested once (ingested_files.file_hash is that table's primary key) and its rows are
# numbered once (checked: check_staged, LineSink.insert), and a file whose hash shares its
# 16-digit prefix with an ingested file's (odds ~n^2/2^65) is refused.
LINE_ID_SQL = "left({hash}, 16) || '-' || lpad(CAST({row} AS VARCHAR), 10, '0')"


def line_id(file_hash: str, source_row: int) -> str:
    """The x_line_id of one source row of a file (same rule as LINE_ID_SQL)."""
    return f"{file_hash[:16]}-{source_row:010d}"


# billing_line_items minus the columns the framework fills (see FRAMEWORK_COLUMNS).
# create_stage_tables checks this against the live table, so a migration that adds
# a column fails loudly until the tuple is updated.
STAGE_COLUMNS: tuple[str, ...] = (
    "BillingAccountId",
    "BillingAccountName",
    "SubAccountId",
    "SubAccountName",
    "BillingCurrency",
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "ContractedCost",
    "ListUnitPrice",
    "ContractedUnitPrice",
    "PricingQuantity",
    "PricingUnit",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "InvoiceId",
    "InvoiceIssuerName",
    "ServiceProviderName",
    "HostProviderName",
    "ServiceName",
    "ServiceCategory",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "RegionId",
    "RegionName",
    "SkuId",
    "SkuPriceId",
    "CommitmentDiscountId",
    "Tags",
    "x_provider",
    "x_product_kind",
    "x_project_id",
    "x_workspace_id",
    "x_api_key_id",
    "x_endpoint_id",
    "x_gpu_class",
    "x_gpu_count",
    "x_gpu_seconds",
    "x_model",
    "x_input_tokens",
    "x_cached_input_tokens",
    "x_cache_write_tokens",
    "x_output_tokens",
    "x_natural_key",
    "x_source_row",
)


# --------------------------------------------------------------------------- staging


@dataclass(frozen=True)
class FileLoad:
    """One file being loaded: where its lines come from, and the delivery they belong to."""

    path: Path
    format: str
    source_file: str  # the resolved path stored in x_source_file
    file_hash: str
    now: datetime
    delivery_id: int
    date_order: str | None = None  # 'dmy' | 'mdy' for slash dates, when the user said so


# Pseudo-column a direct loader may add to its SELECT: true for a loaded row with a data-quality note.
NOTED = "x_noted"


def create_stage_tables(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create the empty temp tables ``stage_lines`` and ``stage_rejects`` a loader fills.

    ``stage_lines`` has the ``STAGE_COLUMNS`` with the types of ``billing_line_items``
    (no constraints: the final insert into billing_line_items enforces them).
    """
    live = [r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name = 'billing_line_items' ORDER BY column_index"
    ).fetchall()]
    if not live:
        raise SpendwatchError("billing_line_items does not exist: open the warehouse with warehouse.db.connect()")
    expected = [c for c in live if c not in FRAMEWORK_COLUMNS]
    if list(STAGE_COLUMNS) != expected:
        raise SpendwatchError(
            "warehouse.ingest.STAGE_COLUMNS is out of date with billing_line_items: "
            f"missing {sorted(set(expected) - set(STAGE_COLUMNS))}, extra {sorted(set(STAGE_COLUMNS) - set(expected))}"
        )
    cols = ", ".join(_q(c) for c in STAGE_COLUMNS)
    con.execute(f"CREATE OR REPLACE TEMP TABLE stage_lines AS SELECT {cols} FROM main.billing_line_items LIMIT 0")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE stage_rejects "
        "(row_number INTEGER, column_name VARCHAR, reason VARCHAR, raw VARCHAR)"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE stage_notes "
        "(row_number INTEGER, column_name VARCHAR, note VARCHAR, raw VARCHAR)"
    )


def drop_stage_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the temp tables of one ingest."""
    for t in ("stage_lines", "stage_rejects", "stage_notes", "stage_rejected", "stage_noted"):
        con.execute(f"DROP TABLE IF EXISTS temp.{t}")


def stage_file(
    con: duckdb.DuckDBPyConnection, path: Path, loader: Loader, lines: LineSink | None = None,
    options: dict[str, object] | None = None,
) -> int | None:
    """Run the loader's ``stage``; a DuckDB read error becomes an UnreadableFile naming the file.

    Returns the number of data rows the loader read, if it reports one (``stage`` may
    return it), so the framework can check read = loaded + rejected independently.
    ``lines`` is offered to loaders that insert directly (see ``LineSink``).
    """
    try:
        n = loader.stage(con, path, lines, options)
    except (duckdb.IOException, duckdb.InvalidInputException, duckdb.ConversionException,
            duckdb.OutOfRangeException) as e:
        raise UnreadableFile(f"{path}: cannot read as {loader.format}: {error_summary(e)}") from None
    return int(n) if n is not None else None


class LineSink:
    """The direct way into billing_line_items: a loader's lines inserted once, without a staged copy.

    Offered to a loader whose ``stage`` takes a ``lines`` argument.  The loader calls
    ``insert`` at most once with a SELECT yielding some of the ``STAGE_COLUMNS`` (at
    least ``x_source_row`` and ``x_natural_key``; the others are NULL).  A row with a
    NULL ``x_natural_key`` is one the loader rejects: after ``insert`` its row numbers
    are in the temp table ``stage_rejected(x_source_row)``, and the loader writes a
    ``stage_rejects`` row for each of them.  ``finish`` (called by the framework) checks
    that every rejected row has a reason and no loaded row has one, then removes the
    rejected rows.  A loader that never calls ``insert`` is a staged loader as before.

    Data-quality notes work alike: a row whose pseudo-column ``x_noted`` is true loads
    and is listed in ``stage_noted(x_source_row)``; the loader writes its ``stage_notes``.
    """

    REJECTED_FORMAT = ""  # x_source_format of a rejected row until ``finish`` deletes it
    NOTED_PREFIX = "~"  # x_source_format of a noted row is '~<format>' until ``finish`` resets it

    def __init__(self, con: duckdb.DuckDBPyConnection, load: FileLoad) -> None:
        self.con, self.load = con, load
        self.path, self.format, self.file_hash = load.path, load.format, load.file_hash
        self.inserted: int | None = None  # rows inserted, rejected ones included
        self.rejected = 0  # rows the loader rejected (x_natural_key NULL)
        self.noted = 0  # rows loaded with a data-quality note

    def insert(self, select_sql: str, params: dict[str, object], columns: Iterable[str], *, numbered: bool = True) -> int:
        """Insert the rows of ``select_sql`` (named parameters ``params``; names starting
        with ``sw_`` are the framework's) as this file's lines; return how many rows it had.

        ``numbered=False``: the SELECT yields the rows in file order with ``x_source_row``
        NULL, and the framework numbers them 1.. from the order-preserving insert (see
        ``insert_lines``), so the loader's read needs no row numbering of its own (a global
        row number, e.g. ``WITH ORDINALITY``, runs the scan on one thread).
        """
        if self.inserted is not None:
            raise SpendwatchError(f"{self.path}: the {self.format} loader inserted its lines twice")
        cols = list(columns)
        unknown = sorted(set(cols) - set(STAGE_COLUMNS) - {NOTED})
        if unknown or "x_source_row" not in cols or "x_natural_key" not in cols:
            raise SpendwatchError(f"{self.path}: the {self.format} loader's lines need x_source_row and x_natural_key "
                                  f"and only staged columns (unknown: {unknown})")
        if any(k.startswith("sw_") for k in params):
            raise SpendwatchError(f"{self.path}: the {self.format} loader used a reserved parameter name (sw_*)")
        try:
            self.inserted = insert_lines(self.con, self.load, select=(select_sql, params, cols), numbered=numbered)
        except duckdb.ConstraintException as e:
            raise SpendwatchError(
                f"{self.path}: the {self.format} loader's lines break a constraint of billing_line_items "
                f"(a NULL mandatory value): {error_summary(e)}"
            ) from None
        # x_line_id (file hash prefix + row) is unique only if the rows are: there is no index
        # on it (see migration 006), so the loader's numbering is checked here.
        if numbered:
            (duplicate,) = self.con.execute(
                "SELECT min(x_source_row) FROM (SELECT x_source_row FROM main.billing_line_items "
                "WHERE x_source_hash = ? GROUP BY x_source_row HAVING count(*) > 1)",
                [self.file_hash],
            ).fetchone()
            if duplicate is not None:
                raise SpendwatchError(f"{self.path}: the {self.format} loader numbered row {duplicate} more than once")
        self.con.execute(
            "CREATE OR REPLACE TEMP TABLE stage_rejected AS SELECT x_source_row FROM main.billing_line_items "
            "WHERE x_source_hash = ? AND x_source_format = ?",
            [self.file_hash, self.REJECTED_FORMAT],
        )
        (self.rejected,) = self.con.execute("SELECT count(*) FROM stage_rejected").fetchone()
        self.con.execute(
            "CREATE OR REPLACE TEMP TABLE stage_noted AS SELECT x_source_row FROM main.billing_line_items "
            "WHERE x_source_hash = ? AND x_source_format = ?",
            [self.file_hash, self.NOTED_PREFIX + self.format],
        )
        (self.noted,) = self.con.execute("SELECT count(*) FROM stage_noted").fetchone()
        return self.inserted

    def finish(self, rows_read: int | None) -> tuple[int, int]:
        """Check the rejects against the rejected rows, delete those rows; return (loaded, rejected)."""
        con, path = self.con, self.path
        assert self.inserted is not None
        (stray,) = con.execute(
            "SELECT min(row_number) FROM stage_rejects WHERE row_number IS NOT NULL "
            "AND row_number NOT IN (SELECT x_source_row FROM stage_rejected)"
        ).fetchone()
        if stray is not None:
            raise SpendwatchError(f"{path}: row {stray} was both loaded and rejected by the loader")
        if self.rejected:
            (silent,) = con.execute(
                "SELECT min(x_source_row) FROM stage_rejected WHERE x_source_row NOT IN "
                "(SELECT row_number FROM stage_rejects WHERE row_number IS NOT NULL)"
            ).fetchone()
            if silent is not None:
                raise SpendwatchError(f"{path}: row {silent} was rejected by the loader without a reason")
            con.execute("DELETE FROM main.billing_line_items WHERE x_source_hash = ? AND x_source_format = ?",
                        [self.file_hash, self.REJECTED_FORMAT])
        if self.noted:
            con.execute("UPDATE main.billing_line_items SET x_source_format = ? WHERE x_source_hash = ? "
                        "AND x_source_format = ?", [self.format, self.file_hash, self.NOTED_PREFIX + self.format])
        (rejected,) = con.execute(
            "SELECT count(DISTINCT row_number) FROM stage_rejects WHERE row_number IS NOT NULL"
        ).fetchone()
        loaded = self.inserted - self.rejected
        if rows_read is not None and rows_read != loaded + rejected:
            raise SpendwatchError(f"{path}: loader read {rows_read} rows but staged {loaded} and rejected {rejected}")
        return loaded, rejected


def check_staged(con: duckdb.DuckDBPyConnection, path: Path, rows_read: int | None) -> tuple[int, int]:
    """Check the loader's output (unique rows, no row both loaded and rejected); return (loaded, rejected)."""
    loaded, distinct_rows, null_rows = con.execute(
        "SELECT count(*), count(DISTINCT x_source_row), count(*) - count(x_source_row) FROM stage_lines"
    ).fetchone()
    if null_rows or distinct_rows != loaded:
        raise SpendwatchError(f"{path}: loader staged lines without a unique x_source_row")
    (rejected,) = con.execute(
        "SELECT count(DISTINCT row_number) FROM stage_rejects WHERE row_number IS NOT NULL"
    ).fetchone()
    both = con.execute(
        "SELECT min(r.row_number) FROM stage_rejects r SEMI JOIN stage_lines l ON l.x_source_row = r.row_number"
    ).fetchone()[0]
    if both is not None:
        raise SpendwatchError(f"{path}: row {both} was both loaded and rejected by the loader")
    if rows_read is not None and rows_read != loaded + rejected:
        raise SpendwatchError(
            f"{path}: loader read {rows_read} rows but staged {loaded} and rejected {rejected}"
        )
    return loaded, rejected


def insert_lines(
    con: duckdb.DuckDBPyConnection,
    load: FileLoad,
    *,
    select: tuple[str, dict[str, object], list[str]] | None = None,
    numbered: bool = True,
) -> int:
    """Insert the staged lines with their line id and provenance; return how many rows.

    Without ``select`` the lines are those of ``stage_lines``.  With ``select`` = (SQL,
    named parameters, its columns) they are a direct loader's rows (see ``LineSink``).
    Teams are the attribution model's (``stg_line_attribution``), not the ingest's.

    ``numbered=False``: the rows come in file order without ``x_source_row``.  They are
    inserted with ``preserve_insertion_order`` (DuckDB's parallel insert then keeps the
    order of the scan), so in the transaction's own storage they occupy consecutive row ids
    in file order; ``x_source_row`` and ``x_line_id`` are then set from the row id, in one
    set-based UPDATE.  The row ids are checked to be consecutive, so a file is never
    numbered wrongly in silence.
    """
    fmt, source_file, file_hash, now = load.format, load.source_file, load.file_hash, load.now
    provenance = ("x_source_format", "x_source_file", "x_source_hash", "x_ingested_at", "x_delivery_id")
    target = ", ".join(_q(c) for c in ("x_line_id", *STAGE_COLUMNS, *provenance))
    if select is None:
        stage_cols = ", ".join(f"l.{_q(c)}" for c in STAGE_COLUMNS)
        (n,) = con.execute(
            f"INSERT INTO billing_line_items ({target}) "
            f"SELECT {LINE_ID_SQL.format(hash='CAST(? AS VARCHAR)', row='l.x_source_row')}, {stage_cols}, "
            "?, ?, ?, ?, ? FROM stage_lines l",
            [file_hash, fmt, source_file, file_hash, now, load.delivery_id],
        ).fetchone()
        return int(n)
    sql, params, columns = select
    rejected = "l.x_natural_key IS NULL"
    not_null = _not_null_placeholders(con)

    given = [c for c in STAGE_COLUMNS if c in columns]  # the others are left NULL
    target = ", ".join(_q(c) for c in ("x_line_id", *given, *provenance))
    noted = f"WHEN l.{NOTED} THEN $sw_noted_format " if NOTED in columns else ""

    def staged(c: str) -> str:
        if c == "x_source_row" and not numbered:
            return "0"  # numbered after the insert
        if c in not_null and c != "x_source_row":  # a rejected row is kept until finish(): fill its NOT NULLs
            return f"CASE WHEN {rejected} THEN coalesce(l.{_q(c)}, {not_null[c]}) ELSE l.{_q(c)} END"
        return f"l.{_q(c)}"

    all_params: dict[str, object] = {
        **params,
        "sw_line_prefix": line_id(file_hash, 0)[:-10], "sw_format": fmt,
        "sw_rejected_format": LineSink.REJECTED_FORMAT, "sw_source_file": source_file, "sw_file_hash": file_hash,
        "sw_now": now, "sw_delivery": load.delivery_id,
    }
    if noted:
        all_params["sw_noted_format"] = LineSink.NOTED_PREFIX + fmt
    # x_source_row is explicit, so the insert need not keep the rows in order: without it the
    # insert is ~25% cheaper.  Unnumbered rows need the order (see above).  (Not restored on
    # error: the transaction is then aborted, and ingest_file restores every setting after the rollback.)
    _set(con, "preserve_insertion_order", "false" if numbered else "true")
    line = ("$sw_line_prefix || lpad(CAST(l.x_source_row AS VARCHAR), 10, '0')" if numbered
            else "$sw_line_prefix")  # numbered below
    (n,) = con.execute(
        f"INSERT INTO main.billing_line_items ({target}) "
        f"SELECT {line}, "
        f"{', '.join(staged(c) for c in given)}, "
        f"CASE WHEN {rejected} THEN $sw_rejected_format {noted}ELSE $sw_format END, $sw_source_file, $sw_file_hash, "
        "$sw_now, $sw_delivery "
        f"FROM ({sql}) l",
        all_params,
    ).fetchone()
    _set(con, "preserve_insertion_order", "true")
    if not numbered:
        _number_rows(con, load, int(n))
    return int(n)


def _number_rows(con: duckdb.DuckDBPyConnection, load: FileLoad, inserted: int) -> None:
    """Number a file's just-inserted lines 1.. in insertion (= file) order from their row ids."""
    where = "x_delivery_id = $d AND x_source_hash = $h"
    first, last, count = con.execute(f"SELECT min(rowid), max(rowid), count(*) FROM main.billing_line_items WHERE {where}",
                                     {"d": load.delivery_id, "h": load.file_hash}).fetchone()
    if count != inserted or (count and last - first + 1 != count):
        raise SpendwatchError(f"{load.path}: its {inserted} lines did not land on consecutive rows; cannot number them")
    con.execute(
        "UPDATE main.billing_line_items SET x_source_row = CAST(rowid - $first + 1 AS INTEGER), "
        f"x_line_id = $p || lpad(CAST(rowid - $first + 1 AS VARCHAR), 10, '0') WHERE {where}",
        {"first": first, "p": line_id(load.file_hash, 0)[:-10], "d": load.delivery_id, "h": load.file_hash})


# Placeholder per type for the NOT NULL columns of a rejected row (deleted before commit).
_PLACEHOLDERS = {"VARCHAR": "''", "INTEGER": "0", "BIGINT": "0", "TIMESTAMP": "TIMESTAMP '1970-01-01'",
                 "BOOLEAN": "false", "JSON": "'{}'"}


def _not_null_placeholders(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The NOT NULL staged columns of billing_line_items, each with a placeholder value of its type."""
    out: dict[str, str] = {}
    for name, dtype, nullable in con.execute(
        "SELECT column_name, data_type, is_nullable FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name = 'billing_line_items'"
    ).fetchall():
        if not nullable and name in STAGE_COLUMNS:
            out[name] = "0" if str(dtype).startswith("DECIMAL") else _PLACEHOLDERS.get(str(dtype), "''")
    return out

