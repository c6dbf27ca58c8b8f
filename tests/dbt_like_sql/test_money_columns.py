"""Every money column of every model has a currency, and converted money its rate date (built on an empty warehouse)."""

from __future__ import annotations

from tests.dbt_like_sql.test_models_business import wh  # noqa: F401  (the fixture: an empty warehouse on disk)
from warehouse.models import load_project


# DECIMAL columns that are not money: quantities, ratios and rates.
_NOT_MONEY = ("utilisation", "seconds", "fx_rate", "rate_to_reporting", "tokens", "hours", "gpus", "quantity", "pct", "term_months", "ratio_")
# Models whose money stays in the currency it was quoted in, although they read a converted model.
_NATIVE_ONLY = {"price_discrepancies": "compares a provider's and a catalog's price in their own currency"}
# Models whose money figures are sums of many lines, each converted at its own charge day's rate: no single
# rate date exists for the row, so they must be built on models that carry the rate and its date per line.
_AGGREGATES = {"team_monthly_spend", "threshold_flags", "api_vs_selfhost", "dedicated_utilisation", "int_window_usage",
               "recommendations", "int_daily_variable", "int_projection_daily", "fx_staleness",
               "int_anomaly_series_days", "int_anomaly_spans", "int_anomaly_daily", "int_anomaly_scores", "int_anomaly_explained", "spend_anomalies"}


def _money_columns(con, table: str) -> list[str]:
    cols = con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'main' AND table_name = ? AND data_type LIKE 'DECIMAL%'",
        [table]).fetchall()
    return [c for (c,) in cols if not any(w in c for w in _NOT_MONEY)]


def _columns(con, table: str) -> set[str]:
    return {c for (c,) in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'main' AND table_name = ?", [table]).fetchall()}


def test_every_money_column_has_a_currency_and_converted_money_its_rate_date(wh):
    wh.config({"vision": None})
    wh.build()  # every model, on an empty warehouse: the tables exist with their columns
    project = load_project()
    converted_models = {n for n in project.order if "stg_fx_rates" in project.upstream([n]) and n != "stg_fx_rates"}
    assert converted_models >= {"stg_line_items_fx", "fct_spend_daily", "breakeven", "invoice_audit", "hybrid_plan"}
    problems = []
    for name in project.order:
        cols = _columns(wh.con, name)
        money = _money_columns(wh.con, name)
        assert cols, f"{name}: no columns (was it built?)"
        if money and not any(c == "currency" or c.endswith("_currency") for c in cols):
            problems.append(f"{name}: money columns {money} but no currency column")
        if not money or name not in converted_models or name in _NATIVE_ONLY:
            continue
        if name in _AGGREGATES:
            carriers = [r for r in project.models[name].refs if "fx_rate_date" in _columns(wh.con, r)
                        or r in _AGGREGATES]
            if not carriers:
                problems.append(f"{name}: sums converted money but reads no model that carries fx_rate_date")
        elif "fx_rate_date" not in cols:
            problems.append(f"{name}: converted money {money} without fx_rate_date")
    assert not problems, "\n".join(problems)
    # The aggregates trace back to per-line rates: fct_spend_daily keeps the rate and its date per day and currency.
    assert {"fx_rate", "fx_rate_date", "native_currency", "reporting_currency"} <= _columns(wh.con, "fct_spend_daily")
