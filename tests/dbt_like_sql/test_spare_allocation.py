"""Spare capacity on a paid server is allotted, never offered twice; the organisation's own server as an offer means
renting more like it; a recommendation resting on a stale ECB rate says so in the words the review, the CLI and Slack
share (issue 13, items 4, 5 and 8).  Expected values worked by hand in the comments.

Built on the hand-made warehouse of test_models_business (config, prices and lines inserted directly).
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal

from spendwatch.recommend import recommendation_text
from tests.dbt_like_sql.test_decisions import L40S, SERVER, _offer, _steady, make_wh  # noqa: F401  (make_wh: a fixture)
from tests.dbt_like_sql.test_models_business import Warehouse, _at

D = Decimal
NOV, DEC = date(2026, 11, 1), date(2026, 12, 1)
SECOND_SERVER = SERVER.replace('"gg-l40s-01"', '"gg-l40s-02"')


def _server_used(wh: Warehouse, hours_used: str, server: str = "gg-l40s-01") -> None:
    """The server's November invoice line: 720 hours paid (30 days), ``hours_used`` of them used."""
    wh.line(start=_at(NOV), end=_at(DEC), cost="300.00", team="platform", provider="gigagpu", kind="dedicated_gpu",
            category="Purchase", ResourceId=server, x_gpu_class=L40S, ConsumedQuantity=hours_used, ConsumedUnit="Hours")


def _recs(wh: Warehouse) -> dict[str, dict]:
    return {r["team"]: r for r in wh.rows("SELECT * FROM recommendations WHERE month = ?", [NOV])}


def _november(wh: Warehouse, loads: dict, extra: str = SERVER) -> dict[str, dict]:
    """platform's gg-l40s-01 20 % used, an £800 L40S offer, and each team's steady November load (GPU-hours a day,
    daily lines): the November recommendations by team."""
    wh.config({"platform": None, **{t: None for t in loads if t != "unallocated"}}, extra=extra)
    _offer(wh, "800.00", sku="L40S 48GB")
    _server_used(wh, "144")
    for team, hours in loads.items():
        _steady(wh, team, NOV, date(2026, 11, 30), lambda d, h=hours: h)
    wh.build()
    return _recs(wh)


# gg-l40s-01 (1 GPU) in November: 720 hours paid, 144 used -> 20 % used: 0.8 GPUs spare, 0.8 x 720 = 576 GPU-hours.
# Every team below runs daily lines at £0.0004 a GPU-second, £1.44 a GPU-hour.

def test_two_loads_that_each_fit_but_not_together_are_not_both_offered_the_spare(make_wh):
    from spendwatch.delivery import build_message, message_of
    from warehouse import alerts as wa

    # vision: 16 GPU-hours a day = 480 GPU-hours (0.667 GPUs on average), £691.20: fits in 576 alone
    # nlp: 12 GPU-hours a day = 360 GPU-hours (0.5 GPUs), £518.40: fits in 576 alone; 480 + 360 = 840 > 576 together
    wh = make_wh()
    got = _november(wh, {"vision": 16, "nlp": 12})
    v, n = got["vision"], got["nlp"]
    # Largest saving first: vision (£691.20) takes 480 of the 576 spare GPU-hours ...
    assert (v["action"], v["spare_server_id"], v["saving"], v["spare_gpu_hours"], v["spare_gpu_hours_taken"]) == (
        "use_spare_capacity", "gg-l40s-01", D("691.20"), D("576.00"), D("0.00"))
    assert recommendation_text(v) == "vision's load fits on gg-l40s-01 (20 % used): saves £691.20 a month at no extra rent"
    # ... so nlp's 360 no longer fit (480 + 360 = 840 > 576): nlp gets its next option, renting.  The cheapest offer
    # is the organisation's own server at its contract price, £300 a month (against £800): renting one more like it,
    # at £300 for the window (30 days of a 30-day month), saving 518.40 - 300.00 = £218.40.
    assert (n["action"], n["spare_server_id"], n["dedicated_gpus"], n["saving"]) == ("rent_dedicated", None, 1, D("218.40"))
    assert (n["dedicated_sku"], n["dedicated_is_org_server"], n["dedicated_monthly"]) == ("gg-l40s-01", True, D("300.00"))
    assert recommendation_text(n) == ("rent 1 more GPU(s) like gg-l40s-01 (gigagpu, at its contract price): "
                                      "saves £218.40 a month")
    # the server's own team is not offered its spare twice either: no other row names the server
    assert [t for t, r in got.items() if r["spare_server_id"]] == ["vision"]
    # Slack says the same, and names the offer as another server like the organisation's own
    wa.evaluate(wh.con, as_of=date(2026, 11, 30), now=datetime(2026, 12, 1, 7, 0))
    sent = {a.team: json.dumps(build_message(message_of(a)), ensure_ascii=False)
            for a in wa.list_alerts(wh.con, "all") if a.kind == "dedicated_cheaper"}
    assert recommendation_text(v) in sent["vision"] and recommendation_text(n) in sent["nlp"]
    assert "another like gigagpu gg-l40s-01 (its contract price), £300.00 a GPU for the window" in sent["nlp"]


