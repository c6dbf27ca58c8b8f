"""The ``spendwatch`` command line.  Every subcommand calls the same functions as the Dagster assets.

Exit codes: 0 success, 2 bad input or usage (one line, no traceback), 1 any other failure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from spendwatch import __version__, alerts_cli, anomalies_cli, breakeven_cli, files_cli, prices_cli, whatif_cli
from spendwatch.core.errors import SpendwatchError, UsageError
from spendwatch.core.redact import redact
from spendwatch.render import one_line


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def amount_arg(*, allow_zero: bool):
    """An argparse type for a finite decimal amount: above 0, or 0 and above with ``allow_zero``."""
    from decimal import Decimal, InvalidOperation

    def parse(value: str) -> Decimal:
        try:
            d = Decimal(value.strip())
        except InvalidOperation:
            raise argparse.ArgumentTypeError(f"{value!r} is not an amount") from None
        if not d.is_finite() or d < 0 or (d == 0 and not allow_zero):
            raise argparse.ArgumentTypeError(f"{value!r} must be {'an amount of 0 or more' if allow_zero else 'a positive amount'}")
        return d

    return parse


def _month(value: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m").date()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a month (YYYY-MM)") from None


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--warehouse", default=argparse.SUPPRESS, metavar="PATH",
                   help="DuckDB file or MotherDuck md: DSN (default: $SPENDWATCH_WAREHOUSE or data/warehouse.duckdb)")
    p.add_argument("--config", default=argparse.SUPPRESS, metavar="PATH",
                   help="spendwatch.toml (default: $SPENDWATCH_CONFIG, ./spendwatch.toml, or the bundled sample)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="spendwatch", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"spendwatch {__version__}")
    _common(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("run", help="run the daily job once (prices, FX, ingest, models, summary) and print the review")
    _common(p)
    p.add_argument("--date", type=_date, help="the day (partition) to run; default yesterday, Europe/London")
    p.add_argument("--offline", action="store_true", help="use the recorded price snapshots, no network")
    p.add_argument("--snapshot-dir", type=Path, metavar="DIR", help="replay price captures from DIR")
    p.add_argument("--no-review", action="store_true", help="do not print the review afterwards")

    p = sub.add_parser("prices", help="price tracking")
    psub = p.add_subparsers(dest="prices_command", metavar="ACTION", parser_class=_Parser, required=True)
    r = psub.add_parser("refresh", help="fetch every source concurrently and update price history")
    _common(r)
    mode = r.add_mutually_exclusive_group()
    mode.add_argument("--offline", action="store_true", help="use the recorded snapshots shipped with spendwatch")
    mode.add_argument("--snapshot-dir", type=Path, metavar="DIR", help="replay DIR/<source_id>.<ext> captures")
    r.add_argument("--as-of", type=_date, metavar="DATE", help="observation time for replayed captures")
    r.add_argument("--record", type=Path, metavar="DIR", help="save what a live run fetched into DIR")
    r.add_argument("--source", action="append", metavar="ID", help="only this source (repeatable)")
    s = psub.add_parser("sources", help="per source: last live fetch, the capture the prices in force come from, age, stale")
    _common(s)
    s.add_argument("--format", choices=["table", "json"], default="table")
    prices_cli.add_accept_parser(psub, _common)
    sh = psub.add_parser("show", help="prices in force, cheapest first per GPU class or model, with their age")
    _common(sh)
    sh.add_argument("--kind", choices=["serverless_gpu", "dedicated_gpu", "hosted_api"])
    sh.add_argument("--provider")
    sh.add_argument("--gpu", help="GPU class, e.g. H100 or RTX4090")
    sh.add_argument("--model", help="hosted model id (substring)")
    sh.add_argument("--catalogs", action="store_true", help="include the cross-check catalogs (OpenRouter, genai-prices)")
    sh.add_argument("--format", choices=["table", "json", "csv"], default="table")
    hi = psub.add_parser("history", help="the full effective-dated history of a provider's prices")
    _common(hi)
    hi.add_argument("--provider", required=True)
    hi.add_argument("--sku", help="SKU or model id (substring)")
    hi.add_argument("--format", choices=["table", "json", "csv"], default="table")
    ch = psub.add_parser("changes", help="prices added, removed and changed since a date")
    _common(ch)
    ch.add_argument("--since", type=_date, required=True, metavar="DATE")
    ch.add_argument("--format", choices=["table", "json"], default="table")
    dc = psub.add_parser("discrepancies", help="where a provider and a catalog disagree by more than 1 %%")
    _common(dc)
    dc.add_argument("--format", choices=["table", "json", "csv"], default="table")

    p = sub.add_parser("ingest", help="ingest export files (FOCUS, OpenAI, Anthropic, RunPod, Modal, ...)")
    _common(p)
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    p.add_argument("--format", default="auto", help="loader to use (default: auto, decided from the content)")
    p.add_argument("--format-output", choices=["table", "json"], default="table")
    p.add_argument("--date-order", choices=["dmy", "mdy"], default=None,
                   help="day/month order of slash dates such as 01/10/2026 when a column never shows it "
                        "(default: decided per file and column from the dates; or [exports.date_order])")

    p = sub.add_parser("models", help="the SQL models in dbt_like_sql/")
    msub = p.add_subparsers(dest="models_command", metavar="ACTION", parser_class=_Parser, required=True)
    b = msub.add_parser("build", help="build the models in dependency order, one transaction each")
    _common(b)
    b.add_argument("--select", action="append", metavar="NAME", help="build NAME and what it depends on (repeatable)")
    ls = msub.add_parser("list", help="list the models with their dependencies")
    _common(ls)

    p = sub.add_parser("review", help="the spend review for a month")
    _common(p)
    p.add_argument("--month", type=_month, help="YYYY-MM (default: the latest month with data)")
    p.add_argument("--team", help="only this team")
    p.add_argument("--format", choices=["table", "markdown", "csv", "json", "html"], default="table",
                   help="html: one self-contained file with charts (use with --output)")
    p.add_argument("--output", type=Path, metavar="FILE", help="write to FILE instead of stdout")

    p = sub.add_parser("config", help="spendwatch.toml")
    csub = p.add_subparsers(dest="config_command", metavar="ACTION", parser_class=_Parser, required=True)
    c = csub.add_parser("check", help="validate the config and print a summary")
    _common(c)
    breakeven_cli.add_parser(sub)
    whatif_cli.add_parser(sub)
    alerts_cli.add_parser(sub)
    files_cli.add_parser(sub)
    anomalies_cli.add_parser(sub)
    return parser


def _apply_globals(args: argparse.Namespace) -> None:
    """--warehouse / --config become the environment the assets read, so CLI and Dagster agree."""
    if getattr(args, "warehouse", None):
        os.environ["SPENDWATCH_WAREHOUSE"] = str(args.warehouse)
    if getattr(args, "config", None):
        os.environ["SPENDWATCH_CONFIG"] = str(Path(args.config).resolve())


def _connect(read_only: bool = False):
    from warehouse.db import connect

    return connect(os.environ.get("SPENDWATCH_WAREHOUSE"), read_only=read_only)


def _console():
    from rich.console import Console

    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


# --- commands ---------------------------------------------------------------

def cmd_run(args) -> int:
    from spendwatch.core.config import load_config
    from spendwatch.daily import run_daily

    load_config(os.environ.get("SPENDWATCH_CONFIG"))  # a bad config stops here, before the run starts
    if args.offline:
        os.environ["SPENDWATCH_PRICE_MODE"] = "offline"
    if args.snapshot_dir:
        os.environ["SPENDWATCH_PRICE_MODE"] = "snapshot"
        os.environ["SPENDWATCH_SNAPSHOT_DIR"] = str(args.snapshot_dir.resolve())
    day = args.date or (datetime.now(ZoneInfo("Europe/London")).date() - timedelta(days=1))
    ok, summary = run_daily(day)
    out = _console()
    for line in summary:
        out.print(line, markup=False)
    if not ok:
        return 1
    if not args.no_review:
        ns = argparse.Namespace(month=None, team=None, format="table", output=None)
        return cmd_review(ns)
    return 0


def cmd_prices(args) -> int:
    if args.prices_command in ("refresh", "sources", "accept"):
        return getattr(prices_cli, args.prices_command)(args)
    from spendwatch.render import render_rows
    from warehouse import queries

    con = _connect()
    try:
        if args.prices_command in ("show", "discrepancies"):
            _ensure_price_models(con)
        if args.prices_command == "show":
            cols, rows = queries.prices_show(con, args.kind, args.provider, args.gpu, args.model, args.catalogs)
            title = "prices in force (cheapest first per class; per-hour and per-1M in the reporting currency)"
            if args.format == "table":
                cols, rows = _compact_prices(cols, rows)
        elif args.prices_command == "history":
            cols, rows = queries.price_history_rows(con, args.provider, args.sku)
            title = f"price history: {args.provider}"
        elif args.prices_command == "changes":
            cols, rows = queries.price_changes(con, args.since)
            title = f"price changes since {args.since}"
        else:
            cur = con.execute("SELECT * FROM price_discrepancies ORDER BY abs(diff_pct) DESC")
            cols, rows = [d[0] for d in cur.description], cur.fetchall()
            title = "provider vs catalog price discrepancies (> 1 %)"
    finally:
        con.close()
    sys.stdout.write(render_rows(cols, rows, args.format, title).rstrip("\n") + "\n")
    return 0


def _compact_prices(cols, rows):
    """The terminal view of prices show: one readable line per price."""
    from spendwatch.render import money

    i = {c: n for n, c in enumerate(cols)}
    out_cols = ["class", "provider", "sku", "component", "tier", "price", "per hour", "per GPU-hour", "per 1M tokens", "age"]
    out = []
    for r in rows:
        rep = r[i["reporting_currency"]]
        age = r[i["age_hours"]]
        out.append((
            r[i["class"]], r[i["provider"]], r[i["sku"]], r[i["component"]], r[i["tier"]] or "",
            f"{r[i['amount']].normalize():f} {r[i['currency']]}/{r[i['unit']]}",
            money(r[i["per_hour_reporting"]], rep) if r[i["per_hour_reporting"]] is not None else "",
            money(r[i["per_gpu_hour_reporting"]], rep) if r[i["per_gpu_hour_reporting"]] is not None else "",
            money(r[i["per_1m_tokens_reporting"]], rep) if r[i["per_1m_tokens_reporting"]] is not None else "",
            "" if age is None else (f"{age} h" if age < 48 else f"{age // 24} d"),
        ))
    return out_cols, out


def _ensure_price_models(con) -> None:
    """Build the derived price models if this warehouse has never built them."""
    from spendwatch.core.config import load_config
    from warehouse import models as sqlmodels
    from warehouse.config_sync import sync_config
    from warehouse.queries import table_exists

    if not table_exists(con, "price_discrepancies"):
        sync_config(con, load_config(os.environ.get("SPENDWATCH_CONFIG")))
        sqlmodels.build(con, select=["prices_normalised", "price_discrepancies"])


def cmd_ingest(args) -> int:
    from spendwatch.core.config import load_config
    from spendwatch.render import money, terminal_escape

    cfg = load_config(os.environ.get("SPENDWATCH_CONFIG"))
    for p in args.paths:
        if not p.exists():
            raise UsageError(f"{p}: no such file or folder")
    from spendwatch.progress import track
    from warehouse.ingest import ingest_paths, iter_export_files, rejected_rows

    skipped: dict[Path, str] = {}
    files = iter_export_files(args.paths, skipped=skipped.__setitem__)
    for path, reason in skipped.items():  # symlinks leading out of a folder: reported, never read
        print(f"skipped {one_line(path)}: {one_line(reason)}", file=sys.stderr)
    if not files:
        raise UsageError(f"no export files under {', '.join(one_line(p) for p in args.paths)} (dotfiles and README* are skipped)")
    con = _connect()
    try:
        with track("ingesting exports", total=len(files), labels=[f.name for f in files]) as bar:
            results = ingest_paths(con, args.paths, cfg, fmt=args.format, progress=bar.on_file, errors="collect",
                                   date_order=getattr(args, "date_order", None))
        rejects = {r.file_hash: rejected_rows(con, r.file_hash, SHOWN_REJECTS)
                   for r in results if not r.error and r.rows_rejected}
    finally:
        con.close()
    failed = [r for r in results if r.error]
    # A file whose every row was rejected contributed nothing: bad input, like a file that failed.
    all_rejected = [r for r in results if not r.error and r.rows_read and r.rows_rejected == r.rows_read]
    status = 2 if failed or all_rejected else 0
    if args.format_output == "json":
        print(json.dumps([_result_json(r, rejects.get(r.file_hash, [])) for r in results], indent=2))
        return status
    from rich.table import Table

    loaded = [r for r in results if not r.error]
    if loaded:
        t = Table(title="ingest")
        for c in ("file", "format", "read", "loaded", "rejected", "noted", "replaced", "period", "billed"):
            t.add_column(c)
        for r in loaded:
            period = f"{r.period_start:%Y-%m-%d} – {r.period_end:%Y-%m-%d}" if r.period_start and r.period_end else ""
            billed = ", ".join(money(v, k) for k, v in sorted(r.totals.items()))
            note = (" (already ingested)" if r.skipped_duplicate
                    else f" (delivered before: {r.rows_restored} line(s) current again)" if r.rows_restored else "")
            t.add_row(terminal_escape(r.path.name) + note, r.format, str(r.rows_read), str(r.rows_loaded),
                      str(r.rows_rejected), str(r.rows_noted), str(r.rows_replaced), period, billed)
        _console().print(t)
    for r in loaded:
        if r.rows_noted:
            print(f"{one_line(r.path.name)}: {r.rows_noted} row(s) loaded with a data-quality note: "
                  f"SELECT * FROM ingest_notes WHERE file_hash = '{r.file_hash}'")
        if r.file_hash not in rejects:
            continue
        # The first rejected rows with every check each failed, so the reasons are on screen;
        # the rest are in ingest_rejects.  File names, reasons and cells are untrusted text.
        checks = rejects[r.file_hash]
        shown_rows = sorted({row for row, *_ in checks if row is not None})[:SHOWN_REJECTS]
        print(f"{one_line(r.path.name)}: {r.rows_rejected} rejected row(s), not loaded:")
        for row, column, reason, raw in checks:
            if row is not None and row not in shown_rows:
                continue
            where = f"row {row}" if row is not None else "file"
            cell = f" (was {one_line(repr(raw))})" if raw is not None else ""
            print(f"  {where}, {one_line(column or '')}: {one_line(reason)}{cell}")
        if r.rows_rejected > len(shown_rows):
            print(f"  ... and {r.rows_rejected - len(shown_rows)} more: "
                  f"SELECT * FROM ingest_rejects WHERE file_hash = '{r.file_hash}'")
    for r in all_rejected:
        print(f"error: {one_line(r.path)}: every row was rejected ({r.rows_rejected} of {r.rows_read}); "
              "nothing of it was loaded", file=sys.stderr)
    for r in failed:
        print(f"error: {one_line(r.error)}", file=sys.stderr)
    return status


SHOWN_REJECTS = 5  # rejected rows (each with all its failed checks) listed per file by `spendwatch ingest`


def _result_json(r, rejects: list[tuple] = ()) -> dict:
    return {
        "error": r.error,
        "file": str(r.path), "file_hash": r.file_hash, "format": r.format, "already_ingested": r.skipped_duplicate,
        "rows_read": r.rows_read, "rows_loaded": r.rows_loaded, "rows_rejected": r.rows_rejected, "rows_replaced": r.rows_replaced,
        "rows_noted": r.rows_noted, "rows_restored": r.rows_restored, "delivery_id": r.delivery_id,
        "period_start": r.period_start.isoformat() if r.period_start else None,
        "period_end": r.period_end.isoformat() if r.period_end else None,
        "billed": {k: str(v) for k, v in sorted(r.totals.items())},
        "first_rejects": [dict(zip(("row_number", "column", "reason", "raw"), row)) for row in rejects],
    }


def cmd_models(args) -> int:
    from warehouse import models as sqlmodels

    project = sqlmodels.load_project()
    out = _console()
    if args.models_command == "list":
        for n in project.order:
            m = project.models[n]
            out.print(f"{n}  [{m.materialized}]  refs: {', '.join(m.refs) or '-'}  sources: {', '.join('.'.join(s) for s in m.sources) or '-'}", markup=False)
        return 0
    from spendwatch.core.config import load_config
    from warehouse.config_sync import sync_config

    from spendwatch.progress import track

    known = not args.select or all(s in project.models for s in args.select)  # build() names unknown ones
    con = _connect()
    try:
        sync_config(con, load_config(os.environ.get("SPENDWATCH_CONFIG")))
        with track("building models", total=len(project.upstream(args.select) if args.select and known else project.order)) as bar:
            results = sqlmodels.build(con, project, select=args.select, on_model=bar.on_model)
    finally:
        con.close()
    for r in results:
        extra = f"{r.rows} rows" if r.rows is not None else ""
        out.print(f"{r.status:7} {r.model:28} {r.seconds:6.2f}s {extra} {r.error or ''}".rstrip(), markup=False)
    return 0 if all(r.status == "ok" for r in results) else 1


def cmd_review(args) -> int:
    from spendwatch.review import render_review

    con = _connect(read_only=True)
    try:
        text = render_review(con, month=args.month, team=args.team, fmt=args.format)
    finally:
        con.close()
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    elif text is not None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def cmd_config(args) -> int:
    from spendwatch.core.config import load_config

    from spendwatch.delivery import unset_webhooks

    cfg = load_config(os.environ.get("SPENDWATCH_CONFIG"))
    print(f"{cfg.path}: ok — {len(cfg.teams)} teams, {len(cfg.attribution)} attribution rules, "
          f"{len(cfg.dedicated_servers)} dedicated servers, reporting currency {cfg.reporting_currency}")
    for warning in unset_webhooks(cfg):
        print(f"warning: {warning}", file=sys.stderr)
    return 0


COMMANDS = {"run": cmd_run, "prices": cmd_prices, "ingest": cmd_ingest, "models": cmd_models, "review": cmd_review, "config": cmd_config, "alerts": alerts_cli.run, "breakeven": breakeven_cli.run, "whatif": whatif_cli.run, "files": files_cli.run, "anomalies": anomalies_cli.run}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not args.command:
            parser.print_help()
            return 2
        _apply_globals(args)
        return COMMANDS[args.command](args)
    except UsageError as e:  # messages may quote untrusted text (file names, cells): one clean line
        print(f"error: {one_line(redact(e))}", file=sys.stderr)
        return 2
    except SpendwatchError as e:
        print(f"error: {one_line(redact(e))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # unexpected: still one line, no traceback, exit 1
        msg = str(e).splitlines()[0] if str(e) else ""
        print(f"error: {type(e).__name__}: {one_line(redact(msg))}", file=sys.stderr)
        if os.environ.get("SPENDWATCH_DEBUG"):
            raise
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
