"""Incremental models attacked: sequences of deliveries, corrections, config and state changes that try to make an
incremental build differ from a full one, or lose or double money.

Every test starts from a copy of the sample organisation's warehouse (September - November 2026, reporting currency
GBP) and adds small FOCUS exports of its own: a made-up cloud ("Google Cloud" -> provider ``gcp``) whose lines are
attributed by their ``team`` tag (the sample's tag rule).  A FOCUS delivery restates its scope (provider, billing
account, billing period), so sending a month again with other lines is a restatement.

After each sequence :func:`same_as_full` builds incrementally (what ``spendwatch models build`` does), then copies the
warehouse file and builds the copy with ``--full``'s code path; every table model's row count and digest
(tests/warehouse/test_incremental_models.py: ``contents``) must be equal.  Where money could be lost or doubled the
test also checks hand-worked totals.

A test that exposes a bug is kept and marked ``xfail(strict=True)`` with the bug in one line.  Fixed since they were
written (e6bf8c1): the horizon moving into or back out of a month, a recurring charge read further back than the
lookback (scores and explanations), a month missing from model_build_months, a new version of an upstream model.
Config, FX and price changes, failed, crashed and killed builds, stale build state and new model versions are in
tests/warehouse/test_incremental_hostile_builds.py.
"""

from __future__ import annotations

import csv
import json
import shutil
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.warehouse.test_incremental_models import contents
from warehouse import models as sqlmodels
from warehouse.db import connect
from warehouse.ingest import forget_delivery, ingest_file

# Fault-injection runs: `make test-hostile` (and CI), not the everyday `make test` (README, "Tests").
pytestmark = pytest.mark.hostile

ROOT = Path(__file__).resolve().parents[2]
FOCUS_COLUMNS = ("BilledCost", "BillingAccountId", "BillingCurrency", "BillingPeriodStart", "BillingPeriodEnd",
                 "ChargeCategory", "ChargeDescription", "ChargeFrequency", "ChargePeriodStart", "ChargePeriodEnd",
                 "ProviderName", "SubAccountId", "ResourceId", "SkuId", "ServiceCategory", "Tags")


# ---------------------------------------------------------------------------------------------------------------------
# Small generated exports


def first_of(d: date) -> date:
    return d.replace(day=1)


def month_after(d: date) -> date:
    return (d.replace(day=28) + timedelta(days=4)).replace(day=1)


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def line(day: date, cost: str, team: str | None = "vision", *, frequency: str = "Usage-Based", resource: str = "vm-1",
         category: str = "Usage") -> dict:
    return {"day": day, "cost": cost, "team": team, "frequency": frequency, "resource": resource, "category": category}


def focus(path: Path, lines: list[dict], *, period: date, account: str = "acct-1", currency: str = "USD",
          tokens: bool = False) -> Path:
    """A FOCUS CSV of one billing period of the ``gcp`` cloud: one day-long line per entry.  With ``tokens``, every
    line is a hosted model API's ("AI and Machine Learning" priced in tokens): variable spend."""
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(FOCUS_COLUMNS + (("PricingUnit",) if tokens else ()))
        for ln in lines:
            d = ln["day"]
            w.writerow([ln["cost"], account, currency, f"{period}T00:00:00Z", f"{month_after(period)}T00:00:00Z",
                        ln["category"], f"compute {ln['resource']}", ln["frequency"], f"{d}T00:00:00Z",
                        f"{d + timedelta(days=1)}T00:00:00Z", "Google Cloud", "sub-1", ln["resource"], "sku-1",
                        "AI and Machine Learning" if tokens else "Compute",
                        json.dumps({"team": ln["team"]}) if ln["team"] else "{}"] + (["1M tokens"] if tokens else []))
    return path


