"""The markdown renderer: hand-worked cells of the small review, and hostile names from the sample."""

from __future__ import annotations

import re
from datetime import date

from spendwatch.review import render
from spendwatch.review.sections import TEAM_SECTIONS

NOV = date(2026, 11, 1)


def test_hand_worked_tables(tiny):
    md = render(tiny, "markdown")
    assert md.startswith("# Spend review, November 2026 (GBP)\n")
    assert "## alpha (lead: ana@example.com)" in md
    assert "- Projected over the threshold: £2,002.13 by month end against £1,500.00." in md
    # spend by kind: 1,234.50 + 0 + 100.25 + 0 = 1,334.75, every figure with its currency
    assert "| £1,234.50 | £0.00 | £100.25 | £0.00 | £1,334.75 |" in md
    # 1,334.75 of 1,500.00 is 89.0 % (as threshold_flags stores it); projected 2,002.13 crosses on 24 Nov
    assert "| £1,334.75 | £1,500.00 | 89.0 % | £2,002.13 | projected over |  | 2026-11-24 | 20 | 2026-11-20 |" in md
    # audit: native USD with its significant digits, then the reporting GBP amount (65.5452 x 0.79 = 51.78)
    assert "| 2026-11-08 | aws | INV-1 | overcharge | $262.1808 | $196.6356 | $65.5452 | £51.78 | yes | p4d.24xlarge 6 h |" in md
    assert ("| 2026-11-05 06:00 | RTX4090-24GB | runpod | 4090 PRO | gpu | flex | $0.00031 | $0.00029 | second | -6.45 % | 1 |"
            in md)
    assert "Unallocated spend this month: **£12.34**" in md
    assert "| 2026-11 | £1,347.09 | £1,334.75 | £12.34 | 99.1 % | 40 | 37 |" in md  # 1,334.75 / 1,347.09
    assert "_alerts are not set up in this warehouse_" in md
    for s in TEAM_SECTIONS:
        assert f"### {s.title}" in md


def test_every_money_cell_has_its_currency(tiny):
    md = render(tiny, "markdown")
    bare = [cell for line in md.splitlines() if line.startswith("| ") for cell in line.strip("|").split(" | ")
            if re.fullmatch(r"\s*-?[\d,]+\.\d+\s*", cell)]
    assert bare == []  # a decimal figure is money or a count with no decimals, never a bare amount


def test_sample_review_in_markdown(review_sample, review_of):
    md = render(review_of(review_sample, NOV), "markdown")
    for team in ("search", "vision", "research", "assistant", "platform", "unallocated"):
        assert f"\n## {team}" in md
    assert "2026-11-20" in md and "£1,500.00" in md  # README: search crosses £1,500 on 20 Nov


def test_untrusted_names_are_escaped(evil_sample, review_of):
    md = render(review_of(evil_sample, NOV), "markdown")
    assert "<script" not in md and "<img" not in md
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    header = next(line for line in md.splitlines() if line.startswith("| provider | model |"))
    model_rows = [line for line in md.splitlines() if "HYPERLINK" in line and line.startswith("|")]
    cells = lambda line: len(re.split(r"(?<!\\)\|", line))  # noqa: E731 - unescaped pipes only
    assert model_rows and all(cells(r) == cells(header) for r in model_rows)  # the model's pipe cannot split the table
