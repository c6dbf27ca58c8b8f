"""The key result of each SQL model, attached to its Dagster materialization.

``extra_metadata(model_name, con)`` returns metadata entries for the model just built:
a markdown table of what a reader of that model wants to see (for threshold_flags, the
latest month's rows; for invoice_audit, the findings above tolerance; ...), a few
headline numbers, and for ``team_monthly_spend`` and ``breakeven`` a PNG chart embedded
as a base64 markdown image.  Every query names a model this project defines and takes
its values as parameters.  A query that fails is reported in the metadata instead of
failing the materialization: the model itself was built.
"""

from __future__ import annotations

import os

from typing import Any, Callable

import dagster as dg
import duckdb

from spendwatch import charts
from spendwatch.render import markdown_table, money
from warehouse.db import relation_exists

KEY_ROWS = 30  # rows shown in a key-result table


def _fetch(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> tuple[list[str], list[tuple]]:
    cur = con.execute(sql, params or [])
    return [d[0] for d in cur.description], cur.fetchall()


def _table(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> dg.MetadataValue:
    cols, rows = _fetch(con, sql, params)
    return dg.MetadataValue.md(markdown_table(cols, rows, limit=KEY_ROWS))


def _latest(con: duckdb.DuckDBPyConnection, model: str, column: str = "month") -> Any:
    # model and column are names this module spells out, never input
    return con.execute(f'SELECT max("{column}") FROM "{model}"').fetchone()[0]


def _month_meta(month: Any) -> dict[str, Any]:
    return {"latest_month": dg.MetadataValue.text(f"{month:%Y-%m}" if month else "no data")}


# --- per-model hooks ----------------------------------------------------------------


def _threshold_flags(con):
    month = _latest(con, "threshold_flags")
    meta = _month_meta(month)
    meta["key_result"] = _table(con, """
        SELECT team, variable_spend, projected_variable, threshold, currency, status, crossed_on, projected_cross_date
        FROM threshold_flags WHERE month = ? ORDER BY status = 'ok', variable_spend DESC, team""", [month])
    (over, projected) = con.execute(
        "SELECT count(*) FILTER (WHERE status = 'over'), count(*) FILTER (WHERE status = 'projected_over') "
        "FROM threshold_flags WHERE month = ? AND NOT is_unallocated", [month]).fetchone()
    meta["teams_over"] = dg.MetadataValue.int(over)
    meta["teams_projected_over"] = dg.MetadataValue.int(projected)
    return meta


def _team_monthly_spend(con):
    month = _latest(con, "team_monthly_spend")
    meta = _month_meta(month)
    meta["key_result"] = _table(con, """
        SELECT team, serverless_gpu, dedicated_gpu, hosted_api, other, variable_spend, total_spend, projected_variable,
               days_with_data, currency
        FROM team_monthly_spend WHERE month = ? ORDER BY team = 'unallocated', total_spend DESC, team""", [month])
    cols, rows = _fetch(con, """
        SELECT s.month, s.team, s.variable_spend, f.threshold, s.currency
        FROM team_monthly_spend s LEFT JOIN threshold_flags f USING (month, team)
        ORDER BY s.month, s.team""") if relation_exists(con, "threshold_flags") else _fetch(con, """
        SELECT month, team, variable_spend, NULL AS threshold, currency FROM team_monthly_spend ORDER BY month, team""")
    recs = [dict(zip(cols, r)) for r in rows]
    currency = recs[0]["currency"] if recs else ""
    if recs and charts_enabled():
        meta["chart"] = dg.MetadataValue.md(charts.markdown_image(charts.monthly_spend_png(recs, currency),
                                                                  "variable spend per team and month against the threshold"))
    (total,) = con.execute("SELECT sum(total_spend) FROM team_monthly_spend WHERE month = ?", [month]).fetchone()
    meta["total_spend_latest_month"] = dg.MetadataValue.text(money(total, currency) if total is not None else "none")
    return meta


def _breakeven(con):
    month = _latest(con, "breakeven")
    meta = _month_meta(month)
    meta["key_result"] = _table(con, """
        SELECT team, gpu_class, round(gpu_seconds / 3600, 1) AS gpu_hours, utilisation, breakeven_utilisation,
               serverless_cost, dedicated_provider, dedicated_monthly, gpus_needed, verdict, monthly_saving, currency
        FROM breakeven WHERE month = ? ORDER BY monthly_saving DESC NULLS LAST, team, gpu_class""", [month])
    cols, rows = _fetch(con, """
        SELECT team, gpu_class, utilisation, serverless_price_per_second, seconds_in_month, dedicated_monthly,
               breakeven_utilisation, serverless_cost, currency
        FROM breakeven WHERE month = ? ORDER BY serverless_cost DESC, team, gpu_class""", [month])
    recs = [dict(zip(cols, r)) for r in rows]
    if charts_enabled():
        meta["chart"] = dg.MetadataValue.md(charts.markdown_image(
            charts.breakeven_png(recs), "monthly cost against utilisation: serverless, dedicated, break-even and actual"))
    (n,) = con.execute("SELECT count(*) FROM breakeven WHERE month = ? AND verdict = 'dedicated_cheaper'", [month]).fetchone()
    meta["dedicated_cheaper"] = dg.MetadataValue.int(n)
    return meta


def _hybrid_plan(con):
    month = _latest(con, "hybrid_plan")
    return {**_month_meta(month), "key_result": _table(con, """
        SELECT team, gpu_class, hours_observed, peak_demand_gpus, best_k, cost_at_best, cost_at_zero, saving, currency
        FROM hybrid_plan WHERE month = ? ORDER BY saving DESC, team, gpu_class""", [month])}


def _api_vs_selfhost(con):
    month = _latest(con, "api_vs_selfhost")
    return {**_month_meta(month), "key_result": _table(con, """
        SELECT team, provider, model, tokens, api_cost, api_cost_per_1m, selfhost_gpu_class, tokens_per_second,
               assumed_utilisation, selfhost_gpus, selfhost_monthly_cost, selfhost_cost_per_1m, verdict, currency
        FROM api_vs_selfhost WHERE month = ? ORDER BY api_cost DESC NULLS LAST, team, model""", [month])}


def _dedicated_utilisation(con):
    month = _latest(con, "dedicated_utilisation")
    return {**_month_meta(month), "key_result": _table(con, """
        SELECT team, server_id, provider, gpu_class, cost, hours_paid, hours_used, utilisation, cost_per_used_hour,
               serverless_cost_for_used_hours, serverless_would_be_cheaper, currency
        FROM dedicated_utilisation WHERE month = ? ORDER BY team, server_id""", [month])}


def _invoice_audit(con):
    meta = {"key_result": _table(con, """
        SELECT charge_date, team, provider, invoice_id, finding, billed, expected, currency, amount_at_stake_reporting,
               reporting_currency, description
        FROM invoice_audit WHERE above_tolerance
        ORDER BY amount_at_stake_reporting DESC NULLS LAST, charge_date, line_id""")}
    n, at_stake, cur = con.execute(
        "SELECT count(*), sum(amount_at_stake_reporting), any_value(reporting_currency) FROM invoice_audit WHERE above_tolerance"
    ).fetchone()
    meta["findings_above_tolerance"] = dg.MetadataValue.int(n)
    meta["amount_at_stake"] = dg.MetadataValue.text(money(at_stake, cur) if at_stake is not None else "none")
    return meta


def _fct_spend_daily(con):
    month = _latest(con, "fct_spend_daily", "charge_month")
    return {**_month_meta(month), "key_result": _table(con, """
        SELECT team, product_kind, CAST(sum(amount_reporting) AS DECIMAL(18, 2)) AS amount, any_value(reporting_currency) AS currency,
               count(DISTINCT charge_date) AS days, max(charge_date) AS last_day
        FROM fct_spend_daily WHERE charge_month = ? GROUP BY ALL ORDER BY team, amount DESC""", [month])}


def _breakeven_table(con):
    return {"key_result": _table(con, """
        SELECT gpu_class, serverless_provider, serverless_sku, serverless_tier, serverless_per_hour, dedicated_provider,
               dedicated_offer, dedicated_monthly, breakeven_utilisation, breakeven_hours_per_day, currency
        FROM breakeven_table ORDER BY breakeven_utilisation, gpu_class""")}


def _prices_normalised(con):
    return {"key_result": _table(con, """
        SELECT product_kind, gpu_model AS gpu_class, arg_min(provider, per_gpu_hour_reporting) AS cheapest_provider,
               arg_min(sku, per_gpu_hour_reporting) AS sku, arg_min(tier, per_gpu_hour_reporting) AS tier,
               CAST(min(per_gpu_hour_reporting) AS DECIMAL(18, 4)) AS per_gpu_hour, any_value(reporting_currency) AS currency
        FROM prices_normalised
        WHERE NOT is_catalog AND gpu_model IS NOT NULL AND per_gpu_hour_reporting > 0 AND coalesce(tier, '') NOT LIKE 'spot%'
        GROUP BY ALL ORDER BY product_kind, per_gpu_hour""")}


def _prices_current(con):
    return {"key_result": _table(con, """
        SELECT source_id, product_kind, count(*) AS prices, max(valid_from) AS newest_since, max(fetched_at) AS last_fetched
        FROM prices_current GROUP BY ALL ORDER BY source_id, product_kind""")}


def _price_discrepancies(con):
    return {"key_result": _table(con, """
        SELECT provider, model, component, provider_price_per_1m, catalog_source, catalog_price_per_1m, diff_pct, currency
        FROM price_discrepancies ORDER BY abs(diff_pct) DESC, provider, model, component""")}


def _stg_line_items(con):
    month = _latest(con, "stg_line_items", "charge_month")
    return {**_month_meta(month), "key_result": _table(con, """
        SELECT provider, product_kind, currency, count(*) AS lines, sum(billed_cost) AS billed,
               count(*) FILTER (WHERE team = 'unallocated') AS unallocated_lines
        FROM stg_line_items WHERE charge_month = ? GROUP BY ALL ORDER BY provider, product_kind, currency""", [month])}


def _stg_line_items_fx(con):
    month = _latest(con, "stg_line_items_fx", "charge_month")
    return {**_month_meta(month), "key_result": _table(con, """
        SELECT currency, reporting_currency, count(*) AS lines, sum(billed_cost) AS billed,
               CAST(sum(amount_reporting) AS DECIMAL(18, 2)) AS in_reporting, min(fx_rate) AS min_rate, max(fx_rate) AS max_rate,
               max(fx_rate_date) AS latest_rate_date, count(*) FILTER (WHERE fx_rate IS NULL) AS lines_without_rate
        FROM stg_line_items_fx WHERE charge_month = ? GROUP BY ALL ORDER BY currency""", [month])}


def _stg_fx_rates(con):
    return {"key_result": _table(con, """
        SELECT currency, reporting_currency, max(rate_date) AS latest_date, arg_max(rate_to_reporting, rate_date) AS latest_rate
        FROM stg_fx_rates WHERE currency IN ('USD', 'EUR', 'GBP', 'CHF', 'JPY', 'CAD', 'AUD')
        GROUP BY ALL ORDER BY currency""")}


def _stg_gpu_prices(con):
    return {"key_result": _table(con, """
        SELECT provider, product_kind, unit, count(*) FILTER (WHERE valid_to IS NULL) AS in_force,
               count(*) FILTER (WHERE valid_to IS NOT NULL) AS closed, count(DISTINCT gpu_class) AS gpu_classes
        FROM stg_gpu_prices GROUP BY ALL ORDER BY provider, product_kind, unit""")}


def _stg_token_prices(con):
    return {"key_result": _table(con, """
        SELECT provider, count(DISTINCT model) AS models, count(*) FILTER (WHERE valid_to IS NULL) AS in_force,
               count(*) FILTER (WHERE valid_to IS NOT NULL) AS closed
        FROM stg_token_prices GROUP BY ALL ORDER BY provider""")}


def _stg_dedicated_offers(con):
    month = _latest(con, "stg_dedicated_offers")
    return {**_month_meta(month), "key_result": _table(con, """
        SELECT gpu_class, arg_min(provider, monthly_reporting) AS provider, arg_min(sku, monthly_reporting) AS sku,
               arg_min(tier, monthly_reporting) AS tier, min(monthly_reporting) AS monthly, any_value(reporting_currency) AS currency
        FROM stg_dedicated_offers WHERE month = ? GROUP BY ALL ORDER BY monthly""", [month])}


def _stg_serverless_usage(con):
    month = _latest(con, "stg_serverless_usage", "charge_month")
    return {**_month_meta(month), "key_result": _table(con, """
        SELECT team, provider, gpu_class, CAST(sum(gpu_seconds) / 3600 AS DECIMAL(18, 2)) AS gpu_hours,
               CAST(sum(amount_reporting) AS DECIMAL(18, 2)) AS cost, any_value(reporting_currency) AS currency,
               bool_or(gpu_seconds_estimated) AS gpu_seconds_estimated
        FROM stg_serverless_usage WHERE charge_month = ? GROUP BY ALL ORDER BY team, gpu_class""", [month])}


HOOKS: dict[str, Callable[[duckdb.DuckDBPyConnection], dict[str, Any]]] = {
    "threshold_flags": _threshold_flags,
    "team_monthly_spend": _team_monthly_spend,
    "breakeven": _breakeven,
    "hybrid_plan": _hybrid_plan,
    "api_vs_selfhost": _api_vs_selfhost,
    "dedicated_utilisation": _dedicated_utilisation,
    "invoice_audit": _invoice_audit,
    "fct_spend_daily": _fct_spend_daily,
    "breakeven_table": _breakeven_table,
    "prices_normalised": _prices_normalised,
    "prices_current": _prices_current,
    "price_discrepancies": _price_discrepancies,
    "stg_line_items": _stg_line_items,
    "stg_line_items_fx": _stg_line_items_fx,
    "stg_fx_rates": _stg_fx_rates,
    "stg_gpu_prices": _stg_gpu_prices,
    "stg_token_prices": _stg_token_prices,
    "stg_dedicated_offers": _stg_dedicated_offers,
    "stg_serverless_usage": _stg_serverless_usage,
    "recommendations": lambda con: _latest_table(con, "recommendations", """
        SELECT team, gpu_class, action, dedicated_gpus, saving, currency, window_start, window_end, spare_server_id, breakeven_text
        FROM recommendations WHERE month = ? ORDER BY saving DESC, team, gpu_class"""),
    "fx_staleness": lambda con: _latest_table(con, "fx_staleness", """
        SELECT team, currency_pair, oldest_rate_date, max_age_business_days, last_stale_charge_date, amount_reporting, reporting_currency
        FROM fx_staleness WHERE month = ? ORDER BY amount_reporting DESC, team"""),
}


def _latest_table(con, model: str, sql: str) -> dict[str, Any]:
    """The latest month of a decision model as the key result (``sql`` takes the month)."""
    month = _latest(con, model)
    return _month_meta(month) | {"key_result": _table(con, sql, [month])}


def charts_enabled() -> bool:
    """Charts cost a second or two to draw; ``spendwatch run`` on an in-memory Dagster instance, whose
    metadata nobody will see, turns them off with SPENDWATCH_METADATA_CHARTS=0."""
    return os.environ.get("SPENDWATCH_METADATA_CHARTS", "1") != "0"


def extra_metadata(model_name: str, con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Metadata entries with the key result of ``model_name`` (empty for a model without a hook).

    The entry ``key_result`` is a markdown table; ``chart`` (team_monthly_spend, breakeven) a PNG
    embedded as a base64 markdown image.  A failing query becomes ``key_result_error``.
    """
    hook = HOOKS.get(model_name)
    if hook is None:
        return {}
    try:
        return hook(con)
    except duckdb.Error as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        return {"key_result_error": dg.MetadataValue.text(f"{model_name}: {first}")}


def fx_rates_metadata(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The key result of the fx_rates asset: the latest ECB rate of the main currencies (1 EUR = rate units)."""
    return {"key_result": _table(con, """
        SELECT currency, max(rate_date) AS latest_date, arg_max(rate, rate_date) AS rate_per_eur, arg_max(source, rate_date) AS source
        FROM fx_rates WHERE currency IN ('USD', 'GBP', 'CHF', 'JPY', 'CAD', 'AUD', 'SEK')
        GROUP BY currency ORDER BY currency""")}