class Org:
    """A copy of the sample warehouse, open, with the tools to change it."""

    def __init__(self, folder: Path, sample_warehouse: Path, cfg):
        self.folder, self.cfg = folder, cfg
        self.path = folder / "warehouse.duckdb"
        shutil.copyfile(sample_warehouse, self.path)
        self.con = connect(self.path)
        self.project = sqlmodels.load_project()
        self.files = 0

    def deliver(self, lines: list[dict], *, period: date, account: str = "acct-1", currency: str = "USD",
                tokens: bool = False):
        self.files += 1
        path = focus(self.folder / f"focus_gcp_{self.files:02d}.csv", lines, period=period, account=account,
                     currency=currency, tokens=tokens)
        return ingest_file(self.con, path, self.cfg)

    def build(self, project: sqlmodels.Project | None = None, *, incremental: bool = True, ok: bool = True,
              **kw) -> dict[str, sqlmodels.BuildResult]:
        built = {r.model: r for r in sqlmodels.build(self.con, project or self.project, incremental=incremental, **kw)}
        if ok:
            assert all(r.status == "ok" for r in built.values()), [(r.model, r.error) for r in built.values() if r.status != "ok"]
        return built

    def months(self, model: str = "fct_spend_daily", **kw) -> list | None:
        return self.build(**kw)[model].months

    def gcp(self, sql: str, params: list | None = None):
        return self.con.execute(sql, params or []).fetchall()

    def close(self):
        self.con.close()


@pytest.fixture
def org(tmp_path, sample_warehouse, sample_config):
    o = Org(tmp_path, sample_warehouse, sample_config)
    yield o
    o.close()


def full_of_copy(org: Org) -> dict[str, tuple[int, str]]:
    """Every table model of a fresh full build of a copy of the warehouse as it is now."""
    org.con.execute("CHECKPOINT")
    copy = org.folder / "full.duckdb"
    shutil.copyfile(org.path, copy)
    con = connect(copy)
    try:
        built = sqlmodels.build(con, org.project)
        assert all(r.status == "ok" and r.months is None for r in built), [(r.model, r.error) for r in built if r.status != "ok"]
        return contents(con)
    finally:
        con.close()
        copy.unlink()


def same_as_full(org: Org, *, build: bool = True) -> None:
    """An incremental build (unless done already), then every table model equal to a fresh full build's."""
    if build:
        org.build()
    incremental = contents(org.con)
    full = full_of_copy(org)
    assert incremental.keys() == full.keys()
    differ = [t for t in full if full[t] != incremental[t]]
    assert not differ, f"incremental != full for {differ}: " + ", ".join(f"{t} {incremental[t][0]} vs {full[t][0]} rows" for t in differ)


def spend(org: Org, month: date, provider: str = "gcp") -> dict[str, Decimal]:
    """fct_spend_daily's native amount per team for a provider and month."""
    return dict(org.gcp("SELECT team, sum(amount_native) FROM fct_spend_daily WHERE provider = ? AND charge_month = ? "
                        "GROUP BY team", [provider, month]))


SEP, OCT, NOV, DEC = date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)


# ---------------------------------------------------------------------------------------------------------------------
# Restatements


