"""No source file is over 700 lines (team rule): a module that grows past it is split.

Source: the project's own ``.py`` files (the packages, tests, bench and examples), outside test
fixtures and SQL migrations.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE_DIRS = ("spendwatch", "warehouse", "scrapers", "pipelines", "dbt_like_sql", "tests", "bench", "examples")
EXCLUDED_PARTS = {"fixtures", "migrations", "__pycache__"}
MAX_LINES = 700


def source_files() -> list[Path]:
    return sorted(
        p for d in SOURCE_DIRS for p in (ROOT / d).rglob("*.py")
        if not EXCLUDED_PARTS.intersection(p.relative_to(ROOT).parts)
    )


def test_the_walk_sees_the_source_tree() -> None:
    files = {p.relative_to(ROOT).as_posix() for p in source_files()}
    assert {"spendwatch/core/config.py", "warehouse/db.py", "scrapers/base.py", "pipelines/definitions.py",
            "tests/conftest.py", "examples/generate.py"} <= files


def test_no_source_file_is_over_700_lines() -> None:
    long = {}
    for p in source_files():
        with p.open("rb") as f:
            n = sum(1 for _ in f)
        if n > MAX_LINES:
            long[p.relative_to(ROOT).as_posix()] = n
    assert not long, f"over {MAX_LINES} lines (split them): {long}"
