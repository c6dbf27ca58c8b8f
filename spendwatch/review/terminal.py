"""The review for a terminal: a heading per team, its headlines, then a table per section.

Each table goes through the shared table renderer (``spendwatch.render.render_table``):
it fits the width (80 to 120 columns is the design range), drops columns by priority
(``Section.priority``: a section's first column never, then the least important first), wraps text
and never cuts or wraps a money figure; a line names the columns left out.  Every value
is shown as :func:`~spendwatch.review.sections.cell_text` reads it (money with its
currency symbol) and every untrusted string is stripped of control characters and rich
markup by the table renderer.  JSON, CSV, markdown and HTML show every column.
"""

from __future__ import annotations

from typing import Any

from spendwatch.render import Col as TableCol
from spendwatch.render import money, one_line, render_table as table_text, terminal_width, wrap
from spendwatch.review.sections import (
    ORG_SECTIONS, TEAM_SECTIONS, Section, cell_text, empty_note, month_title, section_records, shown,
)

# How the shared table renderer treats each kind of value: figures and dates right-aligned, never cut or wrapped.
_TABLE_KIND = {"money": "money", "price": "money", "fraction": "number", "pct": "number", "int": "number", "num": "number",
               "date": "number", "datetime": "number"}


def _lines(text: str, width: int) -> str:
    """Plain text as one clean line (control characters gone), wrapped to ``width`` at spaces (a figure never splits)."""
    return wrap(one_line(text), width) + "\n"


def _section(data: dict[str, Any], section: Section, recs: list[dict[str, Any]], width: int) -> str:
    empty = empty_note(data, section, recs)
    if empty is not None:
        return _lines(f"{section.title}: {empty}", width)
    rows, more = shown(section, recs)
    cols = [TableCol(c.label, _TABLE_KIND.get(c.kind, "text"), section.priority(c)) for c in section.cols]
    text = table_text(cols, [[cell_text(r, c) for c in section.cols] for r in rows], title=section.title, width=width)
    return text + (_lines(more, width) if more else "")


def render_table(data: dict[str, Any], width: int | None = None) -> str:
    """The review as text tables for a terminal ``width`` columns wide (default: the terminal's, else 120)."""
    width = width or terminal_width()
    cur = data["reporting_currency"]
    out = [_lines(f"Spend review, {month_title(data)} (money in {cur})", width)]
    for tm in data["teams"]:
        lead = f" (lead {tm['lead']})" if tm["lead"] else ""
        status = tm["threshold"]["status"].replace("_", " ")
        out.append("\n" + _lines(f"== {tm['team']}{lead}: {status}", width))
        out += [_lines(f"• {h}", width) for h in tm["headlines"]]
        out += [_section(data, s, section_records(data, s, tm), width) for s in TEAM_SECTIONS]
    out.append("\n== organisation\n")
    out.append(_lines(f"Unallocated spend this month: {money(data['unallocated']['total'], cur)}", width))
    out += [_section(data, s, section_records(data, s), width) for s in ORG_SECTIONS]
    out += [_lines(f"note: {n}", width) for n in data["notes"]]
    return "".join(out)