def test_restating_an_old_month_with_fewer_lines_drops_a_team_and_moves_its_first_day(org):
    """September restated after November was built: fewer lines, research gone, vision starting 10 days later."""
    org.deliver([line(d, "10.00") for d in days(SEP, date(2026, 9, 30))]
                + [line(d, "5.00", "research", resource="vm-2") for d in days(SEP, date(2026, 9, 30))], period=SEP)
    org.deliver([line(d, "10.00") for d in days(OCT, date(2026, 10, 31))], period=OCT)
    org.deliver([line(d, "10.00") for d in days(NOV, date(2026, 11, 30))], period=NOV)
    org.build()
    assert spend(org, SEP) == {"vision": Decimal("300"), "research": Decimal("150")}  # 30 x 10, 30 x 5

    r = org.deliver([line(d, "12.00") for d in days(date(2026, 9, 11), date(2026, 9, 30))], period=SEP)
    assert r.rows_replaced == 60 and r.rows_loaded == 20
    built = org.build()
    assert built["fct_spend_daily"].months == [SEP]
    # A series starts 10 days later: the scores of every month from September on are rebuilt.
    assert built["int_anomaly_scores"].months == [SEP, OCT, NOV]
    assert spend(org, SEP) == {"vision": Decimal("240")}  # 20 days x 12; research's 150 gone, not kept
    assert spend(org, OCT) == {"vision": Decimal("310")}  # 31 x 10, untouched
    same_as_full(org, build=False)

    # And back: September as first delivered (the same bytes again), its lines restored from the archive.
    assert org.build()["fct_spend_daily"].months == []
    r = ingest_file(org.con, org.folder / "focus_gcp_01.csv", org.cfg)
    assert r.rows_restored == 60 and r.rows_replaced == 20
    same_as_full(org)
    assert spend(org, SEP) == {"vision": Decimal("300"), "research": Decimal("150")}


def test_restating_a_month_at_a_year_boundary(org):
    """Lines from November 2025 to February 2026 (before the sample): December 2025 restated rebuilds December
    and, for the scores that read 4 months back, January to April 2026 across the year boundary."""
    for m in (date(2025, 11, 1), date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1)):
        org.deliver([line(d, "20.00") for d in days(m, month_after(m) - timedelta(days=1))], period=m)
    org.build()
    org.deliver([line(d, "20.00") for d in days(date(2025, 12, 1), date(2025, 12, 23))]
                + [line(d, "90.00") for d in days(date(2025, 12, 24), date(2025, 12, 31))], period=date(2025, 12, 1))
    built = org.build()
    assert built["fct_spend_daily"].months == [date(2025, 12, 1)]
    assert built["int_anomaly_scores"].months == [date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1),
                                                  date(2026, 3, 1), date(2026, 4, 1)]
    # 23 x 20 + 8 x 90 = 460 + 720 = 1180
    assert spend(org, date(2025, 12, 1)) == {"vision": Decimal("1180")}
    same_as_full(org, build=False)


def test_restating_a_partial_month_then_completing_it(org):
    """November delivered to the 10th, built, restated to the 20th, built, then completed."""
    org.deliver([line(d, "10.00") for d in days(NOV, date(2026, 11, 10))], period=NOV)
    org.build()
    org.deliver([line(d, "10.00") for d in days(NOV, date(2026, 11, 20))], period=NOV)
    org.build()
    org.deliver([line(d, "10.00") for d in days(NOV, date(2026, 11, 30))], period=NOV)
    same_as_full(org)
    assert spend(org, NOV) == {"vision": Decimal("300")}  # 30 x 10: each restatement replaced, none added


def test_a_restatement_that_moves_a_month_to_another_team(org):
    """October restated with the research tag on every line: October's spend moves, September's and November's stay."""
    for m in (SEP, OCT, NOV):
        org.deliver([line(d, "10.00") for d in days(m, month_after(m) - timedelta(days=1))], period=m)
    org.build()
    org.deliver([line(d, "10.00", "research") for d in days(OCT, date(2026, 10, 31))], period=OCT)
    same_as_full(org)
    assert spend(org, SEP) == {"vision": Decimal("300")}
    assert spend(org, OCT) == {"research": Decimal("310")}
    assert spend(org, NOV) == {"vision": Decimal("300")}


