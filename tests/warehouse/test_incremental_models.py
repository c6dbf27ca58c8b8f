"""Incremental models on the DuckDB file: a restated month is rebuilt alone, and the tables equal a full rebuild."""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb

from warehouse import models as sqlmodels
from warehouse.db import connect
from warehouse.ingest import ingest_file

ROOT = Path(__file__).resolve().parents[2]
AWS = ROOT / "examples" / "exports" / "focus_aws_2026-09_2026-11.csv"

def table_models() -> list[str]:
    """Every model built as a table: after an incremental build each must equal its full rebuild."""
    project = sqlmodels.load_project()
    return [n for n in project.order if project.models[n].materialized == "table"]


def restated_november(folder: Path, month: str = "2026-11") -> Path:
    """AWS's November (or ``month``'s) export delivered again with every cost doubled (same account and billing
    period: a restatement)."""
    out = folder / f"focus_aws_{month}_restated.csv"
    doubled = ", ".join(f"CAST(CAST({c} AS DECIMAL(38, 10)) * 2 AS VARCHAR) AS {c}" for c in ("BilledCost", "EffectiveCost", "ListCost"))
    with duckdb.connect() as c:
        c.execute(f"COPY (SELECT * REPLACE ({doubled}) FROM read_csv($src, all_varchar = true) "
                  "WHERE BillingPeriodStart LIKE $month || '%') TO $dst (HEADER)", {"src": str(AWS), "dst": str(out), "month": month})
    return out


def contents(con, tables: list[str] | None = None) -> dict[str, tuple[int, str]]:
    """Each table model's row count and a digest of its rows, in any order, worked out in the database.

    Statistics in DOUBLE (forecasts, z-scores) are summed in parallel, in no fixed order: they are compared to
    9 significant digits, below 1e-9 as 0, NaN as a word.  Money is DECIMAL and compared exactly.
    """
    def stable(col: str, dtype: str) -> str:
        one = ("CASE WHEN isnan({x}) THEN 'NaN' WHEN abs({x}) < 1e-9 THEN '0' ELSE printf('%.9g', {x}) END")
        if dtype == "DOUBLE":
            return one.format(x=col)
        if dtype == "DOUBLE[]":
            return f"list_transform({col}, lambda v: {one.format(x='v')})"
        return col

    out = {}
    for t in tables or table_models():
        cols = con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() "
                           "AND schema_name = 'main' AND table_name = ? ORDER BY column_index", [t]).fetchall()
        row = ", ".join(stable(f'"{c}"', d) for c, d in cols)
        out[t] = con.execute(f'SELECT count(*), md5(coalesce(string_agg(r, chr(10) ORDER BY r), \'\')) '
                             f'FROM (SELECT CAST(ROW({row}) AS VARCHAR) AS r FROM "{t}")').fetchone()
    return out


def aws_november(con) -> tuple[int, Decimal]:
    return con.execute("SELECT count(*), sum(billed_cost) FROM stg_line_items WHERE provider = 'aws' "
                       "AND charge_month = DATE '2026-11-01'").fetchone()


def check_incremental_equals_full(con, sample_config, folder: Path) -> None:
    """Shared by the DuckDB-file and the DuckLake tests (tests/lake/test_lake_sample.py)."""
    project = sqlmodels.load_project()
    nothing = {r.model: r.months for r in sqlmodels.build(con, project, incremental=True)}
    assert nothing["stg_line_items"] == [] and nothing["fct_spend_daily"] == []  # no delivery since the last build
    lines_before, cost_before = aws_november(con)

    r = ingest_file(con, restated_november(folder), sample_config)
    assert r.rows_replaced == lines_before and r.rows_loaded == lines_before  # the whole AWS November, restated

    built = {r.model: r for r in sqlmodels.build(con, project, incremental=True)}
    assert all(r.status == "ok" for r in built.values())
    # Only November: the archived lines and the new ones are all of that month.
    assert built["stg_line_items"].months == [date(2026, 11, 1)]
    assert built["fct_spend_daily"].months == [date(2026, 11, 1)]
    assert built["invoice_audit"].months == [date(2026, 11, 1)]
    assert aws_november(con) == (lines_before, cost_before * 2)  # every AWS November cost doubled, nothing else
    incremental = contents(con)

    assert all(r.status == "ok" and r.months is None for r in sqlmodels.build(con, project))  # the full rebuild
    full = contents(con)
    assert full.keys() == incremental.keys()
    for table in full:
        assert full[table] == incremental[table], table


