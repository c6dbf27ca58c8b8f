"""An alert's life: raised from the conditions, refreshed, escalated, resolved, re-opened, acknowledged, snoozed.

Every alert has a natural key — kind, team, period, subject — unique in the ``alerts`` table
(migration 005).  :func:`evaluate` reads which conditions are true now (the ``alert_*`` marts, see
:mod:`warehouse.alerts.conditions`) and merges them into the table in one transaction:

* a condition with no row                     -> new alert: state ``open``, delivery ``pending``
* a condition whose row is open/acked/snoozed -> nothing is sent again (figures and last_seen_at refresh)
* a condition whose row is resolved/escalated -> re-opened as occurrence n+1, delivery ``pending`` again
* an active row whose condition is gone       -> ``resolved`` (resolved_at); never-sent -> delivery ``cancelled``;
                                                 a sent one owes its channels a "resolved" message (the outbox)
* a threshold alert when a graver one is true for the same team, month and threshold (at_risk <
  projected < crossed)                        -> ``escalated`` (escalated_to = the graver alert); an escalated
                                                 at_risk warning whose condition is back (the projection fell
                                                 under the threshold again, the band still over it) is active
                                                 again without a new message: it was sent once
* snoozed until a date that has come          -> ``open`` again, delivered again (a reminder) if it was delivered

The evaluation reads the models as they stand (they are not as-of the partition day), so running
any day again, or a whole month's backfill, finds the same conditions and sends nothing new.
A kind whose mart's inputs are missing is skipped (reported in :class:`Evaluation`.skipped) and its
alerts are left untouched.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Iterable

import duckdb

from spendwatch.core.errors import UsageError
from warehouse.alerts.conditions import kind_queries
from warehouse.lake import snapshot_id, transaction
from warehouse.alerts.rows import (
    DELIVERIES, KINDS, MONTHS_BACK, STATES, Alert, has_alerts_table, ids_of, london_day, naive_utc, select_alerts,
    window_start,
)

# Threshold alerts from the mildest to the gravest: a graver one escalates the milder ones of its key.
THRESHOLD_LEVELS = ["threshold_at_risk", "threshold_projected", "threshold_crossed"]


@dataclass
class Evaluation:
    """What one evaluation changed: new alerts, re-opened, resolved, escalated, woken from a snooze."""

    as_of: date
    since: date
    conditions: int = 0
    raised: list[int] = field(default_factory=list)
    reopened: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)
    returned: list[int] = field(default_factory=list)  # escalated at_risk warnings active again, nothing re-sent
    woken: list[int] = field(default_factory=list)
    evaluated: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _named(sql: str, params: list[Any]) -> tuple[str, dict[str, Any]]:
    """``?`` parameters as ``$p1, $p2, ...``: a DuckLake UPDATE ... FROM binds positional ones out of order (DuckDB 1.5.5)."""
    parts = sql.split("?")
    if len(parts) - 1 != len(params):
        raise ValueError(f"{len(parts) - 1} placeholders, {len(params)} parameters")
    out = parts[0] + "".join(f"$p{i}{p}" for i, p in enumerate(parts[1:], 1))
    return out, {f"p{i}": v for i, v in enumerate(params, 1)}


def _update(con: duckdb.DuckDBPyConnection, alias: str, set_sql: str, where: str, set_params: list[Any],
            where_params: list[Any], joins: str = "", join_params: list[Any] | None = None) -> list[int]:
    """UPDATE alerts and return the ids it changed (a lake has no RETURNING: they are selected first, same WHERE)."""
    join_params = join_params or []
    ids = ids_of(con.execute(*_named(
        f"SELECT DISTINCT {alias}.alert_id FROM alerts AS {alias}{', ' + joins if joins else ''} WHERE {where} ORDER BY 1",
        [*join_params, *where_params])))
    if ids:
        con.execute(*_named(f"UPDATE alerts AS {alias} SET {set_sql} {'FROM ' + joins if joins else ''} WHERE {where}",
                            [*set_params, *join_params, *where_params]))
    return ids


def _next_id(con: duckdb.DuckDBPyConnection) -> int:
    """The next alert id: max + 1, inside a transaction that holds the ``alerts`` writer turn (warehouse/lake.py)."""
    return int(con.execute("SELECT coalesce(max(alert_id), 0) + 1 FROM alerts").fetchone()[0])


def wake_snoozed(con: duckdb.DuckDBPyConnection, now: datetime) -> list[int]:
    """Snoozes whose date has come: open again, and queued again (a reminder) if it had been delivered."""
    return _update(
        con, "alerts",
        """state = 'open', state_changed_at = ?,
                  reminder = (delivery <> 'pending'),
                  delivery = 'pending',
                  attempts = CASE WHEN delivery = 'pending' THEN attempts ELSE 0 END,
                  next_attempt_at = NULL""",
        "state = 'snoozed' AND snoozed_until <= ?", [now], [london_day(now)])


_SAME_KEY = "a.kind = c.kind AND a.team = c.team AND a.period = c.period AND a.subject = c.subject"


def evaluate(con: duckdb.DuckDBPyConnection, as_of: date | None = None, now: datetime | None = None,
             months_back: int = MONTHS_BACK) -> Evaluation:
    """Raise, refresh, escalate and resolve alerts from the warehouse as it stands, in one transaction.

    Month-based kinds cover the as-of month and ``months_back`` before it (and anything later);
    source_stale is about now.  Re-running with the same warehouse changes nothing and queues nothing.
    On a lake each raised (or re-opened) alert records the snapshot its conditions were read from, and
    a commit that loses to another writer's runs the evaluation again.
    """
    now = naive_utc(now)
    as_of = as_of or london_day(now)
    since = window_start(as_of, months_back)
    queries, skipped = kind_queries(con)

    def work() -> Evaluation:
        ev = Evaluation(as_of=as_of, since=since, skipped=dict(skipped))
        ev.evaluated = [k for q in queries for k in q.kinds]
        snapshot = snapshot_id(con)
        con.execute(
            """CREATE OR REPLACE TEMP TABLE _alert_conditions
               (kind VARCHAR, team VARCHAR, period VARCHAR, subject VARCHAR, details JSON)"""
        )
        for q in queries:
            con.execute(
                f"""INSERT INTO _alert_conditions SELECT kind, team, period, subject, details FROM ({q.sql})
                    WHERE NOT ? OR TRY_CAST(left(period, 7) || '-01' AS DATE) >= ?""",
                [q.scoped, since],
            )
        # One row per key, whatever a model's grain turns out to be.
        con.execute(
            """CREATE OR REPLACE TEMP TABLE _alert_conditions AS
               SELECT * FROM _alert_conditions
               QUALIFY row_number() OVER (PARTITION BY kind, team, period, subject ORDER BY CAST(details AS VARCHAR)) = 1"""
        )
        ev.conditions = con.execute("SELECT count(*) FROM _alert_conditions").fetchone()[0]
        ev.woken = wake_snoozed(con, now)
        ev.reopened = _update(
            con, "a",
            """occurrence = a.occurrence + 1, state = 'open', delivery = 'pending',
                      details = c.details, raised_at = ?, last_seen_at = ?, state_changed_at = ?, raised_snapshot = ?,
                      resolved_at = NULL, escalated_to = NULL, acked_at = NULL, acked_by = NULL, snoozed_until = NULL,
                      reminder = false, attempts = 0, last_attempt_at = NULL, next_attempt_at = NULL, last_error = NULL,
                      sent_at = NULL, response_status = NULL, response_body = NULL, channel = NULL, destination = NULL""",
            f"{_SAME_KEY} AND (a.state = 'resolved' OR (a.state = 'escalated' AND a.kind <> 'threshold_at_risk'))",
            [now, now, now, snapshot], [], joins="_alert_conditions c")
        # The early warning was sent once: back from a graver alert, it is active again and says nothing new
        # (one never delivered, its escalation having cancelled it, is owed again).
        ev.returned = _update(
            con, "a",
            """state = 'open', escalated_to = NULL, details = c.details, last_seen_at = ?,
                      state_changed_at = ?, delivery = CASE WHEN a.delivery = 'cancelled' THEN 'pending' ELSE a.delivery END""",
            f"{_SAME_KEY} AND a.state = 'escalated' AND a.kind = 'threshold_at_risk'",
            [now, now], [], joins="_alert_conditions c")
        con.execute(*_named(
            f"""UPDATE alerts AS a SET details = c.details, last_seen_at = ?
               FROM _alert_conditions c
               WHERE {_SAME_KEY} AND a.state IN ('open', 'acked', 'snoozed')""",
            [now]))
        first = _next_id(con)
        con.execute(
            f"""INSERT INTO alerts (alert_id, kind, team, period, subject, details, first_raised_at, raised_at, last_seen_at,
                                    state_changed_at, raised_snapshot)
               SELECT ? - 1 + row_number() OVER (ORDER BY c.kind, c.team, c.period, c.subject),
                      c.kind, c.team, c.period, c.subject, c.details, ?, ?, ?, ?, ?
               FROM _alert_conditions c
               WHERE NOT EXISTS (SELECT 1 FROM alerts a WHERE {_SAME_KEY})""",
            [first, now, now, now, now, snapshot],
        )
        ev.raised = ids_of(con.execute("SELECT alert_id FROM alerts WHERE alert_id >= ? ORDER BY alert_id", [first]))
        if "threshold_crossed" in ev.evaluated:
            ev.escalated = _update(
                con, "p",
                """state = 'escalated', escalated_to = c.alert_id, state_changed_at = ?,
                          delivery = CASE WHEN p.delivery = 'pending' THEN 'cancelled' ELSE p.delivery END""",
                """list_contains(?, p.kind) AND p.state IN ('open', 'acked', 'snoozed')
                     AND c.team = p.team AND c.period = p.period AND c.subject = p.subject
                     AND c.level > list_position(?, p.kind)""",
                [now], [THRESHOLD_LEVELS, THRESHOLD_LEVELS],
                joins="""(SELECT alert_id, team, period, subject, list_position(?, kind) AS level FROM alerts g
                         WHERE list_contains(?, kind) AND state IN ('open', 'acked', 'snoozed')
                           AND EXISTS (SELECT 1 FROM _alert_conditions c WHERE c.kind = g.kind AND c.team = g.team
                                       AND c.period = g.period AND c.subject = g.subject)  -- still true now
                         QUALIFY row_number() OVER (PARTITION BY team, period, subject ORDER BY level DESC, alert_id) = 1) AS c""",
                join_params=[THRESHOLD_LEVELS, THRESHOLD_LEVELS])
        scoped = [k for q in queries if q.scoped for k in q.kinds]
        unscoped = [k for q in queries if not q.scoped for k in q.kinds]
        if ev.evaluated:
            ev.resolved = _update(
                con, "a",
                """state = 'resolved', resolved_at = ?, state_changed_at = ?,
                          delivery = CASE WHEN a.delivery = 'pending' THEN 'cancelled' ELSE a.delivery END""",
                f"""a.state IN ('open', 'acked', 'snoozed')
                     AND ((list_contains(?, a.kind) AND TRY_CAST(left(a.period, 7) || '-01' AS DATE) >= ?)
                          OR list_contains(?, a.kind))
                     AND NOT EXISTS (SELECT 1 FROM _alert_conditions c WHERE {_SAME_KEY})""",
                [now, now], [scoped, since, unscoped])
        con.execute("DROP TABLE IF EXISTS _alert_conditions")
        return ev

    return transaction(con, work, turn="alerts")


def raise_alert(con: duckdb.DuckDBPyConnection, kind: str, team: str, period: str, subject: str,
                details: dict[str, Any], now: datetime | None = None) -> tuple[int, bool]:
    """Store one event-style alert (a run failure) once; return (alert_id, newly queued).  Idempotent on its key."""
    if kind not in KINDS:
        raise ValueError(f"unknown alert kind {kind!r}")
    now = naive_utc(now)

    def work() -> tuple[int, bool]:
        row = con.execute("SELECT alert_id FROM alerts WHERE kind = ? AND team = ? AND period = ? AND subject = ?",
                          [kind, team, period, subject]).fetchone()
        if row is not None:
            return row[0], False
        alert_id = _next_id(con)
        con.execute(
            """INSERT INTO alerts (alert_id, kind, team, period, subject, details, first_raised_at, raised_at,
                                   last_seen_at, state_changed_at, raised_snapshot)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [alert_id, kind, team, period, subject, json.dumps(details, default=str), now, now, now, now,
             snapshot_id(con)],
        )
        return alert_id, True

    return transaction(con, work, turn="alerts")