def test_a_hybrid_plan_on_the_organisations_own_server_rents_more_like_it():
    row = {"team": "vision", "currency": "GBP", "action": "hybrid", "dedicated_gpus": 1, "saving": D("120.00"),
           "peak_demand_gpus": D("1.600"), "dedicated_provider": "gigagpu", "dedicated_sku": "gg-l40s-01",
           "dedicated_is_org_server": True}
    assert recommendation_text(row) == ("rent 1 more GPU(s) like gg-l40s-01 (gigagpu, at its contract price) for the steady "
                                        "core, serverless for the peaks (demand peaks at 1.600 GPUs): saves £120.00 a month")
    # as an alert carries it (every value as text)
    assert recommendation_text({**row, "dedicated_is_org_server": "true", "saving": "120.00"}) == recommendation_text(row)


def test_equal_savings_are_ordered_by_team_name(make_wh):
    # both: 10 GPU-hours a day = 300 GPU-hours, £432.00; 300 + 300 = 600 > 576: only one fits, alpha (by name)
    got = _november(make_wh(), {"beta": 10, "alpha": 10})
    a, b = got["alpha"], got["beta"]
    assert (a["action"], a["spare_fit"], a["saving"]) == ("use_spare_capacity", "whole", D("432.00"))
    # beta is offered what alpha leaves, 576 - 300 = 276 GPU-hours: 276 x £1.44 = £397.44, more than renting one more
    # like gg-l40s-01 would save (432.00 - 300.00 = £132.00); the other 24 GPU-hours stay on serverless
    assert (b["action"], b["spare_fit"], b["saving"], b["spare_moved_gpu_hours"], b["spare_overflow_gpu_hours"],
            b["spare_gpu_hours_taken"]) == ("use_spare_capacity", "partial", D("397.44"), D("276.00"), D("24.00"), D("300.00"))
    assert recommendation_text(b) == ("276.00 of beta's 300.00 GPU-hours fit in the spare of gg-l40s-01 (20 % used; the other "
                                      "24.00 stay on serverless): saves £397.44 a month at no extra rent")


def test_the_spare_of_the_organisations_server_comes_before_renting_another_like_it(make_wh):
    # big alone: 22 GPU-hours a day = 660 GPU-hours, £950.40, more than the 576 spare.  Renting one more like
    # gg-l40s-01 (£300, the cheapest offer) would save £650.40; moving 576 GPU-hours onto its spare saves
    # 576 x £1.44 = £829.44 at no extra rent, the other 84 GPU-hours staying on serverless: the spare comes first.
    from spendwatch.delivery import build_message, message_of
    from warehouse import alerts as wa

    wh = make_wh()
    big = _november(wh, {"big": 22})["big"]
    assert (big["action"], big["spare_fit"], big["saving"], big["spare_moved_gpu_hours"], big["spare_overflow_gpu_hours"]) == (
        "use_spare_capacity", "partial", D("829.44"), D("576.00"), D("84.00"))
    assert (big["breakeven_verdict"], big["breakeven_saving"]) == ("dedicated_cheaper", D("650.40"))   # context
    sentence = ("576.00 of big's 660.00 GPU-hours fit in the spare of gg-l40s-01 (20 % used; the other 84.00 stay on "
                "serverless): saves £829.44 a month at no extra rent")
    assert recommendation_text(big) == sentence
    wa.evaluate(wh.con, as_of=date(2026, 11, 30), now=datetime(2026, 12, 1, 7, 0))
    [alert] = [a for a in wa.list_alerts(wh.con, "all") if a.kind == "dedicated_cheaper"]
    sent = json.dumps(build_message(message_of(alert)), ensure_ascii=False)
    assert sentence in sent and "enough for 576.00 of this load" in sent


