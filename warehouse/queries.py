"""Read-only queries the CLI, the review and the assets share."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal

import duckdb

from warehouse.db import relation_exists
from warehouse.review_queries import team_spend


@dataclass(frozen=True)
class TeamMonth:
    month: date
    team: str
    currency: str
    variable_spend: Decimal
    total_spend: Decimal
    projected_variable: Decimal | None
    threshold: Decimal
    status: str
    crossed_on: date | None
    projected_cross_date: date | None
    serverless_gpu: Decimal
    dedicated_gpu: Decimal
    hosted_api: Decimal
    other: Decimal
    days_with_data: int


def latest_month(con: duckdb.DuckDBPyConnection) -> date | None:
    if not relation_exists(con, "team_monthly_spend"):
        return None
    return con.execute("SELECT max(month) FROM team_monthly_spend").fetchone()[0]


def team_months(con: duckdb.DuckDBPyConnection, month: date, team: str | None = None) -> list[TeamMonth]:
    """Each team's figures for a month, every configured team included (zero when it spent nothing): the review's
    rows (review_queries.team_spend), so the summary and the review read one definition of spend and threshold."""
    names = [f.name for f in fields(TeamMonth)]
    return [TeamMonth(**{n: r[n] for n in names}) for r in team_spend(con, month, team)]


# --- prices -------------------------------------------------------------------

def prices_show(
    con: duckdb.DuckDBPyConnection,
    kind: str | None = None,
    provider: str | None = None,
    gpu: str | None = None,
    model: str | None = None,
    include_catalogs: bool = False,
) -> tuple[list[str], list[tuple]]:
    """Prices in force, cheapest first per GPU class (or per model), each with its age."""
    cur = con.execute(
        """
        WITH last_ok AS (
            SELECT source_id, max(observed_at) AS checked_at FROM price_fetches WHERE status = 'ok' GROUP BY source_id
        )
        SELECT p.product_kind AS kind, coalesce(p.gpu_model, p.sku) AS class, p.provider, p.source_id, p.sku, p.component,
               p.tier, p.region, p.amount, p.currency, p.unit,
               p.per_hour_reporting, p.per_gpu_hour_reporting, p.per_1m_tokens_reporting, p.reporting_currency,
               p.valid_from AS price_since, l.checked_at,
               date_diff('hour', l.checked_at, now()::TIMESTAMP) AS age_hours
        FROM prices_normalised p LEFT JOIN last_ok l USING (source_id)
        WHERE (? OR NOT p.is_catalog)
          AND (? IS NULL OR p.product_kind = ?)
          AND (? IS NULL OR p.provider = ?)
          AND (? IS NULL OR p.gpu_model ILIKE '%' || ? || '%' OR p.sku ILIKE '%' || ? || '%')
          AND (? IS NULL OR (p.product_kind = 'hosted_api' AND p.sku ILIKE '%' || ? || '%'))
        ORDER BY kind, class, p.component,
                 coalesce(p.per_gpu_hour_reporting, p.per_hour_reporting, p.per_1m_tokens_reporting), p.provider
        """,
        [include_catalogs, kind, kind, provider, provider, gpu, gpu, gpu, model, model],
    )
    return [d[0] for d in cur.description], cur.fetchall()


def price_history_rows(con: duckdb.DuckDBPyConnection, provider: str, sku: str | None = None) -> tuple[list[str], list[tuple]]:
    cur = con.execute(
        """SELECT source_id, sku, component, tier, region, amount, currency, unit, valid_from, valid_to, closed_reason
           FROM price_history
           WHERE provider = ? AND (? IS NULL OR sku ILIKE '%' || ? || '%')
           ORDER BY source_id, sku, component, tier NULLS FIRST, region NULLS FIRST, valid_from""",
        [provider, sku, sku],
    )
    return [d[0] for d in cur.description], cur.fetchall()


def price_changes(con: duckdb.DuckDBPyConnection, since) -> tuple[list[str], list[tuple]]:
    """Prices added, removed and changed since a time, with the old and the new value."""
    cur = con.execute(
        """
        WITH h AS (SELECT * FROM price_history),
        changed AS (
            SELECT 'changed' AS change, n.valid_from AS changed_at, n.source_id, n.provider, n.sku, n.component, n.tier, n.region,
                   o.amount AS old_amount, n.amount AS new_amount, n.currency, n.unit
            FROM h o JOIN h n ON n.price_key = o.price_key AND n.valid_from = o.valid_to
            WHERE o.closed_reason = 'changed' AND o.valid_to >= ?
        ),
        added AS (
            SELECT 'added', n.valid_from, n.source_id, n.provider, n.sku, n.component, n.tier, n.region,
                   NULL, n.amount, n.currency, n.unit
            FROM h n
            WHERE n.valid_from >= ?
              AND NOT EXISTS (SELECT 1 FROM h o WHERE o.price_key = n.price_key AND o.valid_to = n.valid_from AND o.closed_reason = 'changed')
        ),
        removed AS (
            SELECT 'removed', o.valid_to, o.source_id, o.provider, o.sku, o.component, o.tier, o.region,
                   o.amount, NULL, o.currency, o.unit
            FROM h o WHERE o.closed_reason = 'disappeared' AND o.valid_to >= ?
        )
        SELECT * FROM changed UNION ALL SELECT * FROM added UNION ALL SELECT * FROM removed
        ORDER BY changed_at, provider, sku, component
        """,
        [since, since, since],
    )
    return [d[0] for d in cur.description], cur.fetchall()


def price_discrepancies(con: duckdb.DuckDBPyConnection) -> tuple[list[str], list[tuple]]:
    """Where a provider and a catalog disagree by more than 1 %, the largest gap first (model price_discrepancies)."""
    cur = con.execute("SELECT * FROM price_discrepancies ORDER BY abs(diff_pct) DESC, provider, model, component")
    return [d[0] for d in cur.description], cur.fetchall()


def price_providers(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every provider with a price recorded (the valid values of ``--provider``)."""
    return [r[0] for r in con.execute("SELECT DISTINCT provider FROM price_history ORDER BY provider").fetchall()]


