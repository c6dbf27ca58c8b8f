"""Alerts that fire exactly once, are never lost, and can be quieted: evaluation, state and the outbox.

Every alert has a natural key — kind, team, period, subject — unique in the ``alerts`` table
(migration 005).  :func:`evaluate` works out, in SQL over the models, which conditions are
true now and merges them into the table in one transaction:

* a condition with no row                     -> new alert: state ``open``, delivery ``pending``
* a condition whose row is open/acked/snoozed -> nothing is sent again (figures and last_seen_at refresh)
* a condition whose row is resolved/escalated -> re-opened as occurrence n+1, delivery ``pending`` again
* an active row whose condition is gone       -> ``resolved`` (resolved_at); never-sent -> delivery ``cancelled``
* threshold_projected when threshold_crossed is true for the same team, month and threshold
                                              -> ``escalated`` (escalated_to = the crossed alert)
* snoozed until a date that has come          -> ``open`` again, delivered again (a reminder) if it was delivered

Delivery is an outbox: the alert is committed before anything is sent, then :func:`send_pending`
posts every deliverable alert (open, pending, not before next_attempt_at) and records each
answer: ``sent`` with the response, ``pending`` with attempts and a redacted error for
anything transient, ``failed`` (no more retries) for a permanent error.  Acked alerts are not
delivered (a pending one becomes ``suppressed``); snoozed ones wait for their date.

Answers are recorded in small batches (at most 20, or every 0.1 s).  A crash after Slack accepted
a message but before its ``sent`` was committed re-sends it at the next pass: delivery is
at-least-once at that single point (never lost), exactly-once otherwise.

The evaluation reads the models as they stand (they are not as-of the partition day), so running
any day again, or a whole month's backfill, finds the same conditions and sends nothing new.

Kinds read models that may not exist yet (breakeven, hybrid_plan, invoice_audit): a missing table
skips its kind (reported in :class:`Evaluation`.skipped) and leaves that kind's alerts untouched.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable, Sequence
from zoneinfo import ZoneInfo

import duckdb

from spendwatch.errors import UsageError
from spendwatch.secrets import redact, redact_exception
from spendwatch.slack import ORG, AlertMessage, Outcome, SlackSender
from warehouse.queries import table_exists

LONDON = ZoneInfo("Europe/London")
ACTIVE = ("open", "acked", "snoozed")
STATES = ("open", "acked", "snoozed", "resolved", "escalated")
DELIVERIES = ("pending", "sent", "failed", "cancelled", "suppressed")
EVALUATED_KINDS = (
    "threshold_crossed", "threshold_projected", "dedicated_cheaper", "invoice_discrepancy",
    "price_change", "source_stale", "ingest_rejects",
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

    def message(self) -> AlertMessage:
        return AlertMessage(self.alert_id, self.occurrence, self.kind, self.team, self.period, self.subject,
                            self.details, self.reminder, self.snoozed_until)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k in _COLUMNS:
            v = getattr(self, k)
            out[k] = v.isoformat() if isinstance(v, (date, datetime)) else v
        return out


def _alerts(con: duckdb.DuckDBPyConnection, where: str = "TRUE", params: Sequence[Any] = (), order: str = "alert_id") -> list[Alert]:
    rows = con.execute(f"SELECT {', '.join(_COLUMNS)} FROM alerts WHERE {where} ORDER BY {order}", list(params)).fetchall()
    out = []
    for r in rows:
        d = dict(zip(_COLUMNS, r))
        d["details"] = json.loads(d["details"]) if isinstance(d["details"], str) else (d["details"] or {})
        out.append(Alert(**d))
    return out


def _has_alerts_table(con: duckdb.DuckDBPyConnection) -> bool:
    """False on a read-only warehouse that predates migration 005."""
    return table_exists(con, "alerts")


# --- conditions: one SELECT per kind, each row (kind, team, period, subject, details) --------------

_THRESHOLD_SQL = """
SELECT CASE f.status WHEN 'over' THEN 'threshold_crossed' ELSE 'threshold_projected' END,
       f.team, strftime(f.month, '%Y-%m'),
       CAST(f.threshold AS VARCHAR) || ' ' || f.threshold_currency,
       json_object(
           'month', strftime(f.month, '%Y-%m'), 'team', f.team, 'currency', f.currency,
           'variable_spend', CAST(f.variable_spend AS VARCHAR),
           'projected_variable', CAST(f.projected_variable AS VARCHAR),
           'projection_days_used', f.projection_days_used,
           'threshold', CAST(f.threshold AS VARCHAR), 'threshold_currency', f.threshold_currency,
           'crossed_on', CAST(f.crossed_on AS VARCHAR),
           'projected_cross_date', CAST(f.projected_cross_date AS VARCHAR),
           'is_unallocated', f.is_unallocated,
           'serverless_gpu', CAST(s.serverless_gpu AS VARCHAR), 'hosted_api', CAST(s.hosted_api AS VARCHAR),
           'total_spend', CAST(s.total_spend AS VARCHAR), 'days_with_data', s.days_with_data,
           'days_in_month', s.days_in_month, 'last_data_date', CAST(s.last_data_date AS VARCHAR))
