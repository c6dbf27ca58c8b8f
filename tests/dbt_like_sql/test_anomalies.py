"""Spend anomalies (issue 16) against series worked out by hand.

Each test builds a small warehouse on disk with the helpers of test_models_business (a
spendwatch.toml with the default [anomalies]: z >= 3.5, excess >= £25, >= 25 % above expected;
lines inserted straight into billing_line_items, all in GBP), builds every model and reads
int_anomaly_scores / spend_anomalies.  The figures in the comments are the method of
docs/anomalies.md applied by hand; none is copied from the models' output.

Day n of a series is START + (n - 1) days; START is a Monday.
"""

from __future__ import annotations

import importlib.util
import sys
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("_business", Path(__file__).with_name("test_models_business.py"))
_business = importlib.util.module_from_spec(_spec)
sys.modules["_business"] = _business   # dataclasses look their module up while the class is made
_spec.loader.exec_module(_business)
Warehouse = _business.Warehouse

D = Decimal
START = date(2026, 1, 5)  # a Monday


def day(n: int) -> date:
    return START + timedelta(days=n - 1)


def at(n: int) -> datetime:
    d = day(n)
    return datetime(d.year, d.month, d.day)


@pytest.fixture
def wh(tmp_path: Path, new_warehouse) -> Warehouse:
    w = Warehouse(new_warehouse(tmp_path / "warehouse.duckdb"))
    w.config({"alpha": None, "beta": None})
    yield w
    w.con.close()


def spend(wh: Warehouse, n: int, amount, team: str = "alpha", provider: str = "openai", kind: str = "hosted_api", **cols) -> None:
    wh.line(start=at(n), end=at(n) + timedelta(days=1), cost=str(amount), team=team, provider=provider, kind=kind, **cols)


def flagged(wh: Warehouse, team: str = "alpha") -> list[dict]:
    return wh.rows("SELECT * FROM spend_anomalies WHERE team = ? ORDER BY charge_date, provider, scope", [team])


# Over the weeks, each weekday cycles 100, 96, 104: weeks 1..8 hold 100, 96, 104, 100, 96, 104, 100, 96.
CYCLE = (D(100), D(96), D(104))


