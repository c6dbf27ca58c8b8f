"""Decisions on any day of the month (issue 13): decision windows, commitments, whole units, spare capacity and the
one recommendation, against values worked out by hand in the comments.

Built on the hand-made warehouse of test_models_business (config, prices and lines inserted directly).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from tests.dbt_like_sql.test_models_business import Warehouse, _at

D = Decimal
L40S = "L40S-48GB"
H100 = "H100-80GB-SXM"


@pytest.fixture
def make_wh(tmp_path, new_warehouse):
    made = []

    def make(name: str = "w") -> Warehouse:
        (tmp_path / name).mkdir()
        w = Warehouse(new_warehouse(tmp_path / name / "warehouse.duckdb"))
        made.append(w)
        return w

    yield make
    for w in made:
        w.con.close()


def _offer(wh: Warehouse, amount: str, *, sku: str, unit: str = "month", gpu: str = L40S, **extra) -> None:
    wh.price(source_id="gigagpu", provider="gigagpu", kind="dedicated_gpu", sku=sku, component="gpu", unit=unit,
             amount=amount, currency="GBP", gpu_model=gpu, gpu_count=1, valid_from=datetime(2026, 9, 1), **extra)


def _steady(wh: Warehouse, team: str, first: date, last: date, hours_a_day, gpu: str = L40S, per_second: str = "0.0004") -> None:
    """One serverless line a day from ``first`` to ``last``: hours_a_day(day) GPU-hours at £per_second a GPU-second."""
    d = first
    while d <= last:
        secs = hours_a_day(d) * 3600
        wh.line(start=_at(d), end=_at(d + timedelta(days=1)), cost=str(D(secs) * D(per_second)), team=team,
                provider="runpod", kind="serverless_gpu", x_gpu_class=gpu, x_gpu_seconds=str(secs))
        d += timedelta(days=1)


# =============================================================================================
# 1. Windows: the same verdict on the 8th, the 15th and at month end for steady demand
# =============================================================================================

@pytest.mark.parametrize("cut, window, dedicated, saving", [
    # On 8 Nov: the trailing 30 days are 10 Oct - 8 Nov (22 October days, 8 November days).
    #   serverless: 30 days x 22 h x 3,600 s x £0.0004 = 30 x £31.68 = £950.40
    #   dedicated: £800 x 22/31 + £800 x 8/30 = 567.7419 + 213.3333 = £781.08; saving 950.40 - 781.08 = £169.32
    #   (month to date would have compared 8 x £31.68 = £253.44 with a whole £800: "serverless cheaper", wrongly)
    (date(2026, 11, 8), (date(2026, 10, 10), date(2026, 11, 8), "trailing_30_days"), D("781.08"), D("169.32")),
    # On 15 Nov: 17 Oct - 15 Nov: £800 x 15/31 + £800 x 15/30 = 387.0968 + 400 = £787.10; saving £163.30
    (date(2026, 11, 15), (date(2026, 10, 17), date(2026, 11, 15), "trailing_30_days"), D("787.10"), D("163.30")),
    # At month end November is closed: the calendar month, 30 days x £31.68 = £950.40 against £800: saving £150.40
    (date(2026, 11, 30), (date(2026, 11, 1), date(2026, 11, 30), "calendar_month"), D("800.00"), D("150.40")),
])
def test_steady_demand_gets_the_same_verdict_on_any_day(make_wh, cut, window, dedicated, saving):
    wh = make_wh()
    wh.config({"steady": None})
    _offer(wh, "800.00", sku="L40S 48GB")
    _steady(wh, "steady", date(2026, 10, 1), cut, lambda d: 22)
    wh.build()
    b = wh.one("SELECT * FROM breakeven WHERE month = '2026-11-01'")
    assert (b["window_start"], b["window_end"], b["window_kind"]) == window
    assert b["seconds_in_window"] == 30 * 86400
    assert b["serverless_cost"] == D("950.40")
    assert b["utilisation"] == D("0.916667")          # 22 h / 24 h
    assert b["dedicated_monthly"] == dedicated and b["dedicated_units"] == 1
    assert (b["verdict"], b["monthly_saving"]) == ("dedicated_cheaper", saving)
    r = wh.one("SELECT * FROM recommendations WHERE month = '2026-11-01'")
    assert (r["action"], r["dedicated_gpus"], r["saving"], r["window_start"]) == ("rent_dedicated", 1, saving, window[0])


@pytest.mark.parametrize("cut, serverless, verdict", [
    # 10 GPU-hours a day in October, 22 from 1 November (a launch).
    # 8 Nov: 22 Oct days x 10 h + 8 Nov days x 22 h = 396 GPU-h x £1.44 = £570.24 against £781.08: serverless
    (date(2026, 11, 8), D("570.24"), "serverless_cheaper"),
    # 15 Nov: 15 x 10 + 15 x 22 = 480 GPU-h = £691.20 against £787.10: 95.90 under, more than 10 % (78.71): serverless
    (date(2026, 11, 15), D("691.20"), "serverless_cheaper"),
    # month end: 30 x 22 = 660 GPU-h = £950.40 against £800: dedicated
    (date(2026, 11, 30), D("950.40"), "dedicated_cheaper"),
])
def test_ramping_demand_is_read_over_the_trailing_window(make_wh, cut, serverless, verdict):
    wh = make_wh()
    wh.config({"ramp": None})
    _offer(wh, "800.00", sku="L40S 48GB")
    _steady(wh, "ramp", date(2026, 10, 1), cut, lambda d: 22 if d >= date(2026, 11, 1) else 10)
    wh.build()
    b = wh.one("SELECT * FROM breakeven WHERE month = '2026-11-01'")
    assert (b["serverless_cost"], b["verdict"]) == (serverless, verdict)


def test_a_lagging_provider_ends_its_own_window(make_wh):
    """Modal's export stops on 12 Nov while RunPod's reaches 15 Nov: research's H100 window ends on 12 Nov."""
    wh = make_wh()
    wh.config({"research": None, "vision": None})
    _offer(wh, "1400.00", sku="H100 80GB", gpu=H100)
    _steady(wh, "vision", date(2026, 11, 1), date(2026, 11, 15), lambda d: 1)   # RunPod through 15 Nov
    d = date(2026, 10, 1)
    while d <= date(2026, 11, 12):
        wh.line(start=_at(d, 9), end=_at(d, 12), cost="3.6", team="research", provider="modal", kind="serverless_gpu",
                x_gpu_class=H100, x_gpu_seconds="3600")
        d += timedelta(days=1)
    wh.build()
    b = wh.one("SELECT * FROM breakeven WHERE team = 'research' AND month = '2026-11-01'")
    # 30 days ending 12 Nov: 14 Oct - 12 Nov, one GPU-hour a day at £3.60 = £108.00
    assert (b["window_start"], b["window_end"], b["serverless_cost"]) == (date(2026, 10, 14), date(2026, 11, 12), D("108.00"))


