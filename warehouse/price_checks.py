"""Integrity checks on each source's prices, run as Dagster asset checks after every refresh.

* integrity (blocking severity): every stored price is above zero, and the SKUs or GPU
  models the source must sell are present among its open prices;
* review (warning): probable unit errors (a per-token price above $0.01, a per-second GPU
  price above $0.05), changes of more than 50 % from the previous price, and prices held
  as suspect changes (``warehouse.price_holds``) waiting for confirmation or
  ``spendwatch prices accept``;
* fresh (warning): the source is not stale by ``source_freshness`` (the one definition of
  staleness, ``dbt_like_sql/marts/source_freshness.sql``) and its last refresh did not fail.

``freshness(con)`` reads that model for every consumer (CLI, review, Dagster metadata).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import duckdb

from scrapers.base import Source
from warehouse.price_holds import held_prices

TOKEN_MAX = Decimal("0.01")  # USD per token
SECOND_GPU_MAX = Decimal("0.05")  # USD per GPU-second
CHANGE_LIMIT = Decimal("0.5")


@dataclass
class CheckOutcome:
    passed: bool
    problems: list[str] = field(default_factory=list)
    metadata: dict = field(default_factory=dict)


def integrity(con: duckdb.DuckDBPyConnection, source: Source) -> CheckOutcome:
    sid = source.source_id
    nonpos = con.execute("SELECT count(*) FROM price_history WHERE source_id = ? AND amount <= 0", [sid]).fetchone()[0]
    last = con.execute(
        "SELECT status, dropped, records, error FROM price_fetches WHERE source_id = ? ORDER BY attempted_at DESC LIMIT 1", [sid]
    ).fetchone()
    open_models = {r[0] for r in con.execute("SELECT DISTINCT gpu_model FROM price_history WHERE source_id = ? AND valid_to IS NULL", [sid]).fetchall()}
    open_skus = {r[0] for r in con.execute("SELECT DISTINCT sku FROM price_history WHERE source_id = ? AND valid_to IS NULL", [sid]).fetchall()}
    problems = []
    if nonpos:
        problems.append(f"{nonpos} stored prices are zero or negative")
    if source.discontinued:
        return CheckOutcome(True, [], {"discontinued": True})
    if not open_skus:
        problems.append("no prices in force")
    missing = [g for g in source.expected_gpu_models if g not in open_models] + [s for s in source.expected_skus if s not in open_skus]
    if open_skus and missing:
        problems.append("expected prices missing: " + ", ".join(missing))
    meta = {
        "open_prices": len(open_skus),
        "sentinels_dropped_last_fetch": int(last[1]) if last else 0,
        "last_fetch_status": last[0] if last else "never",
    }
    if last and last[0] == "failed":
        meta["last_error"] = last[3]
    return CheckOutcome(not problems, problems, meta)


def review(con: duckdb.DuckDBPyConnection, source: Source) -> CheckOutcome:
    sid = source.source_id
    units = con.execute(
        """SELECT sku, component, unit, amount, currency FROM price_history
           WHERE source_id = ? AND valid_to IS NULL AND currency = 'USD'
             AND ((unit = 'token' AND amount > ?)
               OR (unit = '1M_tokens' AND amount > ? * 1000000)
               OR (unit = 'second' AND component = 'gpu' AND amount / coalesce(nullif(gpu_count, 0), 1) > ?))""",
        [sid, TOKEN_MAX, TOKEN_MAX, SECOND_GPU_MAX],
    ).fetchall()
    changes = con.execute(
        """WITH ordered AS (
             SELECT sku, component, tier, region, amount, valid_from,
                    lag(amount) OVER (PARTITION BY price_key ORDER BY valid_from) AS previous
             FROM price_history WHERE source_id = ?)
           SELECT sku, component, tier, previous, amount FROM ordered
           WHERE previous IS NOT NULL AND valid_from = (SELECT max(valid_from) FROM price_history WHERE source_id = ?)
             AND abs(amount - previous) > previous * ?""",
        [sid, sid, CHANGE_LIMIT],
    ).fetchall()
    held = held_prices(con, sid)
    problems = [f"probable unit error: {sku} {comp} {amt} {cur}/{unit}" for sku, comp, unit, amt, cur in units]
    problems += [f"changed by more than 50 %: {sku} {comp} {tier or ''} {prev} -> {amt}".replace("  ", " ") for sku, comp, tier, prev, amt in changes]
    problems += [
        f"held as a suspect change (> 3x) since {h['first_seen_at']:%Y-%m-%d %H:%M}: {h['sku']} {h['component']} "
        f"{h['tier'] or ''} {h['old_amount'].normalize():f} -> {h['new_amount'].normalize():f} {h['currency']}/{h['unit']}; "
        f"applied when the next capture agrees, or by `spendwatch prices accept {sid}`".replace("  ", " ")
        for h in held
    ]
    return CheckOutcome(not problems, problems, {"unit_flags": len(units), "big_changes": len(changes), "held_prices": len(held)})


FRESHNESS_MODEL = "source_freshness"


def freshness(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Every row of the ``source_freshness`` view (building the view first if this warehouse lacks it)."""
    exists = con.execute(
        "SELECT count(*) FROM duckdb_views() WHERE view_name = ? AND schema_name = 'main' AND NOT internal", [FRESHNESS_MODEL]
    ).fetchone()[0]
    if not exists:
        from warehouse import models as sqlmodels

        res = sqlmodels.build(con, select=[FRESHNESS_MODEL])
        if res[-1].status != "ok":
            raise RuntimeError(res[-1].error)
    cur = con.execute(f"SELECT * FROM {FRESHNESS_MODEL} ORDER BY source_id")
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def describe(row: dict) -> dict:
    """The freshness of one source in words and plain values (Dagster metadata, the CLI)."""
    captured = row.get("captured_at")
    return {
        "last_live_fetch": f"{row['last_live_fetch_at']:%Y-%m-%d %H:%M} UTC" if row.get("last_live_fetch_at") else "never",
        "prices_from": (f"{row['capture_mode']} capture of {captured:%Y-%m-%d}" if captured
                        else f"{row['capture_mode']} capture of unknown date" if row.get("capture_mode") else "no capture"),
        "age_days": -1 if row.get("age_days") is None else int(row["age_days"]),
        "max_age_days": int(row["max_age_days"]),
        "stale": bool(row["stale"]),
        "last_status": row.get("last_status") or "never fetched",
    }


def fresh(con: duckdb.DuckDBPyConnection, source: Source, rows: list[dict] | None = None) -> CheckOutcome:
    """Fails (a warning) when the source is stale, or when its latest refresh failed or was deferred."""
    rows = freshness(con) if rows is None else rows
    row = next((r for r in rows if r["source_id"] == source.source_id), None)
    if row is None:
        return CheckOutcome(False, ["not registered in price_sources (no refresh has run)"], {})
    meta = describe(row)
    problems = []
    if row["stale"]:
        problems.append(f"stale: {row['stale_reason']}")
    if row.get("last_status") in ("failed", "deferred"):
        problems.append(f"last refresh {row['last_status']}: {row['last_error'] or ''}".rstrip(": "))
    if row.get("last_error") and row.get("last_status") in ("failed", "deferred"):
        meta["last_error"] = row["last_error"]
    return CheckOutcome(not problems, problems, meta)
