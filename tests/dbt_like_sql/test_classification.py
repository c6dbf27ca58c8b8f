"""Classification and FX staleness (issue 13, items 8-9), against hand-worked values: cloud GPU and accelerator
instances, tax lines, Modal GPU-seconds without the CPU and memory part, and rates older than 3 business days."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from tests.dbt_like_sql.test_decisions import make_wh  # noqa: F401  (fixture)
from tests.dbt_like_sql.test_models_business import Warehouse, _at

D = Decimal


def _aws(wh: Warehouse, day: date, description: str, cost: str, team: str | None, category: str = "Usage", **extra) -> None:
    wh.line(start=_at(day), end=_at(day + timedelta(days=1)), cost=cost, currency="USD", team=team or "nobody",
            provider="aws", kind="other", category=category, ChargeDescription=description, source_format="focus",
            **({"Tags": None} if team is None else {}), **extra)


def test_instances_taxes_and_thresholds(make_wh):
    wh = make_wh()
    wh.config({"vision": None, "research": None})
    wh.fx(date(2026, 11, 2), USD="1.2", GBP="0.9")    # 1 USD = 0.75 GBP
    day = date(2026, 11, 2)
    _aws(wh, day, "$1.006 per On Demand Linux g5.xlarge Instance Hour", "24.144", "vision")
    _aws(wh, day, "$32.7726 per On Demand Linux p4d.24xlarge Instance Hour", "262.1808", "research")
    _aws(wh, day, "$0.7582 per On Demand Linux inf2.xlarge Instance Hour", "18.1968", "research")
    _aws(wh, day, "$0.192 per On Demand Linux m6i.xlarge Instance Hour", "4.608", "vision")
    _aws(wh, day, "Tax for invoice EUINGB26-1129360", "100.00", None, category="Tax")
    _aws(wh, day, "VAT on research's account", "40.00", "research", category="Tax")
    wh.build()
    got = {r["charge_description"].split(" per ")[-1] if " per " in r["charge_description"] else r["charge_description"]: r
           for r in wh.rows("SELECT * FROM stg_line_items")}
    assert (got["On Demand Linux g5.xlarge Instance Hour"]["product_kind"], got["On Demand Linux g5.xlarge Instance Hour"]["gpu_class"],
            got["On Demand Linux g5.xlarge Instance Hour"]["gpu_count"]) == ("dedicated_gpu", "A10G-24GB", 1)
    p4d = got["On Demand Linux p4d.24xlarge Instance Hour"]
    assert (p4d["product_kind"], p4d["gpu_class"], p4d["gpu_count"], p4d["instance_type"]) == ("dedicated_gpu", "A100-40GB", 8, "p4d.24xlarge")
    inf2 = got["On Demand Linux inf2.xlarge Instance Hour"]
    assert (inf2["product_kind"], inf2["gpu_class"], inf2["gpu_count"]) == ("dedicated_gpu", "INFERENTIA2-32GB", 1)
    m6i = got["On Demand Linux m6i.xlarge Instance Hour"]
    assert (m6i["product_kind"], m6i["gpu_class"]) == ("other", None)
    # Tax: kind tax; an untagged tax line belongs to the organisation, not to unallocated; a tagged one to its team.
    assert (got["Tax for invoice EUINGB26-1129360"]["product_kind"], got["Tax for invoice EUINGB26-1129360"]["team"]) == ("tax", "(organisation)")
    assert (got["VAT on research's account"]["product_kind"], got["VAT on research's account"]["team"]) == ("tax", "research")
    r = wh.one("SELECT * FROM team_monthly_spend WHERE team = 'research'")
    # research: p4d $262.1808 + inf2 $18.1968 = $280.3776 x 0.75 = £210.28 dedicated; tax $40 x 0.75 = £30.00, not variable
    assert (r["dedicated_gpu"], r["tax"], r["variable_spend"], r["other"]) == (D("210.28"), D("30.00"), D("0.00"), D("0.00"))
    assert not wh.rows("SELECT * FROM team_monthly_spend WHERE team = 'unallocated'")


def test_tax_counts_in_thresholds_only_when_configured(make_wh):
    # Both month-long lines are charged on their first day, 1 Nov.  Without tax: £1,000, under the default £1,500.
    # With tax: £1,600, over, and crossed on 1 Nov (the crossing date counts what variable_spend counts).
    for tax_in, want, status, crossed in ((False, D("1000.00"), "ok", None), (True, D("1600.00"), "over", date(2026, 11, 1))):
        wh = make_wh(str(tax_in))
        wh.config({"alpha": None}, extra=f"[decisions]\ntax_in_thresholds = {'true' if tax_in else 'false'}\n")
        wh.line(start=_at(date(2026, 11, 1)), end=_at(date(2026, 12, 1)), cost="1000.00", team="alpha", provider="openai",
                kind="hosted_api")
        wh.line(start=_at(date(2026, 11, 1)), end=_at(date(2026, 12, 1)), cost="600.00", team="alpha", provider="aws",
                kind="other", category="Tax")
        wh.build()
        f = wh.one("SELECT * FROM threshold_flags WHERE team = 'alpha'")
        assert (f["variable_spend"], f["status"], f["crossed_on"]) == (want, status, crossed)


def test_modal_gpu_seconds_leave_out_cpu_and_memory(make_wh):
    """Modal H100 $0.001097/s, CPU $0.0000131/core/s, memory $0.00000222/GiB/s; a GPU container reserves 4 cores and
    32 GiB (the [decisions] defaults): one GPU-second costs 0.001097 + 4 x 0.0000131 + 32 x 0.00000222 = $0.00122044.
    A $12.2044 line is 10,000 GPU-seconds (dividing by the GPU price alone would say 11,125.25: +11 %)."""
    wh = make_wh()
    wh.config({"research": None})
    start = datetime(2026, 9, 1)
    for sku, comp, amount, gpu in (("Nvidia H100", "gpu", "0.001097", "H100-80GB-SXM"), ("cpu-core", "cpu", "0.0000131", None),
                                   ("memory-gib", "memory", "0.00000222", None)):
        wh.price(source_id="modal", provider="modal", kind="serverless_gpu", sku=sku, component=comp, unit="second",
                 amount=amount, currency="USD", gpu_model=gpu, gpu_count=1 if gpu else None, valid_from=start)
    line = wh.line(start=datetime(2026, 11, 2, 9), end=datetime(2026, 11, 2, 10), cost="12.2044", currency="USD",
                   team="research", provider="modal", kind="serverless_gpu", x_gpu_class="H100-80GB-SXM")
    # In the same hour and GPU class, a credit: no GPU time is made up for it (the estimate is for charges only).
    credit = wh.line(start=datetime(2026, 11, 2, 9), end=datetime(2026, 11, 2, 10), cost="-2.00", currency="USD",
                     team="research", provider="modal", kind="serverless_gpu", x_gpu_class="H100-80GB-SXM")
    # A GPU class Modal has no price for: nothing to estimate with, and so not estimated (false, not unknown).
    unpriced = wh.line(start=datetime(2026, 11, 2, 9), end=datetime(2026, 11, 2, 10), cost="3.00", currency="USD",
                       team="research", provider="modal", kind="serverless_gpu", x_gpu_class="B200")
    wh.build()
    got = {r["line_id"]: (r["gpu_seconds"], r["gpu_seconds_estimated"])
           for r in wh.rows("SELECT line_id, gpu_seconds, gpu_seconds_estimated FROM stg_serverless_usage")}
    assert got == {line: (D("10000.000"), True), credit: (D("0.000"), False), unpriced: (D("0.000"), False)}


def test_stale_fx_is_marked(make_wh):
    """The last ECB rate is Friday 30 Oct.  Wed 4 Nov is 3 business days later (2, 3, 4 Nov): not stale;
    Thu 5 Nov is 4: stale."""
    wh = make_wh()
    wh.config({"search": None})
    wh.fx(date(2026, 10, 30), USD="1.2", GBP="0.9")
    for day, cost in ((date(2026, 11, 4), "100.00"), (date(2026, 11, 5), "200.00")):
        wh.line(start=_at(day), end=_at(day + timedelta(days=1)), cost=cost, currency="USD", team="search",
                provider="openai", kind="hosted_api")
    wh.build()
    days = {r["charge_date"]: r for r in wh.rows("SELECT * FROM fct_spend_daily")}
    assert (days[date(2026, 11, 4)]["fx_rate_age_business_days"], days[date(2026, 11, 4)]["fx_stale"]) == (3, False)
    assert (days[date(2026, 11, 5)]["fx_rate_age_business_days"], days[date(2026, 11, 5)]["fx_stale"]) == (4, True)
    s = wh.one("SELECT * FROM fx_staleness")
    # $200 x 0.75 = £150.00 converted at the stale rate
    assert (s["currency_pair"], s["oldest_rate_date"], s["max_age_business_days"], s["amount_reporting"], s["team"]) == (
        "USD/GBP", date(2026, 10, 30), 4, D("150.00"), "search")


def test_figures_resting_on_a_stale_rate_are_marked_in_the_decision_marts(make_wh):
    """The only rate is 30 Oct's; November's USD lines on 2 Nov (1 business day later) are fresh, on 5 Nov stale (4)."""
    wh = make_wh()
    wh.config({"search": None, "vision": None, "fresh": None})
    wh.fx(date(2026, 10, 30), USD="1.2", GBP="0.9")
    for team, day in (("search", date(2026, 11, 5)), ("fresh", date(2026, 11, 2))):
        wh.line(start=_at(day), end=_at(day + timedelta(days=1)), cost="100.00", currency="USD", team=team, provider="openai",
                kind="hosted_api", x_model="gpt-4o-2024-08-06", x_input_tokens=1_000_000, x_output_tokens=100_000)
    wh.line(start=_at(date(2026, 11, 5), 9), end=_at(date(2026, 11, 5), 10), cost="2.00", currency="USD", team="vision",
            provider="runpod", kind="serverless_gpu", x_gpu_class="L40S-48GB", x_gpu_seconds="3600")
    wh.build()
    flags = {r["team"]: r["fx_stale"] for r in wh.rows("SELECT team, fx_stale FROM threshold_flags")}
    assert (flags["search"], flags["vision"], flags["fresh"]) == (True, True, False)
    api = {r["team"]: r["fx_stale"] for r in wh.rows("SELECT team, fx_stale FROM api_vs_selfhost")}
    assert api == {"search": True, "fresh": False}
    assert wh.one("SELECT fx_stale FROM breakeven WHERE team = 'vision'")["fx_stale"] is True
    assert wh.one("SELECT fx_stale FROM recommendations WHERE team = 'vision'")["fx_stale"] is True


def test_mart_checks_name_the_stale_pair_and_catch_a_broken_reconciliation(make_wh):
    from warehouse import mart_checks as mc

    wh = make_wh()
    wh.config({"search": None})
    wh.fx(date(2026, 10, 30), USD="1.2", GBP="0.9")
    wh.line(start=_at(date(2026, 11, 5)), end=_at(date(2026, 11, 6)), cost="200.00", currency="USD", team="search",
            provider="openai", kind="hosted_api")
    wh.build()
    fx = mc.fx_rates_fresh(wh.con)
    assert not fx.passed and fx.problems == [
        "USD/GBP 2026-11: converted at the ECB rate of 2026-10-30, 4 business days old by 2026-11-05 (150.00 GBP of spend)"]
    assert mc.spend_reconciles(wh.con).passed and mc.decisions_have_windows(wh.con).passed
    wh.con.execute("UPDATE fct_spend_daily SET amount_native = amount_native + 0.02")
    bad = mc.spend_reconciles(wh.con)
    assert not bad.passed and bad.problems == ["USD: fct_spend_daily 200.020000 against line items 200.000000"]