def test_a_billing_period_carrying_late_charges_of_the_month_before(org):
    """October's billing period restated with late charges dated 20-30 September (a series now starting in September),
    then restated again without them: September's lines change though September's own billing period never came."""
    org.deliver([line(d, "10.00") for d in days(OCT, date(2026, 10, 31))], period=OCT)
    org.build()
    late = [line(d, "4.00", "research", resource="vm-late") for d in days(date(2026, 9, 20), date(2026, 9, 30))]
    org.deliver(late + [line(d, "10.00") for d in days(OCT, date(2026, 10, 31))], period=OCT)
    built = org.build()
    assert built["fct_spend_daily"].months == [SEP, OCT]
    assert built["int_anomaly_scores"].months == [SEP, OCT, NOV]  # a series starting in September
    assert spend(org, SEP) == {"research": Decimal("44")}  # 11 days x 4
    same_as_full(org, build=False)

    org.deliver([line(d, "10.00") for d in days(OCT, date(2026, 10, 31))], period=OCT)  # the late charges withdrawn
    assert org.build()["fct_spend_daily"].months == [SEP, OCT]
    assert spend(org, SEP) == {} and spend(org, OCT) == {"vision": Decimal("310")}
    same_as_full(org, build=False)


def test_a_recurring_charge_restated_two_months_back(org):
    """A server rented at 100 USD on the 1st of September, October and November (three billing periods); September's
    rent restated to 150 USD.  October's lines never changed, yet its occurrence's previous one did: October is rebuilt
    (int_anomaly_spans holds it), November is not (its previous occurrence is October's)."""
    for month in (SEP, OCT, NOV):
        org.deliver([line(month, "100.00", frequency="Recurring", resource="rent-1")], period=month)
    org.build()
    org.deliver([line(SEP, "150.00", frequency="Recurring", resource="rent-1")], period=SEP)
    built = org.build()
    assert built["fct_spend_daily"].months == [SEP]
    assert built["int_anomaly_daily"].months == [SEP, OCT]
    rows = org.gcp("SELECT charge_date, actual, previous_actual, first_spend FROM int_anomaly_daily "
                   "WHERE provider = 'gcp' AND scope = 'recurring:rent-1' ORDER BY charge_date")
    assert [r[0] for r in rows] == [SEP, OCT, NOV] and all(r[3] == SEP for r in rows)
    (_, sep, none, _), (_, oct_, oct_prev, _), (_, _, nov_prev, _) = rows
    assert none is None and oct_prev == sep and nov_prev == oct_
    # in GBP at each day's ECB rate: 150 USD on 1 September is half as much again as 100 USD would have been
    (usd_1_sep,) = org.gcp("SELECT fx_rate FROM stg_line_items_fx WHERE provider = 'gcp' AND charge_date = ?", [SEP])[0]
    assert sep == (Decimal("150") * usd_1_sep).quantize(Decimal("0.000001"))
    same_as_full(org, build=False)


def test_a_late_charge_moves_a_series_start_back_beyond_the_lookback(org):
    """vision's gcp hosted-API spend every day of January - November 2026 (eleven monthly billing periods), then
    January's period restated with a late charge dated 31 December 2025: the series now starts a day earlier, so every
    one of its days has a new day_number, up to November, further than int_daily_variable's 6 months of lookback
    reach (its months come from int_variable_spans, watched)."""
    month = date(2026, 1, 1)
    while month < DEC:
        org.deliver([line(d, "10.00") for d in days(month, month_after(month) - timedelta(days=1))], period=month,
                    tokens=True)
        month = month_after(month)
    org.build()
    late = line(date(2025, 12, 31), "10.00")
    org.deliver([late] + [line(d, "10.00") for d in days(date(2026, 1, 1), date(2026, 1, 31))], period=date(2026, 1, 1),
                tokens=True)
    built = org.build()
    assert built["fct_spend_daily"].months == [date(2025, 12, 1), date(2026, 1, 1)]
    assert built["int_daily_variable"].months == [date(2025, 12, 1)] + [date(2026, m, 1) for m in range(1, 12)]
    # 31 December 2025 is day 1; 30 November 2026 is 1 + 334 days later (2026 up to November: 365 - 31 days)
    assert org.gcp("SELECT day_number FROM int_daily_variable WHERE team = 'vision' AND provider = 'gcp' "
                   "AND day IN ('2025-12-31', '2026-11-30') ORDER BY day") == [(1,), (335,)]
    same_as_full(org, build=False)