def team_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The configured teams, and any other team spend was attributed to (``unallocated``): the valid ``--team`` values."""
    spend = " UNION SELECT team FROM team_monthly_spend" if relation_exists(con, "team_monthly_spend") else ""
    return [r[0] for r in con.execute(f"SELECT team FROM config.teams{spend} ORDER BY 1").fetchall()]


def has_fx_rates(con: duckdb.DuckDBPyConnection) -> bool:
    return con.execute("SELECT count(*) > 0 FROM fx_rates").fetchone()[0]


# --- decisions ----------------------------------------------------------------

def breakeven_rows(con: duckdb.DuckDBPyConnection) -> tuple[list[str], list[tuple]]:
    """Every GPU class with both a serverless and a dedicated price (model breakeven_table), lowest u* first."""
    cur = con.execute("SELECT * FROM breakeven_table ORDER BY breakeven_utilisation, gpu_class")
    return [d[0] for d in cur.description], cur.fetchall()


def team_recommendations(con: duckdb.DuckDBPyConnection, team: str, month: date | None = None
                         ) -> tuple[date | None, list[str], list[tuple]]:
    """A team's recommendation per GPU class for the month (default its latest), largest saving first."""
    if month is None:
        month = con.execute("SELECT max(month) FROM recommendations WHERE team = ?", [team]).fetchone()[0]
    cur = con.execute(
        """SELECT month, team, gpu_class, action, dedicated_gpus, saving, currency, window_kind, window_start, window_end,
                  spare_server_id, spare_server_utilisation, gpu_hours, peak_demand_gpus, breakeven_text, breakeven_verdict,
                  breakeven_saving, dedicated_provider, dedicated_sku, committed_offer, committed_term_months,
                  committed_upfront_amount, committed_currency, committed_monthly, spare_server_gpus,
                  spare_overflow_gpu_hours, spare_fit, spare_moved_gpu_hours, dedicated_is_org_server, fx_stale, fx_stale_note,
                  committed_saving
           FROM recommendations WHERE team = ? AND month = ? ORDER BY saving DESC, gpu_class""", [team, month])
    return month, [d[0] for d in cur.description], cur.fetchall()


def whatif_prices(con: duckdb.DuckDBPyConnection, gpu: str) -> list[tuple]:
    """The prices in force a what-if can use: the GPU class's serverless and dedicated prices (spot excluded) and
    every hosted model's standard input and output token price, each in the reporting currency."""
    return con.execute(
        """SELECT provider, sku, tier, product_kind, component, unit, amount, fx_rate, gpu_count, per_gpu_hour_reporting,
                  per_1m_tokens_reporting, term_months, min_units, fx_rate_date
           FROM prices_normalised
           WHERE NOT is_catalog AND coalesce(tier, '') NOT LIKE 'spot%'
             AND ((gpu_model = ? AND product_kind IN ('serverless_gpu', 'dedicated_gpu') AND per_gpu_hour_reporting > 0)
                  OR (product_kind = 'hosted_api' AND coalesce(tier, 'standard') = 'standard'
                      AND component IN ('input_token', 'output_token')))""", [gpu]).fetchall()


def gpu_classes(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The GPU classes with a price in force (the valid values of ``--gpu``)."""
    return [r[0] for r in con.execute(
        "SELECT DISTINCT gpu_model FROM prices_normalised WHERE gpu_model IS NOT NULL ORDER BY 1").fetchall()]


def hosted_models(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The hosted models with a price in force (the valid values of ``--model``)."""
    return [r[0] for r in con.execute(
        "SELECT DISTINCT sku FROM prices_normalised WHERE product_kind = 'hosted_api' ORDER BY 1").fetchall()]
