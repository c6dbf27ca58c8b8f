"""``spendwatch alerts``: see the alerts, quiet one (ack, snooze) and send what is waiting.

Wired into :mod:`spendwatch.cli` with ``add_parser(sub)`` in ``build_parser`` and
``COMMANDS["alerts"] = run``.  It imports the CLI lazily, so either module may be imported first.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys

from spendwatch.core.errors import UsageError

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
    from spendwatch import cli
    from warehouse.alerts import KINDS

    p = subparsers.add_parser("alerts", help="Slack alerts: list, show, acknowledge, snooze, send what is pending")
    asub = p.add_subparsers(dest="alerts_command", metavar="ACTION", parser_class=type(p), required=True)

    ls = asub.add_parser("list", help="alerts with their state and delivery (default: the active ones)")
    cli._common(ls)
    ls.add_argument("--state", choices=STATE_CHOICES, default="active",
                    help="a state (open, acked, snoozed, resolved, escalated), a delivery status (pending, sent, failed, "
                         "cancelled, suppressed), active (open/acked/snoozed, the default) or all")
    ls.add_argument("--kind", choices=KINDS)
    ls.add_argument("--team")
    ls.add_argument("--format", choices=["table", "json"], default="table")

    sh = asub.add_parser("show", help="one alert: its figures, the message it sends, its delivery attempts")
    cli._common(sh)
    sh.add_argument("id", type=_alert_id, metavar="ID")
    sh.add_argument("--format", choices=["table", "json"], default="table")

    ak = asub.add_parser("ack", help="acknowledge an alert: it is not delivered again until it resolves and comes back")
    cli._common(ak)
    ak.add_argument("id", type=_alert_id, metavar="ID")
    ak.add_argument("--by", help="who acknowledged it (default: the current user)")

    sn = asub.add_parser("snooze", help="quiet an alert until a date; from that day it is delivered again if still open")
    cli._common(sn)
    sn.add_argument("id", type=_alert_id, metavar="ID")
    sn.add_argument("--until", type=cli._date, required=True, metavar="DATE", help="YYYY-MM-DD (Europe/London), after today")

    co = asub.add_parser("conditions", help="the alert conditions true now (the alert_* marts), whether or not raised yet")
    cli._common(co)
    co.add_argument("--format", choices=["table", "json"], default="table")

    se = asub.add_parser("send", help="deliver every pending alert now (retries what Slack refused for a while)")
    cli._common(se)
    se.add_argument("--retry-failed", action="store_true",
                    help="also queue again the alerts that failed for good (after fixing the webhook or channel)")
    return p


def _connect(read_only: bool):
    from warehouse.db import connect

    return connect(os.environ.get("SPENDWATCH_WAREHOUSE"), read_only=read_only)


def _console():
    from rich.console import Console

    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def run(args: argparse.Namespace) -> int:
    """Run one ``spendwatch alerts`` action; 0 on success, 1 when ``send`` left alerts undelivered."""
    action = {"list": _list, "show": _show, "ack": _ack, "snooze": _snooze, "send": _send,
              "conditions": _conditions}.get(args.alerts_command)
    if action is None:
        raise UsageError(f"spendwatch alerts: unknown action {args.alerts_command!r} (see spendwatch alerts --help)")
    return action(args)


def _list(args) -> int:
    from spendwatch.delivery import message_of, summary
    from spendwatch.render import render_rows
    from warehouse import alerts as wa

    con = _connect(read_only=True)
    try:
        rows = wa.list_alerts(con, state=args.state, kind=args.kind, team=args.team)
    finally:
        con.close()
    if args.format == "json":
        out = [{**a.as_json(), "summary": summary(message_of(a))} for a in rows]
        sys.stdout.write(json.dumps(out, indent=2, default=str) + "\n")
        return 0
    cols = ["id", "kind", "team", "period", "state", "delivery", "raised", "attempts", "summary / last error"]
    table = [
        (a.alert_id, a.kind, a.team, a.period, a.state + (f" until {a.snoozed_until}" if a.state == "snoozed" else ""),
         a.delivery + (f" ({a.channel})" if a.delivery == "sent" and a.channel else ""),
         f"{a.raised_at:%Y-%m-%d %H:%M}", a.attempts,
         (a.last_error if a.delivery in ("pending", "failed") and a.last_error else summary(message_of(a)))[:120])
        for a in rows
    ]
    if not table:
        print(f"no alerts ({args.state})")
        return 0
    sys.stdout.write(render_rows(cols, table, "table", title=f"alerts ({args.state})").rstrip("\n") + "\n")
    return 0


def _show(args) -> int:
    from rich.panel import Panel
    from rich.table import Table

    from spendwatch.delivery import build_message, console_markup, message_of
    from spendwatch.render import terminal_escape
    from warehouse import alerts as wa
    from warehouse.ingest import rejected_rows

    con = _connect(read_only=True)
    try:
        a = wa.get_alert(con, args.id)
        tries = wa.attempts(con, a.alert_id)
        channels = wa.deliveries(con, a.alert_id)
        rejects = rejected_rows(con, a.subject) if a.kind == "ingest_rejects" else []
    finally:
        con.close()
    if args.format == "json":
        out = {**a.as_json(), "slack_payload": build_message(message_of(a)),
               "attempts": [dict(zip(("occurrence", "attempted_at", "channel", "destination", "outcome", "status_code",
                                      "retry_after", "error", "message"), t)) for t in tries],
               "channels": [dict(zip(("occurrence", "message", "channel", "destination", "state", "attempts", "sent_at",
                                      "last_error"), c)) for c in channels],
               "rejected_rows": [dict(zip(("row_number", "column", "reason", "raw"), r)) for r in rejects]}
        sys.stdout.write(json.dumps(out, indent=2, default=str) + "\n")
        return 0
    out = _console()
    out.print(Panel(console_markup(message_of(a)), title=f"alert #{a.alert_id}", expand=False))
    state = f"{a.state}, delivery {a.delivery}"
    if a.sent_at:
        state += f" (sent {a.sent_at:%Y-%m-%d %H:%M} UTC via {a.channel} {a.destination or ''})"
    out.print(f"key: {terminal_escape(a.kind)} / {terminal_escape(a.team)} / {terminal_escape(a.period)} / {terminal_escape(a.subject)}"
              f" · occurrence {a.occurrence} · {terminal_escape(state)}", markup=True)
    if a.last_error:
        out.print(f"last error: {terminal_escape(a.last_error)}")
    if tries:
        t = Table(title="delivery attempts")
        for c in ("occurrence", "at (UTC)", "channel", "outcome", "status", "retry after", "error"):
            t.add_column(c)
        for occ, at, ch, _dest, outcome, code, ra, err, msg in tries:
            t.add_row(str(occ), f"{at:%Y-%m-%d %H:%M:%S}", terminal_escape(f"{ch} ({msg})"), terminal_escape(outcome),
                      "" if code is None else str(code), "" if ra is None else f"{ra:g} s", terminal_escape(err or ""))
        out.print(t)
    if channels:
        t = Table(title="channels")
        for c in ("occurrence", "message", "channel", "destination", "state", "attempts", "sent (UTC)"):
            t.add_column(c)
        for occ, msg, ch, dest, state, n, sent_at, _err in channels:
            t.add_row(str(occ), terminal_escape(msg), terminal_escape(ch), terminal_escape(dest), terminal_escape(state), str(n),
                      f"{sent_at:%Y-%m-%d %H:%M:%S}" if sent_at else "")
        out.print(t)
    if rejects:
        t = Table(title="rejected rows")
        for c in ("row", "column", "reason", "raw"):
            t.add_column(c)
        for r in rejects:
            t.add_row(*(terminal_escape("" if v is None else v) for v in r))
        out.print(t)
    return 0


def _ack(args) -> int:
    from warehouse import alerts as wa

    by = args.by or _user()
    con = _connect(read_only=False)
    try:
        a = wa.ack(con, args.id, by=by)
    finally:
        con.close()
    print(f"alert {a.alert_id} acknowledged by {by}: not delivered again until it resolves and comes back")
    return 0


def _snooze(args) -> int:
    from warehouse import alerts as wa

    con = _connect(read_only=False)
    try:
        a = wa.snooze(con, args.id, args.until)
    finally:
        con.close()
    print(f"alert {a.alert_id} snoozed until {a.snoozed_until}: delivered again from that day if still open")
    return 0


def _conditions(args) -> int:
    from spendwatch.render import render_rows
    from warehouse import alerts as wa

    con = _connect(read_only=True)
    try:
        rows = wa.current_conditions(con)
    finally:
        con.close()
    if args.format == "json":
        out = [{"kind": k, "team": t, "period": p, "subject": s, "details": json.loads(d)} for k, t, p, s, d in rows]
        sys.stdout.write(json.dumps(out, indent=2, default=str) + "\n")
        return 0
    if not rows:
        print("no alert conditions are true")
        return 0
    table = [(k, t, p, s) for k, t, p, s, _d in rows]
    sys.stdout.write(render_rows(["kind", "team", "period", "subject"], table, "table", title="alert conditions").rstrip("\n") + "\n")
    return 0


def _send(args) -> int:
    from spendwatch.core.config import load_config
    from spendwatch.delivery import SLACK_API_BASE, Routing, SlackSender, send_pending
    from spendwatch.delivery.routing import API_URL_ENV
    from spendwatch.render import one_line
    from warehouse import alerts as wa

    cfg = load_config(os.environ.get("SPENDWATCH_CONFIG"))
    con = _connect(read_only=False)
    try:
        requeued = wa.retry_failed(con) if args.retry_failed else []
        api = os.environ.get(API_URL_ENV) or SLACK_API_BASE
        with SlackSender(Routing.from_config(cfg), api_url=api) as sender:
            res = send_pending(con, sender)
    finally:
        con.close()
    extra = f", {len(requeued)} failed queued again" if requeued else ""
    resolved = f" ({res.resolved_sent} of them resolution messages)" if res.resolved_sent else ""
    print(f"alerts: {res.sent} sent{resolved}, {res.retry + res.unknown + res.deferred} still pending (will retry), "
          f"{res.failed} failed for good{extra}; outbox now {res.pending} pending, {res.failed_total} failed")
    for line in res.errors[:20]:
        print(f"  {one_line(line)}", file=sys.stderr)  # Slack's answers are untrusted: no control characters
    return 0 if not (res.retry or res.unknown or res.deferred or res.failed) else 1


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"
