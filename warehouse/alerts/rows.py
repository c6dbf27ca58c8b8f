"""Alert rows: the ``alerts`` table's columns, the :class:`Alert` dataclass and the small helpers everything shares."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Sequence
from zoneinfo import ZoneInfo

import duckdb

from warehouse.db import relation_exists

LONDON = ZoneInfo("Europe/London")
ORG = "*"  # the team of organisation-wide alerts (price sources, invoices, ingest, run failures)
ACTIVE = ("open", "acked", "snoozed")
STATES = ("open", "acked", "snoozed", "resolved", "escalated")
DELIVERIES = ("pending", "sent", "failed", "cancelled", "suppressed")
EVALUATED_KINDS = (
    "threshold_crossed", "threshold_projected", "threshold_at_risk", "dedicated_cheaper", "invoice_discrepancy",
    "price_change", "source_stale", "ingest_rejects", "spend_anomaly",
)
KINDS = (*EVALUATED_KINDS, "run_failure")
MONTHS_BACK = 1  # besides the as-of month, the month before it (provider data and invoices arrive late)

_COLUMNS = (
    "alert_id", "kind", "team", "period", "subject", "occurrence", "state", "delivery", "details",
    "first_raised_at", "raised_at", "last_seen_at", "state_changed_at", "resolved_at", "escalated_to",
    "acked_at", "acked_by", "snoozed_until", "reminder", "channel", "destination", "attempts",
    "last_attempt_at", "next_attempt_at", "last_error", "sent_at", "response_status", "response_body",
)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _naive_utc(ts: datetime) -> datetime:
    return ts.astimezone(timezone.utc).replace(tzinfo=None) if ts.tzinfo else ts


def london_day(now: datetime) -> date:
    """The Europe/London calendar day of a naive-UTC instant (snooze dates are London dates)."""
    return now.replace(tzinfo=timezone.utc).astimezone(LONDON).date()


def window_start(as_of: date, months_back: int = MONTHS_BACK) -> date:
    """First day of the earliest month evaluated: the as-of month minus ``months_back``."""
    y, m = as_of.year, as_of.month - months_back
    while m < 1:
        y, m = y - 1, m + 12
    return date(y, m, 1)


# --- rows -------------------------------------------------------------------------

@dataclass(frozen=True)
class Alert:
    """One row of ``alerts``: an alert's key, its figures and where its state and delivery stand."""

    alert_id: int
    kind: str
    team: str
    period: str
    subject: str
    occurrence: int
    state: str
    delivery: str
    details: dict[str, Any]
    first_raised_at: datetime
    raised_at: datetime
    last_seen_at: datetime
    state_changed_at: datetime
    resolved_at: datetime | None
    escalated_to: int | None
    acked_at: datetime | None
    acked_by: str | None
    snoozed_until: date | None
    reminder: bool
    channel: str | None
    destination: str | None
    attempts: int
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    last_error: str | None
    sent_at: datetime | None
    response_status: int | None
    response_body: str | None

    @property
    def message_name(self) -> str:
        """The message this occurrence owes its channels: ``alert``, or ``reminder:DATE`` after a snooze."""
        if self.reminder and self.snoozed_until:
            return f"reminder:{self.snoozed_until:%Y-%m-%d}"
        return "alert"

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k in _COLUMNS:
            v = getattr(self, k)
            out[k] = v.isoformat() if isinstance(v, (date, datetime)) else v
        return out


def select_alerts(con: duckdb.DuckDBPyConnection, where: str = "TRUE", params: Sequence[Any] = (), order: str = "alert_id") -> list[Alert]:
    rows = con.execute(f"SELECT {', '.join(_COLUMNS)} FROM alerts WHERE {where} ORDER BY {order}", list(params)).fetchall()
    out = []
    for r in rows:
        d = dict(zip(_COLUMNS, r))
        d["details"] = json.loads(d["details"]) if isinstance(d["details"], str) else (d["details"] or {})
        out.append(Alert(**d))
    return out


def has_alerts_table(con: duckdb.DuckDBPyConnection) -> bool:
    """False on a read-only warehouse that predates migration 005."""
    return relation_exists(con, "alerts")




def ids_of(cur: duckdb.DuckDBPyConnection) -> list[int]:
    return [r[0] for r in cur.fetchall()]


def naive_utc(ts: datetime | None) -> datetime:
    """A timestamp as naive UTC (the warehouse's convention); now when None."""
    if ts is None:
        return _utcnow()
    return _naive_utc(ts)
