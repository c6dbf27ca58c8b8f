"""``spendwatch files``: the deliveries ingested (current, superseded or failed), and forgetting one.

``files list [--format table|json]`` shows every delivery, newest arrival first, with its
status: *current* (the truth for every scope it covers), *superseded* (a later delivery
restated all of them), *partly current*, or *failed* (it could not be ingested; nothing of
it is stored).  ``files forget PATH|HASH|ID`` removes a delivery: each scope it was the
truth for goes back to the delivery that arrived before it (from the archive, even when
that file is gone), and its bytes may then be ingested again, e.g. with the right ``--format``.

Wired into :mod:`spendwatch.cli` with ``add_parser(sub)`` and ``COMMANDS["files"] = run``.
"""

from __future__ import annotations

import argparse
import json

from spendwatch.core.errors import UsageError


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``files`` to the spendwatch subcommands."""
    from spendwatch import cli

    p = subparsers.add_parser("files", help="the ingested deliveries: list them, forget one")
    fsub = p.add_subparsers(dest="files_command", metavar="ACTION", parser_class=cli._Parser, required=True)
    ls = fsub.add_parser("list", help="every delivery, newest first: current, superseded or failed")
    cli._common(ls)
    ls.add_argument("--format", choices=["table", "json"], default="table")
    fg = fsub.add_parser("forget", help="remove a delivery and restore, per scope, the one current before it")
    cli._common(fg)
    fg.add_argument("ref", metavar="PATH|HASH", help="the delivery's file (or manifest) path, sha256 (8+ digits) or id")
    return p


def run(args: argparse.Namespace) -> int:
    from spendwatch import cli

    if args.files_command == "list":
        return _list(args, cli)
    if args.files_command == "forget":
        return _forget(args, cli)
    raise UsageError(f"spendwatch files: unknown action {args.files_command!r}")


def _list(args: argparse.Namespace, cli) -> int:
    from warehouse.ingest import list_deliveries

    con = cli._connect(read_only=False)
    try:
        rows = list_deliveries(con)
    finally:
        con.close()
    if args.format == "json":
        print(json.dumps([{**r, "arrived_at": r["arrived_at"].isoformat() if r["arrived_at"] else None} for r in rows],
                         indent=2))
        return 0
    if not rows:
        print("no deliveries ingested yet")
        return 0
    from rich.table import Table

    from spendwatch.render import terminal_escape

    t = Table(title="deliveries (newest arrival first)")
    for c in ("id", "status", "format", "file", "sha256", "arrived (UTC)", "scopes", "lines"):
        t.add_column(c)
    for r in rows:
        status = r["status"] + (f": {r['error']}" if r["error"] else "")
        scopes = f"{r['current_scopes']}/{r['scopes']}" if r["scopes"] else "-"
        lines = f"{r['current_lines']}/{r['lines']}" if r["lines"] else "0"
        t.add_row(str(r["delivery_id"]), terminal_escape(status), r["format"], terminal_escape(r["path"]),
                  r["sha256"][:16], f"{r['arrived_at']:%Y-%m-%d %H:%M}", scopes, lines)
    cli._console().print(t)
    return 0


def _forget(args: argparse.Namespace, cli) -> int:
    from spendwatch.render import one_line
    from warehouse.ingest import forget_delivery

    con = cli._connect()
    try:
        delivery, removed, restored = forget_delivery(con, args.ref)
    finally:
        con.close()
    print(f"forgot delivery {delivery.delivery_id} ({delivery.format}, {one_line(delivery.path)}): "
          f"{removed} line(s) removed, {restored} line(s) of earlier deliveries current again")
    return 0
