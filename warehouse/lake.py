"""The warehouse as a DuckLake: a catalog in PostgreSQL, data as Parquet files in a folder or an object store.

``SPENDWATCH_WAREHOUSE=ducklake:postgres:<libpq conninfo>`` (e.g. ``ducklake:postgres:host=db
dbname=lake user=spendwatch``) with ``SPENDWATCH_DATA_PATH=<folder or s3://bucket/prefix>`` for the
data files switches every part of spendwatch to the lake: many DuckDB processes, on many machines,
write and read it at once, and every commit is a snapshot that can be read again later
(:func:`snapshot_id`, ``AT (VERSION => n)``).

The ducklake, postgres and httpfs extensions come from their PyPI wheels (``duckdb-extension-*``,
pinned beside duckdb) and are loaded from the installed files: nothing is downloaded at run time.

What a lake does not have, and how spendwatch does without it:

* no PRIMARY KEY / UNIQUE / CHECK constraints and no sequences: :func:`dialect` drops them from
  the migrations; the code never relies on them (ids are ``max + 1`` inside a transaction that
  takes a *writer turn*, see below);
* no RETURNING: the code selects the rows it is about to change, then changes them;
* writers do not lock each other out; a commit that conflicts with one committed since the
  transaction began fails, and :func:`transaction` runs the work again (up to ``ATTEMPTS`` times).
  A transaction that allocates ids takes a turn (``writer_turns``, migration 017): it updates the
  turn's one row, so two such transactions always conflict and the later one retries with
  fresh ids.  Readers never wait.
"""

from __future__ import annotations

import importlib.util
import os
import random
import re
import time
from pathlib import Path
from typing import Callable, TypeVar

import duckdb

from spendwatch.core.redact import redact, register
from spendwatch.core.errors import SpendwatchError, UsageError

PREFIX = "ducklake:"
ALIAS = "lake"
DATA_PATH_ENV = "SPENDWATCH_DATA_PATH"
ATTEMPTS = 30
T = TypeVar("T")

# (python package of the wheel, extension name)
EXTENSIONS = (("duckdb_extension_postgres_scanner", "postgres_scanner"), ("duckdb_extension_ducklake", "ducklake"))
HTTPFS = ("duckdb_extension_httpfs", "httpfs")


def is_lake(location: str) -> bool:
    return location.startswith(PREFIX)


def register_secrets(location: str) -> None:
    """A password in the conninfo (``password=...``) or in PGPASSWORD is masked in every later error and log line."""
    register(os.environ.get("PGPASSWORD"),
             *(m.group(1) or m.group(2) for m in re.finditer(r"password\s*=\s*(?:'((?:[^'\\]|\\.)*)'|(\S+))", location)))


def extension_file(package: str, name: str) -> Path:
    """The extension file shipped in an installed ``duckdb-extension-*`` wheel, for this DuckDB version."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SpendwatchError(f"the {name} DuckDB extension is not installed (pip package {package.replace('_', '-')}; "
                              "a DuckLake warehouse needs the lake extra: pip install -e '.[lake]', which pins DuckDB 1.5.5)")
    folder = Path(next(iter(spec.submodule_search_locations))) / "extensions" / f"v{duckdb.__version__}"
    path = folder / f"{name}.duckdb_extension"
    if not path.is_file():
        found = sorted(p.parent.name for p in folder.parent.glob(f"v*/{name}.duckdb_extension"))
        raise SpendwatchError(f"{package}: no {name} extension for DuckDB {duckdb.__version__} (the wheel has "
                              f"{', '.join(found) or 'none'}); a DuckLake warehouse needs the lake extra's DuckDB: "
                              "pip install -e '.[lake]' (DuckDB 1.5.5)")
    return path


def load_extensions(con: duckdb.DuckDBPyConnection, *, httpfs: bool = False) -> None:
    for package, name in EXTENSIONS + ((HTTPFS,) if httpfs else ()):
        con.execute(f"LOAD '{_quote(str(extension_file(package, name)))}'")


def _quote(text: str) -> str:
    """A SQL string literal's body.  ATTACH and LOAD take no parameters; these are operator-given paths and DSNs."""
    return text.replace("'", "''")


def data_path() -> str | None:
    return os.environ.get(DATA_PATH_ENV) or None


