"""The sample organisation read on 8 and 15 November 2026 (issue 13), its exports cut at that day as a user would
hold them (bench/sample_cut.py) and run through the whole pipeline; figures checked against the export files."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import duckdb
import pytest

from bench.sample_cut import build_sample
from tests.spendwatch.test_end_to_end import EXPORTS, _crossing_day, usd_to_gbp

CUTS = (date(2026, 11, 8), date(2026, 11, 15))


@pytest.fixture(scope="module")
def cut_warehouses(tmp_path_factory):
    out = {}
    for cut in CUTS:
        path = build_sample(tmp_path_factory.mktemp(f"cut-{cut}"), cut)
        out[cut] = duckdb.connect(str(path), read_only=True)
    yield out
    for con in out.values():
        con.close()


def _one(con, sql: str, params=()) -> dict:
    cur = con.execute(sql, list(params))
    rows = cur.fetchall()
    assert len(rows) == 1, rows
    return dict(zip([d[0] for d in cur.description], rows[0]))


def _runpod_vision_gbp(first: date, last: date) -> Decimal:
    """ep-vision-detector's RunPod records from the file, each at the ECB rate of its day."""
    total = Decimal(0)
    for rec in json.loads((EXPORTS / "runpod_billing_endpoints_2026-09_2026-11.json").read_text()):
        day = date.fromisoformat(rec["time"][:10])
        if rec["endpointId"] == "ep-vision-detector" and first <= day <= last:
            total += Decimal(repr(rec["amount"])) * usd_to_gbp(day)
    return total


@pytest.mark.parametrize("cut", CUTS)
def test_vision_gets_the_months_verdict_on_any_day(cut_warehouses, cut):
    con = cut_warehouses[cut]
    b = _one(con, "SELECT * FROM breakeven WHERE team = 'vision' AND month = '2026-11-01'")
    start = cut - timedelta(days=29)
    assert (b["window_kind"], b["window_start"], b["window_end"]) == ("trailing_30_days", start, cut)
    # the serverless side: the file's records over the same 30 days
    assert abs(b["serverless_cost"] - _runpod_vision_gbp(start, cut)) <= Decimal("0.01")
    # the dedicated side: RunPod's community RTX 4090 at $0.34 an hour, 24 h x 30 days, at the ECB rate of the window's
    # last day (30 October: the bundled history stops there)
    assert abs(b["dedicated_monthly"] - Decimal("0.34") * 24 * 30 * usd_to_gbp(cut)) <= Decimal("0.01")
    # a whole month of demand against a whole month of rent: the full month's verdict (not "serverless cheaper")
    assert b["verdict"] == "dedicated_cheaper" and b["monthly_saving"] > 250
    r = _one(con, "SELECT * FROM recommendations WHERE team = 'vision' AND month = '2026-11-01'")
    assert (r["action"], r["spare_server_id"]) == ("use_spare_capacity", "gg-4090-01")


def test_search_is_warned_on_the_8th_and_on_pace_on_the_15th(cut_warehouses):
    early = _one(cut_warehouses[CUTS[0]], "SELECT * FROM threshold_flags WHERE team = 'search' AND month = '2026-11-01'")
    assert early["status"] in ("at_risk", "projected_over")          # was "ok", with no warning
    assert early["projected_high"] > early["threshold"]
    mid = _one(cut_warehouses[CUTS[1]], "SELECT * FROM threshold_flags WHERE team = 'search' AND month = '2026-11-01'")
    assert mid["status"] == "projected_over"
    # on pace to cross on the day the files say it really crosses (20 November)
    assert mid["projected_cross_date"] == _crossing_day("2026-11", "search") == date(2026, 11, 20)
    # the 80 % band holds what November really came to (£2,497.72 from the files, test_end_to_end)
    assert mid["projected_low"] <= Decimal("2497.72") <= mid["projected_high"]
