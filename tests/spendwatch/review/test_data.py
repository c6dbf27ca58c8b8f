"""build_review against the sample organisation's facts (through the JSON renderer, which carries the data as it is).

Expected values come from examples/README.md (the story of each team and the invoice discrepancies it
plants), from examples/spendwatch.toml and from the recorded captures (tests/fixtures/prices,
scrapers/snapshots), never from the review's own output.  The sample and its one price change:
conftest.py of this folder.
"""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from scrapers.sources import all_sources
from spendwatch.core.errors import UsageError
from spendwatch.review import build_review, render_review
from warehouse.db import connect

SEP, OCT, NOV = date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)
NOW = datetime(2026, 12, 2, 12, 0)
TEAMS = {"vision", "research", "assistant", "search", "platform", "unallocated"}


def _data(path: Path, month: date | None = NOV, team: str | None = None) -> dict:
    con = connect(path, read_only=True)
    try:
        return json.loads(render_review(con, month, team, "json"))
    finally:
        con.close()


def _team(doc: dict, name: str) -> dict:
    (t,) = [t for t in doc["teams"] if t["team"] == name]
    return t


def _render(path: Path, fmt: str, month: date | None = NOV, team: str | None = None) -> str:
    con = connect(path, read_only=True)
    try:
        return render_review(con, month, team, fmt)
    finally:
        con.close()


def test_json_is_one_document_with_every_section(review_sample):
    doc = _data(review_sample)
    assert doc["month"] == "2026-11" and doc["reporting_currency"] == "GBP"
    assert doc["months_available"] == ["2026-09", "2026-10", "2026-11"]
    assert {t["team"] for t in doc["teams"]} == TEAMS
    for t in doc["teams"]:
        for key in ("spend", "threshold", "breakeven", "hybrid_plan", "api_vs_selfhost", "dedicated_utilisation",
                    "audit", "audit_summary", "price_changes", "headlines", "history", "daily"):
            assert key in t, (t["team"], key)
        assert t["spend"]["currency"] == "GBP"
    assert doc["teams"][-1]["team"] == "unallocated"
    for key in ("unallocated", "failed_alerts", "breakeven_table", "freshness", "notes"):
        assert key in doc
    assert set(doc["freshness"]) == {"price_sources", "exports", "ingest_rejects"}
    assert doc["breakeven_table"], "the sample has GPU classes with both offers"


def test_default_month_is_the_latest_with_data(review_sample):
    assert _data(review_sample, month=None)["month"] == "2026-11"


def test_thresholds_and_crossing_dates(review_sample):
    nov = _data(review_sample)
    search = _team(nov, "search")["threshold"]
    # README: search crosses £1,500 on 20 Nov 2026 (£1,442 month to date on the 19th, £1,540 on the 20th)
    assert (search["status"], search["crossed_on"], search["threshold"], search["threshold_currency"]) == \
        ("over", "2026-11-20", "1500.00", "GBP")
    daily = {d["charge_date"]: Decimal(d["month_to_date"]) for d in _team(nov, "search")["daily"]}
    assert abs(daily["2026-11-19"] - Decimal("1442")) < 5 and daily["2026-11-19"] < Decimal("1500")
    assert abs(daily["2026-11-20"] - Decimal("1540")) < 5
    assert _team(nov, "assistant")["threshold"]["crossed_on"] == "2026-11-23"
    # spendwatch.toml: research has its own 2,500 threshold; vision stays well under 1,500
    assert _team(nov, "research")["threshold"]["threshold"] == "2500.00"
    assert _team(nov, "vision")["threshold"]["status"] == "ok"
    # README: September and October stay under the threshold for search; assistant crosses on 24 Sep and 23 Oct
    assert _team(_data(review_sample, SEP), "assistant")["threshold"]["crossed_on"] == "2026-09-24"
    assert _team(_data(review_sample, OCT), "assistant")["threshold"]["crossed_on"] == "2026-10-23"
    assert _team(_data(review_sample, OCT), "search")["threshold"]["status"] == "ok"


