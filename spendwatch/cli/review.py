"""``spendwatch review``: the spend review for a month, from models brought up to date first.

The review is built once as plain data (:func:`spendwatch.review.data.build_review`) and handed to the
renderer of the format asked for; this module only picks them and writes the result.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from spendwatch.cli import common

NAME = "review"
FORMATS = ("table", "markdown", "csv", "json", "html")


def add_parser(sub) -> argparse.ArgumentParser:
    p = common.add_command(sub, NAME, help="the spend review for a month")
    p.add_argument("--month", type=common.month_arg, help="YYYY-MM (default: the latest month with data)")
    p.add_argument("--team", help="only this team")
    p.add_argument("--format", choices=FORMATS, default="table",
                   help="html: one self-contained file with charts (use with --output)")
    p.add_argument("--output", type=Path, metavar="FILE", help="write to FILE instead of stdout")
    return p


def render(data: dict, fmt: str) -> str:
    """The review data in one format."""
    if fmt == "table":
        from spendwatch.render import terminal_width
        from spendwatch.review.terminal import render_table

        return render_table(data, width=terminal_width())
    if fmt == "markdown":
        from spendwatch.review.markdown import render_markdown

        return render_markdown(data)
    if fmt == "csv":
        from spendwatch.review.csv import render_csv

        return render_csv(data)
    if fmt == "json":
        from spendwatch.review.json import render_json

        return render_json(data)
    from spendwatch.review.html import render_html

    return render_html(data)


def run(args: argparse.Namespace) -> int:
    from spendwatch.review.data import build_review

    with common.built() as con:  # `spendwatch ingest` then `spendwatch review` shows the new data
        data = build_review(con, month=args.month, team=args.team)
    text = render(data, args.format)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0