# =============================================================================================
# 3. Commitments and whole units
# =============================================================================================

def test_committed_offers_are_shown_and_used_only_up_to_max_commitment_months(make_wh):
    wh = make_wh()
    wh.config({"flexible": None, "committed": None}, team_settings={"committed": "max_commitment_months = 6"})
    # On demand: £1.20/h x 24 x 30 = £864.00 for November.
    _offer(wh, "1.20", sku="L40S hourly", unit="hour")
    # A 6-month plan paid up front: £0.90/h effective (x 24 x 30 = £648.00 for November), £3,942.00 up front.
    _offer(wh, "0.90", sku="L40S 6-month", unit="hour", tier="reserved_6m", term_months=6, billing="upfront",
           upfront_amount="3942.00")
    for team in ("flexible", "committed"):
        _steady(wh, team, date(2026, 11, 1), date(2026, 11, 30), lambda d: 24)   # one GPU all month: £1,036.80
    wh.build()
    got = {r["team"]: r for r in wh.rows("SELECT * FROM breakeven")}
    f, c = got["flexible"], got["committed"]
    # Default max_commitment_months = 0: the verdict uses the on-demand £864.00 (saving 1,036.80 - 864 = 172.80) ...
    assert (f["dedicated_sku"], f["dedicated_monthly"], f["dedicated_term_months"], f["monthly_saving"]) == (
        "L40S hourly", D("864.00"), 0, D("172.80"))
    # ... and shows the plan beside it: 6 months, £3,942.00 up front, £648.00 a month effective.
    assert (f["committed_term_months"], f["committed_billing"], f["committed_upfront_amount"], f["committed_monthly"]) == (
        6, "upfront", D("3942.00"), D("648.00"))
    assert f["committed_saving"] == D("388.80")     # 1,036.80 - 648.00
    # A team that accepts 6 months: the plan is its verdict's offer.
    assert (c["dedicated_sku"], c["dedicated_monthly"], c["monthly_saving"]) == ("L40S 6-month", D("648.00"), D("388.80"))


