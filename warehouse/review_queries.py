"""What the spend review reads from the warehouse: plain rows (dicts of Decimal, date, str), never formatted.

Every function takes an open connection (read-only is enough) and returns a list of
dicts keyed by column name, so the review, the HTML report and the Dagster metadata
share one set of queries.  Values reach SQL only as parameters.  A model that has not
been built yet yields no rows (see :func:`missing_models`), never an error, so a
partly built warehouse still gets a review.

Money columns keep the model's DECIMAL type and sit beside a currency column:
``currency`` is the reporting currency unless the column says otherwise (audit rows
carry the native ``currency`` and ``reporting_currency``; price rows their own).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Sequence

import duckdb

from warehouse.db import relation_exists

# The models the review reads; a missing one is reported, its section left empty.
REVIEW_MODELS = (
    "team_monthly_spend", "threshold_flags", "fct_spend_daily", "breakeven", "hybrid_plan",
    "api_vs_selfhost", "dedicated_utilisation", "invoice_audit", "breakeven_table",
    "stg_line_items_fx", "alert_price_change",
)


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    cur = con.execute(sql, list(params))
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def has_column(con: duckdb.DuckDBPyConnection, relation: str, column: str) -> bool:
    """Whether a table or view of the main schema has the column (a model built by an older version may lack it)."""
    (n,) = con.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'main' AND table_name = ? AND column_name = ?",
        [relation, column],
    ).fetchone()
    return n > 0


def missing_models(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The review's models that are not in the warehouse (their sections will be empty)."""
    return [m for m in REVIEW_MODELS if not relation_exists(con, m)]


def months_with_data(con: duckdb.DuckDBPyConnection) -> list[date]:
    """Calendar months (first day) that have spend, oldest first."""
    if not relation_exists(con, "team_monthly_spend"):
        return []
    return [r[0] for r in con.execute("SELECT DISTINCT month FROM team_monthly_spend ORDER BY month").fetchall()]


def reporting_currency(con: duckdb.DuckDBPyConnection) -> str:
    """The organisation's reporting currency (config.settings), GBP if the config was never synced."""
    if not relation_exists(con, "settings", "config"):
        return "GBP"
    row = con.execute("SELECT reporting_currency FROM config.settings LIMIT 1").fetchone()
    return row[0] if row else "GBP"


