"""``spendwatch alerts``: see the alerts, quiet one (ack, snooze) and send what is waiting.

Exit 2 for an unknown --team (the valid ones are listed); an empty list says so and exits 0.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys

from spendwatch.cli import common
from spendwatch.core.errors import UsageError
from spendwatch.render import Col, render_table, terminal_escape

NAME = "alerts"

STATE_CHOICES = ("active", "all", "open", "acked", "snoozed", "resolved", "escalated",
                 "pending", "sent", "failed", "cancelled", "suppressed")


def _alert_id(value: str) -> int:
    try:
        n = int(value.lstrip("#"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an alert id (a number, see `spendwatch alerts list`)") from None
    if n <= 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not an alert id (a positive number)")
    return n


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``alerts`` (list, show, ack, snooze, send) to the spendwatch subcommands."""
    from warehouse.alerts import KINDS

    p = subparsers.add_parser(NAME, help="Slack alerts: list, show, acknowledge, snooze, send what is pending")
    asub = p.add_subparsers(dest="alerts_command", metavar="ACTION", parser_class=common.Parser, required=True)

    ls = common.add_command(asub, "list", help="alerts with their state and delivery (default: the active ones)")
    ls.add_argument("--state", choices=STATE_CHOICES, default="active",
                    help="a state (open, acked, snoozed, resolved, escalated), a delivery status (pending, sent, failed, "
                         "cancelled, suppressed), active (open/acked/snoozed, the default) or all")
    ls.add_argument("--kind", choices=KINDS)
    ls.add_argument("--team")
    ls.add_argument("--format", choices=["table", "json"], default="table")

    sh = common.add_command(asub, "show", help="one alert: its figures, the message it sends, its delivery attempts")
    sh.add_argument("id", type=_alert_id, metavar="ID")
    sh.add_argument("--format", choices=["table", "json"], default="table")
    sh.add_argument("--as-raised", action="store_true",
                    help="recompute its figures from the warehouse snapshot it was raised on (needs a DuckLake warehouse)")

    ak = common.add_command(asub, "ack", help="acknowledge an alert: it is not delivered again until it resolves and comes back")
    ak.add_argument("id", type=_alert_id, metavar="ID")
    ak.add_argument("--by", help="who acknowledged it (default: the current user)")

    sn = common.add_command(asub, "snooze", help="quiet an alert until a date; from that day it is delivered again if still open")
    sn.add_argument("id", type=_alert_id, metavar="ID")
    sn.add_argument("--until", type=common.date_arg, required=True, metavar="DATE", help="YYYY-MM-DD (Europe/London), after today")

    co = common.add_command(asub, "conditions", help="the alert conditions true now (the alert_* marts), whether or not raised yet")
    co.add_argument("--format", choices=["table", "json"], default="table")

    se = common.add_command(asub, "send", help="deliver every pending alert now (retries what Slack refused for a while)")
    se.add_argument("--retry-failed", action="store_true",
                    help="also queue again the alerts that failed for good (after fixing the webhook or channel)")
    return p


def run(args: argparse.Namespace) -> int:
    """Run one ``spendwatch alerts`` action; 0 on success, 1 when ``send`` left alerts undelivered."""
    action = {"list": _list, "show": _show, "ack": _ack, "snooze": _snooze, "send": _send,
              "conditions": _conditions}.get(args.alerts_command)
    if action is None:
        raise UsageError(f"spendwatch alerts: unknown action {args.alerts_command!r} (see spendwatch alerts --help)")
    return action(args)


def _list(args) -> int:
    from spendwatch.delivery import message_of, summary
    from warehouse import alerts as wa
    from warehouse.queries import team_names

    with common.connection(read_only=True) as con:
        if args.team is not None:
            common.check_choice("--team", args.team, team_names(con), "team")
        rows = wa.list_alerts(con, state=args.state, kind=args.kind, team=args.team)
    if args.format == "json":
        out = [{**a.as_json(), "summary": summary(message_of(a))} for a in rows]
        common.out(json.dumps(out, indent=2, default=str))
        return 0
    cols = (Col("id", "number", 0), Col("kind", priority=0), Col("team", priority=0), Col("period", priority=2),
            Col("state", priority=1), Col("delivery", priority=3), Col("raised", priority=4), Col("attempts", "number", 5),
            Col("summary / last error", priority=1))
    table = [
        (a.alert_id, a.kind, a.team, a.period, a.state + (f" until {a.snoozed_until}" if a.state == "snoozed" else ""),
         a.delivery + (f" ({a.channel})" if a.delivery == "sent" and a.channel else ""),
         f"{a.raised_at:%Y-%m-%d %H:%M}", a.attempts,
         a.last_error if a.delivery in ("pending", "failed") and a.last_error else summary(message_of(a)))
        for a in rows
    ]
    return common.print_rows(cols, table, title=f"alerts ({args.state})", empty=f"no alerts ({args.state})")


