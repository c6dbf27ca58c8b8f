"""DuckDB settings for the duration of one ingest (memory limit, insertion order), restored afterwards."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from spendwatch.core.errors import SpendwatchError

# Resource settings applied for the duration of one ingest and restored afterwards.
# They keep a multi-GB export within about 1 GB of resident memory: DuckDB spills
# staged rows to its temp directory instead of holding them all in RAM (a direct
# loader streams its rows into billing_line_items and stays far below it).
INGEST_MEMORY_LIMIT = "600MB"

_SETTING_VALUE = re.compile(r"^[A-Za-z0-9 ._%-]+$")

@contextmanager
def _ingest_settings(con: duckdb.DuckDBPyConnection, memory_limit: str | None) -> Iterator[None]:
    """Apply the ingest's resource settings to the connection's database, restoring them afterwards."""
    # Loaders may rely on an INSERT ... SELECT from read_csv/read_parquet keeping the
    # file's row order (e.g. to number rows with row_number() OVER ()), so order is preserved.
    wanted: dict[str, str] = {"preserve_insertion_order": "true", "enable_progress_bar": "false"}
    if memory_limit:
        (current,) = con.execute("SELECT current_setting('memory_limit')").fetchone()
        if _size_bytes(str(memory_limit)) < _size_bytes(str(current)):  # lower it, never raise it
            wanted["memory_limit"] = memory_limit
    saved: dict[str, str] = {}
    for name in wanted:
        (value,) = con.execute("SELECT current_setting(?)", [name]).fetchone()
        saved[name] = str(value).lower() if isinstance(value, bool) else str(value)
    try:
        for name, value in wanted.items():
            _set(con, name, value)
        yield
    finally:
        for name, value in saved.items():
            _set(con, name, value)


_UNITS = {"": 1, "b": 1, "bytes": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
          "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4}


def _size_bytes(text: str) -> float:
    """A DuckDB memory size ('600MB', '18.8 GiB') in bytes; unparseable sizes count as unlimited."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*([A-Za-z]*)\s*", text)
    if not m or m.group(2).lower() not in _UNITS:
        return float("inf")
    return float(m.group(1)) * _UNITS[m.group(2).lower()]


def _set(con: duckdb.DuckDBPyConnection, name: str, value: str) -> None:
    # SET takes no parameters; both name and value are ours or DuckDB's own output, checked here.
    if not re.fullmatch(r"[a-z_]+", name) or not _SETTING_VALUE.match(value):
        raise SpendwatchError(f"refusing to apply DuckDB setting {name}={value!r}")
    con.execute(f"SET {name} = '{value}'")

