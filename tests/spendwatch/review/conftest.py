"""Fixtures of the review's tests: the sample warehouse with one price change, the same with hostile names,
and a small review written by hand (for the renderers, with no warehouse at all).

The sample is the session's sample warehouse (tests/conftest.py: examples/spendwatch.toml, the recorded
prices as of 2026-12-01 06:00, the bundled ECB rates, every export) copied once per test run (shared by the
pytest-xdist workers, tests/conftest.py built_once), plus one price change:
the RunPod Serverless capture with the RTX 4090 flex price edited from $0.00031 to $0.00029 a second,
replayed as observed on 2026-12-02 06:00.  Expected values come from examples/README.md, from
examples/spendwatch.toml and from the recorded captures, never from the review's own output.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from scrapers.fetch import SNAPSHOT_DIR
from spendwatch import operations
from spendwatch.review import build_review
from tests.conftest import built_once
from warehouse.db import connect

CHANGE_AT = datetime(2026, 12, 2, 6, 0)    # the edited RunPod Serverless capture
EVIL_TEAM = "<script>alert(1)</script>"
EVIL_MODEL = '=HYPERLINK("http://x")<img src=x onerror=alert(2)>[red]m[/red]|*_`\x1b[2J'


@pytest.fixture(scope="session")
def review_sample(sample_warehouse: Path, tmp_path_factory) -> Path:
    """The sample warehouse plus one RunPod price change on 2026-12-02 (built once per run; open it read-only)."""

    def build(folder: Path) -> None:
        path = folder / "warehouse.duckdb"
        shutil.copy(sample_warehouse, path)
        snap = folder / "changed_captures"
        snap.mkdir()
        text = (SNAPSHOT_DIR / "runpod_serverless.md").read_text(encoding="utf-8")
        assert text.count(r"\$0.00031") == 1  # the "4090 PRO" row's flex price
        (snap / "runpod_serverless.md").write_text(text.replace(r"\$0.00031", r"\$0.00029"), encoding="utf-8")
        con = connect(path)
        try:
            changed = operations.refresh_prices(con, mode="snapshot", snapshot_dir=snap, source_ids=["runpod_serverless"],
                                                as_of=CHANGE_AT)
            assert [r.status for r in changed.results] == ["ok"]
            assert all(r.status == "ok" for r in operations.build_models(con))
        finally:
            con.close()

    return built_once(tmp_path_factory, "review", build) / "warehouse.duckdb"


def poison(path: Path, team: str, line_update: str, value: str) -> None:
    """In the warehouse at ``path``: team vision renamed to ``team`` (config and attribution rules, where the team
    comes from), ``line_update`` run on billing_line_items with ``value``, and the models rebuilt."""
    con = connect(path)
    try:
        con.execute("UPDATE config.teams SET team = ? WHERE team = 'vision'", [team])
        con.execute("UPDATE config.attribution_rules SET team = ? WHERE team = 'vision'", [team])
        con.execute(line_update, [value])
        assert all(r.status == "ok" for r in operations.build_models(con))
    finally:
        con.close()


@pytest.fixture(scope="session")
def evil_sample(review_sample: Path, tmp_path_factory) -> Path:
    """The sample with team vision renamed to a script tag and one model id full of markup (as an export could carry)."""

    def build(folder: Path) -> None:
        path = folder / "warehouse.duckdb"
        shutil.copy(review_sample, path)
        poison(path, EVIL_TEAM, "UPDATE billing_line_items SET x_model = ? WHERE x_model = 'gpt-4o-mini-2024-07-18' "
               "AND x_project_id = 'proj_assistant'", EVIL_MODEL)

    return built_once(tmp_path_factory, "evil", build) / "warehouse.duckdb"


@pytest.fixture(scope="session")
def review_of():
    """build_review of a warehouse file, opened read-only: review_of(path, month=Nov 2026, team=None, now=None)."""
    def build(path: Path, month: date | None = date(2026, 11, 1), team: str | None = None, now: datetime | None = None) -> dict:
        con = connect(path, read_only=True)
        try:
            return build_review(con, month, team, now=now)
        finally:
            con.close()

    return build


def _empty_team(name: str) -> dict:
    return {"team": name, "lead": None, "is_unallocated": False, "breakeven": [], "hybrid_plan": [], "api_vs_selfhost": [],
            "dedicated_utilisation": [], "audit": [], "price_changes": [], "history": [], "daily": [], "anomalies": [],
            "anomaly_bands": [], "recommendations": [], "fx_stale": []}


@pytest.fixture
def tiny() -> dict:
    """A review written by hand (:func:`tiny_review`)."""
    return tiny_review()


def tiny_review() -> dict:
    """A review written by hand: team alpha in November 2026, one price change, one audit finding, one
    unallocated line, one stale source.  The figures and what each renderer must show are worked in the tests."""
    alpha = _empty_team("alpha") | {
        "lead": "ana@example.com",
        # variable = serverless 1,234.50 + API 100.25 = 1,334.75; total adds dedicated 0 and other 0
        "spend": {"currency": "GBP", "serverless_gpu": Decimal("1234.50"), "dedicated_gpu": Decimal("0.00"),
                  "hosted_api": Decimal("100.25"), "other": Decimal("0.00"), "variable_spend": Decimal("1334.75"),
                  "total_spend": Decimal("1334.75")},
        # 1,334.75 / 1,500 = 88.98 %, stored by threshold_flags rounded to 89.0
        "threshold": {"currency": "GBP", "variable_spend": Decimal("1334.75"), "threshold": Decimal("1500.00"),
                      "threshold_currency": "GBP", "pct_of_threshold": Decimal("89.0"),
                      "projected_variable": Decimal("2002.13"), "status": "projected_over", "crossed_on": None,
                      "projected_cross_date": date(2026, 11, 24), "days_with_data": 20, "days_in_month": 30,
                      "last_data_date": date(2026, 11, 20), "projected_low": None, "projected_high": None,
                      "band_method": None},
        "audit": [{"team": "alpha", "provider": "aws", "invoice_id": "INV-1", "charge_date": date(2026, 11, 8),
                   "finding": "overcharge", "rule": "list_price", "billed": Decimal("262.180800"),
                   "expected": Decimal("196.635600"), "currency": "USD", "amount_at_stake": Decimal("65.545200"),
                   "amount_at_stake_reporting": Decimal("51.78"), "reporting_currency": "GBP",  # 65.5452 x 0.79 = 51.780708
                   "tolerance_reporting": Decimal("1.00"), "above_tolerance": True, "description": "p4d.24xlarge 6 h"}],
        "audit_summary": {"findings": 1, "above_tolerance": 1, "at_stake_reporting": Decimal("51.78"), "currency": "GBP"},
        "price_changes": [{"team": "alpha", "used_as": "gpu", "used_item": "RTX4090-24GB", "change": "changed",
                           "changed_at": datetime(2026, 11, 5, 6, 0), "source_id": "runpod_serverless",
                           "provider": "runpod", "product_kind": "serverless_gpu", "sku": "4090 PRO", "component": "gpu",
                           "tier": "flex", "region": None, "regions": 1, "unit": "second", "currency": "USD",
                           "new_currency": "USD", "old_amount": Decimal("0.000310000000"),
                           "new_amount": Decimal("0.000290000000"), "change_pct": Decimal("-6.45")}],
        "headlines": ["Projected over the threshold: £2,002.13 by month end against £1,500.00."],
    }
    return {
        "report": "spendwatch spend review", "month": "2026-11", "month_start": date(2026, 11, 1),
        "months_available": ["2026-11"], "reporting_currency": "GBP", "team_filter": None,
        "generated_at": datetime(2026, 12, 2, 12, 0), "teams": [alpha],
        "unallocated": {"currency": "GBP", "total": Decimal("12.34"), "lines": [
            {"provider": "openai", "product_kind": "hosted_api", "key_kind": "project", "attribution_key": "proj_sandbox",
             "currency": "GBP", "amount": Decimal("12.34"), "lines": 3, "first_charge": date(2026, 11, 2),
             "last_charge": date(2026, 11, 20)}]},
        # 1,334.75 attributed of 1,347.09 (1,334.75 + 12.34): 0.990839 (6 places, as the query casts it)
        "attribution_coverage": [{"month": "2026-11", "currency": "GBP", "total_spend": Decimal("1347.09"),
                                  "attributed_spend": Decimal("1334.75"), "unattributed_spend": Decimal("12.34"),
                                  "coverage": Decimal("0.990839"), "lines": 40, "attributed_lines": 37}],
        "failed_alerts": {"available": False, "alerts": []},
        "breakeven_table": [], "held_prices": [],
        "freshness": {"price_sources": [
            {"source_id": "runpod_serverless", "last_live_fetch": "never", "last_status": "ok", "last_mode": "offline",
             "capture_mode": "offline", "capture_date": date(2026, 10, 4), "age_days": 59, "max_age_days": 7,
             "stale": True, "held_prices": 0, "last_error": None}], "exports": [], "ingest_rejects": []},
        "notes": ["price sources stale (prices in force older than their max age): runpod_serverless"],
    }