def test_a_load_no_server_could_take_does_not_block_a_smaller_one(make_wh):
    # big: 22 GPU-hours a day = 660 > 576 (first by saving, £950.40, but larger than the whole spare): takes nothing;
    # small: 8 a day = 240 GPU-hours, £345.60: fits.  unallocated GPU use is no team's: it is allotted nothing,
    # even though its 24 GPU-hours would fit
    got = _november(make_wh(), {"big": 22, "small": 8, "unallocated": D("0.8")})
    assert (got["small"]["action"], got["small"]["saving"]) == ("use_spare_capacity", D("345.60"))
    # big is then offered what small leaves, 576 - 240 = 336 GPU-hours (336 x £1.44 = £483.84): less than renting one
    # more like gg-l40s-01 saves (950.40 - 300.00 = £650.40), so big rents
    assert (got["big"]["action"], got["big"]["saving"], got["big"]["dedicated_is_org_server"]) == ("rent_dedicated", D("650.40"), True)
    assert got["unallocated"]["spare_server_id"] is None


def test_two_servers_each_take_the_loads_that_lie_within_their_share(make_wh):
    """The servers end to end (most spare first, ties by id): gg-l40s-01 0.8 GPUs spare [0, 0.8), gg-l40s-02 0.5
    [0.8, 1.3).  The loads in order: vision 0.667 [0, 0.667] on -01; nlp 0.5 [0.667, 1.167] lies across both: not
    placed; ocr 0.1 [1.167, 1.267] on -02.  Then nlp is offered the largest spare left."""
    wh = make_wh()
    _server_used(wh, "360", server="gg-l40s-02")       # 360 / 720 = 50 % used: 0.5 GPUs spare, 360 GPU-hours
    # vision 480 GPU-hours (£691.20), nlp 360 (£518.40), ocr 72 (£103.68)
    got = _november(wh, {"vision": 16, "nlp": 12, "ocr": D("2.4")}, extra=SERVER + SECOND_SERVER)
    assert (got["vision"]["spare_server_id"], got["ocr"]["spare_server_id"]) == ("gg-l40s-01", "gg-l40s-02")
    # nlp, placed nowhere, is offered the largest spare left: gg-l40s-02's 0.5 - 0.1 (ocr) = 0.4 GPUs, 288 GPU-hours
    # (gg-l40s-01 keeps 0.8 - 0.667 = 0.133, 96): 288 x £1.44 = £414.72, more than renting one more like gg-l40s-01
    # saves (518.40 - 300.00 = £218.40)
    n = got["nlp"]
    assert (n["spare_server_id"], n["spare_fit"], n["saving"], n["spare_gpu_hours_taken"], n["spare_overflow_gpu_hours"]) == (
        "gg-l40s-02", "partial", D("414.72"), D("72.00"), D("72.00"))
    # ocr's load starts 1.167 - 0.8 = 0.367 GPUs into -02's share: 0.367 x 720 = 264 GPU-hours ahead of it in the line
    # there (nlp's part of the line).  On gg-l40s-02: ocr 72 + nlp 288 = 360 GPU-hours, its whole spare, never more.
    assert (got["ocr"]["saving"], got["ocr"]["spare_gpu_hours"], got["ocr"]["spare_gpu_hours_taken"]) == (
        D("103.68"), D("360.00"), D("264.00"))


