"""Writing price observations into the effective-dated ``price_history``.

For each source and observation time:
  * the same price again inserts and extends nothing;
  * a changed price closes the open row (valid_to = observed_at) and opens a new one;
  * a price that disappeared from the source is closed, never deleted;
  * the plausibility gates (``scrapers.plausibility``) ran at fetch: zeros ("not offered",
    "free") and, in catalogs, negative or implausible entries arrive dropped and counted;
    a provider capture with an implausible price arrives failed;
  * a capture missing more than a third of the SKUs in force is refused whole (a truncated
    page); a SKU missing from an otherwise complete capture is closed;
  * on a provider's own source, a price that moved more than 3x is held, not applied
    (``warehouse.price_holds``), until the next capture agrees or ``accept_held`` releases it.
History is never rewritten: an observation older than the source's latest one is refused.
A failed (or deferred) fetch writes only its ``price_fetches`` row, so the last good prices stay
in force.  Every good fetch records when its payload was captured (``captured_at``), which is
what freshness (``dbt_like_sql/marts/source_freshness.sql``) ages the prices in force from.
Raw payloads are archived gzip-compressed by source and date, so any day's parse can be re-run.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pyarrow as pa

from scrapers.base import FetchOutcome, PriceRecord
from warehouse.price_holds import has_open_holds, screen_suspects, take_for_accept

IDENTITY = ("source_id", "provider", "sku", "component", "unit", "region", "tier")


@dataclass
class ApplyResult:
    source_id: str
    status: str  # ok | unchanged | failed | deferred | skipped | refused
    mode: str
    records: int = 0
    dropped: int = 0
    inserted: int = 0
    closed: int = 0
    error: str | None = None
    archive_path: str | None = None
    zeros: int = 0  # zero prices ("not offered", "free") skipped
    implausible: int = 0  # catalog entries outside the plausibility bounds, dropped
    held: list[str] = field(default_factory=list)  # price keys held as suspect changes
    confirmed: list[str] = field(default_factory=list)  # held prices this capture confirmed (applied)


def price_key(r: PriceRecord) -> str:
    ident = "\x1f".join("" if getattr(r, f) is None else str(getattr(r, f)) for f in IDENTITY)
    return hashlib.sha256(ident.encode()).hexdigest()[:32]


def archive_payload(archive_dir: Path, outcome: FetchOutcome, observed_at: datetime) -> Path | None:
    if outcome.payload is None or outcome.payload_sha256 is None:
        return None
    folder = archive_dir / outcome.source_id / observed_at.date().isoformat()
    path = folder / f"{outcome.payload_sha256[:16]}.{outcome.extension}.gz"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(gzip.compress(outcome.payload, mtime=0))
        tmp.replace(path)
    return path


def _records_table(records: list[PriceRecord]) -> pa.Table:
    cols = {
        "price_key": [price_key(r) for r in records],
        "source_id": [r.source_id for r in records],
        "provider": [r.provider for r in records],
        "product_kind": [r.product_kind for r in records],
        "sku": [r.sku for r in records],
        "component": [r.component for r in records],
        "unit": [r.unit for r in records],
        "region": [r.region for r in records],
        "tier": [r.tier for r in records],
        "gpu_model": [r.gpu_model for r in records],
        "gpu_count": [r.gpu_count for r in records],
        # Decimal -> string -> DECIMAL in SQL: exact, no float on the way.
        "amount": [str(r.amount) for r in records],
        "currency": [r.currency for r in records],
        "note": [r.note for r in records],
        "source_url": [r.source_url for r in records],
        "payload_sha256": [r.payload_sha256 for r in records],
        # What a dedicated offer commits you to (migration 012); decimals as strings, like amount.
        "term_months": [None if r.term_months is None else str(r.term_months) for r in records],
        "billing": [r.billing for r in records],
        "upfront_amount": [None if r.upfront_amount is None else str(r.upfront_amount) for r in records],
        "min_units": [r.min_units for r in records],
    }
    schema = pa.schema([(k, pa.int32() if k in ("gpu_count", "min_units") else pa.string()) for k in cols])
    return pa.table(cols, schema=schema)


def _last_ok(con: duckdb.DuckDBPyConnection, source_id: str):
    return con.execute(
        """SELECT observed_at, payload_sha256 FROM price_fetches
           WHERE source_id = ? AND status = 'ok' ORDER BY observed_at DESC, attempted_at DESC LIMIT 1""",
        [source_id],
    ).fetchone()


def apply_outcome(
    con: duckdb.DuckDBPyConnection,
    outcome: FetchOutcome,
    observed_at: datetime,
    archive_dir: Path | None = None,
) -> ApplyResult:
    """Apply one fetch outcome to the warehouse in one transaction (see the module docstring)."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    sid = outcome.source_id
    res = ApplyResult(sid, outcome.status, outcome.mode, error=outcome.error, records=len(outcome.records) + outcome.dropped,
                      dropped=outcome.dropped, zeros=outcome.zeros, implausible=outcome.implausible)
    if outcome.status == "skipped":
        return res  # nothing attempted, nothing to record
    last = _last_ok(con, sid)
    if outcome.status == "ok" and last is not None:
        last_at, last_sha = last
        if last_sha == outcome.payload_sha256 and last_at.date() == observed_at.date():
            res.status = "unchanged"
            return res
        if observed_at <= last_at:
            res.status = "refused"
            res.error = (
                f"{sid}: observation {observed_at:%Y-%m-%d %H:%M} is not newer than the latest "
                f"({last_at:%Y-%m-%d %H:%M}); history is never rewritten"
            )
            return res
    # The same payload as the last good one parses to the same prices: nothing can open, change or
    # close, so only the fetch is recorded (it keeps the source fresh).  Unless prices are held: a
    # second capture that agrees is what releases them.
    same_payload = (outcome.status == "ok" and last is not None and last[1] == outcome.payload_sha256
                    and not has_open_holds(con, sid))
    if archive_dir is not None and outcome.payload is not None:
        p = archive_payload(archive_dir, outcome, observed_at)
        res.archive_path = str(p) if p else None

    con.execute("BEGIN TRANSACTION")
    try:
        if outcome.status == "ok" and not same_payload:
            _apply_capture(con, outcome, observed_at, last[0] if last else None, res)
        con.execute(
            """INSERT INTO price_fetches (source_id, attempted_at, observed_at, mode, status, error, records, dropped,
                                          inserted, closed, payload_sha256, archive_path, source_url, zeros, implausible,
                                          held, captured_at, capture_basis)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [
                sid, now, observed_at, outcome.mode, res.status, res.error, res.records, res.dropped, res.inserted,
                res.closed, outcome.payload_sha256, res.archive_path, outcome.url, res.zeros, res.implausible,
                len(res.held), outcome.captured_at if res.status == "ok" else None, outcome.capture_basis,
            ],
        )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return res


def _apply_capture(con, outcome: FetchOutcome, observed_at: datetime, previous_at: datetime | None, res: ApplyResult) -> None:
    """The history writes of one good capture, in the caller's transaction; a refusal sets res.status = failed."""
    sid = outcome.source_id
    keep = outcome.records
    keys = [price_key(r) for r in keep]
    if len(set(keys)) != len(keys):
        dup = next(r for r in keep if keys.count(price_key(r)) > 1)
        raise ValueError(f"{sid}: the parse returned {dup.sku}/{dup.component}/{dup.tier} twice")
    refusal = _truncated(con, sid, {r.sku for r in keep})
    if refusal:
        res.status, res.error = "failed", refusal
        return
    _load_observations(con, keep)
    if not outcome.catalog:
        held, confirmed = screen_suspects(con, sid, dict(zip(keys, keep)), observed_at, previous_at)
        if held:
            con.execute("UPDATE _obs_t SET held = true WHERE list_contains(?, price_key)", [sorted(held)])
        res.held, res.confirmed = sorted(held), sorted(confirmed)
    res.closed, res.inserted = _write_observations(con, sid, observed_at, close_missing=True)


def _truncated(con, source_id: str, skus: set[str]) -> str | None:
    """Why a capture missing more than a third of the SKUs in force is refused, or None."""
    in_force = {r[0] for r in con.execute(
        "SELECT DISTINCT sku FROM price_history WHERE source_id = ? AND valid_to IS NULL", [source_id]).fetchall()}
    missing = sorted(in_force - skus)
    if in_force and len(missing) * 3 > len(in_force):
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        return (f"{source_id}: truncated capture refused: {len(missing)} of the {len(in_force)} SKUs in force are missing "
                f"(more than a third): {shown}; the last good prices stay in force")
    return None


def _load_observations(con, records: list[PriceRecord]) -> None:
    """The records as temp table ``_obs_t`` (exact decimals, a ``held`` flag)."""
    obs = _records_table(records)
    con.register("_obs", obs)
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE _obs_t AS SELECT *, CAST(amount AS DECIMAL(24,12)) AS amt, "
            "CAST(term_months AS DECIMAL(6,2)) AS term, CAST(upfront_amount AS DECIMAL(24,12)) AS upfront, false AS held FROM _obs")
    finally:
        con.unregister("_obs")


