"""Incremental models over two years of history: a model whose rows read months back (anomaly scores) rebuilds the
months its inputs changed and the ones after them, and still equals a full rebuild, table by table.

The warehouse is bench/scale.py's generated organisation (December 2024 - November 2026), small.  Changes are
made at the raw level the way an ingest transaction makes them: lines changed, and their month recorded in
``changed_months`` under a new ingest turn (warehouse/ingest/deliveries.py does the same for a delivery).
"""

from __future__ import annotations

from datetime import date

import pytest

from bench import scale
from tests.warehouse.test_incremental_models import contents
from warehouse import models as sqlmodels
from warehouse.db import connect


def months(first: date, last: date) -> list[date]:
    out, m = [], first
    while m <= last:
        out.append(m)
        m = date(m.year + m.month // 12, m.month % 12 + 1, 1)
    return out


def changed(con, month: date) -> None:
    """Record ``month`` as changed by a new ingest turn."""
    con.execute("UPDATE writer_turns SET turn = turn + 1 WHERE name = 'ingest'")
    con.execute("INSERT INTO changed_months SELECT ?, turn FROM writer_turns WHERE name = 'ingest'", [month])


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    con = connect(tmp_path_factory.mktemp("history") / "warehouse.duckdb")
    scale.fill(con, 12_000)
    project = sqlmodels.load_project()
    assert all(r.status == "ok" for r in sqlmodels.build(con, project, select=SELECT))
    yield con, project
    con.close()


# The anomaly chain and the models that read lines; the projection and decision models above them are left out
# here to keep the test short (the sample's incremental tests compare every table).
SELECT = ["int_anomaly_scores", "invoice_audit", "fct_spend_daily", "int_serverless_hours"]


def tables(project) -> list[str]:
    return [n for n in project.upstream(SELECT) if project.models[n].materialized == "table"]


def rebuilt(con, project) -> dict[str, list | None]:
    built = sqlmodels.build(con, project, select=SELECT, incremental=True)
    assert all(r.status == "ok" for r in built), [r.error for r in built if r.status != "ok"]
    return {r.model: r.months for r in built}


def test_scores_rebuild_the_changed_month_and_four_after_then_from_a_new_series_start_on(history):
    con, project = history
    assert (date(2024, 12, 1), date(2026, 11, 1)) == con.execute(
        "SELECT min(charge_month), max(charge_month) FROM stg_line_items").fetchone()

    # June 2025's RunPod costs restated (doubled): its lines change; a score reads 119 days back, so the scores of
    # June and of the 4 months after it (to October 2025) change too, and nothing before June or after October.
    # As an ingest restates a line: the old one archived (gone from billing_line_items), the new one under a new id.
    june = "x_provider = 'runpod' AND ChargePeriodStart >= '2025-06-01' AND ChargePeriodStart < '2025-07-01'"
    con.execute(f"CREATE TEMP TABLE restated AS SELECT * REPLACE (x_line_id || '-r' AS x_line_id, BilledCost * 2 AS BilledCost, "
                f"EffectiveCost * 2 AS EffectiveCost) FROM billing_line_items WHERE {june}")
    con.execute(f"DELETE FROM billing_line_items WHERE {june}")
    con.execute("INSERT INTO billing_line_items SELECT * FROM restated")
    changed(con, date(2025, 6, 1))
    r = rebuilt(con, project)
    assert r["stg_line_items"] == [date(2025, 6, 1)] and r["int_anomaly_day_lines"] == [date(2025, 6, 1)]
    assert r["int_anomaly_scores"] == months(date(2025, 6, 1), date(2025, 10, 1))

    # A GPU class nobody used before, first billed on a day of August 2025 (copies of that day's RunPod lines): a
    # new series whose rows run from there to the last day, so the scores rebuild from August 2025 to November 2026.
    con.execute("INSERT INTO billing_line_items SELECT * REPLACE (x_line_id || '-new' AS x_line_id, "
                "x_natural_key || '-new' AS x_natural_key, 'NEW-GPU-99GB' AS x_gpu_class) FROM billing_line_items "
                "WHERE x_provider = 'runpod' AND CAST(ChargePeriodStart AS DATE) = "
                "(SELECT min(CAST(ChargePeriodStart AS DATE)) FROM billing_line_items WHERE x_provider = 'runpod' "
                " AND BilledCost > 0 AND ChargePeriodStart >= '2025-08-01')")
    assert con.execute("SELECT count(*) FROM billing_line_items WHERE x_gpu_class = 'NEW-GPU-99GB' "
                       "AND ChargePeriodStart < '2025-09-01'").fetchone()[0] > 0
    changed(con, date(2025, 8, 1))
    r = rebuilt(con, project)
    assert r["stg_line_items"] == [date(2025, 8, 1)]
    assert r["int_anomaly_scores"] == months(date(2025, 8, 1), date(2026, 11, 1))
    incremental = contents(con, tables(project))

    assert all(r.status == "ok" and r.months is None for r in sqlmodels.build(con, project, select=SELECT))  # in full
    full = contents(con, tables(project))
    for table in full:
        assert full[table] == incremental[table], table
