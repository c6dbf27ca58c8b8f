"""Moving a DuckDB file warehouse into a DuckLake: every stored table copied in one DuckDB pass, then checked.

:func:`move_into_lake` attaches the file read-only beside the lake (which :func:`warehouse.db.connect` has
migrated), and in one lake transaction copies each table the migrations create (the raw line items and their
archive, deliveries and their scopes, ingest notes and rejects, prices, price fetches, sources and holds, FX
rates, alerts with their attempts and deliveries, the config tables, the writer turns and changed months) with
``INSERT ... SELECT`` (DuckDB reads the file and writes Parquet; nothing passes through Python row by row).
Before it commits, each table's row count and its DECIMAL columns' totals per currency are read back from both
sides and compared; any difference rolls everything back.

Left behind on purpose: ``schema_migrations`` (the lake has its own), the model build state (``model_builds``,
``model_build_months``: so the lake's first model build is a full one) and the models' tables themselves:
rebuild them on the lake (``spendwatch models build --full``).

A lake that holds anything already is refused, whole: a second move would double every figure.

DuckDB 2.x (the embedded default) writes files the lake extra's DuckDB 1.5.5 cannot read; :func:`copy_for_lake`,
run with DuckDB 2.x, writes a copy in the storage format 1.5 reads (``STORAGE_VERSION``), to move from.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb

from spendwatch.core.errors import SpendwatchError, UsageError
from spendwatch.core.redact import redact
from warehouse import lake
from warehouse.db import connect, migrations
from warehouse.models import load_project

SOURCE = "move_source"
NOT_COPIED = {"main.schema_migrations": "the lake's own migrations",
              "main.model_builds": "so the lake's first model build is a full one",
              "main.model_build_months": "what the file's models were built from"}
# Empty in a lake that was only migrated: these hold rows a migration seeds (turns at 0) or records.
SEEDED = {"main.schema_migrations", "main.writer_turns"}
READABLE_STORAGE = "v1.5.0"  # the storage format the lake extra's DuckDB (1.5.5) reads


@dataclass(frozen=True)
class TableFigures:
    """One table's row count and, per currency (``-`` for a table without one), each DECIMAL column's total."""

    table: str  # schema.name
    rows: int
    totals: tuple[tuple[str, str, Decimal], ...]  # (currency, column, total), sorted

    def money(self) -> str:
        """The money totals, short: ``BilledCost USD 12.50, EUR 3.00``."""
        cols: dict[str, list[str]] = {}
        for cur, col, total in self.totals:
            if re.search(r"cost|amount", col, re.I) and total is not None:
                cols.setdefault(col, []).append(f"{cur} {total.normalize():f}")
        return "; ".join(f"{col} {', '.join(v)}" for col, v in cols.items())


@dataclass(frozen=True)
class Moved:
    tables: list[TableFigures]  # copied, each checked equal on both sides
    left_behind: list[str]  # tables of the file not copied (the models: rebuilt on the lake), with why
    snapshot: int | None  # the lake snapshot the move committed


def _ident(*parts: str) -> str:
    return ".".join('"' + p.replace('"', '""') + '"' for p in parts)


def _tables(con: duckdb.DuckDBPyConnection, database: str) -> list[str]:
    return [f"{s}.{t}" for s, t in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? ORDER BY 1, 2", [database]).fetchall()]


def _columns(con: duckdb.DuckDBPyConnection, database: str, table: str) -> list[tuple[str, str]]:
    schema, name = table.split(".", 1)
    return con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ? AND schema_name = ? "
                       "AND table_name = ? ORDER BY column_index", [database, schema, name]).fetchall()


def figures(con: duckdb.DuckDBPyConnection, database: str, table: str, columns: list[tuple[str, str]]) -> TableFigures:
    """Rows and per-currency DECIMAL totals of ``database.table``, in one scan."""
    currencies = [c for c, t in columns if re.search(r"currency$", c, re.I) and t == "VARCHAR"]
    decimals = [c for c, t in columns if t.startswith("DECIMAL")]
    src = _ident(database, *table.split(".", 1))
    cur = " || '/' || ".join(f"coalesce({_ident(c)}, '?')" for c in currencies) if currencies else "'-'"
    sums = "".join(f", sum({_ident(c)})" for c in decimals)
    rows, totals = 0, []
    for row in con.execute(f"SELECT {cur} AS cur, count(*){sums} FROM {src} GROUP BY 1 ORDER BY 1").fetchall():
        rows += row[1]
        totals += [(row[0], col, total) for col, total in zip(decimals, row[2:])]
    return TableFigures(table, int(rows), tuple(totals))


def _attach(con: duckdb.DuckDBPyConnection, path: Path, alias: str, options: str) -> None:
    """ATTACH takes no parameters: the operator-given path as a quoted literal."""
    con.execute(f"ATTACH '{str(path).replace(chr(39), chr(39) * 2)}' AS {alias} ({options})")


def _attach_source(con: duckdb.DuckDBPyConnection, source: Path) -> None:
    try:
        _attach(con, source, SOURCE, "READ_ONLY")
    except duckdb.Error as e:
        text = str(e)
        if "newer version" in text or "version number" in text:
            raise UsageError(
                f"{source}: written by a newer DuckDB than this one ({duckdb.__version__}, the lake extra's); first write "
                f"a copy it can read, with the embedded install (DuckDB 2.x): `spendwatch warehouse copy-for-lake "
                f"--warehouse {source} --to COPY.duckdb`, then move COPY.duckdb") from None
        if "lock" in text.lower():
            raise SpendwatchError(f"{source}: the warehouse is in use by another process; move it when that "
                                  f"finishes (DuckDB said: {redact(text.splitlines()[0])})") from None
        raise SpendwatchError(f"{source}: cannot open the DuckDB file: {redact(text.splitlines()[0])}") from None


def _check_schema(con: duckdb.DuckDBPyConnection, source: Path) -> None:
    if "main.schema_migrations" not in _tables(con, SOURCE):
        raise UsageError(f"{source}: not a spendwatch warehouse (it has no schema_migrations table)")
    have = {v for (v,) in con.execute(f"SELECT version FROM {SOURCE}.main.schema_migrations").fetchall()}
    want = {m.version for m in migrations()}
    if have != want:
        missing, extra = sorted(want - have), sorted(have - want)
        raise UsageError(
            f"{source}: its schema is not this spendwatch's (migrations missing: {missing or 'none'}, unknown: "
            f"{extra or 'none'}); open it once with this version (any command, e.g. `spendwatch review --warehouse "
            f"{source}`) to migrate it, then move it")


def _refuse_unless_empty(con: duckdb.DuckDBPyConnection, tables: list[str]) -> None:
    for table in tables:
        if table in SEEDED:
            continue
        (n,) = con.execute(f"SELECT count(*) FROM {_ident(lake.ALIAS, *table.split('.', 1))}").fetchone()
        if n:
            raise UsageError(f"the lake is not empty ({table} holds {n} row(s)): a DuckDB file moves only into a new, "
                             "empty lake (a second move would count everything twice); nothing was changed")
    (turns,) = con.execute(f"SELECT count(*) FROM {lake.ALIAS}.main.writer_turns WHERE turn <> 0").fetchone()
    if turns:
        raise UsageError("the lake is not empty (it has ingested or alerted before): a DuckDB file moves only into "
                         "a new, empty lake; nothing was changed")


def move_into_lake(con: duckdb.DuckDBPyConnection, source: str | os.PathLike) -> Moved:
    """Copy every stored table of the DuckDB file ``source`` into the (migrated, empty) lake ``con`` has in use."""
    if not lake.attached(con):
        raise UsageError("moving a DuckDB file into a lake needs a DuckLake target: SPENDWATCH_WAREHOUSE (or "
                         "--warehouse) = ducklake:postgres:<conninfo>, with SPENDWATCH_DATA_PATH for its data files")
    path = Path(source).expanduser()
    if not path.is_file():
        raise UsageError(f"{source}: no such DuckDB file")
    _attach_source(con, path.resolve())
    try:
        _check_schema(con, path)
        models = {f"main.{name}" for name in load_project().models}
        in_lake = _tables(con, lake.ALIAS)
        in_file = _tables(con, SOURCE)
        copied = [t for t in in_lake if t not in NOT_COPIED and t not in models]
        absent = [t for t in copied if t not in in_file]
        if absent:
            raise UsageError(f"{source}: has no table {', '.join(absent)}: not a spendwatch warehouse of this version")
        left = [f"{t} ({NOT_COPIED[t]})" for t in in_lake if t in NOT_COPIED]
        left += [f"{t} ({'a model: rebuilt on the lake' if t in models else 'not in the schema'})"
                 for t in in_file if t not in in_lake or t in models]

        def work() -> list[TableFigures]:
            _refuse_unless_empty(con, in_lake)
            con.execute(f"DELETE FROM {lake.ALIAS}.main.writer_turns")  # the seeded turns, replaced by the file's
            checked = []
            for table in copied:
                cols = _columns(con, lake.ALIAS, table)
                names = ", ".join(_ident(c) for c, _ in cols)
                con.execute(f"INSERT INTO {_ident(lake.ALIAS, *table.split('.', 1))} ({names}) "
                            f"SELECT {names} FROM {_ident(SOURCE, *table.split('.', 1))}")
                want, got = figures(con, SOURCE, table, cols), figures(con, lake.ALIAS, table, cols)
                if want != got:
                    raise SpendwatchError(f"{table}: the lake's copy differs from the file's ({got.rows} rows against "
                                          f"{want.rows}, or other totals); nothing was moved")
                checked.append(got)
            return checked

        checked = lake.transaction(con, work)
        return Moved(checked, left, lake.snapshot_id(con))
    finally:
        con.execute(f"USE {lake.ALIAS}")
        con.execute(f"DETACH {SOURCE}")


def copy_for_lake(source: str | os.PathLike, target: str | os.PathLike) -> list[TableFigures]:
    """Write the DuckDB file ``source`` (migrated first) to a new file ``target`` that the lake's DuckDB reads.

    DuckDB's own ``COPY FROM DATABASE`` into a file attached with ``STORAGE_VERSION 'v1.5.0'``; each table's
    figures are checked equal afterwards, and returned.
    """
    src, dst = Path(source).expanduser(), Path(target).expanduser()
    if not src.is_file():
        raise UsageError(f"{source}: no such DuckDB file")
    if dst.exists():
        raise UsageError(f"{target}: already exists; copy-for-lake writes a new file")
    connect(src).close()  # migrated to this spendwatch's schema (the lake's), as every command does
    con = duckdb.connect()
    try:
        _attach(con, src.resolve(), SOURCE, "READ_ONLY")
        _attach(con, dst.resolve(), "copy_for_lake", f"STORAGE_VERSION '{READABLE_STORAGE}'")
        con.execute(f"COPY FROM DATABASE {SOURCE} TO copy_for_lake")
        checked = []
        for table in _tables(con, SOURCE):
            cols = _columns(con, SOURCE, table)
            want, got = figures(con, SOURCE, table, cols), figures(con, "copy_for_lake", table, cols)
            if want != got:
                raise SpendwatchError(f"{table}: the copy differs from the original ({got.rows} rows against {want.rows})")
            checked.append(got)
        return checked
    except BaseException:
        con.close()
        dst.unlink(missing_ok=True)
        raise
    finally:
        con.close()
