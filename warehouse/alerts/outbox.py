"""The outbox: what each delivery channel still owes, and what became of every attempt (no network here).

An alert occurrence owes each channel it is routed to one message (``alert``, or ``reminder:DATE``
after a snooze), and, once it resolves, one ``resolved`` message to every channel that got the alert.
Channels are the console and each Slack destination (a webhook variable or a bot channel): one row
of ``alert_deliveries`` (migration 013) per occurrence, message and channel.  The console and Slack
are separate channels, so alerts printed to the console before a webhook was set go to Slack once
it is.

The sender (``spendwatch.delivery``) records each attempt *before* it sends it (:func:`mark_sending`:
the row turns ``sending``, the attempt is stored with outcome ``sending``, committed) and its outcome
after (:func:`record_outcomes`).  A row found ``sending`` at the next pass was interrupted between send
and record (kill -9), and a row flagged ``unknown`` timed out: either way Slack may have posted it,
so :class:`Work` carries ``unknown_since`` and the sender checks before sending again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable, Sequence

import duckdb

from spendwatch.core.redact import redact
from warehouse.alerts.rows import Alert, has_alerts_table, naive_utc, select_alerts


@dataclass(frozen=True)
class Work:
    """One message owed to one channel."""

    alert: Alert
    message: str                 # alert | reminder:YYYY-MM-DD | resolved
    channel: str                 # console | webhook | bot
    destination: str             # env var name, Slack channel or 'console': never a URL or a token
    thread_ts: str | None = None  # the alert's message in a bot channel (a resolution replies in its thread)
    unknown_since: datetime | None = None
    channel_id: str | None = None  # bot: the id Slack gave this destination before (conversations.history needs an id)

    @property
    def key(self) -> str:
        """What the bot message carries in its metadata, to be found again in the channel's history."""
        return f"{self.alert.alert_id}:{self.alert.occurrence}:{self.message}"


@dataclass(frozen=True)
class Result:
    """What one attempt (or a few, after rate limits) came to; text is redacted again before it is stored."""

    status: str                  # sent | retry | failed | deferred | unknown
    status_code: int | None = None
    body: str | None = None
    error: str | None = None
    retry_in: float | None = None
    attempts: tuple[tuple[datetime, str, int | None, float | None, str | None], ...] = ()  # at, outcome, code, retry_after, error
    slack_channel: str | None = None
    slack_ts: str | None = None


_DELIVERY_COLS = ("alert_id", "occurrence", "message", "channel", "destination", "state", "unknown", "sending_since",
                  "next_attempt_at", "slack_channel", "slack_ts")


def _rows(con: duckdb.DuckDBPyConnection, ids: list[int]) -> dict[tuple, dict[str, Any]]:
    rows = con.execute(
        f"SELECT {', '.join(_DELIVERY_COLS)} FROM alert_deliveries WHERE list_contains(?, alert_id)", [ids]
    ).fetchall()
    return {r[:5]: dict(zip(_DELIVERY_COLS, r)) for r in rows}


def _owed(row: dict[str, Any] | None, now: datetime) -> tuple[bool, datetime | None]:
    """(still owed now, unknown since) for one channel's row."""
    if row is None:
        return True, None
    if row["state"] == "sending":  # interrupted between send and record
        return True, row["sending_since"]
    if row["state"] != "pending" or (row["next_attempt_at"] is not None and row["next_attempt_at"] > now):
        return False, None
    return True, row["sending_since"] if row["unknown"] else None