def _write_observations(con, source_id: str, observed_at: datetime, *, close_missing: bool) -> tuple[int, int]:
    """Apply ``_obs_t`` to price_history as of ``observed_at``: (closed, inserted).  Held rows change nothing."""
    # Close rows whose price changed, and (with close_missing) rows that disappeared from the source.
    closed = con.execute(
        """UPDATE price_history h
           SET valid_to = $at, closed_reason = CASE WHEN o.price_key IS NULL THEN 'disappeared' ELSE 'changed' END
           FROM (SELECT h2.price_key AS k, o2.price_key
                 FROM price_history h2 LEFT JOIN _obs_t o2 ON o2.price_key = h2.price_key
                 WHERE h2.source_id = $sid AND h2.valid_to IS NULL
                   AND ((o2.price_key IS NULL AND $close)
                        OR (NOT o2.held AND (o2.amt <> h2.amount OR o2.currency <> h2.currency
                            OR (o2.term, o2.billing, o2.upfront, o2.min_units)
                               IS DISTINCT FROM (h2.term_months, h2.billing, h2.upfront_amount, h2.min_units))))) o
           WHERE h.price_key = o.k AND h.valid_to IS NULL""",
        # Named: a DuckLake UPDATE binds positional parameters out of order (DuckDB 1.5.5).
        {"at": observed_at, "sid": source_id, "close": close_missing},
    ).fetchone()[0]
    inserted = con.execute(
        """INSERT INTO price_history BY NAME
           SELECT o.price_key, o.source_id, o.provider, o.product_kind, o.sku, o.component, o.unit,
                  o.region, o.tier, o.gpu_model, o.gpu_count, o.amt AS amount, o.currency, o.note,
                  ? AS valid_from, NULL AS valid_to, ? AS fetched_at, o.source_url, o.payload_sha256,
                  NULL AS closed_reason, o.term AS term_months, o.billing, o.upfront AS upfront_amount, o.min_units
           FROM _obs_t o
           WHERE NOT o.held
             AND NOT EXISTS (SELECT 1 FROM price_history h WHERE h.price_key = o.price_key AND h.valid_to IS NULL)""",
        [observed_at, observed_at],
    ).fetchone()[0]
    con.execute("DROP TABLE _obs_t")
    return closed, inserted


def accept_held(con: duckdb.DuckDBPyConnection, source_id: str) -> list[PriceRecord]:
    """Apply every price held for ``source_id`` (``spendwatch prices accept``), each as of the latest capture that showed it."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    con.execute("BEGIN TRANSACTION")
    try:
        taken = take_for_accept(con, source_id, now)
        for when in sorted({at for _, at in taken}):
            batch = [r for r, at in taken if at == when]
            _load_observations(con, batch)
            _write_observations(con, source_id, when, close_missing=False)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return [r for r, _ in taken]
