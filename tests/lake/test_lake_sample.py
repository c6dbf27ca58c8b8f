"""The sample organisation on a DuckLake (PostgreSQL catalog, Parquet files) gives the DuckDB file's figures."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest

from spendwatch import operations
from spendwatch.core.config import load_config
from spendwatch.core.paths import EXAMPLE_CONFIG
from warehouse import lake as lakes
from tests.warehouse.test_incremental_models import check_incremental_equals_full
from warehouse.alerts import lifecycle
from warehouse.alerts.asof import as_raised
from warehouse.db import connect

# Figures compared between the two backends: each query's rows must be identical.
TOTALS = {
    "lines": "SELECT BillingCurrency, count(*), sum(BilledCost) FROM billing_line_items GROUP BY 1 ORDER BY 1",
    "deliveries": "SELECT format, status, count(*) FROM deliveries GROUP BY ALL ORDER BY ALL",
    "daily": "SELECT charge_month, team, sum(amount_reporting), sum(line_count) FROM fct_spend_daily GROUP BY ALL ORDER BY ALL",
    "monthly": "SELECT * FROM team_monthly_spend ORDER BY ALL",
    "prices": "SELECT source_id, count(*), sum(amount) FROM price_history GROUP BY 1 ORDER BY 1",
}

# The alerts raised, with their figures (a stale source's figures hold the time of the last price fetch: not compared).
ALERTS = ("SELECT kind, team, period, subject, CASE WHEN kind = 'source_stale' THEN NULL ELSE CAST(details AS VARCHAR) END "
          "FROM alerts ORDER BY ALL")


def build_sample(con) -> None:
    """What the session's sample_warehouse fixture does (tests/conftest.py), on any backend."""
    cfg = load_config(EXAMPLE_CONFIG)
    operations.sync(con, cfg)
    operations.refresh_prices(con, mode="offline", as_of=datetime(2026, 12, 1, 6, 0), backfills=cfg.price_backfills())
    operations.refresh_fx(con, mode="offline")
    assert [r.error for r in operations.ingest(con, cfg, cfg.export_paths()) if r.error] == []
    assert [r.model for r in operations.build_models(con) if r.status != "ok"] == []


def figures(con) -> dict[str, list[tuple]]:
    return {name: con.execute(sql).fetchall() for name, sql in TOTALS.items()}