def test_a_restated_day_of_serverless_gpu_usage_reaches_the_decision_models(org):
    """RunPod's 15 October restated with three times the GPU time and cost (its scope is the dataset and the day, so
    only that day is replaced): the serverless hours, the decision windows' usage, the hybrid plan and the
    recommendations built on them equal a full build's, and the day's spend is three times what it was."""
    src = ROOT / "examples" / "exports" / "runpod_billing_endpoints_2026-09_2026-11.json"
    day = [r for r in json.loads(src.read_text(encoding="utf-8")) if r["time"].startswith("2026-10-15")]
    before = sum(Decimal(str(r["amount"])) for r in day)
    restated = org.folder / "runpod_billing_endpoints_2026-10-15.json"
    restated.write_text(json.dumps([{**r, "amount": round(r["amount"] * 3, 5), "timeBilledMs": r["timeBilledMs"] * 3}
                                    for r in day]), encoding="utf-8")
    org.build()
    ((was,),) = org.gcp("SELECT sum(amount_native) FROM fct_spend_daily WHERE provider = 'runpod' AND charge_date = DATE '2026-10-15'")
    assert was == before
    r = ingest_file(org.con, restated, org.cfg)
    assert r.rows_replaced == len(day) and r.rows_loaded == len(day)
    built = org.build()
    assert built["int_serverless_hours"].months == [OCT]
    ((now,),) = org.gcp("SELECT sum(amount_native) FROM fct_spend_daily WHERE provider = 'runpod' AND charge_date = DATE '2026-10-15'")
    assert now == sum(Decimal(str(round(x["amount"] * 3, 5))) for x in day)  # each hour's amount x 3, as written
    same_as_full(org, build=False)


def test_a_daily_run_rebuilds_the_current_month_only(org):
    """The daily run: gcp's November export grows by a day (1-29, then 1-30 November), then 1 December arrives.  Every
    incremental model rebuilds that day's month alone, none in full: the run's cost grows with the new data, not with
    history."""
    org.deliver([line(d, "10.00") for d in days(NOV, date(2026, 11, 29))], period=NOV)
    org.build()
    org.deliver([line(d, "10.00") for d in days(NOV, date(2026, 11, 30))], period=NOV)
    built = org.build()
    incremental = {n for n, m in org.project.models.items() if m.incremental}
    assert {n: built[n].months for n in incremental} == {n: [NOV] for n in incremental}
    assert spend(org, NOV) == {"vision": Decimal("300")}  # 30 x 10, the restated 29 days not kept beside them
    same_as_full(org, build=False)

    # The next day is the first of a new month: December alone.
    org.deliver([line(DEC, "10.00")], period=DEC)
    built = org.build()
    assert {n: built[n].months for n in incremental} == {n: [DEC] for n in incremental}
    same_as_full(org, build=False)


def test_a_mis_dated_line_years_ahead_then_forgotten(org):
    """A line dated January 2030 by mistake (a typo in the year): every provider's horizon and the organisation's jump
    three years; then the delivery is forgotten and they come back."""
    org.deliver([line(d, "10.00") for d in days(OCT, date(2026, 10, 31))], period=OCT)
    org.build()
    org.deliver([line(date(2030, 1, 15), "10.00")], period=date(2030, 1, 1))
    same_as_full(org)
    assert spend(org, date(2030, 1, 1)) == {"vision": Decimal("10")}
    forget_delivery(org.con, str(org.folder / "focus_gcp_02.csv"))
    same_as_full(org)
    assert org.gcp("SELECT max(charge_month) FROM fct_spend_daily") == [(NOV,)]
    assert org.gcp("SELECT max(charge_date) FROM int_anomaly_scores") == [(date(2026, 11, 30),)]


