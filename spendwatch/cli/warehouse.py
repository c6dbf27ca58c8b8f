"""``spendwatch warehouse move-to-lake | copy-for-lake``: move an existing DuckDB file warehouse into a DuckLake.

``move-to-lake --from FILE`` copies every stored table of FILE into the lake named by ``--warehouse`` /
``SPENDWATCH_WAREHOUSE`` (``ducklake:postgres:...``, data files under ``SPENDWATCH_DATA_PATH``), which must be new
and empty; it checks each table's rows and money totals per currency on both sides and prints them.  The models
are then rebuilt on the lake: ``spendwatch models build --full``.

``copy-for-lake --to COPY`` (run with the embedded install, DuckDB 2.x) writes the warehouse in use to a new file
that the lake extra's DuckDB 1.5.5 reads.

Exit 2 for a target that is not a lake or not empty, a missing file, or a file of another schema.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from spendwatch.cli import common
from spendwatch.render import Col

NAME = "warehouse"
COLUMNS = (Col("table", priority=0), Col("rows", "number", 0), Col("money totals (per currency)", priority=1))


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(NAME, help="move a DuckDB file warehouse into a DuckLake")
    wsub = p.add_subparsers(dest="warehouse_command", metavar="ACTION", parser_class=common.Parser, required=True)
    mv = common.add_command(wsub, "move-to-lake", help="copy every stored table of a DuckDB file into a new, empty "
                                                       "lake (the --warehouse / SPENDWATCH_WAREHOUSE one), checked")
    mv.add_argument("--from", dest="source", type=Path, required=True, metavar="FILE", help="the DuckDB file to move")
    cp = common.add_command(wsub, "copy-for-lake", help="write the DuckDB file in use to a new file the lake's "
                                                        "DuckDB (1.5.5) reads, to move from")
    cp.add_argument("--to", dest="target", type=Path, required=True, metavar="FILE", help="the new file")
    return p


def run(args: argparse.Namespace) -> int:
    from warehouse.db import resolve_warehouse
    from warehouse.lake import is_lake
    from warehouse.lake_move import copy_for_lake, move_into_lake
    from spendwatch.core.errors import UsageError

    location = resolve_warehouse()
    if args.warehouse_command == "copy-for-lake":
        if is_lake(location):
            raise UsageError("copy-for-lake copies a DuckDB file: --warehouse / SPENDWATCH_WAREHOUSE names a lake")
        checked = copy_for_lake(location, args.target)
        common.print_rows(COLUMNS, [(f.table, f.rows, f.money()) for f in checked], title=f"copied to {args.target}")
        common.out(f"every table's rows and totals are equal in {args.target}; move it with "
                   f"`spendwatch warehouse move-to-lake --from {args.target}` (the lake extra's install)")
        return 0
    if not is_lake(location):
        raise UsageError("move-to-lake needs a DuckLake target: --warehouse or SPENDWATCH_WAREHOUSE = "
                         "ducklake:postgres:<conninfo>, with SPENDWATCH_DATA_PATH for its data files")
    with common.connection() as con:
        moved = move_into_lake(con, args.source)
    common.print_rows(COLUMNS, [(f.table, f.rows, f.money()) for f in moved.tables],
                      title=f"moved {args.source} into the lake (snapshot {moved.snapshot})")
    common.out("checked: every table's row count and money totals per currency are equal in the file and the lake.")
    common.out(f"not copied: {'; '.join(moved.left_behind)}.")
    common.out("next: spendwatch models build --full (the models are rebuilt on the lake)")
    return 0