# --- people quieting alerts -----------------------------------------------------------

def get_alert(con: duckdb.DuckDBPyConnection, alert_id: int) -> Alert:
    if not has_alerts_table(con):
        raise UsageError("no alerts yet: run `spendwatch run` first")
    found = select_alerts(con, "alert_id = ?", [alert_id])
    if not found:
        raise UsageError(f"alert {alert_id}: no such alert (see `spendwatch alerts list --state all`)")
    return found[0]


def ack(con: duckdb.DuckDBPyConnection, alert_id: int, by: str | None = None, now: datetime | None = None) -> Alert:
    """Acknowledge: someone is on it.  Not delivered (again) until it resolves and comes back."""
    now = naive_utc(now)
    a = get_alert(con, alert_id)
    if a.state not in ("open", "snoozed"):
        raise UsageError(f"alert {alert_id} is {a.state}: only open or snoozed alerts can be acknowledged")
    con.execute(
        """UPDATE alerts SET state = 'acked', acked_at = ?, acked_by = ?, state_changed_at = ?, snoozed_until = NULL,
                  delivery = CASE WHEN delivery = 'pending' THEN 'suppressed' ELSE delivery END
           WHERE alert_id = ?""",
        [now, by, now, alert_id],
    )
    return get_alert(con, alert_id)


