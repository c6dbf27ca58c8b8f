"""The review as tidy CSV: one table per section, a column per field, a row per team, month or line.

Every table is ready for a pivot table: its first columns say whose and which month a row
is (``team`` for team sections, ``month`` unless the row carries its own), then one column
per field in the order a reader sees them, and beside each money or price field the
column holding its currency (``currency``, ``threshold_currency``, ``reporting_currency``,
...).  Values are raw: decimals unrounded (``65.5452``), dates ISO 8601, booleans
``true``/``false``, empty for none.  A text cell a spreadsheet would run as a formula
(``=``, ``+``, ``-``, ``@``) is quoted with a leading ``'``.

:func:`csv_tables` returns the tables; :func:`render_csv` writes one of them, or all of
them one after another, each block opened by a ``# <table>`` line and closed by a blank
line; :func:`write_csv` writes each to ``<table>.csv`` in a directory.  docs/review.md
lists the tables and their columns.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Sequence

from spendwatch.core.errors import UsageError
from spendwatch.render import plain
from spendwatch.review.sections import MONEY_CURRENCY, ORG_SECTIONS, TEAM_SECTIONS, Section, section_records


@dataclass(frozen=True)
class CsvTable:
    """One tidy table: its name (the review section), its column names and its rows of raw values."""

    name: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


def _fields(keys: Sequence[str], kinds: dict[str, str]) -> tuple[str, ...]:
    """The field columns in reading order, each money or price field followed by its currency column (once)."""
    out: list[str] = []
    for k in keys:
        if k not in out:
            out.append(k)
        cur = MONEY_CURRENCY.get(k, "currency") if kinds.get(k) in ("money", "price") else None
        if cur and cur not in out and cur not in keys:
            out.append(cur)
    return tuple(out)


def _section_fields(section: Section) -> tuple[str, ...]:
    return _fields([c.key for c in section.cols], {c.key: c.kind for c in section.cols})


# Tables the review carries beside its sections: (name, fields, money fields).
_TEAM_EXTRAS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("audit_summary", ("findings", "above_tolerance", "at_stake_reporting"), ("at_stake_reporting",)),
    ("history", ("month", "serverless_gpu", "dedicated_gpu", "hosted_api", "other", "variable_spend", "total_spend",
                 "threshold", "status"),
     ("serverless_gpu", "dedicated_gpu", "hosted_api", "other", "variable_spend", "total_spend", "threshold")),
    ("daily", ("charge_date", "variable_spend", "month_to_date"), ("variable_spend", "month_to_date")),
)


def _table(name: str, fields: tuple[str, ...], keyed: list[tuple[dict[str, Any], dict[str, Any]]]) -> CsvTable:
    """A table of records, each with its key columns (team and/or month) put first."""
    keys = tuple(dict.fromkeys(k for key, _ in keyed for k in key)) or ()
    return CsvTable(name, keys + fields, tuple(tuple(key.get(k) for k in keys) + tuple(r.get(f) for f in fields)
                                               for key, r in keyed))


def csv_tables(data: dict[str, Any]) -> list[CsvTable]:
    """Every table of the review, team sections first (one row per team and line), then the organisation's."""
    month = data["month"]
    out: list[CsvTable] = []

    def team_key(t: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
        return {"team": t["team"]} | ({} if "month" in fields else {"month": month})

    def empty_keys(fields: tuple[str, ...], team: bool) -> tuple[str, ...]:
        return (("team",) if team else ()) + (() if "month" in fields else ("month",))

    def add(name: str, fields: tuple[str, ...], keyed: list, team: bool) -> None:
        table = _table(name, fields, keyed)
        if not keyed:  # no rows: the header all the same
            table = CsvTable(name, empty_keys(fields, team) + fields, ())
        out.append(table)

    teams = data["teams"]
    add("headlines", ("headline",), [(team_key(t, ()), {"headline": h}) for t in teams for h in t["headlines"]], True)
    for s in TEAM_SECTIONS:
        fields = _section_fields(s)
        add(s.key, fields, [(team_key(t, fields), r) for t in teams for r in section_records(data, s, t)], True)
    for name, keys, money in _TEAM_EXTRAS:
        fields = _fields(keys, {k: "money" for k in money})
        recs = [(team_key(t, fields), r) for t in teams for r in ([t[name]] if isinstance(t[name], dict) else t[name])]
        add(name, fields, recs, True)
    for s in ORG_SECTIONS:
        fields = _section_fields(s)
        add(s.key, fields, [({} if "month" in fields else {"month": month}, r) for r in section_records(data, s)], False)
    summary = {"team_filter": data["team_filter"], "reporting_currency": data["reporting_currency"],
               "unallocated_total": data["unallocated"]["total"], "generated_at": data["generated_at"]}
    add("summary", tuple(summary), [({"month": month}, summary)], False)
    add("notes", ("note",), [({"month": month}, {"note": n}) for n in data["notes"]], False)
    return out


def csv_value(v: Any) -> str:
    """A raw value as a CSV cell (see the module doc); a would-be formula is quoted as text."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, date):
        return v.isoformat()
    s = plain(v)
    if s[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(s):
        s = "'" + s
    return s


def _is_number(s: str) -> bool:
    try:
        Decimal(s)
        return True
    except ArithmeticError:
        return False


def _write(w: Any, table: CsvTable) -> None:
    w.writerow(table.columns)
    w.writerows([[csv_value(v) for v in row] for row in table.rows])


def table_names(data: dict[str, Any]) -> list[str]:
    """The names of the review's CSV tables, in order."""
    return [t.name for t in csv_tables(data)]


def render_csv(data: dict[str, Any], table: str | None = None) -> str:
    """One table as CSV (``table``), or every table, each block opened by ``# <name>`` and closed by a blank line."""
    tables = csv_tables(data)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if table is not None:
        chosen = [t for t in tables if t.name == table]
        if not chosen:
            raise UsageError(f"CSV table {table}: no such table (tables: {', '.join(t.name for t in tables)})")
        _write(w, chosen[0])
        return buf.getvalue()
    for t in tables:
        buf.write(f"# {t.name}\n")
        _write(w, t)
        buf.write("\n")
    return buf.getvalue()


def write_csv(data: dict[str, Any], directory: Path) -> list[Path]:
    """Each table to ``<directory>/<name>.csv`` (the directory is created); returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for t in csv_tables(data):
        path = directory / f"{t.name}.csv"
        with path.open("w", encoding="utf-8", newline="") as f:
            _write(csv.writer(f, lineterminator="\n"), t)
        paths.append(path)
    return paths
