"""`spendwatch prices refresh | sources | accept`: refreshing prices, their freshness, and releasing held prices."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def add_accept_parser(psub, common) -> None:
    a = psub.add_parser("accept", help="apply the prices held as suspect changes (> 3x) for one source")
    common(a)
    a.add_argument("source_id", metavar="SOURCE", help="the source id (see `spendwatch prices sources`)")


def _console():
    from rich.console import Console
    import sys

    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def _connect():
    from warehouse.db import connect

    return connect(os.environ.get("SPENDWATCH_WAREHOUSE"))


def refresh(args: argparse.Namespace) -> int:
    from rich.table import Table

    from scrapers.sources import all_sources
    from spendwatch import operations
    from spendwatch.core.config import load_config
    from spendwatch.progress import track
    from spendwatch.render import terminal_escape
    from warehouse import models as sqlmodels
    from warehouse.config_sync import sync_config
    from warehouse.db import resolve_warehouse

    out = _console()
    mode = "offline" if args.offline else "snapshot" if args.snapshot_dir else "auto"
    cfg = load_config(os.environ.get("SPENDWATCH_CONFIG"))
    con = _connect()
    try:
        loc = resolve_warehouse()
        archive = None if loc.startswith("md:") else Path(loc).expanduser().resolve().parent / "raw"
        with track("fetching prices", total=len(set(args.source)) if args.source else len(all_sources())) as bar:
            res = operations.refresh_prices(
                con, mode=mode, snapshot_dir=args.snapshot_dir, record_dir=args.record, as_of=args.as_of,
                archive_dir=archive, source_ids=args.source, backfills=cfg.price_backfills(), on_done=bar.on_fetch,
                max_age_days=cfg.prices.max_age,
            )
        if not args.source or "ecb_fx" in args.source:
            fx_status = operations.refresh_fx(con, mode=mode, snapshot_dir=args.snapshot_dir)
            out.print(f"fx: ECB rates to {fx_status['latest_rate_date']} ({fx_status['daily']})", markup=False)
        sync_config(con, cfg)
        sqlmodels.build(con, select=["prices_normalised", "price_discrepancies", "source_freshness"])
    finally:
        con.close()
    t = Table(title=f"price refresh ({mode}) as of {res.observed_at:%Y-%m-%d %H:%M} UTC")
    for c in ("source", "status", "mode", "prices", "zeros", "implausible", "held", "new rows", "closed", "capture of", "note"):
        t.add_column(c)
    for r in res.results:
        captured = res.captures.get(r.source_id, (None, None))[0]
        t.add_row(*(terminal_escape(v) for v in (
            r.source_id, r.status, r.mode, r.records, r.zeros, r.implausible, len(r.held), r.inserted, r.closed,
            f"{captured:%Y-%m-%d}" if captured else "", r.error or "")))
    out.print(t)
    note = res.recorded_note()
    if note:
        out.print(f"note: {terminal_escape(note)}", markup=False)
    out.print(f"summary: {terminal_escape(res.summary())}")
    return 0


def sources(args: argparse.Namespace) -> int:
    """Per source: last live fetch (or never), the capture the prices in force come from and its date, age, stale."""
    from rich.table import Table

    from spendwatch.operations import sync_sources
    from spendwatch.render import terminal_escape
    from warehouse.price_checks import describe, freshness

    con = _connect()
    try:
        sync_sources(con)
        rows = freshness(con)
    finally:
        con.close()
    if getattr(args, "format", "table") == "json":
        import json
        import sys

        out = [{**{k: r[k] for k in ("source_id", "provider", "discontinued", "stale", "stale_reason", "held_prices",
                                      "last_status", "last_error")}, **describe(r),
                "capture_date": r["capture_date"].isoformat() if r["capture_date"] else None,
                "capture_basis": r["capture_basis"]} for r in rows]
        sys.stdout.write(json.dumps(out, indent=1, default=str) + "\n")
        return 0
    t = Table(title="price sources: freshness of the prices in force")
    for c in ("source", "last live fetch", "last attempt", "prices in force from", "age (days)", "max", "stale", "held",
              "error"):
        t.add_column(c)
    for r in rows:
        if r["discontinued"]:
            t.add_row(*(terminal_escape(v) for v in (r["source_id"], "never", "discontinued", "", "", "", "", "", "")))
            continue
        d = describe(r)
        last = f"{r['last_status']} {r['last_mode']} {r['last_attempt_at']:%Y-%m-%d %H:%M}" if r["last_attempt_at"] else "never"
        aged = r["age_days"] is not None and r["age_days"] > r["max_age_days"]
        t.add_row(*(terminal_escape(v) for v in (
            r["source_id"], d["last_live_fetch"], last, d["prices_from"], "" if r["age_days"] is None else r["age_days"],
            r["max_age_days"], ("yes" if aged else f"yes: {r['stale_reason']}") if r["stale"] else "", r["held_prices"] or "",
            r["last_error"] if r["last_status"] in ("failed", "deferred") else "")))
    _console().print(t)
    return 0


def accept(args: argparse.Namespace) -> int:
    from rich.table import Table

    from spendwatch import operations
    from spendwatch.render import terminal_escape

    con = _connect()
    try:
        applied = operations.accept_prices(con, args.source_id)
    finally:
        con.close()
    out = _console()
    if not applied:
        out.print(f"{terminal_escape(args.source_id)}: no prices held", markup=False)
        return 0
    t = Table(title=f"{args.source_id}: held prices accepted and now in force")
    for c in ("sku", "component", "tier", "price"):
        t.add_column(c)
    for r in applied:
        t.add_row(*(terminal_escape(v) for v in (r.sku, r.component, r.tier or "", f"{r.amount.normalize():f} {r.currency}/{r.unit}")))
    out.print(t)
    return 0