def connect(location: str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the lake attached as ``lake`` and in use (unqualified names are the lake's)."""
    con = duckdb.connect(config=CONFIG)
    try:
        attach(con, location, read_only=read_only)
    except BaseException:
        con.close()
        raise
    return con


# No extension is installed or loaded behind our back (they come from the wheels, loaded by path).
CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}


def attach(con, location: str, *, read_only: bool = False) -> None:
    """Load the extensions into ``con`` (a DuckDB connection, or duckdb_engine's wrapper of one), attach the
    lake as ``lake`` and use it."""
    register_secrets(location)
    path = data_path()
    remote = bool(path and re.match(r"^[a-z][a-z0-9+.-]*://", path))
    try:
        load_extensions(con, httpfs=remote)
        if remote:
            _object_store_secret(con)
        if path and not remote:
            Path(path).expanduser().mkdir(parents=True, exist_ok=True)
        # No data inlining: DuckDB 1.5.5's lake fails reading rows inlined into the catalog by a
        # table replaced in the same transaction (INTERNAL Error: index 0 within vector of size 0).
        options = ["DATA_INLINING_ROW_LIMIT 0"]
        if path:
            options.append(f"DATA_PATH '{_quote(str(Path(path).expanduser()) if not remote else path)}'")
        if read_only:
            options.append("READ_ONLY")
        opts = f" ({', '.join(options)})"
        for attempt in range(ATTEMPTS):
            try:
                con.execute(f"ATTACH '{_quote(location)}' AS {ALIAS}{opts}")
                break
            except duckdb.Error as e:  # two processes creating the same new lake: the second one retries
                racing = "Failed to initialize DuckLake" in str(e) and "duplicate key" in str(e)
                if not (is_conflict(e) or racing) or attempt == ATTEMPTS - 1:
                    raise
                _pause(attempt)
        con.execute(f"USE {ALIAS}")
    except duckdb.Error as e:
        hint = "" if path else f" (a new lake needs {DATA_PATH_ENV}: a folder or s3://bucket/prefix for its data files)"
        raise SpendwatchError(f"{redact(location)}: cannot open the lake: {redact(str(e).splitlines()[0])}{hint}") from None


def _object_store_secret(con: duckdb.DuckDBPyConnection) -> None:
    """S3-compatible credentials from the usual AWS variables, as a DuckDB secret (masked in every log line)."""
    key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    if not key or not secret:
        return  # a public bucket, or credentials DuckDB finds on its own
    register(key, secret, os.environ.get("AWS_SESSION_TOKEN"))
    parts = {"KEY_ID": key, "SECRET": secret, "SESSION_TOKEN": os.environ.get("AWS_SESSION_TOKEN"),
             "REGION": os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")}
    endpoint = os.environ.get("AWS_ENDPOINT_URL")  # MinIO, R2, ...: host[:port], with or without the scheme
    if endpoint:
        parts["ENDPOINT"] = re.sub(r"^https?://", "", endpoint).rstrip("/")
        parts["USE_SSL"] = "false" if endpoint.startswith("http://") else "true"
        parts["URL_STYLE"] = "path"
    body = ", ".join(f"{k} {v}" if k == "USE_SSL" else f"{k} '{_quote(v)}'" for k, v in parts.items() if v)
    con.execute(f"CREATE OR REPLACE SECRET spendwatch_lake_store (TYPE s3, {body})")


def storage_error(e: duckdb.Error) -> SpendwatchError:
    """An object store's refusal (HTTP 403: a wrong key or secret, a missing bucket...) as one clear, redacted line.

    DuckDB's text names the object's URL and the store's error code (``SignatureDoesNotMatch``,
    ``InvalidAccessKeyId``); it never holds the credentials, and it is redacted all the same.
    """
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    code = next((ln for ln in lines[1:] if re.match(r"^[A-Za-z]+: ", ln)), "")
    said = "; ".join(filter(None, (lines[0] if lines else type(e).__name__, code)))
    return SpendwatchError(
        f"{redact(data_path() or '')}: the lake's object store refused a request ({redact(said)}); check "
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_ENDPOINT_URL, AWS_REGION for an S3-compatible store)")


def attached(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether this connection's current database is a DuckLake."""
    return bool(con.execute("SELECT count(*) FROM duckdb_databases() WHERE database_name = current_database() "
                            "AND type = 'ducklake'").fetchone()[0])


def is_conflict(e: BaseException) -> bool:
    """A lake commit that lost to another writer's (the work may simply be done again)."""
    text = str(e)
    return isinstance(e, duckdb.Error) and ("DuckLake transaction" in text or "Transaction conflict" in text
                                            or "conflict" in text.lower() and "ducklake" in text.lower())


def _pause(attempt: int) -> None:
    time.sleep(min(2.0, 0.05 * 2 ** min(attempt, 6)) * (0.5 + random.random()))


def transaction(con: duckdb.DuckDBPyConnection, work: Callable[[], T], *, turn: str | None = None) -> T:
    """Run ``work`` in one transaction and return its result; on a lake, again after a conflicting commit.

    ``turn`` names a writer turn to take first (a transaction that allocates ids with max + 1).
    ``work`` must be safe to run again: everything it did was rolled back.
    """
    for attempt in range(ATTEMPTS):
        con.execute("BEGIN TRANSACTION")
        try:
            if turn is not None:
                con.execute("UPDATE writer_turns SET turn = turn + 1 WHERE name = ?", [turn])
            result = work()
            con.execute("COMMIT")
            return result
        except BaseException as e:
            try:
                con.execute("ROLLBACK")
            except duckdb.Error:  # a failed COMMIT has ended the transaction already
                pass
            if not is_conflict(e) or attempt == ATTEMPTS - 1:
                raise
        _pause(attempt)
    raise AssertionError("unreachable")


def snapshot_id(con: duckdb.DuckDBPyConnection) -> int | None:
    """The lake's current snapshot id (None on a DuckDB file)."""
    if not attached(con):
        return None
    return int(con.execute(f"SELECT id FROM {ALIAS}.current_snapshot()").fetchone()[0])


def require(con: duckdb.DuckDBPyConnection, what: str) -> None:
    if not attached(con):
        raise UsageError(f"{what} needs a DuckLake warehouse (SPENDWATCH_WAREHOUSE=ducklake:postgres:...): "
                         "a DuckDB file keeps no snapshots to read back")


_COMMENT = re.compile(r"--[^\n]*")
_BALANCED = r"\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*\)"
_TABLE_CONSTRAINT = re.compile(r",\s*(?:PRIMARY\s+KEY|UNIQUE|CHECK)\s*" + _BALANCED, re.I)
_INLINE = re.compile(r"\s+(?:PRIMARY\s+KEY|UNIQUE)\b(?!\s*\()", re.I)
_SEQUENCE = re.compile(r"CREATE\s+SEQUENCE[^;]*;", re.I)
_NEXTVAL = re.compile(r"\s+DEFAULT\s+nextval\s*\(\s*'[^']*'\s*\)", re.I)
_ON_CONFLICT = re.compile(r"\s+ON\s+CONFLICT\s+DO\s+NOTHING", re.I)


def dialect(sql: str) -> str:
    """A migration as a lake can run it: without constraints a lake cannot keep, sequences and ON CONFLICT.

    Comments go first (a constraint may follow a commented line).  The migrations keep the
    constraints for the DuckDB file; on a lake the code keeps the same rules itself.
    """
    sql = _COMMENT.sub("", sql)
    sql = _SEQUENCE.sub("", sql)
    sql = _NEXTVAL.sub("", sql)
    sql = _TABLE_CONSTRAINT.sub("", sql)
    sql = _INLINE.sub("", sql)
    return _ON_CONFLICT.sub("", sql)


def attach_snapshot(con: duckdb.DuckDBPyConnection, version: int) -> str:
    """Attach the lake in use once more, read-only, as it was at snapshot ``version``; return its alias.

    Every table and view in it is as that snapshot left it (DuckLake's ``SNAPSHOT_VERSION``, the
    whole-catalog form of ``AT (VERSION => n)``).  Detach it with :func:`detach`.
    """
    require(con, "reading an earlier snapshot")
    (path,) = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    alias = f"{ALIAS}_at_{int(version)}"
    con.execute(f"ATTACH IF NOT EXISTS '{_quote(PREFIX + path)}' AS {alias} (SNAPSHOT_VERSION {int(version)}, READ_ONLY)")
    return alias


def detach(con: duckdb.DuckDBPyConnection, alias: str) -> None:
    con.execute(f"USE {ALIAS}")
    con.execute(f"DETACH {alias}")
