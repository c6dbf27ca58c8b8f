"""docs/sources.md is kept in step with the source registry."""

import re
from pathlib import Path

from scrapers.sources import all_sources

DOC = Path(__file__).resolve().parents[2] / "docs" / "sources.md"


def test_every_source_is_documented_and_nothing_else():
    documented = set(re.findall(r"^\| `([a-z0-9_]+)` \|", DOC.read_text(), flags=re.M))
    registered = {s.source_id for s in all_sources()} | {"ecb_fx"}
    assert documented == registered


def test_discontinued_sources_are_marked():
    text = DOC.read_text()
    for s in all_sources():
        if s.discontinued:
            row = next(line for line in text.splitlines() if line.startswith(f"| `{s.source_id}` |"))
            assert "discontinued" in row
