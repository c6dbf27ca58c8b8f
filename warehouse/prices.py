"""Writing price observations into the effective-dated ``price_history``.

For each source and observation time:
  * the same price again inserts and extends nothing;
  * a changed price closes the open row (valid_to = observed_at) and opens a new one;
  * a price that disappeared from the source is closed, never deleted;
  * non-positive amounts (sentinels such as OpenRouter's ``-1``) are dropped and counted.
History is never rewritten: an observation older than the source's latest one is refused.
A failed fetch writes only its ``price_fetches`` row, so the last good prices stay in force.
Raw payloads are archived gzip-compressed by source and date, so any day's parse can be re-run.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pyarrow as pa

from scrapers.base import PriceRecord
from scrapers.fetch import FetchOutcome

IDENTITY = ("source_id", "provider", "sku", "component", "unit", "region", "tier")


@dataclass
class ApplyResult:
    source_id: str
    status: str  # ok | unchanged | failed | skipped | refused
    mode: str
    records: int = 0
    dropped: int = 0
    inserted: int = 0
    closed: int = 0
    error: str | None = None
    archive_path: str | None = None


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
    }
    schema = pa.schema([(k, pa.int32() if k == "gpu_count" else pa.string()) for k in cols])
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
    """Apply one fetch outcome to the warehouse in one transaction."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    res = ApplyResult(outcome.source_id, outcome.status, outcome.mode, error=outcome.error)
    if outcome.status == "skipped":
        return res  # nothing attempted, nothing to record
    last = _last_ok(con, outcome.source_id)
    if outcome.status == "ok" and last is not None:
        last_at, last_sha = last
        if last_sha == outcome.payload_sha256 and last_at.date() == observed_at.date():
            res.status = "unchanged"
            res.records = len(outcome.records)
            return res
        if observed_at <= last_at:
            res.status = "refused"
            res.error = (
                f"{outcome.source_id}: observation {observed_at:%Y-%m-%d %H:%M} is not newer than the latest "
                f"({last_at:%Y-%m-%d %H:%M}); history is never rewritten"
            )
            return res
    # The same payload as the last good one parses to the same prices: nothing can open, change or
    # close, so only the fetch is recorded (it keeps the source fresh).
    same_payload = outcome.status == "ok" and last is not None and last[1] == outcome.payload_sha256
    if archive_dir is not None and outcome.payload is not None:
        p = archive_payload(archive_dir, outcome, observed_at)
        res.archive_path = str(p) if p else None

    con.execute("BEGIN TRANSACTION")
    try:
        if outcome.status == "ok" and same_payload:
            keep = [r for r in outcome.records if r.amount > 0]
            res.records, res.dropped = len(outcome.records), len(outcome.records) - len(keep)
        elif outcome.status == "ok":
            keep = [r for r in outcome.records if r.amount > 0]
            res.records = len(outcome.records)
            res.dropped = len(outcome.records) - len(keep)
            keys = [price_key(r) for r in keep]
            if len(set(keys)) != len(keys):
                dup = next(r for r in keep if keys.count(price_key(r)) > 1)
                raise ValueError(f"{outcome.source_id}: the parse returned {dup.sku}/{dup.component}/{dup.tier} twice")
            obs = _records_table(keep)
            con.register("_obs", obs)
            try:
                con.execute("CREATE OR REPLACE TEMP TABLE _obs_t AS SELECT *, CAST(amount AS DECIMAL(24,12)) AS amt FROM _obs")
            finally:
                con.unregister("_obs")
            # Close rows whose price changed, and rows that disappeared from the source.
            res.closed = con.execute(
                """UPDATE price_history h
                   SET valid_to = ?, closed_reason = CASE WHEN o.price_key IS NULL THEN 'disappeared' ELSE 'changed' END
                   FROM (SELECT h2.price_key AS k, o2.price_key
                         FROM price_history h2 LEFT JOIN _obs_t o2 ON o2.price_key = h2.price_key
                         WHERE h2.source_id = ? AND h2.valid_to IS NULL
                           AND (o2.price_key IS NULL OR o2.amt <> h2.amount OR o2.currency <> h2.currency)) o
                   WHERE h.price_key = o.k AND h.valid_to IS NULL""",
                [observed_at, outcome.source_id],
            ).fetchone()[0]
            res.inserted = con.execute(
                """INSERT INTO price_history
                   SELECT o.price_key, o.source_id, o.provider, o.product_kind, o.sku, o.component, o.unit,
                          o.region, o.tier, o.gpu_model, o.gpu_count, o.amt, o.currency, o.note,
                          ? AS valid_from, NULL AS valid_to, ? AS fetched_at, o.source_url, o.payload_sha256, NULL
                   FROM _obs_t o
                   WHERE NOT EXISTS (SELECT 1 FROM price_history h WHERE h.price_key = o.price_key AND h.valid_to IS NULL)""",
                [observed_at, observed_at],
            ).fetchone()[0]
            con.execute("DROP TABLE _obs_t")
        con.execute(
            "INSERT INTO price_fetches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                outcome.source_id, now, observed_at, outcome.mode, outcome.status, outcome.error,
                res.records, res.dropped, res.inserted, res.closed, outcome.payload_sha256,
                res.archive_path, outcome.url,
            ],
        )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return res


def source_status(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Per source: last attempt, last success, and whether it is stale (last attempt failed)."""
    rows = con.execute(
        """WITH last AS (
             SELECT source_id, arg_max(status, attempted_at) AS last_status, arg_max(error, attempted_at) AS last_error,
                    max(attempted_at) AS last_attempt,
                    max(CASE WHEN status = 'ok' THEN attempted_at END) AS last_success
             FROM price_fetches GROUP BY source_id)
           SELECT source_id, last_status, last_error, last_attempt, last_success,
                  (last_status = 'failed') AS stale
           FROM last ORDER BY source_id"""
    ).fetchall()
    keys = ("source_id", "last_status", "last_error", "last_attempt", "last_success", "stale")
    return [dict(zip(keys, r)) for r in rows]
