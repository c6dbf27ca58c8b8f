"""docs/warehouse.md stays true: every table and view is documented, column by column, and every example query runs.

The sample organisation's warehouse (tests/conftest.py: sample_warehouse) is built offline with the same functions
the CLI calls (config sync, price refresh from the recorded snapshots with the configured
backfill, the bundled ECB rates, every export in examples/exports, every model).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from spendwatch.core.paths import PROJECT_ROOT
from warehouse.db import connect

DOC = PROJECT_ROOT / "docs" / "warehouse.md"
_HEADING = re.compile(r"^###\s+`(?:(config)\.)?([a-z_][a-z0-9_]*)`", re.M)


@pytest.fixture(scope="module")
def warehouse(sample_warehouse) -> Path:
    return sample_warehouse  # conftest.py: the sample organisation's warehouse, built once


def _doc_sections() -> dict[tuple[str, str], str]:
    """Each documented relation ((schema, name)) and the text of its section, up to the next heading."""
    text = DOC.read_text(encoding="utf-8")
    marks = list(_HEADING.finditer(text))
    out = {}
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else text.find("\n## ", m.end())
        out[(m.group(1) or "main", m.group(2))] = text[m.end(): end if end > 0 else len(text)]
    return out


def _queries() -> list[str]:
    return re.findall(r"```sql\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_every_table_and_view_is_documented_with_its_columns(warehouse):
    con = connect(warehouse, read_only=True)
    try:
        relations = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema IN ('main', 'config') ORDER BY 1, 2"
        ).fetchall()
        columns = con.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns "
            "WHERE table_schema IN ('main', 'config') ORDER BY 1, 2, ordinal_position"
        ).fetchall()
    finally:
        con.close()
    sections = _doc_sections()
    missing = [f"{s}.{t}" for s, t in relations if (s, t) not in sections]
    assert missing == [], f"docs/warehouse.md does not document: {', '.join(missing)}"
    stale = [f"{s}.{t}" for s, t in sections if (s, t) not in set(relations)]
    assert stale == [], f"docs/warehouse.md documents relations the warehouse does not have: {', '.join(stale)}"
    undocumented = [f"{s}.{t}.{c}" for s, t, c in columns if f"`{c}`" not in sections[(s, t)]]
    assert undocumented == [], f"columns missing from docs/warehouse.md: {', '.join(undocumented)}"
    for (s, t), body in sections.items():
        assert "**Grain:**" in body, f"{s}.{t}: say what one row is"


def test_every_example_query_returns_rows(warehouse):
    queries = _queries()
    assert len(queries) >= 8
    con = connect(warehouse, read_only=True)
    try:
        for q in queries:
            rows = con.execute(q).fetchall()
            assert rows, f"no rows from:\n{q}"
    finally:
        con.close()


def test_the_crossing_query_tells_the_story(warehouse):
    """The documented month-to-date query shows search crossing £1,500 on 20 Nov (examples/README.md)."""
    (q,) = [q for q in _queries() if "team = 'search'" in q]
    con = connect(warehouse, read_only=True)
    try:
        rows = con.execute(q).fetchall()
    finally:
        con.close()
    first_over = next(day for day, _, mtd, _ in rows if mtd > 1500)
    assert first_over.isoformat() == "2026-11-20"