FROM threshold_flags f
LEFT JOIN team_monthly_spend s ON s.month = f.month AND s.team = f.team
WHERE f.status IN ('over', 'projected_over') AND f.month >= ?
"""

_HYBRID_JSON = """CASE WHEN h.team IS NULL THEN NULL ELSE json_object(
           'best_k', h.best_k, 'currency', h.currency, 'hours_observed', h.hours_observed,
           'peak_demand_gpus', CAST(h.peak_demand_gpus AS VARCHAR), 'cost_at_best', CAST(h.cost_at_best AS VARCHAR),
           'cost_at_zero', CAST(h.cost_at_zero AS VARCHAR), 'saving', CAST(h.saving AS VARCHAR),
           'dedicated_monthly', CAST(h.dedicated_monthly AS VARCHAR)) END"""

_DEDICATED_SQL = """
SELECT 'dedicated_cheaper', b.team, strftime(b.month, '%Y-%m'), b.gpu_class,
       json_object(
           'month', strftime(b.month, '%Y-%m'), 'team', b.team, 'gpu_class', b.gpu_class, 'currency', b.currency,
           'gpu_seconds', CAST(b.gpu_seconds AS VARCHAR), 'seconds_in_month', b.seconds_in_month,
           'utilisation', CAST(b.utilisation AS VARCHAR), 'breakeven_utilisation', CAST(b.breakeven_utilisation AS VARCHAR),
           'breakeven_gpu_hours', CAST(b.breakeven_gpu_hours AS VARCHAR),
           'serverless_cost', CAST(b.serverless_cost AS VARCHAR),
           'serverless_price_per_second', CAST(b.serverless_price_per_second AS VARCHAR),
           'dedicated_provider', b.dedicated_provider, 'dedicated_source_id', b.dedicated_source_id,
           'dedicated_sku', b.dedicated_sku, 'dedicated_tier', b.dedicated_tier,
           'dedicated_price', CAST(b.dedicated_price AS VARCHAR), 'dedicated_price_currency', b.dedicated_price_currency,
           'dedicated_price_unit', b.dedicated_price_unit, 'dedicated_monthly', CAST(b.dedicated_monthly AS VARCHAR),
           'gpus_needed', b.gpus_needed, 'dedicated_cost', CAST(b.dedicated_cost AS VARCHAR),
           'monthly_saving', CAST(b.monthly_saving AS VARCHAR),
           'fx_rate', CAST(b.fx_rate AS VARCHAR), 'fx_rate_date', CAST(b.fx_rate_date AS VARCHAR),
           'hybrid', {hybrid})
