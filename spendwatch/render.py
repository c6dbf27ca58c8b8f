"""Showing untrusted text safely: markdown tables, Slack mrkdwn, HTML and terminal output.

Model names, SKUs, descriptions and file names come from scraped pages and export
files, so every place that shows them escapes them for its medium.
"""

from __future__ import annotations

import html
import re
from decimal import Decimal
from typing import Any, Iterable, Sequence

# ASCII and C1 control characters (ESC, and U+009B, the one-character CSI some terminals
# obey), and the invisible bidirectional overrides/isolates that can make text read backwards.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def plain(value: Any) -> str:
    """A cell as text: Decimals without exponent, None as empty, control characters removed."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    return _CONTROL.sub("", str(value))


def one_line(value: Any) -> str:
    """For plain terminal lines (errors, notes): control characters removed, line breaks and tabs as spaces."""
    return re.sub(r"[\r\n\t\u2028\u2029]+", " ", plain(value))


def md_escape(value: Any) -> str:
    """Escape a value for a markdown table cell (Dagster metadata)."""
    s = plain(value).replace("\n", " ")
    s = html.escape(s, quote=False)
    return s.replace("|", "\\|").replace("`", "\\`").replace("*", "\\*").replace("_", "\\_").replace("[", "\\[")


def slack_escape(value: Any) -> str:
    """Escape for Slack mrkdwn: & < > become entities, so ``<!channel>`` can never ping anyone."""
    return plain(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def html_escape(value: Any) -> str:
    return html.escape(plain(value), quote=True)


def terminal_escape(value: Any) -> str:
    """For rich tables: strip control/ANSI characters and escape rich markup brackets."""
    from rich.markup import escape

    return escape(one_line(value))  # one line per cell: a break in untrusted text cannot fake a row


def markdown_table(columns: Sequence[str], rows: Iterable[Sequence[Any]], limit: int | None = 20) -> str:
    rows = list(rows)
    shown = rows if limit is None else rows[:limit]
    out = ["| " + " | ".join(md_escape(c) for c in columns) + " |", "|" + "---|" * len(columns)]
    out += ["| " + " | ".join(md_escape(v) for v in r) + " |" for r in shown]
    if limit is not None and len(rows) > limit:
        out.append(f"\n_{len(rows) - limit} more rows_")
    return "\n".join(out)


def money(amount: Any, currency: str | None) -> str:
    """``£1,234.56`` for GBP/USD/EUR, else ``1,234.56 CHF``; None as an em dash."""
    if amount is None:
        return "—"
    q = Decimal(str(amount)).quantize(Decimal("0.01"))
    sym = {"GBP": "£", "USD": "$", "EUR": "€"}.get(currency or "")
    body = f"{q:,.2f}"
    if sym:
        return f"-{sym}{body[1:]}" if body.startswith("-") else f"{sym}{body}"
    return f"{body} {currency or ''}".strip()


def _jsonable(v: Any):
    import datetime as _dt

    if isinstance(v, Decimal):
        return format(v, "f")
    if isinstance(v, (_dt.date, _dt.datetime)):
        return v.isoformat()
    return v


def render_rows(columns: Sequence[str], rows: Iterable[Sequence[Any]], fmt: str = "table", title: str | None = None) -> str:
    """Rows as a rich table (text), JSON (a list of objects) or CSV.  Untrusted cells are escaped per medium."""
    import csv
    import io
    import json

    rows = list(rows)
    if fmt == "json":
        return json.dumps([{c: _jsonable(v) for c, v in zip(columns, r)} for r in rows], indent=2)
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(columns)
        w.writerows([[plain(v) for v in r] for r in rows])
        return buf.getvalue()
    if fmt == "markdown":
        return markdown_table(columns, rows, limit=None)
    from rich.console import Console
    from rich.table import Table

    t = Table(title=title)
    for c in columns:
        t.add_column(c)
    for r in rows:
        t.add_row(*(terminal_escape(v) for v in r))
    buf = io.StringIO()
    Console(file=buf, width=200, color_system=None).print(t)
    return buf.getvalue()