def test_hours_above_the_servers_gpus_stay_on_serverless(make_wh):
    """Hourly lines: 0.5 GPUs for 12 hours a day and 2 GPUs for 2 hours (10 GPU-hours a day, 300 in November, £432.00).
    On the 1-GPU server each hour moves only up to 1 GPU: 12 x 0.5 + 2 x 1 = 8 GPU-hours a day, 240 in November
    (fits in 576), saving 240 x £1.44 = £345.60; the 2 x 1 x 30 = 60 GPU-hours above it stay on serverless."""
    wh = make_wh()
    wh.config({"platform": None, "vision": None}, extra=SERVER)
    _offer(wh, "800.00", sku="L40S 48GB")
    _server_used(wh, "144")
    d = NOV
    while d < DEC:
        for hour in range(14):
            secs = 1800 if hour < 12 else 7200
            wh.line(start=_at(d, hour), end=_at(d, hour + 1), cost=str(D(secs) * D("0.0004")), team="vision",
                    provider="runpod", kind="serverless_gpu", x_gpu_class=L40S, x_gpu_seconds=str(secs))
        d += timedelta(days=1)
    wh.data_through(date(2026, 11, 30))
    wh.build()
    v = _recs(wh)["vision"]
    assert (v["serverless_cost"], v["peak_demand_gpus"]) == (D("432.00"), D("2.000"))
    assert (v["action"], v["saving"], v["spare_overflow_gpu_hours"], v["spare_server_gpus"]) == (
        "use_spare_capacity", D("345.60"), D("60.00"), 1)
    assert recommendation_text(v) == ("vision's load fits on gg-l40s-01 (20 % used; the 60.00 GPU-hours above its 1 GPU "
                                      "stay on serverless): saves £345.60 a month at no extra rent")


# =============================================================================================
# Stale FX: the recommendation says which rate and how old, everywhere it is shown
# =============================================================================================

STALE = "converted at a stale ECB rate: USD/GBP rate of 2026-10-30, 21 business days old by 2026-11-30"