def test_sample_org_on_a_lake_matches_the_duckdb_file_then_restates_a_month_and_explains_its_alerts(
        lake, sample_warehouse, sample_config, tmp_path):
    """One lake, built once (a few minutes): the sample's figures, then a restated month built incrementally,
    then each alert's figures recomputed from the snapshot it was raised on after that correction."""
    con = connect(lake.location)
    try:
        assert lakes.attached(con)
        build_sample(con)
        on_lake = figures(con)
        ev = lifecycle.evaluate(con, as_of=date(2026, 12, 1), now=datetime(2026, 12, 1, 7, 0))
        lake_alerts = con.execute(ALERTS).fetchall()
        snapshots = con.execute("SELECT DISTINCT raised_snapshot FROM alerts").fetchall()
        raised = dict(con.execute("SELECT alert_id, CAST(details AS VARCHAR) FROM alerts WHERE kind <> 'source_stale'").fetchall())

        # AWS restates November (every cost doubled): only November is rebuilt, and equals a full rebuild.
        check_incremental_equals_full(con, sample_config, tmp_path)
        first = snapshots[0][0]
        aws_nov = ("SELECT sum(billed_cost) FROM stg_line_items {} WHERE provider = 'aws' "
                   "AND charge_month = DATE '2026-11-01'")
        then, now = (con.execute(aws_nov.format(at)).fetchone()[0] for at in (f"AT (VERSION => {first})", ""))
        assert now == then * 2  # the lake still reads the figures the first alerts were raised on
        lifecycle.evaluate(con, as_of=date(2026, 12, 1), now=datetime(2026, 12, 1, 8, 0))
        later = con.execute("SELECT alert_id, CAST(details AS VARCHAR), raised_snapshot FROM alerts "
                            "WHERE kind <> 'source_stale' AND alert_id NOT IN (SELECT unnest(?))", [list(raised)]).fetchall()
        # The doubled AWS November raised new alerts (an invoice discrepancy, a spend anomaly), on a later snapshot.
        assert later and all(s > first for _, _, s in later)
        for alert_id, details in [*raised.items(), *((i, d) for i, d, _ in later)]:
            # Each alert's figures, recomputed from the snapshot it was raised on, are those it was raised with.
            assert json.loads(details) == as_raised(con, alert_id).details, alert_id
    finally:
        con.close()
    # The data files are Parquet under SPENDWATCH_DATA_PATH, not in a DuckDB file.
    assert any(lake.data_path.rglob("*.parquet"))

    import shutil
    copy = sample_warehouse.parent / "copy_for_lake_compare.duckdb"
    shutil.copyfile(sample_warehouse, copy)
    ref = connect(copy)
    try:
        on_file = figures(ref)
        lifecycle.evaluate(ref, as_of=date(2026, 12, 1), now=datetime(2026, 12, 1, 7, 0))
        file_alerts = ref.execute(ALERTS).fetchall()
        assert ref.execute("SELECT DISTINCT raised_snapshot FROM alerts").fetchall() == [(None,)]
    finally:
        ref.close()
    assert on_file["lines"] and on_file["daily"] and on_file["monthly"]
    for name in TOTALS:
        assert on_lake[name] == on_file[name], name
    assert lake_alerts == file_alerts and ev.raised
    # Every alert raised on the lake names the snapshot its conditions were read from.
    assert len(snapshots) == 1 and snapshots[0][0] is not None


def test_a_new_lake_needs_a_data_path(lake, monkeypatch):
    from spendwatch.core.errors import SpendwatchError

    monkeypatch.delenv("SPENDWATCH_DATA_PATH")
    with pytest.raises(SpendwatchError, match="SPENDWATCH_DATA_PATH"):
        connect(lake.location)


def test_migrations_in_the_lake_dialect_drop_only_what_a_lake_cannot_keep():
    sql = """CREATE SEQUENCE IF NOT EXISTS s START 1;
CREATE TABLE t (
    id BIGINT NOT NULL PRIMARY KEY DEFAULT nextval('s'),  -- a comment, with (parens)
    k  VARCHAR NOT NULL UNIQUE,
    n  INTEGER DEFAULT 0,
    CHECK (n >= (0)),
    UNIQUE (k, n)
);
INSERT INTO t (k) SELECT 'a' ON CONFLICT DO NOTHING;"""
    got = " ".join(lakes.dialect(sql).split())
    assert got == ("CREATE TABLE t ( id BIGINT NOT NULL, k VARCHAR NOT NULL, n INTEGER DEFAULT 0 ); "
                   "INSERT INTO t (k) SELECT 'a';")


def test_sqlalchemy_reads_the_lake_with_money_as_decimal(lake, sample_config):
    from decimal import Decimal
    from pathlib import Path

    from warehouse.ingest import ingest_file
    from warehouse.sqla import engine, read_frame, table_names

    modal = Path(__file__).resolve().parents[2] / "examples" / "exports" / "modal_billing_2026-09_2026-11.csv"
    con = connect(lake.location)
    try:
        ingest_file(con, modal, sample_config)
        (direct,) = con.execute("SELECT sum(BilledCost) FROM billing_line_items").fetchone()
    finally:
        con.close()
    eng = engine(lake.location, read_only=True)
    try:
        assert {"billing_line_items", "alerts", "writer_turns"} <= set(table_names(eng))
        df = read_frame(eng, "SELECT count(*) AS n, sum(BilledCost) AS total FROM billing_line_items WHERE x_provider = :p",
                        {"p": "modal"})
    finally:
        eng.dispose()
    assert int(df.n[0]) == 169 and isinstance(df.total[0], Decimal) and df.total[0] == direct
