"""The price sources the warehouse knows (table ``price_sources``) and what it holds of each.

``spendwatch.operations`` mirrors the source registry (``scrapers/sources``) here; the rows are built
there, the write and the reads are here, as every write of the warehouse is.
"""

from __future__ import annotations

from datetime import date
from typing import Sequence

import duckdb

COLUMNS = ("source_id", "provider", "product_kind", "is_catalog", "discontinued", "url", "max_age_days")


def stored_max_ages(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """source_id -> the max_age_days stored for it."""
    return dict(con.execute("SELECT source_id, max_age_days FROM price_sources").fetchall())


def replace_sources(con: duckdb.DuckDBPyConnection, rows: Sequence[Sequence]) -> int:
    """Replace every row of price_sources with ``rows`` (in :data:`COLUMNS` order), in one transaction."""
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM price_sources")
        con.executemany(f"INSERT INTO price_sources ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                        [list(r) for r in rows])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return len(rows)


def sources_fetched_ok(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The sources with at least one good fetch (observed or backfilled)."""
    return {r[0] for r in con.execute("SELECT DISTINCT source_id FROM price_fetches WHERE status = 'ok'").fetchall()}


def has_prices(con: duckdb.DuckDBPyConnection, source_id: str) -> bool:
    return con.execute("SELECT count(*) > 0 FROM price_history WHERE source_id = ?", [source_id]).fetchone()[0]


def fx_summary(con: duckdb.DuckDBPyConnection) -> tuple[date | None, int]:
    """The latest ECB day in fx_rates and how many currencies it holds."""
    return con.execute("SELECT max(rate_date), count(DISTINCT currency) FROM fx_rates").fetchone()


def has_fx_day(con: duckdb.DuckDBPyConnection, day: date) -> bool:
    return con.execute("SELECT count(*) > 0 FROM fx_rates WHERE rate_date = ?", [day]).fetchone()[0]