def due(con: duckdb.DuckDBPyConnection, route: Callable[[str], tuple[str, str]],
        still_routed: Callable[[str, str], bool], now: datetime | None = None,
        ids: Iterable[int] | None = None) -> list[Work]:
    """Every message owed now.  ``route(team)`` names the channel and destination a team's alerts go to today;
    ``still_routed(channel, destination)`` says whether an earlier destination can still be reached (for resolutions)."""
    if not has_alerts_table(con):
        return []
    now = naive_utc(now)
    ids = list(ids) if ids is not None else None
    raised = select_alerts(con, "state = 'open' AND delivery IN ('pending', 'sent') AND (? IS NULL OR list_contains(?, alert_id))",
                           [ids, ids], order="raised_at, alert_id")
    resolved = select_alerts(
        con,
        """state = 'resolved' AND (? IS NULL OR list_contains(?, alert_id)) AND EXISTS (
               SELECT 1 FROM alert_deliveries d WHERE d.alert_id = alerts.alert_id AND d.occurrence = alerts.occurrence
                 AND d.message <> 'resolved' AND d.state = 'sent')""",
        [ids, ids], order="resolved_at, alert_id")
    rows = _rows(con, [a.alert_id for a in raised + resolved])
    ids_by_dest = dict(con.execute(
        """SELECT destination, max_by(slack_channel, sent_at) FROM alert_deliveries
           WHERE channel = 'bot' AND slack_channel IS NOT NULL GROUP BY destination""").fetchall())
    out: list[Work] = []
    for a in raised:
        channel, dest = route(a.team)
        row = rows.get((a.alert_id, a.occurrence, a.message_name, channel, dest))
        owed, unknown = _owed(row, now)
        if owed:
            out.append(Work(a, a.message_name, channel, dest, unknown_since=unknown, channel_id=ids_by_dest.get(dest)))
    for a in resolved:
        sent = {(k[3], k[4]): r for k, r in rows.items()
                if k[:2] == (a.alert_id, a.occurrence) and k[2] != "resolved" and r["state"] == "sent"}
        for (channel, dest), r in sent.items():
            owed, unknown = _owed(rows.get((a.alert_id, a.occurrence, "resolved", channel, dest)), now)
            if owed and still_routed(channel, dest):
                out.append(Work(a, "resolved", channel, dest, thread_ts=r["slack_ts"], unknown_since=unknown,
                                channel_id=r["slack_channel"] or ids_by_dest.get(dest)))
    return out


def mark_sending(con: duckdb.DuckDBPyConnection, works: Sequence[Work], now: datetime | None = None) -> None:
    """Record the attempts about to be made, before any is sent (one transaction)."""
    if not works:
        return
    now = naive_utc(now)
    cols: list[list[Any]] = [[] for _ in range(5)]
    for w in works:
        for c, v in zip(cols, (w.alert.alert_id, w.alert.occurrence, w.message, w.channel, w.destination)):
            c.append(v)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            """MERGE INTO alert_deliveries AS d
               USING (SELECT unnest(?::BIGINT[]) AS alert_id, unnest(?::INTEGER[]) AS occurrence,
                             unnest(?::VARCHAR[]) AS message, unnest(?::VARCHAR[]) AS channel,
                             unnest(?::VARCHAR[]) AS destination, CAST(? AS TIMESTAMP) AS now) AS w
               ON d.alert_id = w.alert_id AND d.occurrence = w.occurrence AND d.message = w.message
                  AND d.channel = w.channel AND d.destination = w.destination
               WHEN MATCHED THEN UPDATE SET state = 'sending',
                      -- found 'sending': a pass died between send and record, so that attempt's outcome is unknown
                      -- (and stays so until the message is found or Slack answers a new post: record_outcomes)
                      unknown = d.unknown OR d.state = 'sending',
                      sending_since = CASE WHEN d.unknown OR d.state = 'sending' THEN d.sending_since ELSE w.now END
               WHEN NOT MATCHED THEN INSERT (alert_id, occurrence, message, channel, destination, state, sending_since)
                      VALUES (w.alert_id, w.occurrence, w.message, w.channel, w.destination, 'sending', w.now)""",
            [*cols, now],
        )
        con.execute(
            """INSERT INTO alert_attempts (alert_id, occurrence, attempted_at, channel, destination, outcome, message)
               SELECT unnest(?::BIGINT[]), unnest(?::INTEGER[]), ?, unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), 'sending',
                      unnest(?::VARCHAR[])""",
            [cols[0], cols[1], now, cols[3], cols[4], cols[2]],
        )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


