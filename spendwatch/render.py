"""Showing untrusted text safely: markdown tables, Slack mrkdwn, HTML and terminal output.

Model names, SKUs, descriptions and file names come from scraped pages and export
files, so every place that shows them escapes them for its medium.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
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


_SYMBOLS = {"GBP": "£", "USD": "$", "EUR": "€"}


def _with_currency(body: str, currency: str | None) -> str:
    sym = _SYMBOLS.get(currency or "")
    if sym:
        return f"-{sym}{body[1:]}" if body.startswith("-") else f"{sym}{body}"
    return f"{body} {plain(currency or '')}".strip()


def money(amount: Any, currency: str | None) -> str:
    """``£1,234.56`` for GBP/USD/EUR, else ``1,234.56 CHF``; None as an em dash."""
    if amount is None:
        return "—"
    q = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)  # money rounds half up, as invoices do
    return _with_currency(f"{q:,.2f}", currency)


def unit_price(amount: Any, currency: str | None, unit: str | None = None) -> str:
    """A unit price with its significant digits: ``$0.34/hour``, ``$0.00000125/token``, ``£1,444.26/month``.

    Never fewer than two decimals, never trailing zeros beyond them (a DECIMAL(38,12) 0.340000000000 is $0.34).
    """
    if amount is None:
        return "—"
    d = Decimal(str(amount)).normalize()
    places = max(2, -d.as_tuple().exponent) if d.is_finite() else 2
    text = _with_currency(f"{d:,.{places}f}", currency)
    return f"{text}/{plain(unit)}" if unit else text


def number(value: Any, places: int | None = None) -> str:
    """A figure without currency: thousands separators, ``places`` decimals (default: its significant digits)."""
    if value is None:
        return ""
    d = Decimal(str(value))
    if places is not None:
        return f"{d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP):,.{places}f}"
    d = d.normalize()
    return f"{d:,f}" if d.is_finite() else str(d)


def _jsonable(v: Any):
    import datetime as _dt

    if isinstance(v, Decimal):
        return format(v, "f")
    if isinstance(v, (_dt.date, _dt.datetime)):
        return v.isoformat()
    return v


# --- terminal tables ------------------------------------------------------------------------

@dataclass(frozen=True)
class Col:
    """A table column: its header, what it holds and how much it matters when the terminal is narrow.

    ``kind`` is ``text`` (wraps at spaces, folds a word longer than the column), ``money`` or ``number``
    (right-aligned, never wrapped, never cut: the column is as wide as its widest figure).  ``priority``
    0 is always shown; when the columns do not fit, the highest priority number goes first (the rightmost
    of equals).
    """

    name: str
    kind: str = "text"
    priority: int = 1


_MONEY_TOKEN = re.compile(r"-?[£$€]-?[\d,]+(?:\.\d+)?|-?[\d,]+\.\d+ [A-Z]{3}\b")
_TEXT_MIN = 12        # a text column narrower than its content still gets this many characters
_WORD_MAX = 18        # ... or its longest word up to this many, so short identifiers do not fold
_BORDERS = 3          # per column: a border and one space of padding each side (plus one closing border)


def terminal_width(default: int = 120) -> int:
    """The width to render for: $COLUMNS, else the terminal's, else ``default`` (pipes, cron, CI)."""
    import os
    import shutil
    import sys

    env = os.environ.get("COLUMNS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        if sys.stdout.isatty():
            return shutil.get_terminal_size((default, 24)).columns
    except (AttributeError, ValueError):
        pass
    return default


def wrap(text: str, width: int | None = None) -> str:
    """Plain terminal lines fitted to ``width`` (default :func:`terminal_width`): a long line breaks at spaces and
    goes on indented two more than it began; a word is never split (so neither is a money figure)."""
    import textwrap

    width = width or terminal_width()
    out = []
    for line in text.splitlines():
        if len(line) <= width:
            out.append(line)
            continue
        lead = " " * (len(line) - len(line.lstrip(" ")))
        out += textwrap.wrap(line.strip(), width, initial_indent=lead, subsequent_indent=lead + "  ",
                             break_long_words=False, break_on_hyphens=False)
    return "\n".join(out)


def _cell(value: Any) -> str:
    if isinstance(value, Decimal):
        return number(value)
    if isinstance(value, float):
        return number(Decimal(repr(value)))
    return one_line(value)


def _longest_word(text: str) -> int:
    return max((len(w) for w in text.split()), default=0)


def _widths(cols: list[Col], cells: list[list[str]], width: int) -> tuple[list[int], list[int]]:
    """The columns kept (indexes) and their content widths, fitting ``width`` with the borders."""
    natural, minimum = [], []
    for i, c in enumerate(cols):
        column = [row[i] for row in cells]
        nat = max([len(c.name)] + [len(v) for v in column])
        if c.kind in ("money", "number"):
            low = nat
        else:  # headers never break mid-word, and a money figure inside text never folds
            money_tokens = [len(m) for v in column for m in _MONEY_TOKEN.findall(v)]
            word = min(max([_longest_word(v) for v in column] + [0]), _WORD_MAX)  # a short identifier stays whole
            low = max([_longest_word(c.name), min(nat, max(_TEXT_MIN, word))] + money_tokens)
        natural.append(nat)
        minimum.append(low)
    kept = list(range(len(cols)))
    while len(kept) > 1 and sum(minimum[i] for i in kept) + _BORDERS * len(kept) + 1 > width:
        droppable = [i for i in kept if cols[i].priority > 0]
        if not droppable:
            break
        worst = max(droppable, key=lambda i: (cols[i].priority, i))
        kept.remove(worst)
    w = {i: minimum[i] for i in kept}
    spare = width - (sum(w.values()) + _BORDERS * len(kept) + 1)
    # Share what is left among the columns still narrower than their content, fairly: the one that needs least is
    # served first (a short identifier is shown whole), the rest split what remains.
    wanting = sorted((i for i in kept if natural[i] > w[i]), key=lambda i: natural[i] - w[i])
    for n, i in enumerate(wanting):
        share = min(natural[i] - w[i], max(spare, 0) // (len(wanting) - n))
        w[i] += share
        spare -= share
    return kept, [w[i] for i in kept]


def render_table(columns: Sequence[Col | str], rows: Iterable[Sequence[Any]], title: str | None = None,
                 width: int | None = None) -> str:
    """Rows as a boxed table that fits ``width`` (default :func:`terminal_width`).

    Columns are dropped by priority until the rest fit (a line names those left out), text wraps, and a
    money or number cell is never cut or wrapped.  Cells are untrusted: control characters are removed
    and rich markup is escaped.
    """
    import io

    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    cols = [c if isinstance(c, Col) else Col(c) for c in columns]
    cells = [[_cell(v) for v in r] for r in rows]
    width = width or terminal_width()
    kept, widths = _widths(cols, cells, width)
    t = Table(title=escape(one_line(title)) if title else None, box=box.SQUARE, show_lines=False, title_justify="left")
    for i, w in zip(kept, widths):
        c = cols[i]
        figure = c.kind in ("money", "number")
        t.add_column(escape(one_line(c.name)), width=w, no_wrap=figure, overflow="fold",
                     justify="right" if figure else "left")
    for r in cells:
        t.add_row(*(escape(r[i]) for i in kept))
    buf = io.StringIO()
    Console(file=buf, width=width, color_system=None, highlight=False, emoji=False, soft_wrap=False).print(t)
    out = "".join(line.rstrip() + "\n" for line in buf.getvalue().splitlines())
    buf = io.StringIO(out)
    buf.seek(0, io.SEEK_END)
    dropped = [cols[i].name for i in range(len(cols)) if i not in kept]
    if dropped:
        note = f"not shown at {width} columns: {', '.join(one_line(d) for d in dropped)} (a wider terminal, or --format json)"
        buf.write(wrap(note, width) + "\n")
    return buf.getvalue()


def _names(columns: Sequence[Col | str]) -> list[str]:
    return [c.name if isinstance(c, Col) else c for c in columns]


def render_rows(columns: Sequence[Col | str], rows: Iterable[Sequence[Any]], fmt: str = "table",
                title: str | None = None, width: int | None = None) -> str:
    """Rows as a terminal table (:func:`render_table`), JSON (a list of objects), CSV or markdown.

    Untrusted cells are escaped per medium; JSON and CSV keep the values as stored (Decimals in full).
    """
    import csv
    import io
    import json

    rows = list(rows)
    names = _names(columns)
    if fmt == "json":
        return json.dumps([{c: _jsonable(v) for c, v in zip(names, r)} for r in rows], indent=2)
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(names)
        w.writerows([[plain(v) for v in r] for r in rows])
        return buf.getvalue()
    if fmt == "markdown":
        return markdown_table(names, rows, limit=None)
    return render_table(columns, rows, title, width)
