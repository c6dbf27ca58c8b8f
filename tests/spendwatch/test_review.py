"""The spend review (spendwatch review) against the sample organisation's facts.

The warehouse is the sample organisation built offline under tmp_path: the example
config, the recorded price snapshots (backfilled as the prices of 2026-09-01), the bundled
ECB rates and every export in examples/exports.  One price change is added on top: the
RunPod Serverless capture with the RTX 4090 flex price edited from $0.00031 to $0.00029 a
second, replayed as observed on 2026-12-02.

Expected values come from examples/README.md (the story of each team and the invoice
discrepancies it plants), from examples/spendwatch.toml, and from the recorded captures
(tests/fixtures/prices, scrapers/snapshots), never from the review's own output.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from scrapers.fetch import SNAPSHOT_DIR
from scrapers.sources import all_sources
from spendwatch import operations
from spendwatch.cli import main
from spendwatch.core.config import load_config
from spendwatch.core.paths import EXAMPLE_CONFIG
from spendwatch.review import CSV_COLUMNS, TEAM_SECTIONS, render_review, review_data
from warehouse.db import connect

SEP, OCT, NOV = date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)
AS_OF = datetime(2026, 12, 1, 6, 0)        # the offline price refresh of the sample run
CHANGE_AT = datetime(2026, 12, 2, 6, 0)    # the edited RunPod Serverless capture
NOW = datetime(2026, 12, 2, 12, 0)
TEAMS = {"vision", "research", "assistant", "search", "platform", "unallocated"}

EVIL_TEAM = "<script>alert(1)</script>"
EVIL_MODEL = '=HYPERLINK("http://x")<img src=x onerror=alert(2)>[red]m[/red]|*_`\x1b[2J'


def build_sample(path: Path) -> None:
    """The sample organisation's warehouse, offline, plus one RunPod price change on 2026-12-02."""
    cfg = load_config(EXAMPLE_CONFIG)
    con = connect(path)
    try:
        operations.sync(con, cfg)
        operations.refresh_prices(con, mode="offline", as_of=AS_OF, backfills=cfg.price_backfills())
        operations.refresh_fx(con, mode="offline")
        results = operations.ingest(con, cfg, cfg.export_paths())
        assert [r.error for r in results if r.error] == []
        snap = path.parent / "changed_captures"
        snap.mkdir()
        text = (SNAPSHOT_DIR / "runpod_serverless.md").read_text(encoding="utf-8")
        assert text.count(r"\$0.00031") == 1  # the "4090 PRO" row's flex price
        (snap / "runpod_serverless.md").write_text(text.replace(r"\$0.00031", r"\$0.00029"), encoding="utf-8")
        changed = operations.refresh_prices(con, mode="snapshot", snapshot_dir=snap, source_ids=["runpod_serverless"], as_of=CHANGE_AT)
        assert [r.status for r in changed.results] == ["ok"]
        assert all(r.status == "ok" for r in operations.build_models(con))
    finally:
        con.close()


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("review") / "warehouse.duckdb"
    build_sample(path)
    return path


@pytest.fixture(scope="module")
def evil(sample: Path, tmp_path_factory) -> Path:
    """The sample with team vision renamed to a script tag and one model id full of markup (as an export could carry)."""
    path = tmp_path_factory.mktemp("evil") / "warehouse.duckdb"
    shutil.copy(sample, path)
    con = connect(path)
    try:
        con.execute("UPDATE config.teams SET team = ? WHERE team = 'vision'", [EVIL_TEAM])
        con.execute("UPDATE config.attribution_rules SET team = ? WHERE team = 'vision'", [EVIL_TEAM])  # the team comes from the rules
        con.execute("UPDATE billing_line_items SET x_model = ? WHERE x_model = 'gpt-4o-mini-2024-07-18' AND x_team = 'assistant'",
                    [EVIL_MODEL])
        assert all(r.status == "ok" for r in operations.build_models(con))
    finally:
        con.close()
    return path


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


# --- JSON: every section, with the sample's facts ----------------------------------------------


def test_json_is_one_document_with_every_section(sample):
    doc = _data(sample)
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


def test_default_month_is_the_latest_with_data(sample):
    assert _data(sample, month=None)["month"] == "2026-11"


def test_thresholds_and_crossing_dates(sample):
    nov = _data(sample)
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
    assert _team(_data(sample, SEP), "assistant")["threshold"]["crossed_on"] == "2026-09-24"
    assert _team(_data(sample, OCT), "assistant")["threshold"]["crossed_on"] == "2026-10-23"
    assert _team(_data(sample, OCT), "search")["threshold"]["status"] == "ok"


def test_spend_by_kind_in_reporting_currency(sample):
    nov = _data(sample)
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


def test_breakeven_verdicts_and_hybrid_plan(sample):
    nov = _data(sample)
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