_RECORD_DELIVERY = """
UPDATE alert_deliveries AS d SET
    state           = CASE o.status WHEN 'sent' THEN 'sent' WHEN 'failed' THEN 'failed' ELSE 'pending' END,
    -- an earlier attempt's unknown outcome stays unknown until the message is found (sent) or Slack answers a new
    -- post (a status code): a history it could not read, a refused connection or a rate-limit wait settle nothing
    unknown         = CASE WHEN o.status = 'unknown' THEN true WHEN o.status = 'sent' THEN false
                           WHEN o.status_code IS NOT NULL THEN false ELSE d.unknown END,
    attempts        = d.attempts + o.n,
    last_attempt_at = CASE WHEN o.n > 0 THEN o.at ELSE d.last_attempt_at END,
    next_attempt_at = CASE WHEN o.status IN ('sent', 'failed') THEN NULL ELSE o.next_at END,
    last_error      = CASE WHEN o.status = 'sent' THEN NULL ELSE coalesce(o.error, d.last_error) END,
    sent_at         = CASE WHEN o.status = 'sent' THEN o.at ELSE d.sent_at END,
    response_status = coalesce(o.status_code, d.response_status),
    response_body   = coalesce(o.body, d.response_body),
    slack_channel   = coalesce(o.slack_channel, d.slack_channel),
    slack_ts        = coalesce(o.slack_ts, d.slack_ts)
FROM (SELECT unnest(?::BIGINT[]) AS alert_id, unnest(?::INTEGER[]) AS occurrence, unnest(?::VARCHAR[]) AS message,
             unnest(?::VARCHAR[]) AS channel, unnest(?::VARCHAR[]) AS destination, unnest(?::VARCHAR[]) AS status,
             unnest(?::INTEGER[]) AS n, unnest(?::TIMESTAMP[]) AS at, unnest(?::INTEGER[]) AS status_code,
             unnest(?::VARCHAR[]) AS body, unnest(?::VARCHAR[]) AS error, unnest(?::TIMESTAMP[]) AS next_at,
             unnest(?::VARCHAR[]) AS slack_channel, unnest(?::VARCHAR[]) AS slack_ts) AS o
WHERE d.alert_id = o.alert_id AND d.occurrence = o.occurrence AND d.message = o.message
  AND d.channel = o.channel AND d.destination = o.destination
"""

# The alert row keeps a summary of its alert (or reminder) message: the last channel tried, and 'sent' once any got it.
_RECORD_ALERT = """
UPDATE alerts AS a SET
    delivery        = CASE WHEN o.status = 'sent' OR a.delivery = 'sent' THEN 'sent'
                           WHEN o.status = 'failed' THEN 'failed' ELSE a.delivery END,
    attempts        = a.attempts + o.n,
    last_attempt_at = CASE WHEN o.n > 0 THEN o.at ELSE a.last_attempt_at END,
    channel         = CASE WHEN o.status = 'deferred' THEN a.channel ELSE o.channel END,
    destination     = CASE WHEN o.status = 'deferred' THEN a.destination ELSE o.destination END,
    response_status = CASE WHEN o.status = 'deferred' THEN a.response_status ELSE o.status_code END,
    response_body   = CASE WHEN o.status = 'deferred' THEN a.response_body ELSE o.body END,
    last_error      = CASE WHEN o.status = 'sent' THEN NULL WHEN o.status = 'deferred' THEN coalesce(o.error, a.last_error) ELSE o.error END,
    sent_at         = CASE WHEN o.status = 'sent' THEN o.at ELSE a.sent_at END,
    next_attempt_at = CASE WHEN o.status IN ('sent', 'failed') THEN NULL ELSE o.next_at END
FROM (SELECT unnest(?::BIGINT[]) AS alert_id, unnest(?::INTEGER[]) AS occurrence, unnest(?::VARCHAR[]) AS status,
             unnest(?::INTEGER[]) AS n, unnest(?::TIMESTAMP[]) AS at, unnest(?::VARCHAR[]) AS channel,
             unnest(?::VARCHAR[]) AS destination, unnest(?::INTEGER[]) AS status_code, unnest(?::VARCHAR[]) AS body,
             unnest(?::VARCHAR[]) AS error, unnest(?::TIMESTAMP[]) AS next_at) AS o
WHERE a.alert_id = o.alert_id AND a.occurrence = o.occurrence
"""


