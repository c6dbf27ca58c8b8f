"""Suspect price changes: held instead of applied, until confirmed or accepted.

On a provider's own page or API (not a catalog), a price that moves more than
``SUSPECT_FACTOR`` (3x) up or down from the price in force for the same SKU, component,
unit, tier and region is held in ``price_holds``; the old price stays in force.  The hold is
released, and the new price applied as of the latest capture that showed it, when

* the next capture of the source shows the same price again ("confirmed"), or
* an operator runs ``spendwatch prices accept SOURCE`` ("accepted").

A later capture with the old price again withdraws the hold; one with yet another suspect
price replaces it (and needs its own confirmation).  Catalogs are never held: they rely on
the plausibility bounds and the cross-checks, so a real cut (OpenAI's o3 fell 5x in June
2025) is taken at once.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from decimal import Decimal

import duckdb

from scrapers.base import PriceRecord

SUSPECT_FACTOR = Decimal(3)


def record_to_json(r: PriceRecord) -> str:
    return json.dumps({f.name: _plain(getattr(r, f.name)) for f in dataclasses.fields(r)}, sort_keys=True)


def record_from_json(text: str) -> PriceRecord:
    raw = json.loads(text)
    kwargs = {}
    for f in dataclasses.fields(PriceRecord):
        if f.name not in raw:
            continue
        v = raw[f.name]
        kind = str(f.type)
        if v is not None and "Decimal" in kind:
            v = Decimal(v)
        elif v is not None and "datetime" in kind:
            v = datetime.fromisoformat(v)
        kwargs[f.name] = v
    return PriceRecord(**kwargs)


def _plain(v):
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, datetime):
        return v.isoformat()
    return v


def screen_suspects(
    con: duckdb.DuckDBPyConnection,
    source_id: str,
    records: dict[str, PriceRecord],
    observed_at: datetime,
    previous_capture_at: datetime | None,
) -> tuple[set[str], set[str]]:
    """Compare the observations in temp table ``_obs_t`` with the prices in force and the open holds.

    Returns (held keys, confirmed keys) and updates ``price_holds`` accordingly, in the
    caller's transaction.  ``records`` maps price_key to the observed record.
    """
    suspects = con.execute(
        """SELECT o.price_key, h.amount, o.amt, o.currency
           FROM _obs_t o JOIN price_history h ON h.price_key = o.price_key AND h.valid_to IS NULL
           WHERE h.source_id = ? AND o.currency = h.currency
             AND (o.amt > h.amount * ? OR o.amt * ? < h.amount)""",
        [source_id, SUSPECT_FACTOR, SUSPECT_FACTOR],
    ).fetchall()
    open_holds = {
        k: (amt, cur, last_seen)
        for k, amt, cur, last_seen in con.execute(
            "SELECT price_key, new_amount, currency, last_seen_at FROM price_holds WHERE source_id = ? AND status = 'held'",
            [source_id],
        ).fetchall()
    }
    held: set[str] = set()
    confirmed: set[str] = set()
    for key, old, new, cur in suspects:
        prior = open_holds.pop(key, None)
        if prior is not None and prior[0] == new and prior[1] == cur and prior[2] == previous_capture_at:
            confirmed.add(key)
            _resolve(con, source_id, [key], "confirmed", observed_at)
            continue
        if prior is not None:  # another suspect price, or the same one after a gap: a fresh hold
            _resolve(con, source_id, [key], "replaced", observed_at)
        r = records[key]
        con.execute(
            """INSERT INTO price_holds (price_key, source_id, sku, component, unit, tier, region, old_amount, new_amount,
                                        currency, first_seen_at, last_seen_at, record_json, status)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'held')""",
            [key, source_id, r.sku, r.component, r.unit, r.tier, r.region, old, new, cur, observed_at, observed_at,
             record_to_json(r)],
        )
        held.add(key)
    # Holds whose price did not come back in this capture: the suspect price was not repeated.
    if open_holds:
        _resolve(con, source_id, list(open_holds), "withdrawn", observed_at)
    return held, confirmed


def _resolve(con: duckdb.DuckDBPyConnection, source_id: str, keys: list[str], status: str, at: datetime) -> None:
    con.execute(
        "UPDATE price_holds SET status = ?, resolved_at = ? WHERE source_id = ? AND status = 'held' AND list_contains(?, price_key)",
        [status, at, source_id, keys],
    )


def held_prices(con: duckdb.DuckDBPyConnection, source_id: str | None = None) -> list[dict]:
    """The prices held now (oldest first), for the review, the CLI and the Dagster check."""
    rows = con.execute(
        """SELECT source_id, sku, component, unit, tier, region, old_amount, new_amount, currency, first_seen_at, last_seen_at
           FROM price_holds WHERE status = 'held' AND (? IS NULL OR source_id = ?)
           ORDER BY source_id, first_seen_at, sku, component""",
        [source_id, source_id],
    ).fetchall()
    keys = ("source_id", "sku", "component", "unit", "tier", "region", "old_amount", "new_amount", "currency",
            "first_seen_at", "last_seen_at")
    return [dict(zip(keys, r)) for r in rows]


def has_open_holds(con: duckdb.DuckDBPyConnection, source_id: str) -> bool:
    return con.execute("SELECT count(*) FROM price_holds WHERE source_id = ? AND status = 'held'", [source_id]).fetchone()[0] > 0


def take_for_accept(con: duckdb.DuckDBPyConnection, source_id: str, at: datetime) -> list[tuple[PriceRecord, datetime]]:
    """Mark every held price of the source accepted (caller's transaction); returns (record, as of) to apply."""
    rows = con.execute(
        "SELECT record_json, last_seen_at FROM price_holds WHERE source_id = ? AND status = 'held' ORDER BY last_seen_at",
        [source_id],
    ).fetchall()
    con.execute(
        "UPDATE price_holds SET status = 'accepted', resolved_at = ? WHERE source_id = ? AND status = 'held'",
        [at, source_id],
    )
    return [(record_from_json(j), seen) for j, seen in rows]
