"""SQLAlchemy access to the warehouse, for pandas and BI tools (duckdb_engine).

Bulk loads stay DuckDB-native; this is for reading.  ``engine()`` opens the same
file (or md: DSN, or DuckLake) as the CLI.  Open it when no other DuckDB connection to the file
is open in this process: DuckDB refuses a second connection with a different
configuration.
"""

from __future__ import annotations

import sqlalchemy as sa

from warehouse import lake
from warehouse.db import resolve_warehouse


def engine(location: str | None = None, *, read_only: bool = False) -> sa.Engine:
    loc = resolve_warehouse(location)
    if lake.is_lake(loc):  # each pooled connection: an in-memory DuckDB with the lake attached and in use
        eng = sa.create_engine("duckdb:///:memory:", connect_args={"config": dict(lake.CONFIG)})
        sa.event.listen(eng, "connect", lambda dbapi_con, _record: lake.attach(dbapi_con, loc, read_only=read_only))
        return eng
    return sa.create_engine(f"duckdb:///{loc}", connect_args={"read_only": read_only})


def table_names(eng: sa.Engine, schema: str | None = None) -> list[str]:
    """The warehouse's tables (full SQLAlchemy reflection of constraints is not supported by DuckDB 2)."""
    return sa.inspect(eng).get_table_names(schema=schema)


def read_frame(eng: sa.Engine, sql: str, params: dict | None = None):
    """A pandas DataFrame of a parameterised query, with DECIMAL money kept as Decimal (never float)."""
    import pandas as pd

    return pd.read_sql(sa.text(sql), eng, params=params or {}, coerce_float=False)