def test_spend_by_kind_in_reporting_currency(review_sample):
    nov = _data(review_sample)
    platform = _team(nov, "platform")
    # README: the GigaGPU server costs £249 a month; platform has no serverless or API spend
    assert platform["spend"]["dedicated_gpu"] == "249.00"
    assert platform["spend"]["variable_spend"] == "0.00"
    # README: assistant's November is about £2,010, all hosted API
    assistant = _team(nov, "assistant")["spend"]
    assert abs(Decimal(assistant["hosted_api"]) - Decimal("2010")) < 5 and assistant["serverless_gpu"] == "0.00"
    for t in nov["teams"]:
        s = t["spend"]
        parts = sum(Decimal(s[k]) for k in ("serverless_gpu", "dedicated_gpu", "hosted_api", "other"))
        assert abs(parts - Decimal(s["total_spend"])) <= Decimal("0.02"), t["team"]


def test_breakeven_verdicts_and_hybrid_plan(review_sample):
    nov = _data(review_sample)
    (vision,) = _team(nov, "vision")["breakeven"]
    # README: vision runs about 565 GPU-hours of RTX 4090 in November, 79 % of one GPU: above break-even
    assert vision["gpu_class"] == "RTX4090-24GB" and vision["verdict"] == "dedicated_cheaper"
    assert 560 <= Decimal(vision["gpu_hours"]) <= 570
    assert abs(Decimal(vision["utilisation"]) - Decimal("0.785")) < Decimal("0.01")
    # the cheapest 4090 dedicated offer in the captures: RunPod community pods at $0.34 an hour
    assert (vision["dedicated_provider"], vision["dedicated_tier"], vision["dedicated_price"], vision["dedicated_price_currency"]) == \
        ("runpod", "community", "0.340000000000", "USD")
    assert Decimal(vision["monthly_saving"]) > 0
    (research,) = _team(nov, "research")["breakeven"]
    # README: research's bursty H100 use (~59 GPU-hours) is far below break-even: serverless is right
    assert research["gpu_class"] == "H100-80GB-SXM" and research["verdict"] == "serverless_cheaper"
    assert research["gpu_seconds_estimated"] is True  # Modal's report gives cost only
    (plan,) = _team(nov, "vision")["hybrid_plan"]
    assert 1 < Decimal(plan["peak_demand_gpus"]) < 2  # README: peaks at under 2 workers
    assert _team(nov, "assistant")["breakeven"] == []
    # Issue 13: what the organisation already pays comes first: vision's load fits on platform's server.
    assert any("fits on gg-4090-01" in h and "no extra rent" in h for h in _team(nov, "vision")["headlines"])


def test_api_against_selfhost_shows_the_assumption(review_sample):
    rows = _team(_data(review_sample), "assistant")["api_vs_selfhost"]
    by_model = {r["model"]: r for r in rows}
    # spendwatch.toml: gpt-4o* is "large" on an H100 at 1,800 tokens/s and 60 % utilisation
    big = by_model["gpt-4o-2024-08-06"]
    assert (big["model_class"], big["selfhost_gpu_class"], big["tokens_per_second"], big["assumed_utilisation"]) == \
        ("large", "H100-80GB-SXM", "1800.000", "0.600000")
    assert by_model["gpt-4o-mini-2024-07-18"]["selfhost_gpu_class"] == "RTX4090-24GB"


def test_audit_findings_with_amounts(review_sample):
    octo = _data(review_sample, OCT)
    (p4d,) = _team(octo, "research")["audit"]
    # README: FOCUS line of 2026-10-08: 6 h x $32.7726 = $196.6356 expected, $262.1808 billed, $65.5452 over
    assert (p4d["charge_date"], p4d["invoice_id"], p4d["finding"], p4d["currency"]) == \
        ("2026-10-08", "EUINGB26-1038822", "overcharge", "USD")
    assert (Decimal(p4d["billed"]), Decimal(p4d["expected"]), Decimal(p4d["amount_at_stake"])) == \
        (Decimal("262.1808"), Decimal("196.6356"), Decimal("65.5452"))
    assert p4d["above_tolerance"] is True and p4d["reporting_currency"] == "GBP"
    vision = _team(octo, "vision")["audit"]
    # README: five RunPod records of 2026-10-14 billed twice: 6479, 5839, 6186, 6138, 5366 s x $0.00031
    expected = {Decimal(x) for x in ("2.00849", "1.81009", "1.91766", "1.90278", "1.66346")}
    assert {r["charge_date"] for r in vision} == {"2026-10-14"}
    assert {Decimal(r["expected"]) for r in vision} == expected
    assert {Decimal(r["billed"]) for r in vision} == {2 * x for x in expected}
    assert sum(Decimal(r["amount_at_stake"]) for r in vision) == sum(expected)  # $9.30248
    assert _team(octo, "vision")["audit_summary"]["findings"] == 5
    # README: every other line agrees with usage x list price
    assert [t["team"] for t in _data(review_sample)["teams"] if t["audit"]] == []


