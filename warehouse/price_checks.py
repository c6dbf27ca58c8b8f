"""Integrity checks on each source's prices, run as Dagster asset checks after every refresh.

* integrity (blocking severity): every stored price is above zero, and the SKUs or GPU
  models the source must sell are present among its open prices;
* review (warning): probable unit errors (a per-token price above $0.01, a per-second GPU
  price above $0.05) and changes of more than 50 % from the previous price.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import duckdb

from scrapers.base import Source

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
    problems = [f"probable unit error: {sku} {comp} {amt} {cur}/{unit}" for sku, comp, unit, amt, cur in units]
    problems += [f"changed by more than 50 %: {sku} {comp} {tier or ''} {prev} -> {amt}".replace("  ", " ") for sku, comp, tier, prev, amt in changes]
    return CheckOutcome(not problems, problems, {"unit_flags": len(units), "big_changes": len(changes)})