FROM breakeven b
{join}
WHERE b.verdict = 'dedicated_cheaper' AND b.month >= ?
"""

# Summed per invoice; findings without an invoice id are summed per provider and month.
_INVOICE_SQL = """
WITH f AS (
    SELECT *, provider || '|' || coalesce(invoice_id, '') || '|'
              || CASE WHEN invoice_id IS NULL THEN strftime(charge_month, '%Y-%m') ELSE '' END AS gk
    FROM invoice_audit
),
g AS (
    SELECT gk, any_value(provider) AS provider, any_value(invoice_id) AS invoice_id,
           strftime(min(charge_month), '%Y-%m') AS period,
           count(*) FILTER (WHERE above_tolerance) AS findings,
           sum(amount_at_stake_reporting) FILTER (WHERE above_tolerance) AS at_stake,
           any_value(reporting_currency) AS reporting_currency,
           count(DISTINCT currency) FILTER (WHERE above_tolerance) AS currencies,
           any_value(currency) FILTER (WHERE above_tolerance) AS currency,
           sum(billed) FILTER (WHERE above_tolerance) AS billed,
           sum(expected) FILTER (WHERE above_tolerance) AS expected,
           min(charge_date) FILTER (WHERE above_tolerance) AS first_date,
           max(charge_date) FILTER (WHERE above_tolerance) AS last_date
    FROM f GROUP BY gk
    HAVING count(*) FILTER (WHERE above_tolerance) > 0
),
k AS (
    SELECT gk, finding, count(*) AS lines, sum(amount_at_stake_reporting) AS amt
    FROM f WHERE above_tolerance GROUP BY gk, finding
),
kk AS (
    SELECT gk, list(json_object('finding', finding, 'lines', lines, 'at_stake', CAST(amt AS VARCHAR)) ORDER BY amt DESC, finding) AS by_finding
    FROM k GROUP BY gk
),
ex AS (
    SELECT gk, list(DISTINCT team ORDER BY team) AS teams,
           list(description ORDER BY abs(amount_at_stake_reporting) DESC, line_id)[1:3] AS examples
    FROM f WHERE above_tolerance GROUP BY gk
)
SELECT 'invoice_discrepancy', ?, g.period, g.provider || '|' || coalesce(g.invoice_id, ''),
       json_object(
           'provider', g.provider, 'invoice_id', g.invoice_id, 'month', g.period, 'findings', g.findings,
           'at_stake', CAST(g.at_stake AS VARCHAR), 'reporting_currency', g.reporting_currency,
           'tolerance_pct', (SELECT CAST(tolerance_pct AS VARCHAR) FROM config.settings LIMIT 1),
           'tolerance_abs', (SELECT CAST(tolerance_abs AS VARCHAR) FROM config.settings LIMIT 1),
           'currency', CASE WHEN g.currencies = 1 THEN g.currency END,
           'billed', CASE WHEN g.currencies = 1 THEN CAST(g.billed AS VARCHAR) END,
           'expected', CASE WHEN g.currencies = 1 THEN CAST(g.expected AS VARCHAR) END,
           'first_date', CAST(g.first_date AS VARCHAR), 'last_date', CAST(g.last_date AS VARCHAR),
           'by_finding', kk.by_finding, 'teams', ex.teams, 'examples', ex.examples)
FROM g JOIN kk USING (gk) JOIN ex USING (gk)
WHERE CAST(g.period || '-01' AS DATE) >= ?
"""

# A provider the organisation uses changed a price it pays: the same GPU class on the same kind of
# product, or the model (or its dateless alias: gpt-4o-2024-08-06 -> gpt-4o) it is billed for.
_PRICE_CHANGE_SQL = r"""
WITH used AS (
    SELECT DISTINCT x_provider AS provider, x_product_kind AS product_kind, x_gpu_class AS gpu_class,
           x_model AS model, regexp_replace(x_model, '-(\d{4}-\d{2}-\d{2}|\d{8})$', '') AS model_alias, x_team AS team
    FROM billing_line_items
),
ch AS (
    SELECT o.provider, o.source_id, o.product_kind, o.sku, o.component, o.tier, o.region, o.gpu_model, o.unit,
           o.currency, o.amount AS old_amount, n.amount AS new_amount, n.currency AS new_currency, n.valid_from AS changed_at
    FROM price_history o
    JOIN price_history n ON n.price_key = o.price_key AND n.valid_from = o.valid_to
    LEFT JOIN price_sources ps ON ps.source_id = o.source_id
    WHERE o.closed_reason = 'changed' AND NOT coalesce(ps.is_catalog, false) AND n.valid_from >= ?
),
m AS (
    SELECT ch.*, u.team
    FROM ch JOIN used u ON u.provider = ch.provider AND (
        (ch.gpu_model IS NOT NULL AND u.gpu_class = ch.gpu_model AND u.product_kind = ch.product_kind)
        OR (u.model IS NOT NULL AND ch.sku IN (u.model, u.model_alias)))
),
rep AS (
    SELECT * FROM m
    QUALIFY row_number() OVER (PARTITION BY provider, sku, component, tier, changed_at
                               ORDER BY region NULLS FIRST, unit, source_id, team) = 1
),
agg AS (
    SELECT provider, sku, component, tier, changed_at, list(DISTINCT team ORDER BY team) AS teams,
           count(DISTINCT coalesce(region, '')) AS regions
    FROM m GROUP BY provider, sku, component, tier, changed_at
)
SELECT 'price_change', ?, strftime(r.changed_at, '%Y-%m'),
       concat_ws('|', r.provider, r.sku, r.component, coalesce(r.tier, ''), strftime(r.changed_at, '%Y-%m-%dT%H:%M:%S')),
       json_object(
           'provider', r.provider, 'source_id', r.source_id, 'product_kind', r.product_kind, 'sku', r.sku,
           'component', r.component, 'tier', r.tier, 'region', r.region, 'regions', a.regions, 'gpu_model', r.gpu_model,
           'unit', r.unit, 'currency', r.currency, 'new_currency', r.new_currency,
           'old_amount', CAST(r.old_amount AS VARCHAR), 'new_amount', CAST(r.new_amount AS VARCHAR),
           'changed_at', strftime(r.changed_at, '%Y-%m-%dT%H:%M:%S'), 'teams', a.teams)