def test_api_against_selfhost_shows_the_assumption(sample):
    rows = _team(_data(sample), "assistant")["api_vs_selfhost"]
    by_model = {r["model"]: r for r in rows}
    # spendwatch.toml: gpt-4o* is "large" on an H100 at 1,800 tokens/s and 60 % utilisation
    big = by_model["gpt-4o-2024-08-06"]
    assert (big["model_class"], big["selfhost_gpu_class"], big["tokens_per_second"], big["assumed_utilisation"]) == \
        ("large", "H100-80GB-SXM", "1800.000", "0.600000")
    assert by_model["gpt-4o-mini-2024-07-18"]["selfhost_gpu_class"] == "RTX4090-24GB"


def test_audit_findings_with_amounts(sample):
    octo = _data(sample, OCT)
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
    assert [t["team"] for t in _data(sample)["teams"] if t["audit"]] == []


def test_unallocated_spend_is_shown(sample):
    nov = _data(sample)
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
    octo = _data(sample, OCT)
    assert ("runpod", "endpoint", "ep-sd-playground") in {
        (u["provider"], u["key_kind"], u["attribution_key"]) for u in octo["unallocated"]["lines"]}


def test_dedicated_server_utilisation(sample):
    (server,) = _team(_data(sample), "platform")["dedicated_utilisation"]
    # README: gg-4090-01 is used 131.75 of the 720 hours of November
    assert (server["server_id"], Decimal(server["hours_used"]), Decimal(server["hours_paid"])) == \
        ("gg-4090-01", Decimal("131.75"), Decimal("720"))
    assert server["cost"] == "249.00"


def test_price_changes_that_touched_the_team(sample):
    nov = _data(sample)
    changes = _team(nov, "vision")["price_changes"]
    flex = [c for c in changes if c["provider"] == "runpod" and c["tier"] == "flex"]
    assert len(flex) == 1
    (c,) = flex
    # the edited capture: 4090 PRO flex $0.00031 -> $0.00029 per second, observed 2026-12-02 06:00
    assert (c["used_item"], c["sku"], c["change"], c["changed_at"], c["currency"], c["unit"]) == \
        ("RTX4090-24GB", "4090 PRO", "changed", "2026-12-02T06:00:00", "USD", "second")
    assert (Decimal(c["old_amount"]), Decimal(c["new_amount"])) == (Decimal("0.00031"), Decimal("0.00029"))
    assert Decimal(c["change_pct"]) == Decimal("-6.45")  # (0.00029 - 0.00031) / 0.00031
    assert c["team_uses_provider"] is True
    # research uses H100s on Modal and assistant hosted models: neither price moved
    assert _team(nov, "research")["price_changes"] == []
    assert _team(nov, "assistant")["price_changes"] == []


def test_freshness_of_prices_and_exports(sample):
    doc = _data(sample)
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


def test_failed_alerts_are_listed_and_filtered(sample, tmp_path):
    from warehouse import alerts as wa

    path = tmp_path / "alerts.duckdb"
    shutil.copy(sample, path)
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


# --- the other formats ------------------------------------------------------------------------


def test_csv_is_one_long_table(sample):
    text = _render(sample, "csv", OCT)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0].keys()) == CSV_COLUMNS
    assert {r["month"] for r in rows} == {"2026-10"}
    sections = {r["section"] for r in rows}
    assert {"spend", "threshold", "breakeven", "hybrid_plan", "api_vs_selfhost", "audit", "unallocated",
            "breakeven_table", "price_sources", "exports"} <= sections
    stake = [r for r in rows if (r["section"], r["team"], r["field"]) == ("audit", "research", "amount_at_stake")]
    assert [(Decimal(r["value"]), r["currency"]) for r in stake] == [(Decimal("65.5452"), "USD")]
    crossed = [r for r in rows if (r["section"], r["team"], r["field"]) == ("threshold", "assistant", "crossed_on")]
    assert [r["value"] for r in crossed] == ["2026-10-23"]
    threshold = [r for r in rows if (r["section"], r["team"], r["field"]) == ("threshold", "research", "threshold")]
    assert [(r["value"], r["currency"]) for r in threshold] == [("2500.00", "GBP")]


def test_markdown_and_table_render(sample):
    md = _render(sample, "markdown")
    assert md.startswith("# Spend review, November 2026 (GBP)")
    for team in ("search", "vision", "research", "assistant", "platform", "unallocated"):
        assert f"\n## {team}" in md
    for s in TEAM_SECTIONS:
        assert f"### {s.title}" in md
    assert "2026-11-20" in md and "£1,500.00" in md
    table = _render(sample, "table")
    assert "Spend review, November 2026" in table
    assert "search" in table and "2026-11-20" in table and "Break-even today" in table
    assert "\x1b" not in table


