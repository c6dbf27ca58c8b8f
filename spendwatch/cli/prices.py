"""``spendwatch prices refresh | sources | accept | show | history | changes | discrepancies``: price tracking."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from spendwatch.cli import common
from spendwatch.render import Col, money, number, render_table, unit_price

NAME = "prices"
PRICE_MODELS = ["prices_normalised", "price_discrepancies"]


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(NAME, help="price tracking")
    psub = p.add_subparsers(dest="prices_command", metavar="ACTION", parser_class=common.Parser, required=True)
    r = common.add_command(psub, "refresh", help="fetch every source concurrently and update price history")
    mode = r.add_mutually_exclusive_group()
    mode.add_argument("--offline", action="store_true", help="use the recorded snapshots shipped with spendwatch")
    mode.add_argument("--snapshot-dir", type=Path, metavar="DIR", help="replay DIR/<source_id>.<ext> captures")
    r.add_argument("--as-of", type=common.date_arg, metavar="DATE", help="observation time for replayed captures")
    r.add_argument("--record", type=Path, metavar="DIR", help="save what a live run fetched into DIR")
    r.add_argument("--source", action="append", metavar="ID", help="only this source (repeatable)")
    s = common.add_command(psub, "sources", help="per source: last live fetch, the capture the prices in force come from, age, stale")
    s.add_argument("--format", choices=["table", "json"], default="table")
    a = common.add_command(psub, "accept", help="apply the prices held as suspect changes (> 3x) for one source")
    a.add_argument("source_id", metavar="SOURCE", help="the source id (see `spendwatch prices sources`)")
    sh = common.add_command(psub, "show", help="prices in force, cheapest first per GPU class or model, with their age")
    sh.add_argument("--kind", choices=["serverless_gpu", "dedicated_gpu", "hosted_api"])
    sh.add_argument("--provider")
    sh.add_argument("--gpu", help="GPU class, e.g. H100 or RTX4090")
    sh.add_argument("--model", help="hosted model id (substring)")
    sh.add_argument("--catalogs", action="store_true", help="include the cross-check catalogs (OpenRouter, genai-prices)")
    sh.add_argument("--format", choices=["table", "json", "csv"], default="table")
    hi = common.add_command(psub, "history", help="the full effective-dated history of a provider's prices")
    hi.add_argument("--provider", required=True)
    hi.add_argument("--sku", help="SKU or model id (substring)")
    hi.add_argument("--format", choices=["table", "json", "csv"], default="table")
    ch = common.add_command(psub, "changes", help="prices added, removed and changed since a date")
    ch.add_argument("--since", type=common.date_arg, required=True, metavar="DATE")
    ch.add_argument("--format", choices=["table", "json"], default="table")
    dc = common.add_command(psub, "discrepancies", help="where a provider and a catalog disagree by more than 1 %%")
    dc.add_argument("--format", choices=["table", "json", "csv"], default="table")
    return p


def run(args: argparse.Namespace) -> int:
    return {"refresh": refresh, "sources": sources, "accept": accept, "show": show, "history": history,
            "changes": changes, "discrepancies": discrepancies}[args.prices_command](args)


def _age(hours) -> str:
    return "" if hours is None else (f"{hours} h" if hours < 48 else f"{hours // 24} d")


SHOW_COLUMNS = (Col("class", priority=0), Col("provider", priority=0), Col("sku", priority=1), Col("component", priority=3),
                Col("tier", priority=4), Col("price", "money", 2), Col("per hour", "money", 5),
                Col("per GPU-hour", "money", 0), Col("per 1M tokens", "money", 0), Col("age", priority=6))


def _check_match(option: str, value: str | None, valid: list[str], what: str) -> None:
    """Exit 2 when ``value`` (a substring filter) matches none of ``valid``: all of them listed, or the closest."""
    import difflib

    from spendwatch.core.errors import UsageError
    from spendwatch.render import one_line

    if value is None or any(value.lower() in v.lower() for v in valid):
        return
    if len(valid) <= 40:
        choices = f"valid: {', '.join(valid) or 'none yet'}"
    else:
        close = difflib.get_close_matches(value, valid, n=8, cutoff=0.4)
        choices = (f"closest of {len(valid)}: {', '.join(close)}" if close else f"{len(valid)} known") + \
            "; all in `spendwatch prices show --format csv`"
    raise UsageError(f"{option} {one_line(value)!r}: no {what} matches ({choices})")


def show(args) -> int:
    from warehouse import queries

    with common.built(PRICE_MODELS) as con:
        common.check_choice("--provider", args.provider, queries.price_providers(con), "provider")
        _check_match("--gpu", args.gpu, queries.gpu_classes(con), "GPU class")
        _check_match("--model", args.model, queries.hosted_models(con), "hosted model")
        cols, rows = queries.prices_show(con, args.kind, args.provider, args.gpu, args.model, args.catalogs)
    if args.format != "table" or not rows:
        return common.print_rows(cols, rows, args.format, empty="no prices in force match")
    i = {c: n for n, c in enumerate(cols)}
    view = []
    for r in rows:
        rep = r[i["reporting_currency"]]
        view.append((r[i["class"]], r[i["provider"]], r[i["sku"]], r[i["component"]], r[i["tier"]] or "",
                     unit_price(r[i["amount"]], r[i["currency"]], r[i["unit"]]),
                     money(r[i["per_hour_reporting"]], rep) if r[i["per_hour_reporting"]] is not None else "",
                     money(r[i["per_gpu_hour_reporting"]], rep) if r[i["per_gpu_hour_reporting"]] is not None else "",
                     unit_price(r[i["per_1m_tokens_reporting"]], rep) if r[i["per_1m_tokens_reporting"]] is not None else "",
                     _age(r[i["age_hours"]])))
    title = "prices in force (cheapest first per class; per-hour and per-1M in the reporting currency)"
    common.out(render_table(SHOW_COLUMNS, view, title))
    return 0


def history(args) -> int:
    from warehouse import queries

    with common.connection(existing=True) as con:
        common.check_choice("--provider", args.provider, queries.price_providers(con), "provider")
        cols, rows = queries.price_history_rows(con, args.provider, args.sku)
    if args.format != "table" or not rows:
        return common.print_rows(cols, rows, args.format,
                                 empty=f"no prices of {args.provider} match --sku {args.sku}" if args.sku else "no prices")
    i = {c: n for n, c in enumerate(cols)}
    view = [(r[i["sku"]], r[i["component"]], r[i["tier"]] or "", r[i["region"]] or "",
             unit_price(r[i["amount"]], r[i["currency"]], r[i["unit"]]), f"{r[i['valid_from']]:%Y-%m-%d %H:%M}",
             f"{r[i['valid_to']]:%Y-%m-%d %H:%M}" if r[i["valid_to"]] else "in force", r[i["closed_reason"]] or "",
             r[i["source_id"]]) for r in rows]
    columns = (Col("sku", priority=0), Col("component", priority=2), Col("tier", priority=3), Col("region", priority=5),
               Col("price", "money", 0), Col("from", priority=1), Col("to", priority=1), Col("closed", priority=4),
               Col("source", priority=6))
    common.out(render_table(columns, view, f"price history: {args.provider}"))
    return 0


def changes(args) -> int:
    from warehouse import queries

    with common.connection(existing=True) as con:
        cols, rows = queries.price_changes(con, args.since)
    if args.format != "table" or not rows:
        return common.print_rows(cols, rows, args.format, empty=f"no price changes since {args.since}")
    i = {c: n for n, c in enumerate(cols)}
    price = lambda r, k: unit_price(r[i[k]], r[i["currency"]], r[i["unit"]]) if r[i[k]] is not None else ""  # noqa: E731
    view = [(f"{r[i['changed_at']]:%Y-%m-%d}", r[i["change"]], r[i["provider"]], r[i["sku"]], r[i["component"]],
             r[i["tier"]] or "", price(r, "old_amount"), price(r, "new_amount")) for r in rows]
    columns = (Col("when", priority=1), Col("change", priority=0), Col("provider", priority=0), Col("sku", priority=0),
               Col("component", priority=2), Col("tier", priority=3), Col("old", "money", 0), Col("new", "money", 0))
    common.out(render_table(columns, view, f"price changes since {args.since}"))
    return 0


def discrepancies(args) -> int:
    from warehouse import queries

    with common.built(PRICE_MODELS) as con:
        cols, rows = queries.price_discrepancies(con)
    if args.format != "table" or not rows:
        return common.print_rows(cols, rows, args.format, empty="no provider and catalog disagree by more than 1 %")
    i = {c: n for n, c in enumerate(cols)}
    view = [(r[i["provider"]], r[i["model"]], r[i["component"]],
             unit_price(r[i["provider_price_per_1m"]], r[i["currency"]]), r[i["catalog_source"]],
             unit_price(r[i["catalog_price_per_1m"]], r[i["currency"]]), f"{number(r[i['diff_pct']], 2)} %") for r in rows]
    columns = (Col("provider", priority=0), Col("model", priority=0), Col("component", priority=2),
               Col("provider per 1M", "money", 0), Col("catalog", priority=1), Col("catalog per 1M", "money", 0),
               Col("diff", "number", 0))
    common.out(render_table(columns, view, "provider vs catalog price discrepancies (> 1 %)"))
    return 0


# --- refresh, sources, accept -------------------------------------------------------------

def refresh(args: argparse.Namespace) -> int:
    from scrapers.sources import all_sources
    from spendwatch import operations
    from spendwatch.progress import track
    from warehouse.db import resolve_warehouse
    from warehouse.model_state import ensure_models_built

    mode = "offline" if args.offline else "snapshot" if args.snapshot_dir else "auto"
    cfg = common.load_config()
    fx_line = None
    with common.connection() as con:
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
            fx_line = f"fx: ECB rates to {fx_status['latest_rate_date']} ({fx_status['daily']})"
        ensure_models_built(con, cfg, [*PRICE_MODELS, "source_freshness"])
    if fx_line:
        common.out(fx_line)
    rows = []
    for r in res.results:
        captured = res.captures.get(r.source_id, (None, None))[0]
        rows.append((r.source_id, r.status, r.mode, r.records, r.zeros, r.implausible, len(r.held), r.inserted, r.closed,
                     f"{captured:%Y-%m-%d}" if captured else "", r.error or ""))
    columns = (Col("source", priority=0), Col("status", priority=0), Col("mode", priority=5), Col("prices", "number", 1),
               Col("zeros", "number", 4), Col("implausible", "number", 3), Col("held", "number", 2),
               Col("new rows", "number", 2), Col("closed", "number", 3), Col("capture of", priority=4),
               Col("note", priority=1))
    common.out(render_table(columns, rows, f"price refresh ({mode}) as of {res.observed_at:%Y-%m-%d %H:%M} UTC"))
    note = res.recorded_note()
    if note:
        common.out(f"note: {note}")
    common.out(f"summary: {res.summary()}")
    return 0


def sources(args: argparse.Namespace) -> int:
    """Per source: last live fetch (or never), the capture the prices in force come from and its date, age, stale."""
    from spendwatch.operations import sync_sources
    from warehouse.price_checks import describe, freshness

    with common.connection() as con:
        sync_sources(con)
        rows = freshness(con)
    if args.format == "json":
        out = [{**{k: r[k] for k in ("source_id", "provider", "discontinued", "stale", "stale_reason", "held_prices",
                                      "last_status", "last_error")}, **describe(r),
                "capture_date": r["capture_date"].isoformat() if r["capture_date"] else None,
                "capture_basis": r["capture_basis"]} for r in rows]
        common.out(json.dumps(out, indent=1, default=str))
        return 0
    view = []
    for r in rows:
        if r["discontinued"]:
            view.append((r["source_id"], "never", "discontinued", "", None, None, "", None, ""))
            continue
        d = describe(r)
        last = f"{r['last_status']} {r['last_mode']} {r['last_attempt_at']:%Y-%m-%d %H:%M}" if r["last_attempt_at"] else "never"
        aged = r["age_days"] is not None and r["age_days"] > r["max_age_days"]
        view.append((r["source_id"], d["last_live_fetch"], last, d["prices_from"], r["age_days"], r["max_age_days"],
                     ("yes" if aged else f"yes: {r['stale_reason']}") if r["stale"] else "", r["held_prices"] or None,
                     r["last_error"] if r["last_status"] in ("failed", "deferred") else ""))
    columns = (Col("source", priority=0), Col("last live fetch", priority=1), Col("last attempt", priority=2),
               Col("prices in force from", priority=1), Col("age (days)", "number", 0), Col("max", "number", 3),
               Col("stale", priority=0), Col("held", "number", 2), Col("error", priority=2))
    return common.print_rows(columns, view, title="price sources: freshness of the prices in force",
                             empty="no price sources")


def accept(args: argparse.Namespace) -> int:
    from spendwatch import operations
    from spendwatch.render import one_line

    with common.connection() as con:
        applied = operations.accept_prices(con, args.source_id)
    if not applied:
        common.out(f"{one_line(args.source_id)}: no prices held")
        return 0
    view = [(r.sku, r.component, r.tier or "", unit_price(r.amount, r.currency, r.unit)) for r in applied]
    columns = (Col("sku", priority=0), Col("component", priority=1), Col("tier", priority=2), Col("price", "money", 0))
    common.out(render_table(columns, view, f"{args.source_id}: held prices accepted and now in force"))
    return 0