FROM rep r JOIN agg a ON a.provider = r.provider AND a.sku = r.sku AND a.component = r.component
                     AND a.tier IS NOT DISTINCT FROM r.tier AND a.changed_at = r.changed_at
"""

# Failing for more than a day: the latest (ok|failed) attempt failed, and the last ok one is more
# than 24 h before it, or there never was one and the failures span more than 24 h.
_SOURCE_STALE_SQL = """
WITH a AS (
    SELECT source_id, attempted_at, status, error FROM price_fetches WHERE status IN ('ok', 'failed')
),
s AS (
    SELECT source_id, max(attempted_at) AS last_attempt, arg_max(status, attempted_at) AS last_status,
           arg_max(error, attempted_at) AS last_error, max(attempted_at) FILTER (WHERE status = 'ok') AS last_ok
    FROM a GROUP BY source_id
),
f AS (
    SELECT s.source_id, min(a.attempted_at) AS failing_since, count(*) AS failures
    FROM s JOIN a ON a.source_id = s.source_id AND a.status = 'failed' AND (s.last_ok IS NULL OR a.attempted_at > s.last_ok)
    GROUP BY s.source_id
)
SELECT 'source_stale', ?, strftime(f.failing_since, '%Y-%m-%d'), s.source_id,
       json_object(
           'source_id', s.source_id, 'provider', ps.provider,
           'last_ok', strftime(s.last_ok, '%Y-%m-%d %H:%M'), 'last_attempt', strftime(s.last_attempt, '%Y-%m-%d %H:%M'),
           'failing_since', strftime(f.failing_since, '%Y-%m-%d %H:%M'), 'failures', f.failures,
           'last_error', left(s.last_error, 300))
FROM s JOIN f USING (source_id)
LEFT JOIN price_sources ps USING (source_id)
WHERE s.last_status = 'failed' AND NOT coalesce(ps.discontinued, false)
  AND CASE WHEN s.last_ok IS NOT NULL THEN s.last_attempt - s.last_ok > INTERVAL 24 HOUR
           ELSE s.last_attempt - f.failing_since > INTERVAL 24 HOUR END
"""

_INGEST_SQL = """
WITH r AS (
    SELECT file_hash, reason, count(*) AS n FROM ingest_rejects GROUP BY file_hash, reason
),
rr AS (
    SELECT file_hash, list(json_object('reason', left(reason, 200), 'rows', n) ORDER BY n DESC, reason)[1:5] AS reasons
    FROM r GROUP BY file_hash
)
SELECT 'ingest_rejects', ?, strftime(f.ingested_at, '%Y-%m'), f.file_hash,
       json_object(
           'file_hash', f.file_hash, 'file_path', f.file_path, 'format', f.format,
           'rows_read', f.rows_read, 'rows_loaded', f.rows_loaded, 'rows_rejected', f.rows_rejected,
           'period_start', CAST(f.period_start AS VARCHAR), 'period_end', CAST(f.period_end AS VARCHAR),
           'ingested_at', strftime(f.ingested_at, '%Y-%m-%d %H:%M'), 'reasons', rr.reasons)