def test_team_filter_and_cli(sample, tmp_path, capsys, monkeypatch):
    # main() exports --warehouse as SPENDWATCH_WAREHOUSE; set it here first so monkeypatch removes it afterwards
    monkeypatch.setenv("SPENDWATCH_WAREHOUSE", str(sample))
    assert main(["review", "--warehouse", str(sample), "--month", "2026-11", "--team", "vision", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [t["team"] for t in doc["teams"]] == ["vision"] and doc["team_filter"] == "vision"
    assert main(["review", "--warehouse", str(sample), "--team", "nobody"]) == 2
    assert "--team nobody" in capsys.readouterr().err
    assert main(["review", "--warehouse", str(sample), "--month", "2025-01"]) == 2
    out = tmp_path / "review.html"
    assert main(["review", "--warehouse", str(sample), "--team", "search", "--format", "html", "--output", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and 'id="team-search"' in html and 'id="team-vision"' not in html


def test_review_data_is_plain_python(sample):
    con = connect(sample, read_only=True)
    try:
        data = review_data(con, NOV, "vision", now=NOW)
    finally:
        con.close()
    (t,) = data["teams"]
    assert isinstance(t["spend"]["total_spend"], Decimal) and isinstance(data["month_start"], date)
    assert data["generated_at"] == NOW


# --- untrusted text ---------------------------------------------------------------------------


def test_untrusted_names_are_escaped_in_every_format(evil):
    doc = json.loads(_render(evil, "json"))  # JSON carries the data as it is, validly encoded
    assert EVIL_TEAM in {t["team"] for t in doc["teams"]}
    assert EVIL_MODEL in {r["model"] for r in _team(doc, "assistant")["api_vs_selfhost"]}

    md = _render(evil, "markdown")
    assert "<script" not in md and "<img" not in md
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    header = next(line for line in md.splitlines() if line.startswith("| provider | model |"))
    model_rows = [line for line in md.splitlines() if "HYPERLINK" in line and line.startswith("|")]
    cells = lambda line: len(re.split(r"(?<!\\)\|", line))  # noqa: E731 - unescaped pipes only
    assert model_rows and all(cells(r) == cells(header) for r in model_rows)  # the model's pipe cannot split the table

    html = _render(evil, "html")
    assert "<script>alert(1)</script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html

    table = _render(evil, "table")
    assert "\x1b" not in table  # the model's ANSI sequence is dropped
    assert "[red]" in table  # rich markup in data is shown, not applied
    assert "<script>alert(1)</script>" in table  # plain text in a terminal

    rows = list(csv.DictReader(io.StringIO(_render(evil, "csv"))))
    models = [r["value"] for r in rows if r["field"] == "model" and "HYPERLINK" in r["value"]]
    assert models and all(m.startswith("'=") and "\x1b" not in m for m in models)  # no spreadsheet formula
    assert any(r["team"] == EVIL_TEAM for r in rows)


# --- the same figures elsewhere: Dagster materialization metadata and CLI progress -----------------


def test_model_metadata_key_results_and_charts(sample):
    import base64

    from pipelines.model_metadata import HOOKS, extra_metadata
    from warehouse.models import load_project

    con = connect(sample, read_only=True)
    try:
        project = load_project()
        assert set(HOOKS) <= set(project.models)
        meta = {name: extra_metadata(name, con) for name in project.order}
    finally:
        con.close()
    assert [n for n, m in meta.items() if "key_result_error" in m] == []
    flags = meta["threshold_flags"]
    # README: in November search (crossed 20 Nov) and assistant (23 Nov) are over the threshold
    assert flags["latest_month"].value == "2026-11" and flags["teams_over"].value == 2
    assert "2026-11-20" in flags["key_result"].value and "2026-11-23" in flags["key_result"].value
    # README: six planted discrepancies (one FOCUS line, five RunPod records), all above tolerance
    assert meta["invoice_audit"]["findings_above_tolerance"].value == 6
    assert "EUINGB26-1038822" in meta["invoice_audit"]["key_result"].value
    for name in ("team_monthly_spend", "breakeven"):
        md = meta[name]["chart"].value
        assert md.startswith("![") and "](data:image/png;base64," in md
        png = base64.b64decode(md.split("base64,", 1)[1].rstrip(")"))
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert meta["breakeven"]["dedicated_cheaper"].value == 1  # vision's RTX 4090 only (README)


def test_progress_is_silent_off_a_terminal_and_counts_on_one(sample, tmp_path):
    from spendwatch.progress import track
    from warehouse.models import load_project

    quiet = io.StringIO()  # not a terminal
    with track("models", total=3, stream=quiet) as t:
        assert not t.active
        t.advance("a")
    assert quiet.getvalue() == "" and t.done == 1

    path = tmp_path / "progress.duckdb"
    shutil.copy(sample, path)
    shown = io.StringIO()
    project = load_project()
    con = connect(path)
    try:
        with track("building models", total=len(project.order), enabled=True, stream=shown) as t:
            assert t.active
            results = operations.build_models(con, on_model=t.on_model)
        with track("ingesting", total=1, enabled=True, stream=shown) as f:
            cfg = load_config(EXAMPLE_CONFIG)
            operations.ingest(con, cfg, [cfg.export_paths()[0] / "modal_billing_2026-09_2026-11.csv"], progress=f.on_file)
    finally:
        con.close()
    assert t.done == len(results) == len(project.order) and t.failed == 0
    assert f.done == 1 and f.failed == 0  # already ingested: a result all the same
