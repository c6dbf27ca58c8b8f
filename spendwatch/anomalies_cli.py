"""``spendwatch anomalies [--month YYYY-MM] [--team T] [--format table|json]``: the spend anomalies found.

One row per team, day and scope flagged (the ``spend_anomalies`` mart, read through
:func:`warehouse.anomalies.anomalies`): expected against actual in the reporting currency, how much
of the excess is a price effect and how much volume, the incident it belongs to and its top lines.
The method is in docs/anomalies.md.  Wired into :mod:`spendwatch.cli` with ``add_parser(sub)`` and
``COMMANDS["anomalies"] = run``.
"""

from __future__ import annotations

import argparse
import json


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``anomalies`` to the spendwatch subcommands."""
    from spendwatch import cli

    p = subparsers.add_parser("anomalies", help="days of unusual spend per team, provider and model, explained as price or volume")
    cli._common(p)
    p.add_argument("--month", type=cli._month, metavar="YYYY-MM", help="only days of this month")
    p.add_argument("--team", help="only this team")
    p.add_argument("--format", choices=["table", "json"], default="table")
    return p


COLUMNS = ("day", "team", "provider", "scope", "reason", "expected", "actual", "excess", "price effect",
           "volume effect", "incident", "top lines")


def run(args: argparse.Namespace) -> int:
    from spendwatch import cli
    from spendwatch.render import money, render_rows
    from warehouse.anomalies import anomalies

    month = f"{args.month:%Y-%m}" if args.month else None
    con = cli._connect(read_only=True)
    try:
        rows = anomalies(con, month=month, team=args.team)
    finally:
        con.close()
    if args.format == "json":
        print(json.dumps([r.as_json() for r in rows], indent=2))
        return 0
    where = " ".join(x for x in (f"in {month}" if month else "", f"for team {args.team}" if args.team else "") if x)
    if not rows:
        print(f"no spend anomalies{' ' + where if where else ''}")
        return 0
    table = []
    for r in rows:
        tops = "; ".join(f"{t.get('line')} {money(t.get('amount'), r.currency)}" for t in r.top_lines[:3])
        table.append([
            f"{r.charge_date:%Y-%m-%d}", r.team, r.provider, r.scope, r.reason, money(r.expected, r.currency),
            money(r.actual, r.currency), money(r.excess, r.currency), money(r.price_effect, r.currency),
            money(r.volume_effect, r.currency),
            f"{r.incident_id} day {r.incident_day}" + (" (ongoing)" if r.ongoing else ""), tops,
        ])
    print(render_rows(COLUMNS, table, "table", title=f"spend anomalies{' ' + where if where else ''}"), end="")
    return 0
