"""The terminal renderer: hand-worked cells of the small review, and the sample's review at 80 and 120 columns."""

from __future__ import annotations

import re
from datetime import date

import pytest

from spendwatch.review import render
from spendwatch.review.sections import ORG_SECTIONS, TEAM_SECTIONS, cell_text, section_records

NOV = date(2026, 11, 1)
# A money or price figure: a symbol and digits (£1,234.50, -$0.00029) or digits and an ISO code (0.20 CHF).
MONEY = re.compile(r"-?[£$€][\d,]+(?:\.\d+)?|[\d,]+\.\d+ [A-Z]{3}\b")


def test_hand_worked_cells_at_120_columns(tiny):
    text = render(tiny, "table", width=120)
    assert text.startswith("Spend review, November 2026 (money in GBP)\n")
    assert "== alpha (lead ana@example.com): projected over" in text
    # spend: serverless £1,234.50 + API £100.25 = £1,334.75, each with its symbol and thousands separator
    spend = next(line for line in text.splitlines() if "£1,234.50" in line)
    assert re.search(r"£1,234\.50 │\s+£0\.00 │\s+£100\.25 │\s+£0\.00 │\s+£1,334\.75 │", spend)
    # the unit prices keep their significant digits (DECIMAL(38,12) 0.000310000000 is $0.00031), not 12 decimals
    assert "$0.00031" in text and "$0.00029" in text and "0.000310000000" not in text
    assert "-6.45 %" in text  # 100 x (0.00029 - 0.00031) / 0.00031 = -6.4516, stored as -6.45
    # the audit finding: billed $262.1808, expected $196.6356 (4 significant decimals), £51.78 at stake in GBP
    assert "$262.1808" in text and "$196.6356" in text and "£51.78" in text
    assert "99.1 %" in text  # coverage 0.990839
    assert "Unallocated spend this month: £12.34" in text
    assert "Alerts Slack refused: alerts are not set up in this warehouse" in text
    assert "note: price sources stale (prices in force older than their max age): runpod_serverless" in text


@pytest.mark.parametrize("width", [80, 100, 120])
def test_the_small_review_fits_and_keeps_what_matters(tiny, width):
    text = render(tiny, "table", width=width)
    assert max(len(line) for line in text.splitlines()) <= width
    # the most important columns stay at every width: what is at stake, the old and new price and the change
    for figure in ("£51.78", "$0.00031", "$0.00029", "-6.45 %", "£1,334.75", "£1,500.00"):
        assert figure in text, (width, figure)


def _money_cells(data: dict) -> set[str]:
    """Every money and price cell of every section, as the renderer writes it."""
    out = set()
    for t in data["teams"]:
        for s in TEAM_SECTIONS:
            out |= {cell_text(r, c) for r in section_records(data, s, t) for c in s.cols if c.kind in ("money", "price")}
    for s in ORG_SECTIONS:
        out |= {cell_text(r, c) for r in section_records(data, s) for c in s.cols if c.kind in ("money", "price")}
    return out


@pytest.mark.parametrize("width", [80, 120])
def test_the_sample_review_fits_and_never_cuts_money(review_sample, width, review_of):
    data = review_of(review_sample, NOV)
    text = render(data, "table", width=width)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    cells = _money_cells(data)
    table_rows = [line for line in lines if line.startswith("│")]
    figures = [m for line in table_rows for m in MONEY.findall(line)]
    assert figures and all(f in cells for f in figures), [f for f in figures if f not in cells][:5]
    # no money cell wraps: a table row never ends a cell with a bare symbol or a figure's tail
    assert not [line for line in table_rows if re.search(r"[£$€] │|│\s+[\d,]*\.\d{1,2} [A-Z]{3}\b", line)]
    # the figures a team lead reads first are all there, whole (README: search £1,500 threshold, crossed 20 Nov)
    assert "£1,500.00" in text and "2026-11-20" in text


def test_untrusted_text_is_plain_in_a_terminal(evil_sample, review_of):
    text = render(review_of(evil_sample, NOV), "table", width=120)
    assert "\x1b" not in text  # the model's ANSI sequence is dropped
    assert "[/red]" in text  # rich markup in data is shown, not applied (the cell may wrap inside "[red]")
    assert "<script>alert(1)</script>" in text  # plain text in a terminal