def known_teams(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The configured teams plus 'unallocated' when any line was left unattributed."""
    teams = [r[0] for r in con.execute("SELECT team FROM config.teams ORDER BY team").fetchall()]
    if relation_exists(con, "team_monthly_spend") and con.execute(
        "SELECT count(*) FROM team_monthly_spend WHERE team = 'unallocated'"
    ).fetchone()[0]:
        teams.append("unallocated")
    return teams


# --- spend and thresholds --------------------------------------------------------------


def team_spend(con: duckdb.DuckDBPyConnection, month: date, team: str | None = None) -> list[dict[str, Any]]:
    """Each team's month: spend by kind, variable spend against the threshold, status, projection and crossing dates.

    Every configured team appears (zero when it spent nothing), then 'unallocated' if it has spend.
    Ordered by total spend, largest first, with 'unallocated' last.
    """
    return _rows(
        con,
        """
        WITH teams AS (
            SELECT team, lead, monthly_threshold FROM config.teams
            UNION ALL
            SELECT DISTINCT team, NULL, NULL FROM team_monthly_spend WHERE month = ? AND team = 'unallocated'
        )
        SELECT CAST(? AS DATE) AS month, t.team, t.lead, (t.team = 'unallocated') AS is_unallocated,
               st.reporting_currency AS currency,
               coalesce(s.serverless_gpu, 0) AS serverless_gpu, coalesce(s.dedicated_gpu, 0) AS dedicated_gpu,
               coalesce(s.hosted_api, 0) AS hosted_api, coalesce(s.other, 0) AS other,
               coalesce(s.variable_spend, 0) AS variable_spend, coalesce(s.total_spend, 0) AS total_spend,
               f.projected_variable,
               coalesce(f.threshold, t.monthly_threshold, st.default_threshold) AS threshold,
               coalesce(f.threshold_currency, st.reporting_currency) AS threshold_currency,
               coalesce(f.status, 'ok') AS status, f.crossed_on, f.projected_cross_date, f.band_cross_date,
               CAST(coalesce(s.variable_spend, 0) * 100 / nullif(coalesce(f.threshold, t.monthly_threshold, st.default_threshold), 0)
                    AS DECIMAL(12, 1)) AS pct_of_threshold,
               coalesce(s.days_with_data, 0) AS days_with_data, CAST(day(last_day(CAST(? AS DATE))) AS INTEGER) AS days_in_month,
               s.last_data_date
        FROM teams t
        CROSS JOIN config.settings st
        LEFT JOIN team_monthly_spend s ON s.team = t.team AND s.month = ?
        LEFT JOIN threshold_flags f ON f.team = t.team AND f.month = ?
        WHERE ? IS NULL OR t.team = ?
        ORDER BY t.team = 'unallocated', coalesce(s.total_spend, 0) DESC, t.team
        """,
        [month, month, month, month, month, team, team],
    )


def monthly_history(con: duckdb.DuckDBPyConnection, team: str | None = None, until: date | None = None) -> list[dict[str, Any]]:
    """Every month's spend per team up to ``until``, with the threshold it is measured against (for the trend chart)."""
    return _rows(
        con,
        """
        SELECT s.month, s.team, s.currency, s.serverless_gpu, s.dedicated_gpu, s.hosted_api, s.other,
               s.variable_spend, s.total_spend, f.threshold, f.threshold_currency, f.status
        FROM team_monthly_spend s
        LEFT JOIN threshold_flags f USING (month, team)
        WHERE (? IS NULL OR s.team = ?) AND (? IS NULL OR s.month <= ?)
        ORDER BY s.team, s.month
        """,
        [team, team, until, until],
    )


def daily_variable(con: duckdb.DuckDBPyConnection, month: date, team: str | None = None) -> list[dict[str, Any]]:
    """Variable spend (serverless GPU + hosted API) per day of the month and team, and the month-to-date total."""
    return _rows(
        con,
        """
        SELECT charge_date, team, any_value(reporting_currency) AS currency,
               CAST(sum(amount_reporting) AS DECIMAL(18, 2)) AS variable_spend,
               CAST(sum(sum(amount_reporting)) OVER (PARTITION BY team ORDER BY charge_date) AS DECIMAL(18, 2)) AS month_to_date
        FROM fct_spend_daily
        WHERE charge_month = ? AND product_kind IN ('serverless_gpu', 'hosted_api') AND (? IS NULL OR team = ?)
        GROUP BY charge_date, team
        ORDER BY team, charge_date
        """,
        [month, team, team],
    )


# --- decisions -------------------------------------------------------------------------


# The decision models the review reads whole for a month (their columns vary with the model's version).
DECISION_MODELS = ("recommendations", "threshold_flags", "fx_staleness")


def decision_rows(con: duckdb.DuckDBPyConnection, model: str, month: date, team: str | None = None) -> list[dict[str, Any]]:
    """The month's rows of a decision model (one of DECISION_MODELS), every column, ordered by team."""
    if model not in DECISION_MODELS:
        raise ValueError(f"{model}: not a decision model the review reads (one of {', '.join(DECISION_MODELS)})")
    return _rows(con, f'SELECT * FROM "{model}" WHERE month = ? AND (? IS NULL OR team = ?) ORDER BY team', [month, team, team])


def breakeven(con: duckdb.DuckDBPyConnection, month: date, team: str | None = None) -> list[dict[str, Any]]:
    """Serverless against the cheapest dedicated GPU per team and GPU class: utilisation, u*, verdict, saving."""
    return _rows(
        con,
        """
        SELECT month, team, gpu_class, gpu_seconds, CAST(gpu_seconds / 3600 AS DECIMAL(18, 2)) AS gpu_hours,
               gpu_seconds_estimated, seconds_in_month, utilisation, currency, serverless_cost, serverless_price_per_second,
               dedicated_provider, dedicated_sku, dedicated_tier, dedicated_price, dedicated_price_currency, dedicated_price_unit,
               dedicated_monthly, fx_rate, fx_rate_date, breakeven_utilisation, breakeven_gpu_hours, gpus_needed,
               dedicated_cost, verdict, monthly_saving
        FROM breakeven
        WHERE month = ? AND (? IS NULL OR team = ?)
        ORDER BY team, serverless_cost DESC, gpu_class
        """,
        [month, team, team],
    )


def hybrid_plan(con: duckdb.DuckDBPyConnection, month: date, team: str | None = None) -> list[dict[str, Any]]:
    """The best number of dedicated GPUs for the steady core, serverless for the peaks, and what it saves."""
    return _rows(
        con,
        """
        SELECT month, team, gpu_class, currency, hours_observed, peak_demand_gpus, best_k, cost_at_best, cost_at_zero,
               saving, dedicated_monthly, serverless_price_per_second
        FROM hybrid_plan
        WHERE month = ? AND (? IS NULL OR team = ?)
        ORDER BY team, gpu_class
        """,
        [month, team, team],
    )


def api_vs_selfhost(con: duckdb.DuckDBPyConnection, month: date, team: str | None = None) -> list[dict[str, Any]]:
    """Hosted-API cost per 1M tokens against self-hosting on dedicated GPUs, with the throughput assumption shown."""
    return _rows(
        con,
        """
        SELECT month, team, provider, model, currency, tokens, api_cost, api_cost_per_1m, model_class,
               selfhost_gpu_class, tokens_per_second, assumed_utilisation, dedicated_provider, dedicated_monthly,
               selfhost_cost_per_1m, selfhost_gpus, selfhost_monthly_cost, verdict
        FROM api_vs_selfhost
        WHERE month = ? AND (? IS NULL OR team = ?)
        ORDER BY team, api_cost DESC NULLS LAST, model
        """,
        [month, team, team],
    )


def dedicated_utilisation(con: duckdb.DuckDBPyConnection, month: date, team: str | None = None) -> list[dict[str, Any]]:
    """Rented dedicated servers: hours paid and used, cost per used hour, and the serverless cost of the same hours."""
    return _rows(
        con,
        """
        SELECT month, team, provider, server_id, gpu_class, gpu_count, currency, cost, hours_paid, hours_used,
               utilisation, cost_per_used_hour, serverless_per_gpu_hour, serverless_cost_for_used_hours,
               serverless_would_be_cheaper
        FROM dedicated_utilisation
        WHERE month = ? AND (? IS NULL OR team = ?)
        ORDER BY team, server_id
        """,
        [month, team, team],
    )


def breakeven_table(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Today's break-even per GPU class: cheapest serverless and dedicated offers and u*, lowest u* first."""
    return _rows(
        con,
        """
        SELECT month, gpu_class, currency, serverless_provider, serverless_sku, serverless_tier, serverless_per_hour,
               dedicated_provider, dedicated_offer, dedicated_monthly, breakeven_utilisation,
               breakeven_gpu_hours_per_month, breakeven_hours_per_day
        FROM breakeven_table
        ORDER BY breakeven_utilisation, gpu_class
        """,
    )


# --- audit and unallocated ---------------------------------------------------------------


def audit_findings(con: duckdb.DuckDBPyConnection, month: date, team: str | None = None) -> list[dict[str, Any]]:
    """Invoice-audit findings charged in the month, largest amount at stake first."""
    return _rows(
        con,
        """
        SELECT team, provider, invoice_id, charge_date, finding, rule, billed, expected, currency, amount_at_stake,
               amount_at_stake_reporting, reporting_currency, tolerance_reporting, above_tolerance, price_source_id,
               unit_price, description, line_id
        FROM invoice_audit
        WHERE charge_month = ? AND (? IS NULL OR team = ?)
        ORDER BY team, amount_at_stake_reporting DESC NULLS LAST, charge_date, line_id
        """,
        [month, team, team],
    )


def unallocated_spend(con: duckdb.DuckDBPyConnection, month: date) -> list[dict[str, Any]]:
    """Spend no attribution rule matched, per provider, kind and the key a rule could match (project, workspace, ...)."""
    return _rows(
        con,
        """
        SELECT provider, product_kind,
               CASE WHEN project_id IS NOT NULL THEN 'project'
                    WHEN workspace_id IS NOT NULL THEN 'workspace'
                    WHEN endpoint_id IS NOT NULL THEN 'endpoint'
                    WHEN resource_id IS NOT NULL THEN 'resource'
                    WHEN charge_category = 'Tax' THEN 'tax'
                    WHEN provider = 'anthropic' THEN 'workspace'
                    ELSE 'none' END AS key_kind,
               coalesce(project_id, workspace_id, endpoint_id, resource_id,
                        CASE WHEN charge_category = 'Tax' THEN 'tax line'
                             WHEN provider = 'anthropic' THEN '(default workspace)' ELSE '(no key)' END) AS attribution_key,
               any_value(reporting_currency) AS currency,
               CAST(sum(amount_reporting) AS DECIMAL(18, 2)) AS amount,
               count(*) AS lines,
               min(charge_date) AS first_charge, max(charge_date) AS last_charge
        FROM stg_line_items_fx
        WHERE team = 'unallocated' AND charge_month = ?
        GROUP BY ALL
        HAVING sum(amount_reporting) <> 0
        ORDER BY amount DESC, provider, attribution_key
        """,
        [month],
    )


def unallocated_total(con: duckdb.DuckDBPyConnection, month: date) -> Any:
    """All unallocated spend of the month in the reporting currency, rounded once (not the sum of rounded rows)."""
    (total,) = con.execute(
        "SELECT CAST(coalesce(sum(amount_reporting), 0) AS DECIMAL(18, 2)) FROM stg_line_items_fx "
        "WHERE team = 'unallocated' AND charge_month = ?",
        [month],
    ).fetchone()
    return total


def attribution_coverage(con: duckdb.DuckDBPyConnection, until: date | None = None) -> list[dict[str, Any]]:
    """Per month up to ``until``: the spend an attribution rule attributed, the rest (no rule), and the share attributed.

    Sums in the reporting currency before rounding; ``coverage`` is attributed / total (NULL when the month nets to 0).
    """
    return _rows(
        con,
        """
        SELECT strftime(charge_month, '%Y-%m') AS month, any_value(reporting_currency) AS currency,
               CAST(sum(amount_reporting) AS DECIMAL(18, 2)) AS total_spend,
               CAST(coalesce(sum(amount_reporting) FILTER (WHERE attribution_rule IS NOT NULL), 0) AS DECIMAL(18, 2)) AS attributed_spend,
               CAST(coalesce(sum(amount_reporting) FILTER (WHERE attribution_rule IS NULL), 0) AS DECIMAL(18, 2)) AS unattributed_spend,
               CAST(coalesce(sum(amount_reporting) FILTER (WHERE attribution_rule IS NOT NULL), 0)
                    / nullif(sum(amount_reporting), 0) AS DECIMAL(9, 6)) AS coverage,
               count(*) AS lines, count(attribution_rule) AS attributed_lines
        FROM stg_line_items_fx
        WHERE ? IS NULL OR charge_month <= ?
        GROUP BY charge_month
        ORDER BY charge_month
        """,
        [until, until],
    )


# --- prices that moved -------------------------------------------------------------------


def price_changes(con: duckdb.DuckDBPyConnection, month: date, team: str | None = None) -> list[dict[str, Any]]:
    """The price changes the alerts raise (model ``alert_price_change``: the one definition of a price change the
    organisation pays), per team that uses the price, changed since the month began.

    Each row is one change of a non-catalog price for the same provider, GPU class and kind of product (or the
    model, or its dateless alias) a team is billed for; ``regions`` counts the regions that moved with it.
    ``change_pct`` is new against old when both are in the same currency.
    """
    return _rows(
        con,
        """
        WITH details AS (
            SELECT unnest(from_json(details, '{"provider": "VARCHAR", "source_id": "VARCHAR", "product_kind": "VARCHAR",
                "sku": "VARCHAR", "component": "VARCHAR", "tier": "VARCHAR", "region": "VARCHAR", "regions": "BIGINT",
                "gpu_model": "VARCHAR", "unit": "VARCHAR", "currency": "VARCHAR", "new_currency": "VARCHAR",
                "old_amount": "VARCHAR", "new_amount": "VARCHAR", "changed_at": "VARCHAR", "teams": ["VARCHAR"]}'))
            FROM alert_price_change
        ),
        changes AS (SELECT * EXCLUDE (teams), unnest(teams) AS team FROM details)
        SELECT team, CASE WHEN gpu_model IS NOT NULL THEN 'gpu' ELSE 'model' END AS used_as,
               coalesce(gpu_model, sku) AS used_item, 'changed' AS change,
               CAST(changed_at AS TIMESTAMP) AS changed_at, source_id, provider, product_kind, sku, component, tier,
               region, regions, unit, currency, new_currency,
               CAST(old_amount AS DECIMAL(38, 12)) AS old_amount, CAST(new_amount AS DECIMAL(38, 12)) AS new_amount,
               CAST(CASE WHEN new_currency = currency AND CAST(old_amount AS DECIMAL(38, 12)) <> 0
                         THEN 100 * (CAST(new_amount AS DECIMAL(38, 12)) - CAST(old_amount AS DECIMAL(38, 12)))
                              / CAST(old_amount AS DECIMAL(38, 12)) END AS DECIMAL(12, 2)) AS change_pct
        FROM changes
        WHERE CAST(changed_at AS TIMESTAMP) >= ? AND (? IS NULL OR team = ?)
        ORDER BY team, changed_at, provider, sku, component, tier NULLS FIRST
        """,
        [month, team, team],
    )


# --- freshness ---------------------------------------------------------------------------


def price_source_freshness(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Per price source, from the ``source_freshness`` model (the one definition of stale): the last live
    fetch (or never), the last attempt, the capture the prices in force come from, their age in days,
    and the prices held as suspect changes.  Stale sources first (ages are the model's)."""
    from warehouse.price_checks import freshness

    rows = freshness(con)
    for r in rows:
        if r["last_status"] is None:
            r["last_status"] = "discontinued" if r["discontinued"] else "never fetched"
        r["last_live_fetch"] = r["last_live_fetch_at"] if r["last_live_fetch_at"] is not None else "never"
    return sorted(rows, key=lambda r: (not r["stale"], r["source_id"]))


def held_prices(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Prices held as suspect changes (> 3x), waiting for the next capture or ``spendwatch prices accept``."""
    from warehouse.price_holds import held_prices as held

    return held(con)


def export_freshness(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Per provider: the export files ingested, the latest ingest time and the latest charge period in the data."""
    return _rows(
        con,
        """
        WITH per_file AS (
            SELECT x_source_hash AS file_hash, x_provider AS provider,
                   max(ChargePeriodStart) AS last_charge_start, max(ChargePeriodEnd) AS last_charge_end, count(*) AS lines
            FROM billing_line_items GROUP BY ALL
        )
        SELECT p.provider,
               string_agg(DISTINCT i.format, ', ' ORDER BY i.format) AS formats,
               count(DISTINCT i.file_hash) AS files,
               sum(p.lines) AS lines,
               max(i.ingested_at) AS last_ingested_at,
               arg_max(i.file_path, i.ingested_at) AS last_file,
               max(p.last_charge_start) AS last_charge_start,
               max(p.last_charge_end) AS last_charge_end
        FROM per_file p JOIN ingested_files i USING (file_hash)
        GROUP BY p.provider
        ORDER BY p.provider
        """,
    )


def ingest_rejects_summary(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Export files with rejected rows: how many rows were rejected and the first reason, newest first."""
    return _rows(
        con,
        """
        SELECT i.file_path, i.format, i.rows_read, i.rows_rejected, i.ingested_at,
               (SELECT arg_min(r.reason, coalesce(r.row_number, 0)) FROM ingest_rejects r WHERE r.file_hash = i.file_hash) AS first_reason
        FROM ingested_files i
        WHERE i.rows_rejected > 0
        ORDER BY i.ingested_at DESC
        """,
    )