def cycled(n: int) -> Decimal:
    return CYCLE[((n - 1) // 7) % 3]


def test_a_spike_is_flagged_and_a_smaller_rise_is_not(wh):
    for n in range(1, 57):
        spend(wh, n, cycled(n))
    spend(wh, 57, 150)   # the spike (a Monday of week 9)
    spend(wh, 58, 115)   # up 19.8 %: inside the band
    spend(wh, 59, 100)
    wh.build()
    # Day 57: the eight earlier Mondays are 100, 96, 104, 100, 96, 104, 100, 96 -> sorted 96 96 96 100 100 100 104 104,
    #   median 100; absolute deviations 0 0 0 4 4 4 4 4 -> MAD 4.
    # Trend: days 50..56 (week 8, all 96), each against the median of its own 7 earlier same weekdays
    #   (100 96 104 100 96 104 100 -> 100): ratios 0.96 x 7 -> trend 0.96.
    # expected = 100 x 0.96 = 96; spread = 1.4826 x 4 x 0.96 = 5.693184; z = (150 - 96) / 5.693184 = 9.4850...
    # excess 54 >= 25 and 150 >= 1.25 x 96 = 120: flagged.
    # The pooled spread is smaller: days 15..56 deviate from their own expected by 6.1 % once (day 15),
    #   then, on the first four days of weeks 4..8 (the trend still the week before's), by 5.77, 4, 8.33,
    #   3.85 and 4 %, and by 0 on the other 21 days: 42 values, the median (0 + 3.85 %) / 2 = 1.92 %,
    #   1.4826 x 1.92 % x 96 = 2.74 < 5.69, so the same-weekday spread stands.
    rows = flagged(wh)
    assert [(r["charge_date"], r["scope"], r["reason"]) for r in rows] == [(day(57), "*", "spike")]
    r = rows[0]
    assert (r["expected"], r["actual"], r["excess"], r["currency"]) == (D("96.00"), D("150.00"), D("54.00"), "GBP")
    assert r["robust_z"] == pytest.approx(9.49, abs=0.005)
    assert r["excess_pct"] == D("0.5625")   # 150 / 96 - 1
    # no price in force for these lines: the whole excess is volume
    assert (r["price_effect"], r["volume_effect"]) == (D("0.00"), D("54.00"))
    assert r["incident_day"] == 1 and r["incident_start"] == day(57) and r["incident_id"]
    # Day 58: same median 100; trend over days 51..57 = median(0.96 x 6, 1.5) = 0.96 -> expected 96:
    # 115 - 96 = 19 < 25 (and 115 < 120): not flagged, but scored.
    s = wh.one("SELECT expected, robust_z, flagged FROM int_anomaly_scores WHERE team = 'alpha' AND scope = '*' AND charge_date = ?", [day(58)])
    assert s["expected"] == D("96") and not s["flagged"]
    assert s["robust_z"] == pytest.approx(19 / (1.4826 * 4 * 0.96), rel=1e-9)


def test_a_level_shift_is_one_incident_then_the_new_normal(wh):
    for n in range(1, 57):
        spend(wh, n, 200)
    for n in range(57, 71):
        spend(wh, n, 300)
    wh.build()
    # Days 1..56 flat at 200: baseline 200, MAD 0, so spread = 1 % of expected = 2.
    # Day 57: trend 1 (seven ratios of 1) -> expected 200, z = 100 / 2 = 50: flagged.
    # Days 58, 59, 60: the seven ratios before hold one, two, three 1.5s among 1s -> median 1: flagged.
    # Day 61: ratios of days 54..60 are 1, 1, 1, 1.5, 1.5, 1.5, 1.5 -> trend 1.5, expected 300: not flagged.
    rows = flagged(wh)
    assert [r["charge_date"] for r in rows] == [day(57), day(58), day(59), day(60)]
    assert {r["incident_id"] for r in rows} == {rows[0]["incident_id"]}
    assert [r["incident_day"] for r in rows] == [1, 2, 3, 4]
    assert all(r["expected"] == D("200.00") and r["excess"] == D("100.00") for r in rows)
    assert not any(r["ongoing"] for r in rows)
    after = wh.rows("SELECT expected FROM int_anomaly_scores WHERE team = 'alpha' AND scope = '*' AND charge_date > ? ORDER BY charge_date", [day(60)])
    # from day 64 the same-weekday window holds one 300 among seven 200s (median still 200), the trend stays 1.5
    assert [r["expected"] for r in after] == [D(300)] * 10


def test_a_price_rise_with_flat_volume_is_a_price_effect(wh):
    # gpt-x input tokens: £10 per 1M until day 57, £15 from then on; 10M tokens a day throughout.
    wh.price(source_id="openai", provider="openai", kind="hosted_api", sku="gpt-x", component="input_token", unit="1M_tokens",
             amount="10", currency="GBP", valid_from=datetime(2025, 12, 1), valid_to=at(57))
    wh.price(source_id="openai", provider="openai", kind="hosted_api", sku="gpt-x", component="input_token", unit="1M_tokens",
             amount="15", currency="GBP", valid_from=at(57))
    for n in range(1, 60):
        cost = 150 if n >= 57 else 100   # 10M x £10 / 1M, then 10M x £15 / 1M
        spend(wh, n, cost, x_model="gpt-x", x_input_tokens=10_000_000)
    wh.build()
    rows = [r for r in flagged(wh) if r["charge_date"] == day(57)]
    # Both series (the team's openai spend, and model gpt-x alone) go from a flat 100 to 150:
    # expected 100, excess 50; price effect = (15 - 10) / 1M x 10M tokens = 50; volume effect = 50 - 50 = 0.
    assert [r["scope"] for r in rows] == ["*", "model:gpt-x"]
    for r in rows:
        assert (r["expected"], r["excess"], r["price_effect"], r["volume_effect"]) == (D("100.00"), D("50.00"), D("50.00"), D("0.00"))
        assert r["top_lines"] and '"amount":"150.00"' in str(r["top_lines"][0]) and '"before":"100.00"' in str(r["top_lines"][0])


def test_new_spend_after_two_weeks_of_history(wh):
    for n in range(1, 41):
        spend(wh, n, 100)                           # alpha on openai from the first day: the start of the data, not new
    spend(wh, 30, 40, provider="anthropic", x_model="claude-x")   # alpha's first anthropic spend, day 30: new (>= 25)
    spend(wh, 31, 10, provider="modal", kind="serverless_gpu")   # beta-less small first spend of alpha on modal: below the floor
    spend(wh, 10, 60, team="beta", provider="openai")            # beta's first spend on day 10: under 14 days of data before it
    wh.build()
    got = [(r["team"], r["charge_date"], r["provider"], r["scope"], r["reason"], r["expected"], r["actual"]) for r in
           wh.rows("SELECT * FROM spend_anomalies ORDER BY team, provider, scope")]
    assert got == [
        ("alpha", day(30), "anthropic", "*", "new_spend", D("0.00"), D("40.00")),
        ("alpha", day(30), "anthropic", "model:claude-x", "new_spend", D("0.00"), D("40.00")),
    ]


def test_a_weekday_pattern_is_not_flagged(wh):
    # Ten weeks: weekdays about £400, weekends about £100, each day +-5 % by a fixed pattern.
    for n in range(1, 71):
        base = D(100) if day(n).weekday() >= 5 else D(400)
        wiggle = D("0.05") * (((n // 7) * 3 + n) % 3 - 1)
        spend(wh, n, base * (1 + wiggle))
    wh.build()
    assert flagged(wh) == []
    # A Saturday after a week of £400 weekdays is expected near £100, a Monday after a £100 weekend near £400.
    sat = wh.one("SELECT expected FROM int_anomaly_scores WHERE scope = '*' AND charge_date = ?", [day(62)])["expected"]
    mon = wh.one("SELECT expected FROM int_anomaly_scores WHERE scope = '*' AND charge_date = ?", [day(64)])["expected"]
    assert D(90) <= sat <= D(110) and D(360) <= mon <= D(440)


def test_a_recurring_charge_is_expected_on_its_day(wh):
    for n in range(1, 120):
        spend(wh, n, 50, provider="aws", kind="other")
    # rent on the 1st of February, March and April: £249, £249, then £400
    for d, amount in ((date(2026, 2, 1), "249"), (date(2026, 3, 1), "249"), (date(2026, 4, 1), "400")):
        wh.line(start=datetime(d.year, d.month, d.day), end=datetime(d.year, d.month + 1, 1), cost=amount, team="alpha",
                provider="gigagpu", kind="dedicated_gpu", category="Purchase", ChargeFrequency="Recurring",
                ResourceId="gg-1", PricingQuantity=D(1), ListUnitPrice=D(amount))
    wh.build()
    rows = flagged(wh)
    # February: the first rent, 27 days after the data starts: new spend (249 >= 25).  March equals February: expected.
    # April: 400 against the previous 249: excess 151 >= 25 and 400 >= 1.25 x 249 = 311.25; price effect
    # (400 - 249) x 1 month = 151, volume 0.
    assert [(r["charge_date"], r["scope"], r["reason"]) for r in rows] == [
        (date(2026, 2, 1), "recurring:gg-1", "new_spend"), (date(2026, 4, 1), "recurring:gg-1", "recurring_change")]
    assert (rows[1]["expected"], rows[1]["price_effect"], rows[1]["volume_effect"]) == (D("249.00"), D("151.00"), D("0.00"))


def test_an_incident_is_one_alert_resolved_when_spend_is_back_in_the_band(wh):
    from spendwatch.delivery.messages import AlertMessage, build_message, resolved_text
    from warehouse.alerts import evaluate, list_alerts

    for n in range(1, 57):
        spend(wh, n, 200)
    spend(wh, 57, 300)
    spend(wh, 58, 320)
    wh.build()
    # Data through day 58: days 57 and 58 are flagged (expected 200, trend still 1) and the incident is going on.
    cond = wh.rows("SELECT * FROM alert_conditions WHERE kind = 'spend_anomaly'")
    assert [(c["team"], c["period"], c["subject"]) for c in cond] == [("alpha", str(day(57)), "openai|*")]
    ev = evaluate(wh.con, as_of=day(58), now=at(59))   # (alpha is over its monthly threshold too: other kinds)
    ours = [a for a in list_alerts(wh.con) if a.kind == "spend_anomaly"]
    assert len(ours) == 1 and ours[0].alert_id in ev.raised
    again = evaluate(wh.con, as_of=day(58), now=at(59) + timedelta(hours=1))   # the same day again: nothing new
    assert again.raised == [] and again.reopened == []
    alert = ours[0]
    msg = AlertMessage(alert.alert_id, alert.occurrence, alert.kind, alert.team, alert.period, alert.subject, alert.details)
    text = build_message(msg)["text"]
    # day 58: 320 against 200 expected, day 2 of the incident; excess 120 (60 %), 100 + 120 = 220 over in all
    assert "320.00" in text and "200.00" in text and "day 2 of an incident since " + str(day(57)) in text
    fields = str(build_message(msg)["blocks"])
    assert "£120.00 (60 %)" in fields and "2 days, £220.00 over" in fields
    # acknowledged, it stays quiet while the incident goes on (one more flagged day: nothing re-raised)
    from warehouse.alerts import ack

    assert ack(wh.con, alert.alert_id, by="lead", now=at(59)).state == "acked"
    spend(wh, 59, 330)
    wh.build()
    ev = evaluate(wh.con, as_of=day(59), now=at(60))
    assert alert.alert_id not in ev.raised + ev.reopened + ev.resolved
    assert [a.state for a in list_alerts(wh.con) if a.kind == "spend_anomaly"] == ["acked"]
    # Day 60 back at 200: inside the band (the trend over days 53..59 is still 1), the incident is over and
    # the alert resolves.
    spend(wh, 60, 200)
    wh.build()
    assert wh.rows("SELECT * FROM alert_conditions WHERE kind = 'spend_anomaly'") == []
    ev = evaluate(wh.con, as_of=day(60), now=at(61))
    assert alert.alert_id in ev.resolved
    assert "back inside the expected band" in resolved_text(msg)


def test_the_sample_organisation_shows_its_one_anomaly(sample_warehouse):
    """examples/README.md: the retry loop of 27 Oct is found and explained as volume; the steady teams raise nothing."""
    from warehouse.anomalies import anomalies
    from warehouse.db import connect

    con = connect(sample_warehouse, read_only=True)
    try:
        found = anomalies(con)
        oct27 = [a for a in found if a.charge_date == date(2026, 10, 27)]
    finally:
        con.close()
    assert {a.team for a in found} <= {"assistant", "research", "search"}   # vision, platform, unallocated: nothing
    assert [(a.team, a.provider, a.scope) for a in oct27] == [
        ("assistant", "openai", "*"), ("assistant", "openai", "model:gpt-4o-2024-08-06")]
    # gpt-4o that day, from the cost file: $96.419158 + $35.074706 + $70.165 = $201.658864,
    # x 0.83658 / 1.115 (ECB, 27 Oct) = £151.30
    gpt4o = oct27[1]
    assert gpt4o.actual == D("151.30") and gpt4o.currency == "GBP"
    assert all(a.price_effect == 0 and a.volume_effect == a.excess and a.reason == "spike" for a in oct27)
    assert "gpt-4o-2024-08-06" in gpt4o.top_lines[0]["line"]
    # the assistant's other days and scopes: nothing
    assert [a.charge_date for a in found if a.team == "assistant"] == [date(2026, 10, 27)] * 2
    # documented, real in the data: research's one-day p4d runs and search's launch ramp (one incident)
    assert sorted({a.charge_date for a in found if a.team == "research"}) == [date(2026, 9, 16), date(2026, 10, 8), date(2026, 11, 12)]
    assert len({a.incident_id for a in found if a.team == "search"}) == 1


def test_the_review_shows_the_anomaly_and_its_band(sample_warehouse):
    from spendwatch.review import build_review
    from spendwatch.review.html import render_html
    from warehouse.db import connect

    con = connect(sample_warehouse, read_only=True)
    try:
        data = build_review(con, month=date(2026, 10, 1), team="assistant")
    finally:
        con.close()
    (team,) = data["teams"]
    assert [(a["charge_date"], a["scope"]) for a in team["anomalies"]] == [
        (date(2026, 10, 27), "*"), (date(2026, 10, 27), "model:gpt-4o-2024-08-06")]
    assert any("unusual spend" in h and "27 Oct" in h and "mostly volume" in h for h in team["headlines"])
    band = team["anomaly_bands"][0]
    assert (band["provider"], band["scope"]) == ("openai", "*")
    days = {p["charge_date"]: p for p in band["points"]}
    assert len(days) == 31 and days[date(2026, 10, 27)]["flagged"]
    assert days[date(2026, 10, 27)]["actual"] > days[date(2026, 10, 27)]["band_high"]
    assert not any(p["flagged"] for d, p in days.items() if d != date(2026, 10, 27))
    html = render_html(data)
    assert "assistant: openai daily spend against the expected band (GBP)" in html
    assert "Spend anomalies" in html


def test_the_floor_is_configurable(wh):
    # the spike of test_a_spike_is_flagged... (excess 54) under [anomalies] floor = 60: not flagged
    from spendwatch.core.config import load_config
    from warehouse.config_sync import sync_config

    toml = wh.path.parent / "spendwatch.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + "\n[anomalies]\nfloor = 60\n", encoding="utf-8")
    sync_config(wh.con, load_config(toml))
    for n in range(1, 57):
        spend(wh, n, cycled(n))
    spend(wh, 57, 150)
    wh.build()
    assert flagged(wh) == []
    s = wh.one("SELECT expected, band_high FROM int_anomaly_scores WHERE scope = '*' AND charge_date = ?", [day(57)])
    # band_high = max(96 + 3.5 x 5.693184, 96 + 60, 96 x 1.25) = 156
    assert s["expected"] == D("96") and s["band_high"] == D("156")


def test_the_anomalies_command(sample_warehouse, tmp_path, capsys):
    import json
    import shutil

    from spendwatch.cli import main

    # The CLI opens the warehouse for writing (it rebuilds stale models): a copy, never the shared sample.
    warehouse = shutil.copy(sample_warehouse, tmp_path / "warehouse.duckdb")
    assert main(["anomalies", "--warehouse", str(warehouse), "--month", "2026-10", "--team", "assistant", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["charge_date"], r["scope"], r["actual"], r["currency"]) for r in rows] == [
        ("2026-10-27", "*", "158.32", "GBP"), ("2026-10-27", "model:gpt-4o-2024-08-06", "151.30", "GBP")]
    assert main(["anomalies", "--warehouse", str(warehouse), "--month", "2026-10", "--team", "assistant"]) == 0
    out = capsys.readouterr().out
    assert "2026-10-27" in out and "£151.30" in out and "spend anomalies in 2026-10 for team assistant" in out
    assert main(["anomalies", "--warehouse", str(warehouse), "--month", "2026-09", "--team", "vision"]) == 0
    assert "no spend anomalies in 2026-09 for team vision" in capsys.readouterr().out
    assert main(["anomalies", "--warehouse", str(warehouse), "--month", "2026-13"]) == 2
