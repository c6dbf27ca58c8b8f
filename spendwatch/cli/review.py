"""``spendwatch review``: the spend review for a month, from models brought up to date first.

The review is built once as plain data (:func:`spendwatch.review.data.build_review`) and handed to the
renderer of the format asked for; this module only picks them and writes the result.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from spendwatch.cli import common
from spendwatch.core.errors import UsageError

NAME = "review"
FORMATS = ("table", "markdown", "csv", "json", "html")


def add_parser(sub) -> argparse.ArgumentParser:
    p = common.add_command(sub, NAME, help="the spend review for a month")
    p.add_argument("--month", type=common.month_arg, help="YYYY-MM (default: the latest month with data)")
    p.add_argument("--team", help="only this team")
    p.add_argument("--format", choices=FORMATS, default="table",
                   help="html: one self-contained file with charts (use with --output)")
    p.add_argument("--output", type=Path, metavar="FILE",
                   help="write to FILE instead of stdout (csv: an existing directory gets one TABLE.csv per table)")
    p.add_argument("--table", metavar="TABLE", help="csv: only this table (docs/review.md lists them)")
    return p


def render(data: dict, fmt: str, table: str | None = None) -> str:
    """The review data in one format (the terminal table fitted to the terminal's width; csv: one table or all)."""
    from spendwatch.review import render as render_review

    return render_review(data, fmt, table=table)


def run(args: argparse.Namespace) -> int:
    from spendwatch.review.data import build_review

    table = getattr(args, "table", None)  # `spendwatch run` prints the review without one
    if table and args.format != "csv":
        raise UsageError(f"--table {table}: only with --format csv")
    with common.built() as con:  # `spendwatch ingest` then `spendwatch review` shows the new data
        data = build_review(con, month=args.month, team=args.team)
    if args.format == "csv" and args.output and args.output.is_dir() and not table:
        from spendwatch.review import write_csv

        write_csv(data, args.output)
        return 0
    text = render(data, args.format, table)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0