def test_unallocated_spend_is_shown(review_sample):
    nov = _data(review_sample)
    keys = {(u["provider"], u["key_kind"], u["attribution_key"]) for u in nov["unallocated"]["lines"]}
    # README: unmapped OpenAI proj_sandbox, the Anthropic default workspace, the untagged AWS bastion
    # and log bucket, and AWS VAT
    assert ("openai", "project", "proj_sandbox") in keys
    assert ("anthropic", "workspace", "(default workspace)") in keys
    assert ("aws", "resource", "acme-logs") in keys
    assert ("aws", "tax", "tax line") not in keys   # issue 13: tax lines are kind tax, never unallocated
    total = Decimal(nov["unallocated"]["total"])
    assert total > 0 and Decimal(_team(nov, "unallocated")["spend"]["total_spend"]) == total
    # README: the unmapped RunPod endpoint ep-sd-playground (September and October)
    octo = _data(review_sample, OCT)
    assert ("runpod", "endpoint", "ep-sd-playground") in {
        (u["provider"], u["key_kind"], u["attribution_key"]) for u in octo["unallocated"]["lines"]}


def test_dedicated_server_utilisation(review_sample):
    (server,) = _team(_data(review_sample), "platform")["dedicated_utilisation"]
    # README: gg-4090-01 is used 131.75 of the 720 hours of November
    assert (server["server_id"], Decimal(server["hours_used"]), Decimal(server["hours_paid"])) == \
        ("gg-4090-01", Decimal("131.75"), Decimal("720"))
    assert server["cost"] == "249.00"


def test_price_changes_that_touched_the_team(review_sample):
    nov = _data(review_sample)
    changes = _team(nov, "vision")["price_changes"]
    flex = [c for c in changes if c["provider"] == "runpod" and c["tier"] == "flex"]
    assert len(flex) == 1
    (c,) = flex
    # the edited capture: 4090 PRO flex $0.00031 -> $0.00029 per second, observed 2026-12-02 06:00
    assert (c["used_item"], c["sku"], c["change"], c["changed_at"], c["currency"], c["unit"]) == \
        ("RTX4090-24GB", "4090 PRO", "changed", "2026-12-02T06:00:00", "USD", "second")
    assert (Decimal(c["old_amount"]), Decimal(c["new_amount"])) == (Decimal("0.00031"), Decimal("0.00029"))
    assert Decimal(c["change_pct"]) == Decimal("-6.45")  # 100 x (0.00029 - 0.00031) / 0.00031 = -6.4516
    # research uses H100s on Modal and assistant hosted models: neither price moved
    assert _team(nov, "research")["price_changes"] == []
    assert _team(nov, "assistant")["price_changes"] == []


def test_freshness_of_prices_and_exports(review_sample):
    doc = _data(review_sample)
    sources = {s["source_id"]: s for s in doc["freshness"]["price_sources"]}
    assert set(sources) == {s.source_id for s in all_sources()}
    assert (sources["runpod_serverless"]["last_mode"], sources["runpod_serverless"]["last_status"]) == ("snapshot", "ok")
    # the offline prices come from the recorded capture of 2026-10-04 (scrapers/snapshots/captures.json), never "today":
    # no live fetch ever, and older than 7 days, so stale
    openai = sources["openai"]
    assert (openai["last_mode"], openai["capture_mode"], str(openai["capture_date"])) == ("offline", "offline", "2026-10-04")
    assert openai["last_live_fetch"] == "never" and openai["stale"] is True
    assert sources["banana"]["last_status"] == "discontinued"  # Banana shut down in 2024
    exports = {e["provider"]: e for e in doc["freshness"]["exports"]}
    assert set(exports) == {"anthropic", "aws", "gigagpu", "modal", "openai", "runpod"}
    # the OpenAI and FOCUS exports end with the 2026-11-30 day bucket (end exclusive)
    assert exports["openai"]["last_charge_end"] == "2026-12-01T00:00:00"
    assert exports["aws"]["last_charge_end"] == "2026-12-01T00:00:00"
    assert exports["openai"]["files"] == 5  # four cost pages and one usage file


