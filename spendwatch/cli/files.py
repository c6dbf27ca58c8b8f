"""``spendwatch files``: the deliveries ingested (current, superseded or failed), and forgetting one.

``files list [--format table|json]`` shows every delivery, newest arrival first, with its
status: *current* (the truth for every scope it covers), *superseded* (a later delivery
restated all of them), *partly current*, or *failed* (it could not be ingested; nothing of
it is stored).  ``files forget PATH|HASH|ID`` removes a delivery: each scope it was the
truth for goes back to the delivery that arrived before it (from the archive, even when
that file is gone), and its bytes may then be ingested again, e.g. with the right ``--format``.
"""

from __future__ import annotations

import argparse
import json

from spendwatch.cli import common
from spendwatch.render import Col, one_line

NAME = "files"
COLUMNS = (Col("id", "number", 0), Col("status", priority=0), Col("format", priority=2), Col("file", priority=0),
           Col("sha256", priority=4), Col("arrived (UTC)", priority=3), Col("scopes", priority=1), Col("lines", priority=1))


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(NAME, help="the ingested deliveries: list them, forget one")
    fsub = p.add_subparsers(dest="files_command", metavar="ACTION", parser_class=common.Parser, required=True)
    ls = common.add_command(fsub, "list", help="every delivery, newest first: current, superseded or failed")
    ls.add_argument("--format", choices=["table", "json"], default="table")
    fg = common.add_command(fsub, "forget", help="remove a delivery and restore, per scope, the one current before it")
    fg.add_argument("ref", metavar="PATH|HASH", help="the delivery's file (or manifest) path, sha256 (8+ digits) or id")
    return p


def run(args: argparse.Namespace) -> int:
    return _list(args) if args.files_command == "list" else _forget(args)


def _list(args: argparse.Namespace) -> int:
    from warehouse.ingest import list_deliveries

    with common.connection() as con:
        rows = list_deliveries(con)
    if args.format == "json":
        common.out(json.dumps([{**r, "arrived_at": r["arrived_at"].isoformat() if r["arrived_at"] else None} for r in rows],
                              indent=2))
        return 0
    view = [(r["delivery_id"], r["status"] + (f": {r['error']}" if r["error"] else ""), r["format"], r["path"],
             r["sha256"][:16], f"{r['arrived_at']:%Y-%m-%d %H:%M}",
             f"{r['current_scopes']}/{r['scopes']}" if r["scopes"] else "-",
             f"{r['current_lines']}/{r['lines']}" if r["lines"] else "0") for r in rows]
    return common.print_rows(COLUMNS, view, title="deliveries (newest arrival first)", empty="no deliveries ingested yet")


def _forget(args: argparse.Namespace) -> int:
    from warehouse.ingest import forget_delivery

    with common.connection() as con:
        delivery, removed, restored = forget_delivery(con, args.ref)
    common.out(f"forgot delivery {delivery.delivery_id} ({one_line(delivery.format)}, {one_line(delivery.path)}): "
               f"{removed} line(s) removed, {restored} line(s) of earlier deliveries current again")
    return 0
