"""``spendwatch anomalies [--month YYYY-MM] [--team T] [--format table|json]``: the spend anomalies found.

One row per team, day and scope flagged (the ``spend_anomalies`` mart, read through
:func:`warehouse.anomalies.anomalies`): expected against actual in the reporting currency, how much
of the excess is a price effect and how much volume, the incident it belongs to and its top lines.
The method is in docs/anomalies.md.  None found says so (exit 0); an unknown team exits 2.
"""

from __future__ import annotations

import argparse
import json

from spendwatch.cli import common
from spendwatch.render import Col, money

NAME = "anomalies"
COLUMNS = (Col("day", priority=0), Col("team", priority=0), Col("provider", priority=2), Col("scope", priority=1),
           Col("reason", priority=5), Col("expected", "money", 0), Col("actual", "money", 0), Col("excess", "money", 1),
           Col("price effect", "money", 3), Col("volume effect", "money", 3), Col("incident", priority=4),
           Col("top lines", priority=6))


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = common.add_command(subparsers, NAME, help="days of unusual spend per team, provider and model, explained as price or volume")
    p.add_argument("--month", type=common.month_arg, metavar="YYYY-MM", help="only days of this month")
    p.add_argument("--team", help="only this team")
    p.add_argument("--format", choices=["table", "json"], default="table")
    return p


def run(args: argparse.Namespace) -> int:
    from warehouse.anomalies import anomalies
    from warehouse.queries import team_names

    month = f"{args.month:%Y-%m}" if args.month else None
    with common.built(["spend_anomalies"]) as con:
        common.check_choice("--team", args.team, team_names(con), "team")
        rows = anomalies(con, month=month, team=args.team)
    if args.format == "json":
        common.out(json.dumps([r.as_json() for r in rows], indent=2))
        return 0
    where = " ".join(x for x in (f"in {month}" if month else "", f"for team {args.team}" if args.team else "") if x)
    table = []
    for r in rows:
        tops = "; ".join(f"{t.get('line')} {money(t.get('amount'), r.currency)}" for t in r.top_lines[:3])
        table.append([
            f"{r.charge_date:%Y-%m-%d}", r.team, r.provider, r.scope, r.reason, money(r.expected, r.currency),
            money(r.actual, r.currency), money(r.excess, r.currency), money(r.price_effect, r.currency),
            money(r.volume_effect, r.currency),
            f"{r.incident_id} day {r.incident_day}" + (" (ongoing)" if r.ongoing else ""), tops,
        ])
    title = f"spend anomalies{' ' + where if where else ''}"
    return common.print_rows(COLUMNS, table, title=title, empty=f"no {title}")
