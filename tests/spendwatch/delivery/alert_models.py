"""The model tables the alert marts read besides the ones a test fills: created empty, with the models' own columns.

Tests write threshold_flags, team_monthly_spend or recommendations rows by hand; alert_threshold also reads
stg_line_items_fx (drivers and stale FX) and recommendations (what to do); the band's crossing date is a
column of threshold_flags.  A mart whose inputs are missing is skipped, so each test that raises
threshold alerts calls :func:`alert_inputs` first; :func:`threshold_tables` creates the two tables it fills.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

REC_COLUMNS = (
    "month DATE, team VARCHAR, gpu_class VARCHAR, window_kind VARCHAR, window_start DATE, window_end DATE, currency VARCHAR, "
    "action VARCHAR, dedicated_gpus INTEGER, saving DECIMAL(18,2), spare_server_id VARCHAR, spare_server_utilisation DECIMAL(12,6), "
    "spare_gpu_hours DECIMAL(12,2), gpu_hours DECIMAL(18,2), peak_demand_gpus DECIMAL(12,3), serverless_cost DECIMAL(18,2), "
    "dedicated_provider VARCHAR, dedicated_sku VARCHAR, dedicated_tier VARCHAR, dedicated_monthly DECIMAL(18,2), dedicated_units INTEGER, "
    "breakeven_utilisation DECIMAL(12,6), breakeven_text VARCHAR, breakeven_verdict VARCHAR, breakeven_saving DECIMAL(18,2), "
    "committed_offer VARCHAR, committed_term_months DECIMAL(12,2), committed_upfront_amount DECIMAL(24,12), committed_currency VARCHAR, "
    "committed_monthly DECIMAL(18,2), "
    "fx_stale_rates STRUCT(currency_pair VARCHAR, rate_date DATE, age_business_days INTEGER, last_charge_date DATE)[]"
)  # model recommendations, as built

# threshold_flags and team_monthly_spend with the columns the alert marts read
THRESHOLD_FLAGS_COLUMNS = (
    "month DATE, team VARCHAR, currency VARCHAR, variable_spend DECIMAL(18,2), projected_variable DECIMAL(18,2), "
    "projection_days_used INTEGER, threshold DECIMAL(18,2), threshold_currency VARCHAR, status VARCHAR, crossed_on DATE, "
    "projected_cross_date DATE, is_unallocated BOOLEAN, projected_low DECIMAL(18,2), projected_high DECIMAL(18,2), "
    "band_method VARCHAR, band_cross_date DATE"
)
TEAM_SPEND_COLUMNS = (
    "month DATE, team VARCHAR, serverless_gpu DECIMAL(18,2), hosted_api DECIMAL(18,2), total_spend DECIMAL(18,2), "
    "days_with_data INTEGER, days_in_month INTEGER, last_data_date DATE"
)

_TABLES = (
    """CREATE TABLE IF NOT EXISTS stg_line_items_fx (charge_date DATE, team VARCHAR, provider VARCHAR, product_kind VARCHAR,
       model VARCHAR, gpu_class VARCHAR, amount_reporting DECIMAL(18, 6))""",
    f"CREATE TABLE IF NOT EXISTS recommendations ({REC_COLUMNS})",
)
# stg_line_items_fx's FX columns, added to a test's own narrower table (amounts already in GBP: nothing stale).
_FX_COLUMNS = ("currency VARCHAR DEFAULT 'GBP'", "reporting_currency VARCHAR DEFAULT 'GBP'", "fx_rate_date DATE",
               "fx_rate_age_business_days INTEGER DEFAULT 0", "fx_stale BOOLEAN DEFAULT false")


def alert_inputs(con) -> None:
    """Create whatever alert_threshold and alert_dedicated read that the test did not (empty)."""
    for ddl in _TABLES:
        con.execute(ddl)
    for col in _FX_COLUMNS:
        con.execute(f"ALTER TABLE stg_line_items_fx ADD COLUMN IF NOT EXISTS {col}")


def threshold_tables(con) -> None:
    """threshold_flags and team_monthly_spend, empty (replacing any), for the test to fill."""
    con.execute(f"CREATE OR REPLACE TABLE threshold_flags ({THRESHOLD_FLAGS_COLUMNS})")
    con.execute(f"CREATE OR REPLACE TABLE team_monthly_spend ({TEAM_SPEND_COLUMNS})")


def november_flags(con, *rows: tuple[str, str, str, str, date | None]) -> None:
    """:func:`threshold_tables`, then a November 2026 row a team: (team, variable, projected, status, crossed_on),
    27 days used against a £1,500 threshold; team_monthly_spend holds the same variable spend, data to 27 Nov."""
    threshold_tables(con)
    for team, variable, projected, status, crossed_on in rows:
        con.execute(
            "INSERT INTO threshold_flags (month, team, currency, variable_spend, projected_variable, projection_days_used,"
            " threshold, threshold_currency, status, crossed_on, is_unallocated)"
            " VALUES (DATE '2026-11-01', ?, 'GBP', ?, ?, 27, 1500.00, 'GBP', ?, ?, ?)",
            [team, Decimal(variable), Decimal(projected), status, crossed_on, team == "unallocated"],
        )
    con.execute("INSERT INTO team_monthly_spend SELECT month, team, variable_spend, 0, variable_spend, 27, 30, DATE '2026-11-27'"
                " FROM threshold_flags")