def _show(args) -> int:
    from rich.panel import Panel

    from spendwatch.delivery import build_message, console_markup, message_of
    from warehouse import alerts as wa
    from warehouse.alerts.asof import as_raised
    from warehouse.ingest import rejected_rows

    with common.connection(read_only=True) as con:
        a = wa.get_alert(con, args.id)
        tries = wa.attempts(con, a.alert_id)
        channels = wa.deliveries(con, a.alert_id)
        rejects = rejected_rows(con, a.subject) if a.kind == "ingest_rejects" else []
        raised = as_raised(con, a.alert_id) if getattr(args, "as_raised", False) else None
    if args.format == "json":
        out = {**a.as_json(), "slack_payload": build_message(message_of(a)),
               **({"as_raised": {"snapshot": raised.snapshot, "snapshot_time": raised.snapshot_time,
                                 "details": raised.details}} if raised else {}),
               "attempts": [dict(zip(("occurrence", "attempted_at", "channel", "destination", "outcome", "status_code",
                                      "retry_after", "error", "message"), t)) for t in tries],
               "channels": [dict(zip(("occurrence", "message", "channel", "destination", "state", "attempts", "sent_at",
                                      "last_error"), c)) for c in channels],
               "rejected_rows": [dict(zip(("row_number", "column", "reason", "raw"), r)) for r in rejects]}
        common.out(json.dumps(out, indent=2, default=str))
        return 0
    out = common.console()
    out.print(Panel(console_markup(message_of(a)), title=f"alert #{a.alert_id}", expand=False))
    state = f"{a.state}, delivery {a.delivery}"
    if a.sent_at:
        state += f" (sent {a.sent_at:%Y-%m-%d %H:%M} UTC via {a.channel} {a.destination or ''})"
    out.print(f"key: {terminal_escape(a.kind)} / {terminal_escape(a.team)} / {terminal_escape(a.period)} / {terminal_escape(a.subject)}"
              f" · occurrence {a.occurrence} · {terminal_escape(state)}", markup=True)
    if a.last_error:
        out.print(f"last error: {terminal_escape(a.last_error)}")
    if raised:
        at = f" ({raised.snapshot_time:%Y-%m-%d %H:%M:%S} UTC)" if raised.snapshot_time else ""
        then, now = raised.details or {}, a.details or {}
        cols = (Col("figure", priority=0), Col("as raised", priority=0), Col("now", priority=1))
        rows = [(k, str(then.get(k, "")), str(now.get(k, ""))) for k in sorted(set(then) | set(now))]
        common.out(render_table(cols, rows, f"figures as raised: lake snapshot {raised.snapshot}{at}, against now"))
    if tries:
        cols = (Col("occurrence", "number", 3), Col("at (UTC)", priority=0), Col("channel", priority=1),
                Col("outcome", priority=0), Col("status", "number", 2), Col("retry after", priority=4), Col("error", priority=1))
        rows = [(occ, f"{at:%Y-%m-%d %H:%M:%S}", f"{ch} ({msg})", outcome, code, "" if ra is None else f"{ra:g} s", err or "")
                for occ, at, ch, _dest, outcome, code, ra, err, msg in tries]
        common.out(render_table(cols, rows, "delivery attempts"))
    if channels:
        cols = (Col("occurrence", "number", 3), Col("message", priority=0), Col("channel", priority=0),
                Col("destination", priority=1), Col("state", priority=0), Col("attempts", "number", 2),
                Col("sent (UTC)", priority=1))
        rows = [(occ, msg, ch, dest, state, n, f"{sent_at:%Y-%m-%d %H:%M:%S}" if sent_at else "")
                for occ, msg, ch, dest, state, n, sent_at, _err in channels]
        common.out(render_table(cols, rows, "channels"))
    if rejects:
        cols = (Col("row", "number", 0), Col("column", priority=0), Col("reason", priority=0), Col("raw", priority=1))
        common.out(render_table(cols, [tuple("" if v is None else v for v in r) for r in rejects], "rejected rows"))
    return 0


def _ack(args) -> int:
    from warehouse import alerts as wa

    by = args.by or _user()
    with common.connection(existing=True) as con:
        a = wa.ack(con, args.id, by=by)
    common.out(f"alert {a.alert_id} acknowledged by {terminal_escape(by)}: not delivered again until it resolves and comes back")
    return 0


def _snooze(args) -> int:
    from warehouse import alerts as wa

    with common.connection(existing=True) as con:
        a = wa.snooze(con, args.id, args.until)
    common.out(f"alert {a.alert_id} snoozed until {a.snoozed_until}: delivered again from that day if still open")
    return 0


def _conditions(args) -> int:
    from warehouse import alerts as wa

    with common.connection(read_only=True) as con:
        rows = wa.current_conditions(con)
    if args.format == "json":
        out = [{"kind": k, "team": t, "period": p, "subject": s, "details": json.loads(d)} for k, t, p, s, d in rows]
        common.out(json.dumps(out, indent=2, default=str))
        return 0
    cols = (Col("kind", priority=0), Col("team", priority=0), Col("period", priority=1), Col("subject", priority=0))
    return common.print_rows(cols, [(k, t, p, s) for k, t, p, s, _d in rows], title="alert conditions",
                             empty="no alert conditions are true")


def _send(args) -> int:
    from spendwatch.delivery import SLACK_API_BASE, Routing, SlackSender, send_pending
    from spendwatch.delivery.routing import API_URL_ENV
    from spendwatch.render import one_line
    from warehouse import alerts as wa

    cfg = common.load_config()
    with common.connection() as con:
        requeued = wa.retry_failed(con) if args.retry_failed else []
        api = os.environ.get(API_URL_ENV) or SLACK_API_BASE
        with SlackSender(Routing.from_config(cfg), api_url=api) as sender:
            res = send_pending(con, sender)
    extra = f", {len(requeued)} failed queued again" if requeued else ""
    resolved = f" ({res.resolved_sent} of them resolution messages)" if res.resolved_sent else ""
    common.out(f"alerts: {res.sent} sent{resolved}, {res.retry + res.unknown + res.deferred} still pending (will retry), "
               f"{res.failed} failed for good{extra}; outbox now {res.pending} pending, {res.failed_total} failed")
    for line in res.errors[:20]:
        print(f"  {one_line(line)}", file=sys.stderr)  # Slack's answers are untrusted: no control characters
    return 0 if not (res.retry or res.unknown or res.deferred or res.failed) else 1


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"