def test_a_recommendation_on_a_stale_rate_names_the_pair_and_its_age_in_the_review_cli_and_slack(make_wh, capsys, monkeypatch):
    """The only ECB rate is Friday 30 October's (1 EUR = 1.2 USD = 0.9 GBP: $1 = £0.75).  By 30 November it is 21
    business days old (2-6, 9-13, 16-20, 23-27 and 30 November); a rate is stale after 3."""
    from spendwatch import cli
    from spendwatch.delivery import build_message, message_of
    from spendwatch.review import render_review
    from warehouse import alerts as wa

    wh = make_wh()
    wh.config({"vision": None, "research": None})
    wh.fx(date(2026, 10, 30), USD="1.2", GBP="0.9")
    # vision: USD serverless lines, 22 GPU-hours a day at $0.0004 a second = $31.68 = £23.76 a day, £712.80 for
    # November, against a GBP offer of £500: saving £212.80.  The lines from 5 November on were converted at a rate
    # 4 or more business days old: the serverless cost is marked.
    _offer(wh, "500.00", sku="L40S 48GB")
    d = NOV
    while d < DEC:
        wh.line(start=_at(d), end=_at(d + timedelta(days=1)), cost="31.68", currency="USD", team="vision", provider="runpod",
                kind="serverless_gpu", x_gpu_class=L40S, x_gpu_seconds=str(22 * 3600))
        d += timedelta(days=1)
    # research: GBP serverless lines (no conversion), one H100 all the time (hourly lines) at £0.0012 a second =
    # £4.32 an hour, £3,110.40 for November, against a USD offer of $1,000 a month = £750.00 converted at the
    # 30 October rate on the window's last day, 30 November (21 business days: stale): saving 3,110.40 - 750.00 =
    # £2,360.40, and D is what is marked.
    wh.price(source_id="lambda", provider="lambda", kind="dedicated_gpu", sku="1x H100", component="gpu", unit="month",
             amount="1000.00", currency="USD", gpu_model="H100-80GB-SXM", gpu_count=1, valid_from=datetime(2026, 9, 1))
    d = NOV
    while d < DEC:
        for hour in range(24):
            wh.line(start=_at(d, hour), end=_at(d, hour) + timedelta(hours=1), cost="4.32", team="research", provider="modal",
                    kind="serverless_gpu", x_gpu_class="H100-80GB-SXM", x_gpu_seconds="3600")
        d += timedelta(days=1)
    wh.build()
    b = {r["team"]: r for r in wh.rows("SELECT * FROM breakeven")}
    assert (b["vision"]["fx_stale"], b["vision"]["dedicated_fx_stale"]) == (True, False)
    assert (b["research"]["fx_stale"], b["research"]["dedicated_fx_stale"], b["research"]["fx_rate_age_business_days"]) == (
        False, True, 21)
    # research's hybrid plan (1 GPU all the time: k = 1 costs £750.00, saving £2,360.40) rests on D: marked too
    h = wh.one("SELECT * FROM hybrid_plan")
    assert (h["team"], h["best_k"], h["saving"], h["fx_stale"]) == ("research", 1, D("2360.40"), True)
    got = _recs(wh)
    v, r = got["vision"], got["research"]
    assert (v["action"], v["saving"], v["fx_stale"], v["fx_stale_note"]) == (
        "rent_dedicated", D("212.80"), True, "USD/GBP rate of 2026-10-30, 21 business days old by 2026-11-30")
    assert (r["action"], r["dedicated_monthly"], r["saving"], r["fx_stale"]) == ("rent_dedicated", D("750.00"), D("2360.40"), True)
    sentence = recommendation_text(v)
    assert sentence == f"rent 1 dedicated GPU(s) (gigagpu L40S 48GB): saves £212.80 a month; {STALE}"
    assert recommendation_text(r) == f"rent 1 dedicated GPU(s) (lambda 1x H100): saves £2,360.40 a month; {STALE}"

    # the review (markdown) gives the same sentence
    review = render_review(wh.con, NOV, "vision", "markdown")
    assert sentence in review

    # Slack: the alert for vision's recommendation carries the same sentence
    wa.evaluate(wh.con, as_of=date(2026, 11, 30), now=datetime(2026, 12, 1, 7, 0))
    alerts = {a.team: a for a in wa.list_alerts(wh.con, "all") if a.kind == "dedicated_cheaper"}
    assert sentence in json.dumps(build_message(message_of(alerts["vision"])), ensure_ascii=False)
    # and each alert's stale-FX field names the rate behind its figures: vision's serverless cost, research's
    # dedicated price (its serverless lines are in GBP: only the offer's USD price was converted)
    stale = [{"currency_pair": "USD/GBP", "rate_date": "2026-10-30", "age_business_days": 21, "last_charge_date": "2026-11-30"}]
    for team in ("vision", "research"):
        assert alerts[team].details["fx_stale"] == stale
        text = json.dumps(build_message(message_of(alerts[team])), ensure_ascii=False)
        assert "Stale FX rate" in text and "USD/GBP rate of 2026-10-30, 21 business days old by 2026-11-30" in text

    # the CLI: `spendwatch breakeven --team vision` prints it too
    wh.con.close()
    monkeypatch.setenv("COLUMNS", "400")
    assert cli.main(["--warehouse", str(wh.path), "--config", str(wh.path.parent / "spendwatch.toml"),
                     "breakeven", "--team", "vision"]) == 0
    assert sentence in " ".join(capsys.readouterr().out.split())


def test_loads_that_fill_the_spare_exactly_both_fit(make_wh):
    # vision 480 GPU-hours + ocr 3.2 a day = 96 (£138.24): 576, exactly the spare: both placed whole
    got = _november(make_wh(), {"vision": 16, "ocr": D("3.2")})
    assert [(t, r["action"], r["spare_fit"], r["saving"], r["spare_gpu_hours_taken"]) for t, r in sorted(got.items())] == [
        ("ocr", "use_spare_capacity", "whole", D("138.24"), D("480.00")),
        ("vision", "use_spare_capacity", "whole", D("691.20"), D("0.00"))]