def test_failed_alerts_are_listed_and_filtered(review_sample, tmp_path):
    from warehouse import alerts as wa

    path = tmp_path / "alerts.duckdb"
    shutil.copy(review_sample, path)
    con = connect(path)
    try:
        alert_id, _ = wa.raise_alert(con, "run_failure", "vision", "2026-11-28", "run-4f2a", {"step": "billing_line_items"},
                                     now=datetime(2026, 11, 28, 7, 0))
        # Slack refused it for good (as send_pending records a 404 no_service)
        con.execute("UPDATE alerts SET delivery = 'failed', attempts = 1, destination = 'SLACK_WEBHOOK_VISION', "
                    "last_error = 'HTTP 404 no_service', last_attempt_at = ? WHERE alert_id = ?",
                    [datetime(2026, 11, 28, 7, 1), alert_id])
    finally:
        con.close()
    doc = _data(path)
    assert doc["failed_alerts"]["available"] is True
    (a,) = doc["failed_alerts"]["alerts"]
    assert (a["alert_id"], a["kind"], a["team"], a["destination"], a["last_error"]) == \
        (alert_id, "run_failure", "vision", "SLACK_WEBHOOK_VISION", "HTTP 404 no_service")
    assert _data(path, team="search")["failed_alerts"]["alerts"] == []
    assert len(_data(path, team="vision")["failed_alerts"]["alerts"]) == 1
    md = _render(path, "markdown").replace("\\_", "_")
    assert "run failure" in md and "HTTP 404 no_service" in md


def test_review_data_is_plain_python(review_sample, review_of):
    data = review_of(review_sample, NOV, "vision", now=NOW)
    (t,) = data["teams"]
    assert isinstance(t["spend"]["total_spend"], Decimal) and isinstance(data["month_start"], date)
    assert data["generated_at"] == NOW


def test_unknown_team_and_month_list_the_choices(review_sample):
    con = connect(review_sample, read_only=True)
    try:
        with pytest.raises(UsageError, match=r"--team nobody: no such team \(teams: assistant, platform, research, "
                                             r"search, vision, unallocated\)"):
            build_review(con, NOV, "nobody")
        with pytest.raises(UsageError, match=r"--month 2025-01: no spend in that month \(months with data: "
                                             r"2026-09, 2026-10, 2026-11\)"):
            build_review(con, date(2025, 1, 1))
    finally:
        con.close()


def test_the_review_reads_the_alerts_definitions(review_sample):
    """Issue 14: stale, price change and threshold are the alert marts' definitions, not the review's own."""
    con = connect(review_sample, read_only=True)
    try:
        data = build_review(con, NOV, now=NOW)
        conditions = con.execute("SELECT kind, team, period, subject FROM alert_conditions").fetchall()
    finally:
        con.close()
    stale = {s for k, _, _, s in conditions if k == "source_stale"}
    assert {s["source_id"] for s in data["freshness"]["price_sources"] if s["stale"]} == stale
    # every threshold alert of November is the review's status of that team, and the other way round
    status_of_kind = {"threshold_crossed": "over", "threshold_projected": "projected_over", "threshold_at_risk": "at_risk"}
    alerted = {(t, status_of_kind[k]) for k, t, p, _ in conditions if k in status_of_kind and p == "2026-11"}
    reviewed = {(t["team"], t["threshold"]["status"]) for t in data["teams"] if t["threshold"]["status"] in status_of_kind.values()}
    assert reviewed == alerted
    assert {t for t, st in reviewed if st == "over"} == {"search", "assistant"}  # README: crossed 20 and 23 Nov
    # the one price change of the sample: alert subject provider|sku|component|tier|changed_at
    changes = {s for k, _, _, s in conditions if k == "price_change"}
    assert changes == {"runpod|4090 PRO|gpu|flex|2026-12-02T06:00:00"}
    shown = {(c["provider"], c["sku"], c["component"], c["tier"], c["changed_at"]) for t in data["teams"] for c in t["price_changes"]}
    assert shown == {("runpod", "4090 PRO", "gpu", "flex", datetime(2026, 12, 2, 6, 0))}


def test_a_model_not_built_leaves_its_section_empty_with_a_note(review_sample, review_of, tmp_path):
    path = tmp_path / "partial.duckdb"
    shutil.copy(review_sample, path)
    con = connect(path)
    try:
        con.execute("DROP VIEW alert_price_change")  # the price-change alerts' definition, not built yet
    finally:
        con.close()
    data = review_of(path, NOV, "vision")
    assert data["teams"][0]["price_changes"] == []
    assert "model alert_price_change is not built: its section is empty" in data["notes"]
