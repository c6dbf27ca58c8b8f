"""int_anomaly_spans and int_anomaly_daily on hand-made series days: a recurring charge's previous occurrence is the
one before it, across months, even when that one's amount is unknown (NULL: no FX rate for its currency)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import duckdb

from warehouse.models import load_project


def test_a_recurring_charges_previous_occurrence_across_months_and_an_unknown_amount():
    project = load_project()
    con = duckdb.connect()
    con.execute("CREATE SCHEMA config; CREATE TABLE config.settings AS SELECT 'GBP' AS reporting_currency")
    con.execute("""CREATE TABLE int_anomaly_series_days AS
        SELECT 't' AS team, 'p' AS provider, 'recurring:x' AS scope, 'recurring' AS series_kind, d AS charge_date,
               CAST(date_trunc('month', d) AS DATE) AS charge_month, CAST(a AS DECIMAL(18, 6)) AS actual, 'GBP' AS currency
        FROM (VALUES (DATE '2026-09-01', 100), (DATE '2026-10-01', 70), (DATE '2026-10-15', NULL),
                     (DATE '2026-11-01', NULL), (DATE '2026-11-15', 60)) t(d, a)""")
    con.execute(f"CREATE TABLE int_anomaly_spans AS {project.render('int_anomaly_spans')}")
    rows = con.execute(f"SELECT charge_date, actual, previous_actual, first_spend, org_start "
                       f"FROM ({project.render('int_anomaly_daily')}) ORDER BY charge_date").fetchall()
    sep = date(2026, 9, 1)
    assert rows == [
        (sep, Decimal("100"), None, sep, sep),                                # the first occurrence: none before it
        (date(2026, 10, 1), Decimal("70"), Decimal("100"), sep, sep),         # September's, from the month before
        (date(2026, 10, 15), None, Decimal("70"), sep, sep),
        (date(2026, 11, 1), None, None, sep, sep),                            # 15 October's, unknown: not 1 October's
        (date(2026, 11, 15), Decimal("60"), None, sep, sep),                  # 1 November's, unknown: not October's
    ]
