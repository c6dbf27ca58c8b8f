"""Alerts raised from the models: each kind's condition, exactly-once keys, escalation, resolution, ack and snooze.

The warehouse state is written by hand into model tables (CREATE TABLE threshold_flags AS ...)
in a DuckDB file under tmp_path; every expected figure below is worked out from those rows.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from rich.console import Console

from spendwatch.core.config import Config
from spendwatch.core.errors import UsageError
from spendwatch.delivery import AlertMessage, Routing, SlackSender, build_message, console_markup, message_of, send_pending
from warehouse import alerts as wa
from warehouse.config_sync import sync_config
from warehouse.ingest import rejected_rows

NOW = datetime(2026, 11, 28, 7, 0)  # naive UTC
AS_OF = date(2026, 11, 27)

LINE_ITEMS_DDL = """CREATE TABLE IF NOT EXISTS stg_line_items_fx (charge_date DATE, team VARCHAR, provider VARCHAR,
    product_kind VARCHAR, model VARCHAR, gpu_class VARCHAR, amount_reporting DECIMAL(18, 6))"""  # what alert_threshold reads


def set_flags(con, rows):
    """threshold_flags and team_monthly_spend from (month, team, variable, projected, days, threshold, status, crossed, projected_date)."""
    con.execute(LINE_ITEMS_DDL)
    con.execute(
        """CREATE OR REPLACE TABLE threshold_flags (month DATE, team VARCHAR, currency VARCHAR, variable_spend DECIMAL(18,2),
           projected_variable DECIMAL(18,2), projection_days_used INTEGER, threshold DECIMAL(18,2), threshold_currency VARCHAR,
           status VARCHAR, crossed_on DATE, projected_cross_date DATE, is_unallocated BOOLEAN,
           projected_low DECIMAL(18,2), projected_high DECIMAL(18,2), band_method VARCHAR)"""
    )
    con.execute(
        """CREATE OR REPLACE TABLE team_monthly_spend (month DATE, team VARCHAR, currency VARCHAR, serverless_gpu DECIMAL(18,2),
           dedicated_gpu DECIMAL(18,2), hosted_api DECIMAL(18,2), other DECIMAL(18,2), variable_spend DECIMAL(18,2),
           total_spend DECIMAL(18,2), month_to_date_variable DECIMAL(18,2), days_in_month INTEGER, days_with_data INTEGER,
           last_data_date DATE, projected_variable DECIMAL(18,2), projection_days_used INTEGER)"""
    )
    for month, team, variable, projected, days, threshold, status, crossed, proj_date in rows:
        con.execute(
            "INSERT INTO threshold_flags VALUES (?, ?, 'GBP', ?, ?, ?, ?, 'GBP', ?, ?, ?, ?, NULL, NULL, NULL)",
            [month, team, Decimal(variable), Decimal(projected), days, Decimal(threshold), status, crossed, proj_date, team == "unallocated"],
        )
        con.execute(
            "INSERT INTO team_monthly_spend VALUES (?, ?, 'GBP', ?, 0, 0, 0, ?, ?, ?, 30, ?, ?, ?, ?)",
            [month, team, Decimal(variable), Decimal(variable), Decimal(variable), Decimal(variable), days,
             month + timedelta(days=days - 1), Decimal(projected), days],
        )


NOV = date(2026, 11, 1)
SEARCH_OVER = (NOV, "search", "1612.40", "1791.56", 27, "1500.00", "over", date(2026, 11, 21), None)
SEARCH_PROJECTED = (NOV, "search", "1020.00", "1700.00", 18, "1500.00", "projected_over", None, date(2026, 11, 27))
SEARCH_OK = (NOV, "search", "600.00", "1000.00", 18, "1500.00", "ok", None, None)


def console_sender(buf=None) -> SlackSender:
    return SlackSender(Routing.from_config(None, environ={}), console=Console(file=buf, width=160, color_system=None) if buf else None)


def keys(con):
    return {(a.kind, a.team, a.period, a.subject): a for a in wa.list_alerts(con, "all")}


# --- thresholds, exactly once ---------------------------------------------------------

def test_threshold_crossed_is_raised_once_with_its_figures(con):
    set_flags(con, [SEARCH_OVER, (NOV, "vision", "400.00", "440.00", 27, "1500.00", "ok", None, None)])
    ev = wa.evaluate(con, as_of=AS_OF, now=NOW)
    assert len(ev.raised) == 1 and ev.conditions == 1
    [a] = wa.list_alerts(con, "all")
    assert (a.kind, a.team, a.period, a.subject) == ("threshold_crossed", "search", "2026-11", "1500.00 GBP")
    assert (a.state, a.delivery, a.occurrence) == ("open", "pending", 1)
    assert a.details["variable_spend"] == "1612.40" and a.details["crossed_on"] == "2026-11-21"
    # the whole month re-run: nothing new, nothing queued again
    for day in range(1, 31):
        again = wa.evaluate(con, as_of=date(2026, 11, day), now=NOW + timedelta(hours=day))
        assert again.raised == [] and again.reopened == [] and again.resolved == []
    assert len(wa.list_alerts(con, "all")) == 1


def test_three_runs_deliver_once_to_the_console_when_no_webhook_is_set(con, tmp_path):
    set_flags(con, [SEARCH_OVER])
    import io

    buf = io.StringIO()
    for run in range(3):
        wa.evaluate(con, as_of=AS_OF, now=NOW + timedelta(days=run))
        with console_sender(buf) as sender:
            res = send_pending(con, sender, now=NOW + timedelta(days=run))
        assert res.sent == (1 if run == 0 else 0)
    [a] = wa.list_alerts(con, "all")
    assert (a.delivery, a.channel, a.destination) == ("sent", "console", "console")
    out = buf.getvalue()
    assert out.count("Spend threshold crossed") == 1
    # £1,612.40 over £1,500.00: over by £112.40, 7.5 %
    assert "£1,612.40" in out and "£112.40 (7.5 %)" in out
    assert "spendwatch review --team search --month 2026-11" in out


def test_projected_then_crossed_is_a_new_alert_and_the_projection_is_escalated(con):
    set_flags(con, [SEARCH_PROJECTED])
    wa.evaluate(con, as_of=date(2026, 11, 18), now=NOW)
    with console_sender() as s:
        send_pending(con, s, now=NOW)
    [projected] = wa.list_alerts(con, "all")
    assert projected.kind == "threshold_projected" and projected.details["projected_cross_date"] == "2026-11-27"
    assert projected.delivery == "sent"

    set_flags(con, [SEARCH_OVER])
    ev = wa.evaluate(con, as_of=AS_OF, now=NOW + timedelta(days=9))
    k = keys(con)
    crossed = k[("threshold_crossed", "search", "2026-11", "1500.00 GBP")]
    old = k[("threshold_projected", "search", "2026-11", "1500.00 GBP")]
    assert crossed.alert_id != old.alert_id and crossed.delivery == "pending"
    assert (old.state, old.escalated_to, old.delivery) == ("escalated", crossed.alert_id, "sent")
    assert ev.escalated == [old.alert_id] and ev.resolved == []
    assert [a.alert_id for a in wa.deliverable(con, NOW + timedelta(days=9))] == [crossed.alert_id]


def test_an_undelivered_projection_is_cancelled_when_it_escalates(con):
    set_flags(con, [SEARCH_PROJECTED])
    wa.evaluate(con, as_of=date(2026, 11, 18), now=NOW)
    set_flags(con, [SEARCH_OVER])
    wa.evaluate(con, as_of=AS_OF, now=NOW)
    k = keys(con)
    assert k[("threshold_projected", "search", "2026-11", "1500.00 GBP")].delivery == "cancelled"
    assert [a.kind for a in wa.deliverable(con, NOW)] == ["threshold_crossed"]


def test_resolution_closes_and_a_returning_condition_is_a_new_occurrence(con):
    set_flags(con, [SEARCH_OVER])
    wa.evaluate(con, as_of=AS_OF, now=NOW)
    with console_sender() as s:
        send_pending(con, s, now=NOW)
    set_flags(con, [SEARCH_OK])  # e.g. a duplicate export was corrected
    later = NOW + timedelta(days=1)
    ev = wa.evaluate(con, as_of=AS_OF, now=later)
    [a] = wa.list_alerts(con, "all")
    assert ev.resolved == [a.alert_id]
    assert (a.state, a.resolved_at, a.delivery) == ("resolved", later, "sent")
    assert wa.list_alerts(con) == []  # not active

    set_flags(con, [SEARCH_OVER])
    back = NOW + timedelta(days=2)
    ev = wa.evaluate(con, as_of=AS_OF, now=back)
    [b] = wa.list_alerts(con, "all")
    assert ev.reopened == [a.alert_id] and b.alert_id == a.alert_id
    assert (b.state, b.delivery, b.occurrence, b.resolved_at, b.raised_at, b.first_raised_at) == ("open", "pending", 2, None, back, NOW)
    msg = build_message(message_of(b))
    assert "occurrence 2" in msg["blocks"][-1]["elements"][0]["text"]


def test_a_changed_threshold_is_a_different_alert(con):
    set_flags(con, [SEARCH_OVER])
    wa.evaluate(con, as_of=AS_OF, now=NOW)
    set_flags(con, [(NOV, "search", "1612.40", "1791.56", 27, "2500.00", "ok", None, None)])
    ev = wa.evaluate(con, as_of=AS_OF, now=NOW)
    assert len(ev.resolved) == 1 and ev.raised == []


def test_months_before_the_window_are_neither_raised_nor_resolved(con):
    sep = date(2026, 9, 1)
    set_flags(con, [(sep, "search", "1700.00", "1700.00", 30, "1500.00", "over", date(2026, 9, 25), None)])
    ev = wa.evaluate(con, as_of=AS_OF, now=NOW)  # window: October onwards
    assert ev.since == date(2026, 10, 1) and ev.raised == []
    wa.evaluate(con, as_of=date(2026, 9, 30), now=NOW)  # a September backfill raises it
    set_flags(con, [])
    assert wa.evaluate(con, as_of=AS_OF, now=NOW).resolved == []  # outside the window: left as it is
    assert [a.state for a in wa.list_alerts(con, "all")] == ["open"]


# --- people quieting alerts -------------------------------------------------------------

def test_ack_suppresses_delivery_until_it_resolves_and_comes_back(con):
    set_flags(con, [SEARCH_OVER])
    wa.evaluate(con, as_of=AS_OF, now=NOW)
    [a] = wa.list_alerts(con, "all")
    acked = wa.ack(con, a.alert_id, by="li", now=NOW)
    assert (acked.state, acked.delivery, acked.acked_by) == ("acked", "suppressed", "li")
    for i in range(3):
        wa.evaluate(con, as_of=AS_OF, now=NOW + timedelta(days=i))
        assert wa.deliverable(con, NOW + timedelta(days=i)) == []
    with pytest.raises(UsageError, match="only open or snoozed"):
        wa.ack(con, a.alert_id)
    set_flags(con, [SEARCH_OK])
    wa.evaluate(con, as_of=AS_OF, now=NOW)
    set_flags(con, [SEARCH_OVER])
    wa.evaluate(con, as_of=AS_OF, now=NOW)
    assert [x.occurrence for x in wa.deliverable(con, NOW)] == [2]


def test_snooze_holds_delivery_until_the_date_then_delivers_once_if_still_open(con):
    set_flags(con, [SEARCH_OVER])
    wa.evaluate(con, as_of=AS_OF, now=NOW)
    [a] = wa.list_alerts(con, "all")
    with console_sender() as s:
        send_pending(con, s, now=NOW)
    with pytest.raises(UsageError, match="after today"):
        wa.snooze(con, a.alert_id, date(2026, 11, 28), now=NOW)
    s1 = wa.snooze(con, a.alert_id, date(2026, 12, 2), now=NOW)
    assert (s1.state, s1.snoozed_until) == ("snoozed", date(2026, 12, 2))
    for day in (29, 30):
        t = datetime(2026, 11, day, 7)
        wa.evaluate(con, as_of=AS_OF, now=t)
        assert wa.deliverable(con, t) == []
    wake = datetime(2026, 12, 2, 6, 0)  # 06:00 in London, the snooze date
    ev = wa.evaluate(con, as_of=date(2026, 12, 1), now=wake)
    assert ev.woken == [a.alert_id]
    [due] = wa.deliverable(con, wake)
    assert due.reminder and due.state == "open"
    assert "reminder after a snooze until 2026-12-02" in build_message(message_of(due))["blocks"][-1]["elements"][0]["text"]
    with console_sender() as s:
        assert send_pending(con, s, now=wake).sent == 1
        assert send_pending(con, s, now=wake + timedelta(hours=1)).sent == 0


def test_a_snoozed_alert_that_resolves_meanwhile_is_not_delivered(con):
    set_flags(con, [SEARCH_OVER])
    wa.evaluate(con, as_of=AS_OF, now=NOW)
    [a] = wa.list_alerts(con, "all")
    wa.snooze(con, a.alert_id, date(2026, 12, 2), now=NOW)
    set_flags(con, [SEARCH_OK])
    wa.evaluate(con, as_of=date(2026, 12, 1), now=datetime(2026, 12, 3, 7))
    b = wa.get_alert(con, a.alert_id)
    assert (b.state, b.delivery) == ("resolved", "cancelled")


# --- the other kinds -------------------------------------------------------------------

def make_breakeven(con, verdict="dedicated_cheaper", with_hybrid=True):
    # RTX 5090 for team search in November: 1,062,720 GPU-s over 2,592,000 s = 41 % of one GPU.
    # Serverless £0.000500/s -> £531.36; dedicated £265.68/month; u* = 265.68 / (0.0005 x 2,592,000) = 20.5 %.
    con.execute(
        """CREATE OR REPLACE TABLE breakeven AS SELECT DATE '2026-11-01' AS month, 'search' AS team, 'RTX5090-32GB' AS gpu_class,
           1062720.000::DECIMAL(20,3) AS gpu_seconds, 2592000::BIGINT AS seconds_in_month, 0.410000::DECIMAL(12,6) AS utilisation,
           'GBP' AS currency, 531.36::DECIMAL(18,2) AS serverless_cost, 0.000500000000::DECIMAL(24,12) AS serverless_price_per_second,
           'gigagpu' AS dedicated_provider, 'gigagpu' AS dedicated_source_id, 'RTX 5090 Dedicated' AS dedicated_sku,
           NULL::VARCHAR AS dedicated_tier, 265.680000000000::DECIMAL(24,12) AS dedicated_price, 'GBP' AS dedicated_price_currency,
           'month' AS dedicated_price_unit, 265.68::DECIMAL(18,2) AS dedicated_monthly, 1::DECIMAL AS fx_rate, DATE '2026-11-27' AS fx_rate_date,
           0.205000::DECIMAL(12,6) AS breakeven_utilisation, 531.36::DECIMAL(18,2) AS breakeven_gpu_hours, 1 AS gpus_needed,
           265.68::DECIMAL(18,2) AS dedicated_cost, ? AS verdict, 265.68::DECIMAL(18,2) AS monthly_saving""",
        [verdict],
    )
    if with_hybrid:
        con.execute(
            """CREATE OR REPLACE TABLE hybrid_plan AS SELECT DATE '2026-11-01' AS month, 'search' AS team, 'RTX5090-32GB' AS gpu_class,
               'GBP' AS currency, 720 AS hours_observed, 2.000::DECIMAL(12,3) AS peak_demand_gpus, 1 AS best_k,
               400.00::DECIMAL(18,2) AS cost_at_best, 531.36::DECIMAL(18,2) AS cost_at_zero, 131.36::DECIMAL(18,2) AS saving,
               265.68::DECIMAL(18,2) AS dedicated_monthly, 0.000500000000::DECIMAL(24,12) AS serverless_price_per_second"""
        )


def test_dedicated_cheaper_says_why_with_the_break_even_and_the_hybrid_plan(con):
    set_flags(con, [])
    make_breakeven(con)
    ev = wa.evaluate(con, as_of=AS_OF, now=NOW)
    assert "dedicated_cheaper" in ev.evaluated and "dedicated_cheaper" not in ev.skipped and "invoice_discrepancy" in ev.skipped and not ev.notes
    [a] = wa.list_alerts(con, "all")
    assert (a.kind, a.team, a.period, a.subject) == ("dedicated_cheaper", "search", "2026-11", "RTX5090-32GB")
    msg = build_message(message_of(a))
    text = json.dumps(msg, ensure_ascii=False)
    assert "steady use at 41 % of one RTX5090-32GB; break-even is 20.5 %".lower() in text.lower()
    assert "£265.68" in msg["text"]  # the saving, in the fallback text
    assert "1 dedicated RTX5090-32GB" in text and "£400.00 against £531.36 all-serverless, saving £131.36" in text
    assert "spendwatch review --team search --month 2026-11" in text


def test_missing_models_skip_their_kind_and_leave_its_alerts_alone(con):
    set_flags(con, [])
    ev = wa.evaluate(con, as_of=AS_OF, now=NOW)
    assert {"dedicated_cheaper", "invoice_discrepancy", "source_stale"} <= set(ev.skipped)
    assert "not built yet" in ev.skipped["dedicated_cheaper"]
    make_breakeven(con, with_hybrid=False)
    ev = wa.evaluate(con, as_of=AS_OF, now=NOW)
    assert ev.skipped["dedicated_cheaper"] == "model hybrid_plan not built yet"  # alert_dedicated reads both models
    make_breakeven(con)
    wa.evaluate(con, as_of=AS_OF, now=NOW)
    [a] = wa.list_alerts(con, "all")
    con.execute("DROP TABLE breakeven")  # the model is being rebuilt: its alert must not resolve
    ev = wa.evaluate(con, as_of=AS_OF, now=NOW)
    assert "dedicated_cheaper" in ev.skipped and ev.resolved == []
    assert wa.get_alert(con, a.alert_id).state == "open"
    make_breakeven(con, verdict="serverless_cheaper")
    assert wa.evaluate(con, as_of=AS_OF, now=NOW).resolved == [a.alert_id]


def test_invoice_findings_above_tolerance_are_summed_per_invoice(con):
    set_flags(con, [])
    con.execute(
        """CREATE TABLE invoice_audit AS SELECT * FROM (VALUES
           ('l1', 'search', 'aws', 'INV-1', DATE '2026-11-03', DATE '2026-11-01', 'overcharge', 'price', 112.40, 100.00, 'USD', 12.40, 9.80, 'GBP', 1.00, true, 'x', 'desc one'),
           ('l2', 'vision', 'aws', 'INV-1', DATE '2026-11-09', DATE '2026-11-01', 'duplicate_charge', 'dup', 30.00, 0.00, 'USD', 30.00, 23.70, 'GBP', 1.00, true, 'x', 'desc two'),
           ('l3', 'search', 'aws', 'INV-1', DATE '2026-11-10', DATE '2026-11-01', 'overcharge', 'price', 100.50, 100.00, 'USD', 0.50, 0.40, 'GBP', 1.00, false, 'x', 'small'),
           ('l4', 'vision', 'runpod', NULL, DATE '2026-10-12', DATE '2026-10-01', 'overcharge', 'price', 3.00, 1.00, 'USD', 2.00, 1.58, 'GBP', 1.00, true, 'x', 'oct'),
           ('l5', 'vision', 'runpod', NULL, DATE '2026-11-12', DATE '2026-11-01', 'overcharge', 'price', 4.00, 1.00, 'USD', 3.00, 2.37, 'GBP', 1.00, true, 'x', 'nov'),
           ('l6', 'vision', 'runpod', NULL, DATE '2026-11-13', DATE '2026-11-01', 'overcharge', 'price', 5.00, 1.00, 'USD', 4.00, 3.16, 'GBP', 1.00, true, 'x', 'nov'),
           ('l7', 'search', 'openai', 'INV-9', DATE '2026-11-13', DATE '2026-11-01', 'undercharge', 'price', 9.90, 10.00, 'USD', 0.10, 0.08, 'GBP', 1.00, false, 'x', 'tiny')
        ) t(line_id, team, provider, invoice_id, charge_date, charge_month, finding, rule, billed, expected, currency,
            amount_at_stake, amount_at_stake_reporting, reporting_currency, tolerance_reporting, above_tolerance,
            price_source_id, description)"""
    )
    wa.evaluate(con, as_of=AS_OF, now=NOW)
    found = {(a.period, a.subject): a for a in wa.list_alerts(con, "all", kind="invoice_discrepancy")}
    assert set(found) == {("2026-11", "aws|INV-1"), ("2026-10", "runpod|"), ("2026-11", "runpod|")}
    inv = found[("2026-11", "aws|INV-1")].details
    assert (inv["findings"], Decimal(inv["at_stake"]), inv["teams"]) == (2, Decimal("33.50"), ["search", "vision"])
    assert (Decimal(inv["billed"]), Decimal(inv["expected"])) == (Decimal("142.40"), Decimal("100.00"))
    assert Decimal(found[("2026-11", "runpod|")].details["at_stake"]) == Decimal("5.53")
    assert found[("2026-11", "aws|INV-1")].team == "*"
    text = build_message(message_of(found[("2026-11", "aws|INV-1")]))["text"]
    assert "INV-1" in text and "£33.50" in text


def price_fixture(con, *, sku="H100 SXM", gpu_model="H100-80GB-SXM", source="runpod_serverless", provider="runpod",
                  kind="serverless_gpu", catalog=False, old="0.00116", new="0.00131", tier="flex", component="gpu", unit="second"):
    con.execute("INSERT INTO price_sources (source_id, provider, product_kind, is_catalog, discontinued, url) VALUES (?, ?, ?, ?, false, NULL)"
                " ON CONFLICT DO NOTHING", [source, provider, kind, catalog])
    key = f"{source}:{sku}:{tier}"
    con.execute(
        """INSERT INTO price_history (price_key, source_id, provider, product_kind, sku, component, unit, tier, gpu_model, gpu_count,
                                      amount, currency, valid_from, valid_to, fetched_at, closed_reason)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, 'USD', TIMESTAMP '2026-09-01', TIMESTAMP '2026-11-12 06:00', TIMESTAMP '2026-09-01', 'changed'),
                  (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, 'USD', TIMESTAMP '2026-11-12 06:00', NULL, TIMESTAMP '2026-11-12 06:00', NULL)""",
        [key, source, provider, kind, sku, component, unit, tier, gpu_model, Decimal(old),
         key, source, provider, kind, sku, component, unit, tier, gpu_model, Decimal(new)],
    )


def line(con, n, *, provider="runpod", kind="serverless_gpu", team="research", gpu=None, model=None):
    con.execute(
        """INSERT INTO billing_line_items (x_line_id, BillingCurrency, BilledCost, ChargeCategory, ChargePeriodStart, ChargePeriodEnd,
               x_provider, x_product_kind, Tags, x_gpu_class, x_model, x_natural_key, x_source_format, x_source_file, x_source_hash,
               x_source_row, x_ingested_at)
           VALUES (?, 'USD', 1, 'Usage', TIMESTAMP '2026-11-10', TIMESTAMP '2026-11-11', ?, ?, json_object('team', ?), ?, ?, ?, 'test', 'f.csv', 'h', ?, TIMESTAMP '2026-11-12')""",
        [f"l{n}", provider, kind, team, gpu, model, f"k{n}", n],
    )


def attribute_by_team_tag(con, teams=("research", "assistant")):
    """The team of each line: a tag rule naming declared teams, applied by the attribution model (stg_line_items)."""
    from warehouse import models as sqlmodels

    sync_config(con, Config.model_validate({"teams": [{"name": t} for t in teams],
                                            "attribution": [{"match": "tag", "tag_key": "team"}]}))
    assert all(r.status == "ok" for r in sqlmodels.build(con, select=["stg_line_items"]))


def test_price_change_alerts_only_for_prices_the_organisation_pays(con):
    set_flags(con, [])
    line(con, 1, gpu="H100-80GB-SXM", team="research")
    line(con, 2, provider="openai", kind="hosted_api", team="assistant", model="gpt-4o-2024-08-06")
    attribute_by_team_tag(con)
    price_fixture(con)  # used: runpod serverless H100
    price_fixture(con, sku="A100 SXM", gpu_model="A100-80GB-SXM")  # runpod, but a class nobody uses
    price_fixture(con, sku="H100 pod", source="runpod_pods", kind="dedicated_gpu", tier="secure")  # same class, a product not used
    api = dict(gpu_model=None, provider="openai", kind="hosted_api", component="input_token", unit="1M_tokens")
    price_fixture(con, sku="gpt-4o", source="openai", old="2.5", new="2.0", tier="standard", **api)
    price_fixture(con, sku="gpt-4o", source="openrouter", catalog=True, old="2.5", new="2.4", tier="x", **api)
    price_fixture(con, sku="H100", source="modal", provider="modal")  # a provider the org does not use
    wa.evaluate(con, as_of=AS_OF, now=NOW)
    found = {a.subject: a for a in wa.list_alerts(con, "all", kind="price_change")}
    assert set(found) == {"runpod|H100 SXM|gpu|flex|2026-11-12T06:00:00", "openai|gpt-4o|input_token|standard|2026-11-12T06:00:00"}
    h100 = found["runpod|H100 SXM|gpu|flex|2026-11-12T06:00:00"]
    assert (h100.team, h100.period, h100.details["teams"]) == ("*", "2026-11", ["research"])
    text = build_message(message_of(h100))["text"]
    # 0.00116 -> 0.00131 USD/second is +12.9 %
    assert "0.00116 USD/second" in text and "0.00131 USD/second" in text and "+12.9 %" in text
    assert "spendwatch prices history --provider runpod --sku 'H100 SXM'" in json.dumps(build_message(message_of(h100)))
    assert wa.evaluate(con, as_of=AS_OF, now=NOW).raised == []


def fetch(con, source, at, status, error=None):
    con.execute("INSERT INTO price_fetches (source_id, attempted_at, observed_at, mode, status, error) VALUES (?, ?, ?, 'live', ?, ?)",
                [source, at, at, status, error])


def captured(con, source, days_ago, status="ok", error=None, prices=True):
    """A fetch of ``source`` whose capture is ``days_ago`` days old (source_freshness measures from now)."""
    at = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0) - timedelta(days=days_ago)
    con.execute("INSERT INTO price_fetches (source_id, attempted_at, observed_at, mode, status, error, captured_at)"
                " VALUES (?, ?, ?, 'live', ?, ?, ?)", [source, at, at, status, error, at if status == "ok" else None])
    if prices and status == "ok":
        con.execute("""INSERT INTO price_history (price_key, source_id, provider, product_kind, sku, component, unit, amount, currency,
                       valid_from, fetched_at) VALUES (?, ?, ?, 'serverless_gpu', 'H100', 'gpu', 'second', 0.001, 'USD', ?, ?)
                       ON CONFLICT DO NOTHING""", [f"{source}:H100", source, source, at, at])
    return at


def test_source_stale_follows_source_freshness_once_per_episode_and_resolves_when_fresh(con):
    from warehouse import models as sqlmodels

    set_flags(con, [])
    for sid, disc in (("lambda_cloud", False), ("modal", False), ("banana", True)):
        con.execute("INSERT INTO price_sources (source_id, provider, product_kind, is_catalog, discontinued, url, max_age_days)"
                    " VALUES (?, ?, 'x', false, ?, NULL, 7)", [sid, sid, disc])
    old = captured(con, "lambda_cloud", 10)                       # captured 10 days ago, max 7: stale
    captured(con, "lambda_cloud", 1, "failed", "HTTP 503 from https://cloud.lambdalabs.com/api/v1/instance-types")
    captured(con, "modal", 2)                                     # 2 days: fresh
    captured(con, "banana", 30)                                   # discontinued: never stale
    assert [r.status for r in sqlmodels.build(con, select=["source_freshness"])] == ["ok"]
    wa.evaluate(con, as_of=AS_OF, now=NOW)
    [lam] = wa.list_alerts(con, "all", kind="source_stale")
    assert (lam.subject, lam.period, lam.details["age_days"], lam.details["max_age_days"]) == (
        "lambda_cloud", f"{old:%Y-%m-%d}", 10, 7)
    assert lam.details["stale_reason"] == "prices in force are 10 days old (max 7)"
    assert wa.evaluate(con, as_of=AS_OF, now=NOW + timedelta(hours=1)).raised == []  # once per episode
    captured(con, "lambda_cloud", 0)                              # a new capture: fresh again
    assert wa.evaluate(con, as_of=AS_OF, now=NOW + timedelta(hours=2)).resolved == [lam.alert_id]


def test_ingest_rejects_alert_per_file_with_its_reasons(con):
    set_flags(con, [])
    con.execute("""INSERT INTO ingested_files (file_hash, file_path, format, rows_read, rows_loaded, rows_rejected, rows_replaced,
                   period_start, period_end, ingested_at) VALUES ('abc123', '/exports/<!here> bill.csv', 'focus', 10, 7, 3, 0,
                   TIMESTAMP '2026-11-01', TIMESTAMP '2026-12-01', TIMESTAMP '2026-11-27 06:10'),
                   ('def456', '/exports/clean.csv', 'focus', 5, 5, 0, 0, NULL, NULL, TIMESTAMP '2026-11-27 06:10')""")
    for row, reason in ((2, "BilledCost is not a number"), (5, "BilledCost is not a number"), (9, "ChargePeriodStart missing")):
        con.execute("INSERT INTO ingest_rejects VALUES ('abc123', '/exports/x.csv', ?, 'c', ?, 'raw', TIMESTAMP '2026-11-27')", [row, reason])
    wa.evaluate(con, as_of=AS_OF, now=NOW)
    [a] = wa.list_alerts(con, "all", kind="ingest_rejects")
    assert (a.subject, a.period, a.details["rows_rejected"]) == ("abc123", "2026-11", 3)
    assert a.details["reasons"] == [{"reason": "BilledCost is not a number", "rows": 2}, {"reason": "ChargePeriodStart missing", "rows": 1}]
    msg = json.dumps(build_message(message_of(a)))
    assert "<!here>" not in msg and "&lt;!here&gt; bill.csv" in msg
    assert f"spendwatch alerts show {a.alert_id}" in msg
    assert rejected_rows(con, "abc123")[0][:3] == (2, "c", "BilledCost is not a number")


def test_run_failure_is_stored_once_per_run_id(con):
    details = {"run_id": "r-1", "job_name": "daily_spend_job", "partition": "2026-11-27", "failed_steps": ["billing_line_items"], "error": "boom"}
    first = wa.raise_alert(con, "run_failure", "*", "2026-11-27", "r-1", details, now=NOW)
    again = wa.raise_alert(con, "run_failure", "*", "2026-11-27", "r-1", details, now=NOW)
    assert first[1] is True and again == (first[0], False)
    undated = wa.raise_alert(con, "run_failure", "*", "abcd1234", "r-2", details, now=NOW)  # a run without a partition
    set_flags(con, [])
    wa.evaluate(con, as_of=AS_OF, now=NOW)  # evaluation never resolves event alerts
    assert wa.get_alert(con, first[0]).state == "open" and wa.get_alert(con, undated[0]).state == "open"


# --- escaping ----------------------------------------------------------------------------

HOSTILE = "<!channel> <@U024BE7LH> *bold* [red]x[/red] & more"


@pytest.mark.parametrize("kind, details", [
    ("price_change", {"provider": "together", "sku": HOSTILE, "component": "input_token", "old_amount": "1", "new_amount": "2",
                      "currency": "USD", "unit": "1M_tokens", "changed_at": "2026-11-12T06:00:00", "teams": [HOSTILE]}),
    ("dedicated_cheaper", {"gpu_class": HOSTILE, "currency": "GBP", "dedicated_provider": HOSTILE, "dedicated_sku": HOSTILE,
                           "utilisation": "0.5", "breakeven_utilisation": "0.2", "monthly_saving": "10"}),
    ("invoice_discrepancy", {"provider": HOSTILE, "invoice_id": HOSTILE, "findings": 1, "at_stake": "5", "reporting_currency": "GBP",
                             "examples": [HOSTILE], "teams": [HOSTILE], "by_finding": [{"finding": HOSTILE, "lines": 1}]}),
    ("source_stale", {"source_id": HOSTILE, "provider": HOSTILE, "last_error": HOSTILE, "failures": 3}),
    ("run_failure", {"run_id": "abc", "job_name": HOSTILE, "partition": "2026-11-27", "failed_steps": [HOSTILE], "error": HOSTILE}),
])
def test_external_text_is_escaped_so_channel_never_pings(kind, details):
    msg = AlertMessage(7, 1, kind, "*", "2026-11", HOSTILE, details)
    payload = json.dumps(build_message(msg))
    assert "<!channel>" not in payload and "<@U024BE7LH>" not in payload
    assert "&lt;!channel&gt;" in payload
    buf = __import__("io").StringIO()
    Console(file=buf, width=400, color_system=None).print(console_markup(msg))
    assert "[red]x[/red]" in buf.getvalue()  # shown literally, not styled


# --- the CLI ------------------------------------------------------------------------------

def alerts_parser():
    from spendwatch.cli import alerts as alerts_cli
    from spendwatch.cli.common import Parser

    parser = Parser(prog="spendwatch")
    sub = parser.add_subparsers(dest="command", parser_class=Parser)
    alerts_cli.add_parser(sub)
    return parser


def cli(argv, monkeypatch, warehouse_path):
    from spendwatch.cli import alerts as alerts_cli

    monkeypatch.setenv("SPENDWATCH_WAREHOUSE", str(warehouse_path))
    return alerts_cli.run(alerts_parser().parse_args(["alerts", *argv]))


def test_cli_list_ack_snooze_send(con, warehouse_path, monkeypatch, capsys):
    set_flags(con, [SEARCH_OVER, (NOV, "vision", "1020.00", "1700.00", 18, "1500.00", "projected_over", None, date(2026, 11, 27))])
    wa.evaluate(con, as_of=AS_OF, now=NOW)
    ids = {a.team: a.alert_id for a in wa.list_alerts(con)}
    con.close()

    assert cli(["list", "--format", "json"], monkeypatch, warehouse_path) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {(x["team"], x["kind"], x["delivery"]) for x in listed} == {("search", "threshold_crossed", "pending"), ("vision", "threshold_projected", "pending")}
    assert cli(["ack", str(ids["search"]), "--by", "li"], monkeypatch, warehouse_path) == 0
    assert cli(["snooze", f"#{ids['vision']}", "--until", "2099-01-01"], monkeypatch, warehouse_path) == 0
    capsys.readouterr()
    assert cli(["send"], monkeypatch, warehouse_path) == 0
    assert "0 sent" in capsys.readouterr().out
    assert cli(["list", "--state", "snoozed"], monkeypatch, warehouse_path) == 0
    out = capsys.readouterr().out
    assert "vision" in out and "search" not in out
    assert cli(["show", str(ids["search"])], monkeypatch, warehouse_path) == 0
    assert "acked" in capsys.readouterr().out


def test_cli_bad_input_is_a_one_line_usage_error(con, warehouse_path, monkeypatch):
    set_flags(con, [SEARCH_OVER])
    con.close()
    with pytest.raises(UsageError, match="not an alert id"):
        alerts_parser().parse_args(["alerts", "ack", "search"])
    with pytest.raises(UsageError, match="not a date"):
        alerts_parser().parse_args(["alerts", "snooze", "1", "--until", "friday"])
    with pytest.raises(UsageError, match="no such alert"):
        cli(["ack", "99"], monkeypatch, warehouse_path)
