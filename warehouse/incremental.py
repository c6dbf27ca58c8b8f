"""Incremental models: rebuild only the months whose line items changed since the model was last built.

A model whose header says ``-- incremental: <month column>`` (stg_line_items, fct_spend_daily) is a
table whose rows each belong to one month of their lines' ChargePeriodStart.  Every ingest records
the months it touched in ``changed_months`` under its ingest turn (warehouse/ingest/deliveries.py);
``model_builds`` says what each incremental model was last built from.  An incremental build then
deletes and re-inserts just those months, in one transaction; it falls back to a full build when it
cannot be sure the other months are unchanged:

* the model was never built (or its table is gone), or its rendered SQL changed;
* the config tables changed (the reporting currency, attribution rules, teams, decision settings);
* FX rates were added *before* the latest rate seen (a backfill).  Rates added after it are fine:
  a charge day uses the latest rate on or before it, so only months from that rate's month on can
  change, and those are rebuilt.

``spendwatch models build --full`` (and :func:`warehouse.models.build` without ``incremental``)
rebuilds everything; both give the same tables (tests/lake/test_incremental.py).
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timezone

import duckdb

CONFIG_TABLES_SQL = ("SELECT table_name FROM information_schema.tables WHERE table_schema = 'config' "
                     "AND table_catalog = current_database() ORDER BY 1")


def sql_sha(sql: str) -> str:
    return hashlib.sha256(sql.encode()).hexdigest()


def inputs_sha(con: duckdb.DuckDBPyConnection) -> str:
    """A digest of every config table's content (row order ignored)."""
    h = hashlib.sha256()
    for (table,) in con.execute(CONFIG_TABLES_SQL).fetchall():
        (digest,) = con.execute(
            f'SELECT md5(coalesce(string_agg(CAST(t AS VARCHAR), chr(10) ORDER BY CAST(t AS VARCHAR)), \'\')) '
            f'FROM config."{table}" t').fetchone()
        h.update(f"{table}:{digest}\n".encode())
    return h.hexdigest()


def _fx(con: duckdb.DuckDBPyConnection) -> tuple[int, date | None]:
    n, latest = con.execute("SELECT count(*), max(rate_date) FROM fx_rates").fetchone()
    return int(n), latest


def _turn(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.execute("SELECT coalesce(max(turn), 0) FROM writer_turns WHERE name = 'ingest'").fetchone()[0])


def months_to_rebuild(con: duckdb.DuckDBPyConnection, model: str, column: str, sql: str) -> list[date] | None:
    """The months an incremental build of ``model`` must rebuild; None when only a full build is safe."""
    state = con.execute(
        "SELECT sql_sha, inputs_sha, ingest_turn, fx_count, fx_max FROM model_builds WHERE model = ? "
        "ORDER BY built_at DESC LIMIT 1", [model]).fetchone()
    exists = con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
                         "AND schema_name = 'main' AND table_name = ?", [model]).fetchone()[0]
    if state is None or not exists or state[0] != sql_sha(sql) or state[1] != inputs_sha(con):
        return None
    _, _, turn, fx_count, fx_max = state
    months = {m for (m,) in con.execute("SELECT DISTINCT month FROM changed_months WHERE ingest_turn > ?", [turn]).fetchall()}
    n, _ = _fx(con)
    if n != fx_count:
        if fx_max is None:
            return None
        (newer,) = con.execute("SELECT count(*) FROM fx_rates WHERE rate_date > ?", [fx_max]).fetchone()
        if n - fx_count != newer:  # rates added on or before the latest one seen: a backfill
            return None
        months |= {m for (m,) in con.execute(
            f'SELECT DISTINCT "{column}" FROM "{model}" WHERE "{column}" >= CAST(date_trunc(\'month\', ?) AS DATE)',
            [fx_max]).fetchall()}
    return sorted(months)


def rebuild_months(con: duckdb.DuckDBPyConnection, model: str, column: str, sql: str, months: list[date]) -> None:
    """Replace the rows of ``months`` with what the model's SQL gives for them (inside the caller's transaction)."""
    if not months:
        return
    lo, hi = months[0], months[-1]
    # The range lets the filter reach the scans; the list keeps months in between that did not change.
    keep = f'"{column}" BETWEEN $lo AND $hi AND list_contains($months, "{column}")'
    params = {"lo": lo, "hi": hi, "months": months}
    con.execute(f'DELETE FROM "{model}" WHERE {keep}', params)
    con.execute(f'INSERT INTO "{model}" BY NAME SELECT * FROM (\n{sql}\n) WHERE {keep}', params)


def record_build(con: duckdb.DuckDBPyConnection, model: str, sql: str, months: list[date] | None) -> None:
    """Note what this build saw (inside the build's transaction)."""
    n, latest = _fx(con)
    con.execute("DELETE FROM model_builds WHERE model = ?", [model])
    con.execute(
        "INSERT INTO model_builds VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [model, sql_sha(sql), inputs_sha(con), _turn(con), n, latest, "full" if months is None else "incremental",
         None if months is None else len(months), datetime.now(timezone.utc).replace(tzinfo=None)])