def record_outcomes(con: duckdb.DuckDBPyConnection, results: Sequence[tuple[Work, Result]], now: datetime | None = None) -> None:
    """Store what the attempts came to (one transaction): the channel's row, the attempt trail, the alert's summary."""
    if not results:
        return
    now = naive_utc(now)
    dcols: list[list[Any]] = [[] for _ in range(14)]
    acols: list[list[Any]] = [[] for _ in range(11)]
    trail: list[list[Any]] = [[] for _ in range(10)]
    placeholders: list[list[Any]] = [[] for _ in range(5)]
    for w, r in results:
        a = w.alert
        next_at = now + timedelta(seconds=r.retry_in) if r.retry_in else None
        body = redact(r.body) if r.body else None
        error = redact(r.error) if r.error else None
        for c, v in zip(dcols, (a.alert_id, a.occurrence, w.message, w.channel, w.destination, r.status, len(r.attempts),
                                now, r.status_code, body, error, next_at, r.slack_channel, r.slack_ts)):
            c.append(v)
        if w.message != "resolved":
            for c, v in zip(acols, (a.alert_id, a.occurrence, r.status, len(r.attempts), now, w.channel, w.destination,
                                    r.status_code, body, error, next_at)):
                c.append(v)
        for c, v in zip(placeholders, (a.alert_id, a.occurrence, w.message, w.channel, w.destination)):
            c.append(v)
        for at, outcome, code, retry_after, err in r.attempts:
            for c, v in zip(trail, (a.alert_id, a.occurrence, at, w.channel, w.destination, outcome, code, retry_after,
                                    redact(err) if err else None, w.message)):
                c.append(v)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(_RECORD_DELIVERY, dcols)
        if acols[0]:
            con.execute(_RECORD_ALERT, acols)
        # The 'sending' marks of these attempts give way to what they came to.
        con.execute(
            """DELETE FROM alert_attempts AS t USING (
                   SELECT unnest(?::BIGINT[]) AS alert_id, unnest(?::INTEGER[]) AS occurrence, unnest(?::VARCHAR[]) AS message,
                          unnest(?::VARCHAR[]) AS channel, unnest(?::VARCHAR[]) AS destination) AS p
               WHERE t.outcome = 'sending' AND t.alert_id = p.alert_id AND t.occurrence = p.occurrence
                 AND coalesce(t.message, 'alert') = p.message AND t.channel = p.channel AND t.destination = p.destination""",
            placeholders,
        )
        if trail[0]:
            con.execute(
                """INSERT INTO alert_attempts (alert_id, occurrence, attempted_at, channel, destination, outcome, status_code,
                                               retry_after, error, message)
                   SELECT unnest(?::BIGINT[]), unnest(?::INTEGER[]), unnest(?::TIMESTAMP[]), unnest(?::VARCHAR[]),
                          unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::INTEGER[]), unnest(?::DOUBLE[]),
                          unnest(?::VARCHAR[]), unnest(?::VARCHAR[])""",
                trail,
            )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def deliveries(con: duckdb.DuckDBPyConnection, alert_id: int) -> list[tuple]:
    """(occurrence, message, channel, destination, state, attempts, sent_at, last_error) per channel of one alert."""
    return con.execute(
        """SELECT occurrence, message, channel, destination, state, attempts, sent_at, last_error
           FROM alert_deliveries WHERE alert_id = ? ORDER BY occurrence, sent_at NULLS LAST, message, channel, destination""",
        [alert_id],
    ).fetchall()
