"""Opening the warehouse and migrating its schema.

The warehouse is a DuckDB file (``data/warehouse.duckdb`` by default; ``--warehouse``
or ``SPENDWATCH_WAREHOUSE`` override it), a MotherDuck ``md:`` DSN, or a DuckLake
(``ducklake:postgres:<libpq conninfo>``, data files under ``SPENDWATCH_DATA_PATH``) for
teams that outgrow one machine: many processes on many machines write and read it at
once (see warehouse/lake.py).  The schema is created only by the versioned migrations in
``warehouse/migrations/NNN_name.sql``, applied in order at every open and recorded
in ``schema_migrations``; applying them again is a no-op.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qsl

import duckdb

from spendwatch.core.errors import SpendwatchError, UsageError
from spendwatch.core.paths import DEFAULT_WAREHOUSE
from spendwatch.core.redact import redact, register
from warehouse import lake

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_MIGRATION_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")


def resolve_warehouse(explicit: str | os.PathLike | None = None) -> str:
    """The warehouse location: explicit value, else SPENDWATCH_WAREHOUSE, else data/warehouse.duckdb."""
    value = str(explicit) if explicit else os.environ.get("SPENDWATCH_WAREHOUSE") or str(DEFAULT_WAREHOUSE)
    return value


def is_motherduck(location: str) -> bool:
    return location.startswith("md:") or location.startswith("motherduck:")


def is_file(location: str) -> bool:
    """A DuckDB file on this machine (one writer at a time), not a DSN, a lake or ``:memory:``."""
    return not (is_motherduck(location) or lake.is_lake(location) or location == ":memory:")


def register_dsn_secrets(location: str) -> None:
    """A MotherDuck token or a catalog password (in the DSN or the environment) is masked in every later error and log line."""
    if lake.is_lake(location):
        lake.register_secrets(location)
    elif is_motherduck(location):
        query = location.partition("?")[2]
        register(os.environ.get("motherduck_token"), os.environ.get("MOTHERDUCK_TOKEN"),
                 *(v for k, v in parse_qsl(query) if "token" in k.lower()))


def connect(location: str | os.PathLike | None = None, *, read_only: bool = False, migrate_schema: bool = True) -> duckdb.DuckDBPyConnection:
    """Open the warehouse (creating the file's folder if needed) and apply pending migrations."""
    loc = resolve_warehouse(location)
    register_dsn_secrets(loc)
    if lake.is_lake(loc):
        con = lake.connect(loc, read_only=read_only)
        if migrate_schema and not read_only:
            try:
                migrate(con)
            except duckdb.HTTPException as e:  # the first read of a data file: the object store refused the key
                con.close()
                raise lake.storage_error(e) from None
        return con
    if is_file(loc):
        parent = Path(loc).expanduser().resolve().parent
        if not read_only:
            parent.mkdir(parents=True, exist_ok=True)
        elif not Path(loc).exists():
            raise UsageError(f"{redact(loc)}: warehouse not found (run `spendwatch run` first)")
    try:
        con = duckdb.connect(loc, read_only=read_only)
    except duckdb.IOException as e:
        if "lock" in str(e).lower():
            raise SpendwatchError(
                f"{redact(loc)}: the warehouse is in use by another process (a DuckDB file has one writer at a time, "
                f"and no reader while it writes); try again when it finishes, or move to a DuckLake for concurrent "
                f"writers (README: Outgrowing one machine). DuckDB said: {redact(str(e).splitlines()[0])}") from None
        raise SpendwatchError(f"{redact(loc)}: cannot open warehouse: {redact(e)}") from None
    if migrate_schema and not read_only:
        migrate(con)
    return con


def relation_exists(con: duckdb.DuckDBPyConnection, name: str, schema: str = "main") -> bool:
    """Whether a table or view exists in the warehouse (a model may not be built yet): the one such check."""
    (n,) = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [schema, name]
    ).fetchone()
    return n > 0


def migrations() -> list[Migration]:
    found = []
    for p in sorted(MIGRATIONS_DIR.glob("*.sql")):
        m = _MIGRATION_NAME.match(p.name)
        if not m:
            raise SpendwatchError(f"{p}: migration files must be named NNN_name.sql")
        found.append(Migration(int(m.group(1)), m.group(2), p))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise SpendwatchError(f"{MIGRATIONS_DIR}: two migrations share a version number")
    return found


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply every migration not yet recorded in schema_migrations; return the versions applied.

    On a lake the SQL is read in the lake's dialect (:func:`warehouse.lake.dialect`); when two
    processes migrate a new lake at once, the later commit conflicts and its retry finds the
    migration recorded.
    """
    on_lake = lake.attached(con)
    ddl = """CREATE TABLE IF NOT EXISTS schema_migrations (
               version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"""
    lake.transaction(con, lambda: con.execute(lake.dialect(ddl) if on_lake else ddl))
    done = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}
    applied = []
    for m in migrations():
        if m.version in done:
            continue

        def step(m: Migration = m) -> bool:
            if con.execute("SELECT count(*) FROM schema_migrations WHERE version = ?", [m.version]).fetchone()[0]:
                return False  # another process applied it meanwhile
            try:
                con.execute(lake.dialect(m.sql) if on_lake else m.sql)
            except duckdb.Error as e:
                raise SpendwatchError(f"{m.path.name}: migration failed: {e}") from e
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)",
                        [m.version, m.name, datetime.now(timezone.utc).replace(tzinfo=None)])
            return True

        if lake.transaction(con, step):
            applied.append(m.version)
    return applied
