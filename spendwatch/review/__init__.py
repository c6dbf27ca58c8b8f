"""The spend review: one function builds it as plain data, renderers turn it into text.

Stable API (the ``spendwatch review`` command and the alerts use these)::

    from spendwatch.review import FORMATS, build_review, render, render_review

    review = build_review(con, month=date(2026, 11, 1), team="search")  # dicts of Decimal, date, str
    text = render(review, "markdown")            # table | markdown | csv | json | html
    text = render(review, "table", width=100)    # terminal tables fitted to 100 columns
    text = render(review, "csv", table="spend")  # one tidy CSV table (render(review, "csv"): all of them)
    files = write_csv(review, Path("review"))    # each CSV table to review/<table>.csv

Modules: ``data`` (build_review: the only one that reads the warehouse, through
``warehouse.review_queries``), ``headlines``, ``sections`` (what each section shows and
how a value reads), and one renderer per format: ``terminal``, ``markdown``, ``csv``,
``json``, ``html`` (with ``figures``).  The renderers never query and never import each
other.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb

from spendwatch.core.errors import UsageError
from spendwatch.review.csv import csv_tables, render_csv, write_csv
from spendwatch.review.data import build_review
from spendwatch.review.html import render_html, team_anchor
from spendwatch.review.json import render_json
from spendwatch.review.markdown import render_markdown
from spendwatch.review.terminal import render_table

FORMATS = ("table", "markdown", "csv", "json", "html")

__all__ = ["FORMATS", "build_review", "csv_tables", "render", "render_review", "team_anchor", "write_csv"]


def render(review: dict[str, Any], fmt: str = "table", *, width: int | None = None, table: str | None = None) -> str:
    """A built review in one of FORMATS (``width`` for the terminal table, ``table`` for one CSV table)."""
    if fmt == "table":
        return render_table(review, width)
    if fmt == "markdown":
        return render_markdown(review)
    if fmt == "csv":
        return render_csv(review, table)
    if fmt == "json":
        return render_json(review)
    if fmt == "html":
        return render_html(review)
    raise UsageError(f"--format {fmt}: unknown format (choose from {', '.join(FORMATS)})")


def render_review(con: duckdb.DuckDBPyConnection, month: date | None = None, team: str | None = None,
                  fmt: str = "table", *, width: int | None = None) -> str:
    """The spend review for a month (default the latest with data), optionally one team, in the given format."""
    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt}: unknown format (choose from {', '.join(FORMATS)})")
    return render(build_review(con, month, team), fmt, width=width)
