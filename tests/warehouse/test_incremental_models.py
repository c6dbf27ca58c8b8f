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
# What an incremental build touches, compared whole with a full rebuild.
TABLES = ("stg_line_items", "fct_spend_daily", "team_monthly_spend", "threshold_flags")


def restated_november(folder: Path) -> Path:
    """AWS's November export delivered again with every cost doubled (same account and billing period: a restatement)."""
    out = folder / "focus_aws_2026-11_restated.csv"
    doubled = ", ".join(f"CAST(CAST({c} AS DECIMAL(38, 10)) * 2 AS VARCHAR) AS {c}" for c in ("BilledCost", "EffectiveCost", "ListCost"))
    with duckdb.connect() as c:
        c.execute(f"COPY (SELECT * REPLACE ({doubled}) FROM read_csv($src, all_varchar = true) "
                  "WHERE BillingPeriodStart LIKE '2026-11%') TO $dst (HEADER)", {"src": str(AWS), "dst": str(out)})
    return out


def contents(con) -> dict[str, list[tuple]]:
    return {t: con.execute(f'SELECT * FROM "{t}" ORDER BY ALL').fetchall() for t in TABLES}


def aws_november(con) -> tuple[int, Decimal]:
    return con.execute("SELECT count(*), sum(billed_cost) FROM stg_line_items WHERE provider = 'aws' "
                       "AND charge_month = DATE '2026-11-01'").fetchone()


def check_incremental_equals_full(con, sample_config, folder: Path) -> None:
    """Shared by the DuckDB-file and the DuckLake tests (tests/lake/test_lake_scenario.py)."""
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
    assert aws_november(con) == (lines_before, cost_before * 2)  # every AWS November cost doubled, nothing else
    incremental = contents(con)

    assert all(r.status == "ok" and r.months is None for r in sqlmodels.build(con, project))  # the full rebuild
    assert contents(con) == incremental


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