def test_two_ingests_then_one_build_and_a_forgotten_delivery(org):
    """Two deliveries of different months before one build; then one of them forgotten."""
    org.deliver([line(d, "10.00") for d in days(SEP, date(2026, 9, 30))], period=SEP)
    org.build()
    org.deliver([line(d, "7.00") for d in days(OCT, date(2026, 10, 31))], period=OCT)
    org.deliver([line(d, "11.00") for d in days(SEP, date(2026, 9, 30))], period=SEP)  # September restated too
    assert org.build()["fct_spend_daily"].months == [SEP, OCT]
    assert spend(org, SEP) == {"vision": Decimal("330")} and spend(org, OCT) == {"vision": Decimal("217")}  # 30 x 11; 31 x 7
    same_as_full(org, build=False)

    forget_delivery(org.con, str(org.folder / "focus_gcp_03.csv"))  # the restated September: the first one is back
    assert org.build()["fct_spend_daily"].months == [SEP]
    assert spend(org, SEP) == {"vision": Decimal("300")}
    same_as_full(org, build=False)


def test_a_yearly_charge_explained_against_its_occurrence_seven_months_before(org):
    """A yearly licence (Recurring) of 1200 USD in March 2026 and 3000 USD in October: October's is flagged (a
    recurring change) and explained against March's charge.  Then October alone is restated (a usage line added):
    October's explanation is rebuilt and must still read March, seven months back."""
    org.deliver([line(date(2026, 3, 2), "1200.00", frequency="Recurring", resource="licence")], period=date(2026, 3, 1))
    october = [line(date(2026, 10, 2), "3000.00", frequency="Recurring", resource="licence")]
    org.deliver(october, period=OCT)
    org.build()

    def before() -> str:
        ((top,),) = org.gcp("SELECT top_lines FROM int_anomaly_explained WHERE provider = 'gcp' "
                            "AND charge_date = DATE '2026-10-02'")
        return json.loads(top[0])["before"]

    # March's 1200 USD at that day's ECB rates, in GBP.
    ((march,),) = org.gcp("SELECT round(amount_reporting, 2) FROM fct_spend_daily WHERE provider = 'gcp' "
                          "AND charge_date = DATE '2026-03-02'")
    assert before() == str(march) == "896.46"

    org.deliver(october + [line(date(2026, 10, 20), "1.00", resource="vm-9")], period=OCT)
    assert org.build()["fct_spend_daily"].months == [OCT]
    assert before() == "896.46"
    same_as_full(org, build=False)


# ---------------------------------------------------------------------------------------------------------------------
# The data horizon


def test_a_lagging_export_catching_up_into_the_next_month(org):
    """gcp's export lags: its data stops on 27 October.  Then a line of 2 November arrives (nothing of October
    changes): every gcp series runs to 2 November now, so October's 28th to 31st are days without spend of each."""
    org.deliver([line(d, "10.00") for d in days(SEP, date(2026, 9, 30))], period=SEP)
    org.deliver([line(d, "10.00") for d in days(OCT, date(2026, 10, 27))], period=OCT)
    org.build()
    org.deliver([line(date(2026, 11, 2), "10.00")], period=NOV)
    built = org.build()
    assert built["fct_spend_daily"].months == [NOV]
    # 31 October days of gcp's series now: 27 with spend, 4 without.
    assert org.gcp("SELECT count(*) FROM int_anomaly_scores WHERE provider = 'gcp' AND scope = '*' "
                   "AND charge_month = ?", [OCT]) == [(31,)]
    same_as_full(org, build=False)


def test_a_forgotten_delivery_moves_the_horizon_back(org):
    org.deliver([line(d, "10.00") for d in days(OCT, date(2026, 10, 27))], period=OCT)
    org.deliver([line(date(2026, 11, 2), "10.00")], period=NOV)
    org.build()
    forget_delivery(org.con, str(org.folder / "focus_gcp_02.csv"))
    org.build()
    assert org.gcp("SELECT max(charge_date) FROM int_anomaly_scores WHERE provider = 'gcp'") == [(date(2026, 10, 27),)]
    same_as_full(org, build=False)