def snooze(con: duckdb.DuckDBPyConnection, alert_id: int, until: date, now: datetime | None = None) -> Alert:
    """Snooze until a (London) date: not delivered before it; from that day, delivered again if still open."""
    now = naive_utc(now)
    if until <= london_day(now):
        raise UsageError(f"--until {until}: must be a date after today ({london_day(now)})")
    a = get_alert(con, alert_id)
    if a.state not in ("open", "acked", "snoozed"):
        raise UsageError(f"alert {alert_id} is {a.state}: only active alerts can be snoozed")
    con.execute(
        "UPDATE alerts SET state = 'snoozed', snoozed_until = ?, state_changed_at = ? WHERE alert_id = ?",
        [until, now, alert_id],
    )
    return get_alert(con, alert_id)


def retry_failed(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Queue permanently failed deliveries of active alerts again (after fixing the webhook or channel)."""
    ids = _update(con, "alerts", "delivery = 'pending', next_attempt_at = NULL",
                  "delivery = 'failed' AND state = 'open'", [], [])
    con.execute(
        """UPDATE alert_deliveries SET state = 'pending', next_attempt_at = NULL
           WHERE state = 'failed' AND list_contains(?, alert_id)""",
        [ids],
    )
    return ids


def deliverable(con: duckdb.DuckDBPyConnection, now: datetime | None = None, ids: Iterable[int] | None = None) -> list[Alert]:
    """Alerts not yet delivered anywhere that may go now: open, pending, not asked to wait (next_attempt_at)."""
    now = naive_utc(now)
    ids = list(ids) if ids is not None else None
    return select_alerts(
        con,
        "delivery = 'pending' AND state = 'open' AND (next_attempt_at IS NULL OR next_attempt_at <= ?)"
        " AND (? IS NULL OR list_contains(?, alert_id))",
        [now, ids, ids],
        order="raised_at, alert_id",
    )


# --- reading -----------------------------------------------------------------------------

def list_alerts(con: duckdb.DuckDBPyConnection, state: str = "active", kind: str | None = None, team: str | None = None) -> list[Alert]:
    """Alerts by state (open, acked, snoozed, resolved, escalated), delivery (pending, sent, failed, …), 'active' or 'all'."""
    if not has_alerts_table(con):
        return []
    if state == "active":
        where, params = "state IN ('open', 'acked', 'snoozed')", []
    elif state == "all":
        where, params = "TRUE", []
    elif state in STATES:
        where, params = "state = ?", [state]
    elif state in DELIVERIES:
        where, params = "delivery = ?", [state]
    else:
        raise UsageError(f"--state {state}: not one of active, all, {', '.join(STATES + DELIVERIES)}")
    where += " AND (? IS NULL OR kind = ?) AND (? IS NULL OR team = ?)"
    return select_alerts(con, where, [*params, kind, kind, team, team], order="raised_at DESC, alert_id DESC")


def failed_alerts(con: duckdb.DuckDBPyConnection) -> list[Alert]:
    """Alerts Slack refused for good (bad webhook, missing channel, invalid payload): for the review to show."""
    if not has_alerts_table(con):
        return []
    return select_alerts(con, "delivery = 'failed'", order="last_attempt_at DESC NULLS LAST, alert_id")


def pending_alerts(con: duckdb.DuckDBPyConnection) -> list[Alert]:
    """Alerts stored but not yet delivered (Slack down, rate limited, or snoozed)."""
    if not has_alerts_table(con):
        return []
    return select_alerts(con, "delivery = 'pending' AND state IN ('open', 'snoozed')", order="raised_at, alert_id")


def counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """How many alerts per state and per delivery status ('pending' counts only those that will still go)."""
    if not has_alerts_table(con):
        return {}
    out: dict[str, int] = {}
    for state, n in con.execute("SELECT state, count(*) FROM alerts GROUP BY state").fetchall():
        out[state] = n
    for delivery, n in con.execute(
        """SELECT delivery, count(*) FROM alerts
           WHERE delivery <> 'pending' OR state IN ('open', 'snoozed') GROUP BY delivery"""
    ).fetchall():
        out[delivery] = n
    return out


def attempts(con: duckdb.DuckDBPyConnection, alert_id: int) -> list[tuple]:
    """(occurrence, attempted_at, channel, destination, outcome, status_code, retry_after, error, message) per attempt."""
    return con.execute(
        """SELECT occurrence, attempted_at, channel, destination, outcome, status_code, retry_after, error,
                  coalesce(message, 'alert')
           FROM alert_attempts WHERE alert_id = ? ORDER BY attempted_at, occurrence""",
        [alert_id],
    ).fetchall()
