"""One send pass over the outbox: every message owed to a channel, sent concurrently, each attempt recorded
before it is sent and its outcome after.

HTTP runs on ``sender.concurrency`` threads; every database write happens on the caller's thread and
connection.  At most ``concurrency`` messages are in flight, each marked ``sending`` (committed) just
before it is handed to a thread; answers are recorded in small batches (``flush_every`` or 0.1 s).  A
crash (kill -9) between a send and its record leaves the row ``sending``: at the next pass a bot
message is looked up in the channel's history by its metadata key before anything is sent again, and
a webhook message, which cannot be looked up, is sent again: that is the one window in which a
webhook alert can arrive twice.  Never raises for Slack trouble: what did not go stays pending (or failed).
"""

from __future__ import annotations

import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterable

import duckdb

from spendwatch.core.redact import redact, redact_exception
from spendwatch.delivery.messages import AlertMessage, review_url
from spendwatch.delivery.routing import Routing
from spendwatch.delivery.sender import Outcome, Request, SlackSender
from warehouse import alerts as wa

FLUSH_EVERY = 1           # outcomes recorded per transaction at most (1: each answer as it comes, the smallest
FLUSH_SECONDS = 0.1       # window for a webhook duplicate after a crash) ... and at least this often


@dataclass
class SendResult:
    """One send pass: what was sent, what stays pending (and why), what failed for good."""

    attempted: int = 0
    sent: int = 0
    retry: int = 0
    unknown: int = 0
    failed: int = 0
    deferred: int = 0
    resolved_sent: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # redacted, one per message that did not go
    pending: int = 0       # alerts pending in the table after the pass (including those waiting for next_attempt_at)
    failed_total: int = 0  # alerts failed in the table after the pass


def message_of(alert: wa.Alert, routing: Routing | None = None) -> AlertMessage:
    """What the message builders need of a stored alert (and the link to the team's part of the review)."""
    return AlertMessage(alert.alert_id, alert.occurrence, alert.kind, alert.team, alert.period, alert.subject,
                        alert.details, alert.reminder, alert.snoozed_until,
                        review_url(routing.review_base_url, alert.team) if routing else None)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _result(o: Outcome) -> wa.Result:
    return wa.Result(o.status, o.status_code, o.body, o.error, o.retry_in,
                     tuple((a.at, a.outcome, a.status_code, a.retry_after, a.error) for a in o.attempts),
                     o.slack_channel, o.slack_ts)


def send_pending(con: duckdb.DuckDBPyConnection, sender: SlackSender, now: datetime | None = None,
                 ids: Iterable[int] | None = None, flush_every: int = FLUSH_EVERY) -> SendResult:
    """Deliver every message the outbox owes now (``ids``: only those alerts) and record what came of each."""
    clock = (lambda: now.astimezone(timezone.utc).replace(tzinfo=None) if now.tzinfo else now) if now else _utcnow
    routing = sender.routing
    res = SendResult()
    wa.wake_snoozed(con, clock())
    work = wa.due(con, lambda team: (routing.destination(team).channel, routing.destination(team).label),
                  lambda channel, label: routing.by_label(channel, label) is not None, clock(), ids)
    res.attempted = len(work)
    sender.begin_pass()
    secrets = routing.secrets()
    buffered: list[tuple[wa.Work, wa.Result]] = []
    since = time.monotonic()

    def flush() -> None:
        wa.record_outcomes(con, buffered, clock())
        buffered.clear()

    def request(w: wa.Work) -> Request:
        dest = routing.by_label(w.channel, w.destination)
        return Request(message_of(w.alert, routing), w.message, dest, w.key, w.thread_ts, w.unknown_since, w.channel_id)

    queue = list(reversed(work))
    try:
        with ThreadPoolExecutor(max_workers=sender.concurrency, thread_name_prefix="slack") as pool:
            running: dict[Future, wa.Work] = {}
            while queue or running:
                if queue and len(running) < sender.concurrency:
                    nxt = [queue.pop() for _ in range(min(len(queue), sender.concurrency - len(running)))]
                    wa.mark_sending(con, nxt, clock())  # recorded before it is sent
                    for w in nxt:
                        running[pool.submit(sender.deliver, request(w))] = w
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for fut in done:
                    w = running.pop(fut)
                    try:
                        outcome = fut.result()
                    except Exception as e:  # building this one message failed: keep it pending, carry on
                        outcome = Outcome("retry", w.channel, w.destination,
                                          error=f"could not build the message: {redact_exception(e, secrets)}")
                    if not buffered:
                        since = time.monotonic()
                    buffered.append((w, _result(outcome)))
                    if len(buffered) >= max(1, flush_every) or time.monotonic() - since >= FLUSH_SECONDS:
                        flush()
                    _count(res, w, outcome, secrets)
    finally:
        flush()
    c = wa.counts(con)
    res.pending, res.failed_total = c.get("pending", 0), c.get("failed", 0)
    return res


def _count(res: SendResult, w: wa.Work, o: Outcome, secrets: list[str]) -> None:
    setattr(res, o.status, getattr(res, o.status) + 1)
    if o.status == "sent":
        res.by_channel[o.channel] = res.by_channel.get(o.channel, 0) + 1
        if w.message == "resolved":
            res.resolved_sent += 1
    elif o.error:
        what = "resolution of " if w.message == "resolved" else ""
        res.errors.append(f"{what}#{w.alert.alert_id} {w.alert.kind} {w.alert.team}: {redact(o.error, secrets)}")