@pytest.fixture(scope="session")
def lagging_sample(tmp_path_factory) -> Path:
    """The sample organisation as of 3 November 2026 with Modal's export 6 days behind (its data stops on 28 October),
    every model built; shared, read-only (copied by the test)."""
    from bench.sample_cut import build_sample
    from tests.conftest import built_once

    return built_once(tmp_path_factory, "sample_lagging_modal",
                      lambda folder: build_sample(folder, cut=date(2026, 11, 3), lag={"modal": 6})) / "warehouse.duckdb"


def test_a_lagging_providers_export_catching_up_across_a_month_end(tmp_path, lagging_sample, sample_config):
    """Modal's full export arrives: its days from 29 October to 30 November (restating the days it had), while the
    other providers stay at 3 November.  Modal's horizon moves from 28 October to 29 November and takes the
    organisation's with it: every provider's decision windows and projections move, most without a line changing."""
    org = Org(tmp_path, lagging_sample, sample_config)
    try:
        assert org.gcp("SELECT provider, last_complete_day FROM stg_data_horizon WHERE provider IN ('modal', 'openai') "
                       "ORDER BY 1") == [("modal", date(2026, 10, 28)), ("openai", date(2026, 11, 3))]
        org.build()
        modal = ROOT / "examples" / "exports" / "modal_billing_2026-09_2026-11.csv"
        ingest_file(org.con, modal, org.cfg)
        # Modal now leads: the organisation's last complete day is its 29 November, the others lag at 3 November.
        assert org.gcp("SELECT provider, last_complete_day, org_last_complete_day FROM stg_data_horizon "
                       "WHERE provider IN ('modal', 'openai') ORDER BY 1") == [
            ("modal", date(2026, 11, 29), date(2026, 11, 29)), ("openai", date(2026, 11, 3), date(2026, 11, 29))]
        built = org.build()
        assert set(built["fct_spend_daily"].months) <= {SEP, OCT, NOV} and NOV in built["fct_spend_daily"].months
        same_as_full(org, build=False)
    finally:
        org.close()


def modal(path: Path, hours: list[tuple[date, str]], at: str = "23:00") -> Path:
    """A Modal billing report of the research workspace's H100 app: one hour (at 23:00) of each day, its cost."""
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["Object ID", "Description", "Environment", "Interval Start", "Cost", "Tags"])
        for d, cost in hours:
            w.writerow(["ap-hostile", "lora-finetune", "research", f"{d}T{at}:00", cost,
                        json.dumps({"team": "research", "gpu": "H100"})])
    return path


def test_a_month_whose_first_day_completes_later_gets_its_window(org):
    """A Modal hour from 00:30 on 1 December: December has lines but no decision window (its first day is not
    complete: the last usage ends at 01:30).  A gcp line of 1 December (ending at midnight) then completes the day:
    December's window appears (the trailing 30 days to 1 December) though no serverless line of December changed."""
    ingest_file(org.con, modal(org.folder / "modal_1.csv", [(DEC, "3.000000")], at="00:30"), org.cfg)
    same_as_full(org)
    assert org.gcp("SELECT count(*) FROM int_decision_windows WHERE month = ?", [DEC]) == [(0,)]
    org.deliver([line(DEC, "1.00")], period=DEC)
    same_as_full(org)
    assert org.gcp("SELECT window_start, window_end FROM int_decision_windows WHERE month = ? AND team = 'research' "
                   "AND gpu_class LIKE 'H100%'", [DEC]) == [(date(2026, 11, 2), DEC)]