def test_an_incremental_build_rebuilds_the_touched_month_and_equals_a_full_rebuild(sample_warehouse, sample_config, tmp_path):
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(sample_warehouse, copy)
    con = connect(copy)
    try:
        check_incremental_equals_full(con, sample_config, tmp_path)
    finally:
        con.close()


def test_changed_settings_make_the_next_incremental_build_a_full_one(sample_warehouse, tmp_path):
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(sample_warehouse, copy)
    con = connect(copy)
    try:
        con.execute("UPDATE config.settings SET tolerance_abs = tolerance_abs + 1")
        built = {r.model: r for r in sqlmodels.build(con, sqlmodels.load_project(), incremental=True)}
        assert built["fct_spend_daily"].status == "ok" and built["fct_spend_daily"].months is None
        again = {r.model: r for r in sqlmodels.build(con, sqlmodels.load_project(), incremental=True)}
        assert again["fct_spend_daily"].months == []
    finally:
        con.close()


def test_new_fx_rates_and_prices_rebuild_the_months_they_reach(sample_warehouse, tmp_path):
    """A rate or price reaches only the months it can apply to; the result still equals a full rebuild.

    The sample holds lines of September to November 2026 and ECB rates up to 30 October; its prices are in
    force from 1 September (hosted APIs and GPUs) with no end.
    """
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(sample_warehouse, copy)
    con = connect(copy)
    project = sqlmodels.load_project()
    watched = ("stg_line_items", "fct_spend_daily", "invoice_audit")

    def months_rebuilt() -> dict[str, list]:
        built = {r.model: r for r in sqlmodels.build(con, project, incremental=True)}
        assert all(r.status == "ok" for r in built.values())
        return {m: built[m].months for m in watched}

    try:
        assert months_rebuilt() == {m: [] for m in watched}
        nov, sep_to_nov = [date(2026, 11, 1)], [date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)]

        # A rate dated after every other one (16 November): only November's days can use it.
        con.execute("INSERT INTO fx_rates VALUES (DATE '2026-11-16', 'USD', 1.2000, 'ecb')")
        assert months_rebuilt() == {m: nov for m in watched}

        # A backfilled rate on 13 September (a Sunday, so no ECB rate of that day existed): in force from that day
        # until the next rate, and any later month's day may still fall back on it, so September to November.
        con.execute("INSERT INTO fx_rates VALUES (DATE '2026-09-13', 'USD', 1.3000, 'ecb')")
        assert months_rebuilt() == {m: sep_to_nov for m in watched}

        # An Anthropic price that changes on 20 November: its old row now ends there, the new one starts there.
        # Cut to each month, September and October read the same (in force all month), so only November.
        (key,) = con.execute("SELECT price_key FROM price_history WHERE provider = 'anthropic' AND valid_to IS NULL "
                             "ORDER BY price_key LIMIT 1").fetchone()
        con.execute("CREATE TEMP TABLE new_price AS SELECT * REPLACE (TIMESTAMP '2026-11-20' AS valid_from, amount * 2 AS amount) "
                    "FROM price_history WHERE price_key = ? AND valid_to IS NULL", [key])
        con.execute("UPDATE price_history SET valid_to = TIMESTAMP '2026-11-20', closed_reason = 'changed' "
                    "WHERE price_key = ? AND valid_to IS NULL", [key])
        con.execute("INSERT INTO price_history SELECT * FROM new_price")
        assert months_rebuilt() == {m: nov for m in watched}
        incremental = contents(con)

        assert all(r.months is None for r in sqlmodels.build(con, project) if r.model in watched)
        full = contents(con)
        for table in full:
            assert full[table] == incremental[table], table
    finally:
        con.close()
