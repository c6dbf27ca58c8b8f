"""Read-only queries the CLI, the review and the assets share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import duckdb


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


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return (
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ? AND table_schema = 'main'", [name]
        ).fetchone()[0]
        > 0
    )


def latest_month(con: duckdb.DuckDBPyConnection) -> date | None:
    if not table_exists(con, "team_monthly_spend"):
        return None
    return con.execute("SELECT max(month) FROM team_monthly_spend").fetchone()[0]


def team_months(con: duckdb.DuckDBPyConnection, month: date, team: str | None = None) -> list[TeamMonth]:
    """Each team's figures for a month, every configured team included (zero when it spent nothing)."""
    rows = con.execute(
        """
        WITH teams AS (
            SELECT team, monthly_threshold FROM config.teams
            UNION ALL
            SELECT DISTINCT team, NULL FROM team_monthly_spend WHERE month = ? AND team = 'unallocated'
        )
        SELECT ?::DATE AS month, t.team, coalesce(s.currency, st.reporting_currency),
               coalesce(s.variable_spend, 0), coalesce(s.total_spend, 0), f.projected_variable,
               coalesce(f.threshold, t.monthly_threshold, st.default_threshold), coalesce(f.status, 'ok'),
               f.crossed_on, f.projected_cross_date,
               coalesce(s.serverless_gpu, 0), coalesce(s.dedicated_gpu, 0), coalesce(s.hosted_api, 0), coalesce(s.other, 0),
               coalesce(s.days_with_data, 0)
        FROM teams t
        CROSS JOIN config.settings st
        LEFT JOIN team_monthly_spend s ON s.team = t.team AND s.month = ?
        LEFT JOIN threshold_flags f ON f.team = t.team AND f.month = ?
        WHERE ? IS NULL OR t.team = ?
        ORDER BY t.team = 'unallocated', coalesce(s.total_spend, 0) DESC, t.team
        """,
        [month, month, month, month, team, team],
    ).fetchall()
    return [TeamMonth(*r) for r in rows]
