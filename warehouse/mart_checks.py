"""Invariants of the decision and spend marts, as check outcomes (run by Dagster asset checks in pipelines/checks.py).

* ``fct_spend_daily_reconciles``: per native currency, fct_spend_daily sums the current billed line items, to the
  penny and within the rounding of its rows to 6 decimals (half a millionth each);
* ``decisions_have_windows``: every breakeven, hybrid_plan, recommendations and api_vs_selfhost row names its window;
* ``fx_rates_fresh``: no figure rests on an ECB rate more than the configured business days older than its charge
  date (model fx_staleness); each problem names the currency pair and the rate's age.
"""

from __future__ import annotations

import duckdb

from warehouse.price_checks import CheckOutcome
from warehouse.db import relation_exists


def spend_reconciles(con: duckdb.DuckDBPyConnection) -> CheckOutcome:
    if not relation_exists(con, "fct_spend_daily"):
        return CheckOutcome(True, metadata={"note": "fct_spend_daily not built yet"})
    rows = con.execute(
        """WITH mart AS (SELECT native_currency AS currency, sum(amount_native) AS amount, count(*) AS n FROM fct_spend_daily GROUP BY ALL),
                lines AS (SELECT BillingCurrency AS currency, CAST(sum(BilledCost) AS DECIMAL(38, 6)) AS amount
                          FROM billing_line_items GROUP BY ALL)
           SELECT coalesce(m.currency, l.currency), m.amount, l.amount
           FROM mart m FULL JOIN lines l USING (currency)
           WHERE m.amount IS NULL OR l.amount IS NULL OR abs(m.amount - l.amount) > greatest(0.01, m.n * 0.0000005)
           ORDER BY 1""").fetchall()
    problems = [f"{c}: fct_spend_daily {m} against line items {l}" for c, m, l in rows]
    return CheckOutcome(not problems, problems, {"currencies_off": len(problems)})


def decisions_have_windows(con: duckdb.DuckDBPyConnection) -> CheckOutcome:
    problems = []
    for model in ("breakeven", "hybrid_plan", "recommendations", "api_vs_selfhost"):
        if relation_exists(con, model):
            n = con.execute(f'SELECT count(*) FROM "{model}" WHERE window_start IS NULL OR window_end IS NULL '
                            "OR window_end < window_start").fetchone()[0]
            if n:
                problems.append(f"{model}: {n} row(s) without a window")
    return CheckOutcome(not problems, problems)


def fx_rates_fresh(con: duckdb.DuckDBPyConnection) -> CheckOutcome:
    if not relation_exists(con, "fx_staleness"):
        return CheckOutcome(True, metadata={"note": "fx_staleness not built yet"})
    rows = con.execute(
        """SELECT currency_pair, strftime(month, '%Y-%m'), min(oldest_rate_date), max(max_age_business_days),
                  max(last_stale_charge_date), sum(amount_reporting), any_value(reporting_currency)
           FROM fx_staleness GROUP BY ALL ORDER BY 2, 1""").fetchall()
    problems = [f"{pair} {month}: converted at the ECB rate of {rate_date}, {age} business days old by {last} "
                f"({amount} {ccy} of spend)" for pair, month, rate_date, age, last, amount, ccy in rows]
    return CheckOutcome(not problems, problems, {"stale_pairs": len(problems)})
