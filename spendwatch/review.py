"""The spend review: each team's month in the reporting currency, for terminals, files and machines."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import duckdb

from spendwatch.errors import UsageError
from spendwatch.render import markdown_table, money, plain, terminal_escape
from warehouse import queries

COLUMNS = ("team", "total", "serverless_gpu", "dedicated_gpu", "hosted_api", "other", "variable", "threshold", "status", "crossed_on", "projected_cross_date")


def _rows(con: duckdb.DuckDBPyConnection, month: date | None, team: str | None):
    latest = queries.latest_month(con)
    if latest is None:
        raise UsageError("the warehouse has no spend models yet: run `spendwatch run` first")
    month = month or latest
    teams = queries.team_months(con, month, team)
    if team and not teams:
        raise UsageError(f"--team {team}: no such team in the config")
    return month, teams


def render_review(con: duckdb.DuckDBPyConnection, month: date | None = None, team: str | None = None, fmt: str = "table") -> str:
    month, teams = _rows(con, month, team)
    if fmt == "json":
        return json.dumps(
            {
                "month": f"{month:%Y-%m}",
                "teams": [
                    {
                        "team": t.team, "currency": t.currency,
                        "total": str(t.total_spend), "serverless_gpu": str(t.serverless_gpu), "dedicated_gpu": str(t.dedicated_gpu),
                        "hosted_api": str(t.hosted_api), "other": str(t.other), "variable_spend": str(t.variable_spend),
                        "projected_variable": None if t.projected_variable is None else str(t.projected_variable),
                        "threshold": str(t.threshold), "status": t.status,
                        "crossed_on": t.crossed_on.isoformat() if t.crossed_on else None,
                        "projected_cross_date": t.projected_cross_date.isoformat() if t.projected_cross_date else None,
                    }
                    for t in teams
                ],
            },
            indent=2,
        )
    values = [
        (t.team, t.total_spend, t.serverless_gpu, t.dedicated_gpu, t.hosted_api, t.other, t.variable_spend, t.threshold, t.status, t.crossed_on, t.projected_cross_date)
        for t in teams
    ]
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["month", "currency", *COLUMNS])
        for t, v in zip(teams, values):
            w.writerow([f"{month:%Y-%m}", t.currency, *(plain(x) for x in v)])
        return buf.getvalue()
    cur = teams[0].currency if teams else ""
    if fmt == "markdown":
        shown = [(v[0], money(v[1], cur), money(v[6], cur), money(v[7], cur), v[8]) for v in values]
        return f"## Spend review {month:%Y-%m}\n\n" + markdown_table(["team", "spend", "variable", "threshold", "status"], shown, limit=None) + "\n"
    if fmt == "table":
        from rich.console import Console
        from rich.table import Table

        t = Table(title=f"Spend review {month:%B %Y} ({cur})")
        for c, j in (("team", "left"), ("spend", "right"), ("variable", "right"), ("projected", "right"), ("threshold", "right"), ("status", "left"), ("crossed / projected", "left")):
            t.add_column(c, justify=j)
        style = {"over": "bold red", "projected_over": "yellow", "ok": "green"}
        for tm in teams:
            when = tm.crossed_on or tm.projected_cross_date
            t.add_row(
                terminal_escape(tm.team), money(tm.total_spend, cur), money(tm.variable_spend, cur), money(tm.projected_variable, cur),
                money(tm.threshold, cur), f"[{style.get(tm.status, '')}]{tm.status}[/]", when.isoformat() if when else "",
            )
        buf = io.StringIO()
        console = Console(file=buf, width=110, force_terminal=False, color_system=None)
        console.print(t)
        return buf.getvalue()
    raise UsageError(f"--format {fmt}: unknown format")
