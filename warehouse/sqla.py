"""SQLAlchemy access to the warehouse, for pandas and BI tools (duckdb_engine).

Bulk loads stay DuckDB-native; this is for reading.  ``engine()`` opens the same
file (or md: DSN) as the CLI.  Pass ``connection=`` to reuse an open DuckDB
connection in this process: DuckDB refuses a second connection to one file with a
different configuration.
"""

from __future__ import annotations

import duckdb
import sqlalchemy as sa

from warehouse.db import resolve_warehouse


def engine(location: str | None = None, *, connection: duckdb.DuckDBPyConnection | None = None, read_only: bool = False) -> sa.Engine:
    loc = resolve_warehouse(location)
    if connection is not None:
        return sa.create_engine("duckdb://", creator=lambda: connection, poolclass=sa.pool.StaticPool)
    return sa.create_engine(f"duckdb:///{loc}", connect_args={"read_only": read_only})


def table_names(eng: sa.Engine, schema: str | None = None) -> list[str]:
    """The warehouse's tables (full SQLAlchemy reflection of constraints is not supported by DuckDB 2)."""
    return sa.inspect(eng).get_table_names(schema=schema)


def read_frame(eng: sa.Engine, sql: str, params: dict | None = None):
    """A pandas DataFrame of a parameterised query, with DECIMAL money kept as Decimal (never float)."""
    import pandas as pd

    return pd.read_sql(sa.text(sql), eng, params=params or {}, coerce_float=False)