def test_a_trailing_window_ending_on_the_first_of_march_reaches_back_two_months(org):
    """Modal usage every day from 1 December 2026 (the sample's stops on 30 November) to 1 March 2027 (its last hour
    ends at midnight, so 1 March is complete): March's decision window is the trailing 30 days, 31 January to 1 March
    (February has 28 days).  31 January is then restated: January's and February's windows are rebuilt, and March's
    must be too."""
    ingest_file(org.con, modal(org.folder / "modal_1.csv", [(d, "2.000000") for d in days(DEC, date(2027, 3, 1))]), org.cfg)
    same_as_full(org)
    assert org.gcp("SELECT window_kind, window_start, window_end FROM int_decision_windows WHERE team = 'research' "
                   "AND gpu_class LIKE 'H100%' AND month = DATE '2027-03-01'") == [
        ("trailing_30_days", date(2027, 1, 31), date(2027, 3, 1))]
    ingest_file(org.con, modal(org.folder / "modal_2.csv", [(date(2027, 1, 31), "50.000000")]), org.cfg)  # that day restated
    built = org.build()
    assert built["fct_spend_daily"].months == [date(2027, 1, 1)]
    # March's window: 29 days x 2 USD + 31 January's 50 USD = 108 USD, each line at the last ECB rate (30 October 2026).
    ((r,),) = org.gcp("SELECT rate_to_reporting FROM stg_fx_rates WHERE currency = 'USD' AND rate_date = DATE '2026-10-30'")
    expected = 29 * round(2 * r, 6) + round(50 * r, 6)
    assert org.gcp("SELECT serverless_cost FROM int_window_usage WHERE team = 'research' AND gpu_class LIKE 'H100%' "
                   "AND month = DATE '2027-03-01'") == [(expected,)]
    same_as_full(org, build=False)


# ---------------------------------------------------------------------------------------------------------------------
# Anomaly scores reading further back than their lookback


def test_a_restated_yearly_charge_reaches_its_next_occurrence_seven_months_later(org):
    """A yearly licence billed in March and October 2026 (Recurring): October's charge is expected at March's amount.
    March restated from 1200 to 1500 USD: October's expected changes too."""
    org.deliver([line(date(2026, 3, 2), "1200.00", frequency="Recurring", resource="licence")], period=date(2026, 3, 1))
    org.deliver([line(date(2026, 10, 2), "1200.00", frequency="Recurring", resource="licence")], period=OCT)
    org.build()
    org.deliver([line(date(2026, 3, 2), "1500.00", frequency="Recurring", resource="licence")], period=date(2026, 3, 1))
    built = org.build()
    assert built["fct_spend_daily"].months == [date(2026, 3, 1)]
    # October: expected = March's 1500 USD in GBP, not 1200 USD.
    ((expected,),) = org.gcp("SELECT expected FROM int_anomaly_scores WHERE provider = 'gcp' AND series_kind = 'recurring' "
                             "AND charge_date = DATE '2026-10-02'")
    ((march,),) = org.gcp("SELECT actual FROM int_anomaly_scores WHERE provider = 'gcp' AND series_kind = 'recurring' "
                          "AND charge_date = DATE '2026-03-02'")
    assert expected == march
    same_as_full(org, build=False)


def test_another_providers_data_moving_the_organisations_horizon_into_a_new_month(org):
    """The sample's providers stop on 30 November.  A gcp export reaching 3 December moves the organisation's last
    complete day (stg_data_horizon) into December, which moves every provider's decision window and projection
    without a line of November changing."""
    org.deliver([line(d, "10.00") for d in days(NOV, date(2026, 11, 30))], period=NOV)
    org.build()
    (before,) = org.gcp("SELECT DISTINCT org_last_complete_day FROM stg_data_horizon")
    org.deliver([line(d, "10.00") for d in days(DEC, date(2026, 12, 3))], period=DEC)
    assert org.build()["fct_spend_daily"].months == [DEC]
    (after,) = org.gcp("SELECT DISTINCT org_last_complete_day FROM stg_data_horizon")
    assert (before[0], after[0]) == (date(2026, 11, 30), date(2026, 12, 3))  # the day before the last line's end
    same_as_full(org, build=False)