FROM ingested_files f LEFT JOIN rr USING (file_hash)
WHERE f.rows_rejected > 0 AND f.ingested_at >= ?
"""


@dataclass(frozen=True)
class _KindQuery:
    kinds: tuple[str, ...]
    sql: str
    params: tuple[Any, ...]
    scoped: bool = True  # resolution limited to periods >= window start (False: the condition is "now")


def _kind_queries(con: duckdb.DuckDBPyConnection, since: date) -> tuple[list[_KindQuery], dict[str, str], list[str]]:
    """The queries that can run against this warehouse, the kinds skipped (with why), and notes."""
    have = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
    queries: list[_KindQuery] = []
    skipped: dict[str, str] = {}
    notes: list[str] = []

    def need(kinds: tuple[str, ...], tables: tuple[str, ...]) -> bool:
        missing = [t for t in tables if t not in have]
        if missing:
            for k in kinds:
                skipped[k] = f"model {', '.join(missing)} not built yet"
            return False
        return True

    th = ("threshold_crossed", "threshold_projected")
    if need(th, ("threshold_flags", "team_monthly_spend")):
        queries.append(_KindQuery(th, _THRESHOLD_SQL, (since,)))
    if need(("dedicated_cheaper",), ("breakeven",)):
        if "hybrid_plan" in have:
            sql = _DEDICATED_SQL.format(hybrid=_HYBRID_JSON, join="LEFT JOIN hybrid_plan h ON h.month = b.month AND h.team = b.team AND h.gpu_class = b.gpu_class")
        else:
            sql = _DEDICATED_SQL.format(hybrid="NULL", join="")
            notes.append("hybrid_plan not built yet: dedicated_cheaper alerts carry no hybrid plan")
        queries.append(_KindQuery(("dedicated_cheaper",), sql, (since,)))
    if need(("invoice_discrepancy",), ("invoice_audit",)):
        queries.append(_KindQuery(("invoice_discrepancy",), _INVOICE_SQL, (ORG, since)))
    if need(("price_change",), ("price_history", "price_sources", "billing_line_items")):
        queries.append(_KindQuery(("price_change",), _PRICE_CHANGE_SQL, (since, ORG)))
    if need(("source_stale",), ("price_fetches", "price_sources")):
        queries.append(_KindQuery(("source_stale",), _SOURCE_STALE_SQL, (ORG,), scoped=False))
    if need(("ingest_rejects",), ("ingested_files", "ingest_rejects")):
        queries.append(_KindQuery(("ingest_rejects",), _INGEST_SQL, (ORG, since)))
    return queries, skipped, notes


# --- evaluation -----------------------------------------------------------------------

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
    woken: list[int] = field(default_factory=list)
    evaluated: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _ids(cur: duckdb.DuckDBPyConnection) -> list[int]:
    return [r[0] for r in cur.fetchall()]


def _wake_snoozed(con: duckdb.DuckDBPyConnection, now: datetime) -> list[int]:
    """Snoozes whose date has come: open again, and queued again (a reminder) if it had been delivered."""
    return _ids(con.execute(
        """UPDATE alerts SET state = 'open', state_changed_at = ?,
                  reminder = (delivery <> 'pending'),
                  delivery = 'pending',
                  attempts = CASE WHEN delivery = 'pending' THEN attempts ELSE 0 END,
                  next_attempt_at = NULL
           WHERE state = 'snoozed' AND snoozed_until <= ?
           RETURNING alert_id""",
        [now, london_day(now)],
    ))


def evaluate(con: duckdb.DuckDBPyConnection, as_of: date | None = None, now: datetime | None = None,
             months_back: int = MONTHS_BACK) -> Evaluation:
    """Raise, refresh, escalate and resolve alerts from the warehouse as it stands, in one transaction.

    Month-based kinds cover the as-of month and ``months_back`` before it (and anything later);
    source_stale is about now.  Re-running with the same warehouse changes nothing and queues nothing.
    """
    now = _naive_utc(now) if now else _utcnow()
    as_of = as_of or london_day(now)
    since = window_start(as_of, months_back)
    ev = Evaluation(as_of=as_of, since=since)
    queries, ev.skipped, ev.notes = _kind_queries(con, since)
    ev.evaluated = [k for q in queries for k in q.kinds]
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            """CREATE OR REPLACE TEMP TABLE _alert_conditions
               (kind VARCHAR, team VARCHAR, period VARCHAR, subject VARCHAR, details JSON)"""
        )
        for q in queries:
            con.execute(f"INSERT INTO _alert_conditions {q.sql}", list(q.params))
        # One row per key, whatever a model's grain turns out to be.
        con.execute(
            """CREATE OR REPLACE TEMP TABLE _alert_conditions AS
               SELECT * FROM _alert_conditions
               QUALIFY row_number() OVER (PARTITION BY kind, team, period, subject ORDER BY CAST(details AS VARCHAR)) = 1"""
        )
        ev.conditions = con.execute("SELECT count(*) FROM _alert_conditions").fetchone()[0]
        ev.woken = _wake_snoozed(con, now)
        ev.reopened = _ids(con.execute(
            """UPDATE alerts AS a SET occurrence = a.occurrence + 1, state = 'open', delivery = 'pending',
                      details = c.details, raised_at = ?, last_seen_at = ?, state_changed_at = ?,
                      resolved_at = NULL, escalated_to = NULL, acked_at = NULL, acked_by = NULL, snoozed_until = NULL,
                      reminder = false, attempts = 0, last_attempt_at = NULL, next_attempt_at = NULL, last_error = NULL,
                      sent_at = NULL, response_status = NULL, response_body = NULL, channel = NULL, destination = NULL
               FROM _alert_conditions c
               WHERE a.kind = c.kind AND a.team = c.team AND a.period = c.period AND a.subject = c.subject
                 AND a.state IN ('resolved', 'escalated')
               RETURNING a.alert_id""",
            [now, now, now],
        ))
        con.execute(
            """UPDATE alerts AS a SET details = c.details, last_seen_at = ?
               FROM _alert_conditions c
               WHERE a.kind = c.kind AND a.team = c.team AND a.period = c.period AND a.subject = c.subject
                 AND a.state IN ('open', 'acked', 'snoozed')""",
            [now],
        )
        ev.raised = _ids(con.execute(
            """INSERT INTO alerts (kind, team, period, subject, details, first_raised_at, raised_at, last_seen_at, state_changed_at)
               SELECT c.kind, c.team, c.period, c.subject, c.details, ?, ?, ?, ?
               FROM _alert_conditions c
               WHERE NOT EXISTS (SELECT 1 FROM alerts a WHERE a.kind = c.kind AND a.team = c.team
                                 AND a.period = c.period AND a.subject = c.subject)
               ORDER BY c.kind, c.team, c.period, c.subject
               ON CONFLICT DO NOTHING
               RETURNING alert_id""",
            [now, now, now, now],
        ))
        if "threshold_crossed" in ev.evaluated:
            ev.escalated = _ids(con.execute(
                """UPDATE alerts AS p SET state = 'escalated', escalated_to = c.alert_id, state_changed_at = ?,
                          delivery = CASE WHEN p.delivery = 'pending' THEN 'cancelled' ELSE p.delivery END
                   FROM alerts AS c
                   WHERE p.kind = 'threshold_projected' AND p.state IN ('open', 'acked', 'snoozed')
                     AND c.kind = 'threshold_crossed' AND c.state IN ('open', 'acked', 'snoozed')
                     AND c.team = p.team AND c.period = p.period AND c.subject = p.subject
                   RETURNING p.alert_id""",
                [now],
            ))
        scoped = [k for q in queries if q.scoped for k in q.kinds]
        unscoped = [k for q in queries if not q.scoped for k in q.kinds]
        if ev.evaluated:
            ev.resolved = _ids(con.execute(
                """UPDATE alerts AS a SET state = 'resolved', resolved_at = ?, state_changed_at = ?,
                          delivery = CASE WHEN a.delivery = 'pending' THEN 'cancelled' ELSE a.delivery END
                   WHERE a.state IN ('open', 'acked', 'snoozed')
                     AND ((list_contains(?, a.kind) AND TRY_CAST(left(a.period, 7) || '-01' AS DATE) >= ?)
                          OR list_contains(?, a.kind))
                     AND NOT EXISTS (SELECT 1 FROM _alert_conditions c WHERE a.kind = c.kind AND a.team = c.team
                                     AND a.period = c.period AND a.subject = c.subject)
                   RETURNING a.alert_id""",
                [now, now, scoped, since, unscoped],
            ))
        con.execute("DROP TABLE IF EXISTS _alert_conditions")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return ev


def raise_alert(con: duckdb.DuckDBPyConnection, kind: str, team: str, period: str, subject: str,
                details: dict[str, Any], now: datetime | None = None) -> tuple[int, bool]:
    """Store one event-style alert (a run failure) once; return (alert_id, newly queued).  Idempotent on its key."""
    if kind not in KINDS:
        raise ValueError(f"unknown alert kind {kind!r}")
    now = _naive_utc(now) if now else _utcnow()
    con.execute("BEGIN TRANSACTION")
    try:
        row = con.execute(
            """INSERT INTO alerts (kind, team, period, subject, details, first_raised_at, raised_at, last_seen_at, state_changed_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING alert_id""",
            [kind, team, period, subject, json.dumps(details, default=str), now, now, now, now],
        ).fetchone()
        if row is None:
            row = con.execute(
                "SELECT alert_id FROM alerts WHERE kind = ? AND team = ? AND period = ? AND subject = ?",
                [kind, team, period, subject],
            ).fetchone()
            con.execute("COMMIT")
            return row[0], False
        con.execute("COMMIT")
        return row[0], True
    except Exception:
        con.execute("ROLLBACK")
        raise


# --- people quieting alerts -----------------------------------------------------------

def get_alert(con: duckdb.DuckDBPyConnection, alert_id: int) -> Alert:
    if not _has_alerts_table(con):
        raise UsageError("no alerts yet: run `spendwatch run` first")
    found = _alerts(con, "alert_id = ?", [alert_id])
    if not found:
        raise UsageError(f"alert {alert_id}: no such alert (see `spendwatch alerts list --state all`)")
    return found[0]


def ack(con: duckdb.DuckDBPyConnection, alert_id: int, by: str | None = None, now: datetime | None = None) -> Alert:
    """Acknowledge: someone is on it.  Not delivered (again) until it resolves and comes back."""
    now = _naive_utc(now) if now else _utcnow()
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
    now = _naive_utc(now) if now else _utcnow()
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
    return _ids(con.execute(
        """UPDATE alerts SET delivery = 'pending', next_attempt_at = NULL
           WHERE delivery = 'failed' AND state = 'open' RETURNING alert_id"""
    ))


# --- the outbox ------------------------------------------------------------------------

def deliverable(con: duckdb.DuckDBPyConnection, now: datetime | None = None, ids: Iterable[int] | None = None) -> list[Alert]:
    """Alerts to send now: open, pending, and not asked to wait (next_attempt_at)."""
    now = _naive_utc(now) if now else _utcnow()
    ids = list(ids) if ids is not None else None
    return _alerts(
        con,
        "delivery = 'pending' AND state = 'open' AND (next_attempt_at IS NULL OR next_attempt_at <= ?)"
        " AND (? IS NULL OR list_contains(?, alert_id))",
        [now, ids, ids],
        order="raised_at, alert_id",
    )


_RECORD_SQL = """
UPDATE alerts AS a SET
    delivery        = CASE o.status WHEN 'sent' THEN 'sent' WHEN 'failed' THEN 'failed' ELSE 'pending' END,
    attempts        = a.attempts + o.n,
    last_attempt_at = CASE WHEN o.n > 0 THEN o.at ELSE a.last_attempt_at END,
    channel         = CASE WHEN o.status = 'deferred' THEN a.channel ELSE o.channel END,
    destination     = CASE WHEN o.status = 'deferred' THEN a.destination ELSE o.destination END,
    response_status = CASE WHEN o.status = 'deferred' THEN a.response_status ELSE o.status_code END,
    response_body   = CASE WHEN o.status = 'deferred' THEN a.response_body ELSE o.body END,
    last_error      = CASE o.status WHEN 'sent' THEN NULL WHEN 'deferred' THEN a.last_error ELSE o.error END,
    sent_at         = CASE WHEN o.status = 'sent' THEN o.at ELSE a.sent_at END,
    next_attempt_at = CASE WHEN o.status IN ('sent', 'failed') THEN NULL ELSE o.next_at END
FROM (SELECT unnest(?::BIGINT[]) AS alert_id, unnest(?::INTEGER[]) AS occurrence, unnest(?::VARCHAR[]) AS status,
             unnest(?::INTEGER[]) AS n, unnest(?::TIMESTAMP[]) AS at, unnest(?::VARCHAR[]) AS channel,
             unnest(?::VARCHAR[]) AS destination, unnest(?::INTEGER[]) AS status_code, unnest(?::VARCHAR[]) AS body,
             unnest(?::VARCHAR[]) AS error, unnest(?::TIMESTAMP[]) AS next_at) AS o
WHERE a.alert_id = o.alert_id AND a.occurrence = o.occurrence AND a.delivery = 'pending'
"""

_ATTEMPTS_SQL = """
INSERT INTO alert_attempts
SELECT unnest(?::BIGINT[]), unnest(?::INTEGER[]), unnest(?::TIMESTAMP[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]),
       unnest(?::VARCHAR[]), unnest(?::INTEGER[]), unnest(?::DOUBLE[]), unnest(?::VARCHAR[])
"""


def record_outcomes(con: duckdb.DuckDBPyConnection, results: Sequence[tuple[Alert, Outcome]], now: datetime | None = None) -> None:
    """Store what deliveries came to (one transaction for the batch), with every attempt for the audit trail.

    Only a row still pending for the same occurrence is changed.  Every text is redacted again here.
    """
    if not results:
        return
    now = _naive_utc(now) if now else _utcnow()
    cols: list[list[Any]] = [[] for _ in range(11)]
    att: list[list[Any]] = [[] for _ in range(9)]
    for alert, o in results:
        next_at = now + timedelta(seconds=o.retry_in) if o.retry_in else None
        row = (alert.alert_id, alert.occurrence, o.status, len(o.attempts), now, o.channel, o.destination, o.status_code,
               redact(o.body) if o.body else None, redact(o.error) if o.error else None, next_at)
        for c, v in zip(cols, row):
            c.append(v)
        for at in o.attempts:
            for c, v in zip(att, (alert.alert_id, alert.occurrence, at.at, o.channel, o.destination, at.outcome,
                                  at.status_code, at.retry_after, redact(at.error) if at.error else None)):
                c.append(v)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(_RECORD_SQL, cols)
        if att[0]:
            con.execute(_ATTEMPTS_SQL, att)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def record_outcome(con: duckdb.DuckDBPyConnection, alert: Alert, outcome: Outcome, now: datetime | None = None) -> None:
    """Store what one delivery came to, in its own transaction."""
    record_outcomes(con, [(alert, outcome)], now)


@dataclass
class SendResult:
    """One send pass: what was sent, what stays pending (and why), what failed for good."""

    attempted: int = 0
    sent: int = 0
    retry: int = 0
    failed: int = 0
    deferred: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # redacted, one per alert that did not go
    pending: int = 0       # pending in the table after the pass (including those waiting for next_attempt_at)
    failed_total: int = 0  # failed in the table after the pass


FLUSH_EVERY = 20          # outcomes recorded per transaction at most ...
FLUSH_SECONDS = 0.1       # ... and at least this often while answers arrive


def send_pending(con: duckdb.DuckDBPyConnection, sender: SlackSender, now: datetime | None = None,
                 ids: Iterable[int] | None = None, flush_every: int = FLUSH_EVERY) -> SendResult:
    """One send pass over the outbox: deliver every deliverable alert concurrently, record the answers as they come.

    HTTP runs on ``sender.concurrency`` threads; every database write happens here, on the caller's thread
    and connection, in small batches (``flush_every`` answers or 0.1 s, whichever comes first; 1 records
    each answer on its own).  A crash can lose at most the last unrecorded batch of ``sent`` marks, and
    those alerts are sent again: never lost, rarely twice.  Never raises for Slack trouble: what did not
    go stays pending (or failed).
    """
    clock = (lambda: _naive_utc(now)) if now else _utcnow
    res = SendResult()
    _wake_snoozed(con, clock())
    batch = deliverable(con, clock(), ids)
    res.attempted = len(batch)
    sender.begin_pass()
    secrets = sender.routing.secrets()
    buffered: list[tuple[Alert, Outcome]] = []
    since = time.monotonic()

    def flush() -> None:
        record_outcomes(con, buffered, clock())
        buffered.clear()

    try:
        with ThreadPoolExecutor(max_workers=sender.concurrency, thread_name_prefix="slack") as pool:
            futures = {pool.submit(sender.deliver, a.message()): a for a in batch}
            for fut in as_completed(futures):
                alert = futures[fut]
                try:
                    outcome = fut.result()
                except Exception as e:  # building this one message failed: keep it pending, carry on with the rest
                    outcome = Outcome("retry", "unknown", "unknown", error=f"could not build the message: {redact_exception(e, secrets)}")
                if not buffered:
                    since = time.monotonic()
                buffered.append((alert, outcome))
                if len(buffered) >= max(1, flush_every) or time.monotonic() - since >= FLUSH_SECONDS:
                    flush()
                setattr(res, outcome.status, getattr(res, outcome.status) + 1)
                if outcome.status == "sent":
                    res.by_channel[outcome.channel] = res.by_channel.get(outcome.channel, 0) + 1
                elif outcome.error:
                    res.errors.append(f"#{alert.alert_id} {alert.kind} {alert.team}: {redact(outcome.error, secrets)}")
    finally:
        flush()
    c = counts(con)
    res.pending, res.failed_total = c.get("pending", 0), c.get("failed", 0)
    return res


# --- reading -----------------------------------------------------------------------------

def list_alerts(con: duckdb.DuckDBPyConnection, state: str = "active", kind: str | None = None, team: str | None = None) -> list[Alert]:
    """Alerts by state (open, acked, snoozed, resolved, escalated), delivery (pending, sent, failed, …), 'active' or 'all'."""
    if not _has_alerts_table(con):
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
    return _alerts(con, where, [*params, kind, kind, team, team], order="raised_at DESC, alert_id DESC")


def failed_alerts(con: duckdb.DuckDBPyConnection) -> list[Alert]:
    """Alerts Slack refused for good (bad webhook, missing channel, invalid payload): for the review to show."""
    if not _has_alerts_table(con):
        return []
    return _alerts(con, "delivery = 'failed'", order="last_attempt_at DESC NULLS LAST, alert_id")


def pending_alerts(con: duckdb.DuckDBPyConnection) -> list[Alert]:
    """Alerts stored but not yet delivered (Slack down, rate limited, or snoozed)."""
    if not _has_alerts_table(con):
        return []
    return _alerts(con, "delivery = 'pending' AND state IN ('open', 'snoozed')", order="raised_at, alert_id")


def counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """How many alerts per state and per delivery status ('pending' counts only those that will still go)."""
    if not _has_alerts_table(con):
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
    return con.execute(
        """SELECT occurrence, attempted_at, channel, destination, outcome, status_code, retry_after, error
           FROM alert_attempts WHERE alert_id = ? ORDER BY attempted_at, occurrence""",
        [alert_id],
    ).fetchall()