def test_an_8_gpu_node_is_rented_whole(make_wh):
    """A node of 8 GPUs at £1.50/h a GPU (£1,080 a GPU for November) against single GPUs at £2.00/h (£1,440)."""
    wh = make_wh()
    wh.config({"two": None, "seven": None})
    wh.price(source_id="lambda", provider="lambda", kind="dedicated_gpu", sku="8x H100", component="instance", unit="hour",
             amount="12.00", currency="GBP", gpu_model=H100, gpu_count=8, valid_from=datetime(2026, 9, 1))
    _offer(wh, "2.00", sku="1x H100", unit="hour", gpu=H100)
    # two: 1.6 GPUs around the clock -> 2 GPUs needed: 2 x £1,440 = £2,880 against the node's 8 x £1,080 = £8,640
    _steady(wh, "two", date(2026, 11, 1), date(2026, 11, 30), lambda d: D("38.4"), gpu=H100, per_second="0.001")
    # seven: 6.5 GPUs -> 7 needed: 7 x £1,440 = £10,080 against one node, £8,640: the node
    _steady(wh, "seven", date(2026, 11, 1), date(2026, 11, 30), lambda d: 156, gpu=H100, per_second="0.001")
    wh.build()
    got = {r["team"]: r for r in wh.rows("SELECT * FROM breakeven")}
    assert (got["two"]["dedicated_sku"], got["two"]["gpus_needed"], got["two"]["dedicated_units"], got["two"]["dedicated_cost"]) == (
        "1x H100", 2, 2, D("2880.00"))
    # two's serverless: 30 x 38.4 h x 3,600 x £0.001 = £4,147.20
    assert got["two"]["monthly_saving"] == D("1267.20")
    assert (got["seven"]["dedicated_sku"], got["seven"]["gpus_needed"], got["seven"]["dedicated_units"], got["seven"]["dedicated_cost"]) == (
        "8x H100", 7, 8, D("8640.00"))


# =============================================================================================
# 4. What the organisation already pays comes first
# =============================================================================================

SERVER = """
[[dedicated_servers]]
id = "gg-l40s-01"
provider = "gigagpu"
team = "platform"
gpu = "L40S-48GB"
gpu_count = 1
monthly_price = 300.00
currency = "GBP"
since = "2026-09"
"""


def test_spare_capacity_on_a_paid_server_is_proposed_first(make_wh):
    wh = make_wh()
    wh.config({"platform": None, "vision": None, "big": None}, extra=SERVER)
    _offer(wh, "800.00", sku="L40S 48GB")
    # platform's server in November: 720 hours paid, 144 used -> 20 % used, 576 GPU-hours spare over 30 days.
    wh.line(start=_at(date(2026, 11, 1)), end=_at(date(2026, 12, 1)), cost="300.00", team="platform", provider="gigagpu",
            kind="dedicated_gpu", category="Purchase", ResourceId="gg-l40s-01", x_gpu_class=L40S,
            ConsumedQuantity="144", ConsumedUnit="Hours")
    # vision: 16 GPU-hours a day = 480 GPU-hours (fits in 576), £23.04 a day = £691.20
    _steady(wh, "vision", date(2026, 11, 1), date(2026, 11, 30), lambda d: 16)
    # big: 22 GPU-hours a day = 660 GPU-hours: does not fit; £950.40 against £800 -> rent
    _steady(wh, "big", date(2026, 11, 1), date(2026, 11, 30), lambda d: 22)
    wh.build()
    got = {r["team"]: r for r in wh.rows("SELECT * FROM recommendations")}
    v = got["vision"]
    assert (v["action"], v["spare_server_id"], v["spare_server_utilisation"], v["spare_gpu_hours"]) == (
        "use_spare_capacity", "gg-l40s-01", D("0.200000"), D("576.00"))
    assert (v["saving"], v["dedicated_gpus"]) == (D("691.20"), 0)      # the whole serverless bill, no extra rent
    # big: £950.40 against the cheapest offer, the contract price £300 (below): saving £650.40
    assert (got["big"]["action"], got["big"]["saving"]) == ("rent_dedicated", D("650.40"))
    # The org's own server is an offer at its contract price: £300 < £800, so it is the cheapest L40S to rent.
    b = wh.one("SELECT * FROM breakeven WHERE team = 'big'")
    assert (b["dedicated_provider"], b["dedicated_sku"], b["dedicated_tier"], b["dedicated_monthly"], b["dedicated_is_org_server"]) == (
        "gigagpu", "gg-l40s-01", "contract", D("300.00"), True)


def test_one_recommendation_text_for_the_review_slack_and_cli(make_wh, capsys, monkeypatch):
    from spendwatch import cli
    from spendwatch.recommend import recommendation_text

    wh = make_wh()
    wh.config({"platform": None, "vision": None}, extra=SERVER)
    _offer(wh, "800.00", sku="L40S 48GB")
    wh.line(start=_at(date(2026, 11, 1)), end=_at(date(2026, 12, 1)), cost="300.00", team="platform", provider="gigagpu",
            kind="dedicated_gpu", category="Purchase", ResourceId="gg-l40s-01", x_gpu_class=L40S,
            ConsumedQuantity="144", ConsumedUnit="Hours")
    _steady(wh, "vision", date(2026, 11, 1), date(2026, 11, 30), lambda d: 16)
    wh.build()
    r = wh.one("SELECT * FROM recommendations")
    assert recommendation_text(r).startswith("vision's load fits on gg-l40s-01 (20 % used): saves £691.20 a month at no extra rent")
    wh.con.close()
    assert cli.main(["--warehouse", str(wh.path), "--config", str(wh.path.parent / "spendwatch.toml"),
                     "breakeven", "--team", "vision", "--format", "json"]) == 0
    rows = __import__("json").loads(capsys.readouterr().out)
    assert [(x["action"], x["saving"]) for x in rows] == [("use_spare_capacity", "691.20")]
