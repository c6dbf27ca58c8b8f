"""``spendwatch ingest PATH...``: load export files (FOCUS, OpenAI, Anthropic, RunPod, Modal, ...).

Exit 2 when a file could not be read or every row of one was rejected (nothing of it was loaded).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from spendwatch.cli import common
from spendwatch.core.errors import UsageError
from spendwatch.render import Col, money, one_line

NAME = "ingest"
SHOWN_REJECTS = 5  # rejected rows (each with all its failed checks) listed per file by `spendwatch ingest`
COLUMNS = (Col("file", priority=0), Col("format", priority=3), Col("read", "number", 2), Col("loaded", "number", 0),
           Col("rejected", "number", 0), Col("noted", "number", 4), Col("replaced", "number", 4),
           Col("period", priority=2), Col("billed", priority=1))


def add_parser(sub) -> argparse.ArgumentParser:
    p = common.add_command(sub, NAME, help="ingest export files (FOCUS, OpenAI, Anthropic, RunPod, Modal, ...)")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    p.add_argument("--format", default="auto", help="loader to use (default: auto, decided from the content)")
    p.add_argument("--format-output", choices=["table", "json"], default="table")
    p.add_argument("--date-order", choices=["dmy", "mdy"], default=None,
                   help="day/month order of slash dates such as 01/10/2026 when a column never shows it "
                        "(default: decided per file and column from the dates; or [exports.date_order])")
    return p


def run(args: argparse.Namespace) -> int:
    from spendwatch.progress import track
    from warehouse.ingest import ingest_paths, iter_export_files, rejected_rows

    cfg = common.load_config()
    for p in args.paths:
        if not p.exists():
            raise UsageError(f"{p}: no such file or folder")
    skipped: dict[Path, str] = {}
    files = iter_export_files(args.paths, skipped=skipped.__setitem__)
    for path, reason in skipped.items():  # symlinks leading out of a folder: reported, never read
        print(f"skipped {one_line(path)}: {one_line(reason)}", file=sys.stderr)
    if not files:
        raise UsageError(f"no export files under {', '.join(one_line(p) for p in args.paths)} (dotfiles and README* are skipped)")
    with common.connection() as con:
        with track("ingesting exports", total=len(files), labels=[f.name for f in files]) as bar:
            results = ingest_paths(con, args.paths, cfg, fmt=args.format, progress=bar.on_file, errors="collect",
                                   date_order=args.date_order)
        rejects = {r.file_hash: rejected_rows(con, r.file_hash, SHOWN_REJECTS)
                   for r in results if not r.error and r.rows_rejected}
    failed = [r for r in results if r.error]
    # A file whose every row was rejected contributed nothing: bad input, like a file that failed.
    all_rejected = [r for r in results if not r.error and r.rows_read and r.rows_rejected == r.rows_read]
    status = 2 if failed or all_rejected else 0
    if args.format_output == "json":
        print(json.dumps([result_json(r, rejects.get(r.file_hash, [])) for r in results], indent=2))
        return status
    loaded = [r for r in results if not r.error]
    if loaded:
        common.out(_table(loaded))
    for r in loaded:
        _print_notes(r, rejects.get(r.file_hash))
    for r in all_rejected:
        print(f"error: {one_line(r.path)}: every row was rejected ({r.rows_rejected} of {r.rows_read}); "
              "nothing of it was loaded", file=sys.stderr)
    for r in failed:
        print(f"error: {one_line(r.error)}", file=sys.stderr)
    return status


def _table(loaded) -> str:
    from spendwatch.render import render_table

    rows = []
    for r in loaded:
        period = f"{r.period_start:%Y-%m-%d} – {r.period_end:%Y-%m-%d}" if r.period_start and r.period_end else ""
        billed = ", ".join(money(v, k) for k, v in sorted(r.totals.items()))
        note = (" (already ingested)" if r.skipped_duplicate
                else f" (delivered before: {r.rows_restored} line(s) current again)" if r.rows_restored else "")
        rows.append((f"{r.path.name}{note}", r.format, r.rows_read, r.rows_loaded, r.rows_rejected, r.rows_noted,
                     r.rows_replaced, period, billed))
    return render_table(COLUMNS, rows, "ingest")


def _print_notes(r, checks) -> None:
    """The rows of one file loaded with a note, and its first rejected rows with every check each failed.

    File names, reasons and cells are untrusted text: one clean line each.
    """
    if r.rows_noted:
        print(f"{one_line(r.path.name)}: {r.rows_noted} row(s) loaded with a data-quality note: "
              f"SELECT * FROM ingest_notes WHERE file_hash = '{r.file_hash}'")
    if not checks:
        return
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


def result_json(r, rejects: list[tuple] = ()) -> dict:
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
