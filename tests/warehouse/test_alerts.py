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
from tests.spendwatch.delivery.alert_models import REC_COLUMNS, THRESHOLD_FLAGS_COLUMNS, alert_inputs
from warehouse import alerts as wa
from warehouse.config_sync import sync_config
from warehouse.ingest import rejected_rows

NOW = datetime(2026, 11, 28, 7, 0)  # naive UTC
AS_OF = date(2026, 11, 27)

def set_flags(con, rows):
    """threshold_flags and team_monthly_spend from (month, team, variable, projected, days, threshold, status, crossed, projected_date)."""
    alert_inputs(con)
    con.execute(f"CREATE OR REPLACE TABLE threshold_flags ({THRESHOLD_FLAGS_COLUMNS})")
    con.execute(
        """CREATE OR REPLACE TABLE team_monthly_spend (month DATE, team VARCHAR, currency VARCHAR, serverless_gpu DECIMAL(18,2),
           dedicated_gpu DECIMAL(18,2), hosted_api DECIMAL(18,2), other DECIMAL(18,2), variable_spend DECIMAL(18,2),
           total_spend DECIMAL(18,2), month_to_date_variable DECIMAL(18,2), days_in_month INTEGER, days_with_data INTEGER,
           last_data_date DATE, projected_variable DECIMAL(18,2), projection_days_used INTEGER)"""
    )
    for month, team, variable, projected, days, threshold, status, crossed, proj_date in rows:
        con.execute(
            "INSERT INTO threshold_flags VALUES (?, ?, 'GBP', ?, ?, ?, ?, 'GBP', ?, ?, ?, ?, NULL, NULL, NULL, NULL)",
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


# Vision in November, at risk: 15 days of actual spend at £50.00 a day (£750.00), 15 forecast days at £40.00
# (£600.00): projected £1,350.00, under the £1,500.00 threshold.  The band's ratios 0.8 and 1.5 give
# 750 + 600 x 0.8 = £1,230.00 and 750 + 600 x 1.5 = £1,650.00: only the upper edge passes the threshold.
# On that edge forecast days cost 40 x 1.5 = £60.00, so the path is 750 + 60n after day 15: over 1,500 when
# n > 12.5, n = 13, on 28 November.
VISION_AT_RISK = (NOV, "vision", "750.00", "1350.00", 15, "1500.00", "at_risk", None, None)
VISION_PROJECTED = (NOV, "vision", "750.00", "1550.00", 15, "1500.00", "projected_over", None, date(2026, 11, 26))
VISION_OK = (NOV, "vision", "750.00", "1100.00", 15, "1500.00", "ok", None, None)


def at_risk(con, flags=VISION_AT_RISK):
    set_flags(con, [flags])
    # band_cross_date as threshold_flags works it out (tests/dbt_like_sql/test_projection.py checks that model):
    # actual 1-15 Nov at £50 a day = £750, then forecast days at £40 x ratio_high 1.5 = £60 a day; 750 + 60 k > 1,500
    # first for k = 13, so the upper edge crosses on 15 + 13 = 28 Nov.
    con.execute("""UPDATE threshold_flags SET projected_low = 1230.00, projected_high = 1650.00,
                   band_method = 'backtest p10-p90 of 40 origins',
                   band_cross_date = CASE WHEN status = 'at_risk' THEN DATE '2026-11-28' END""")


def test_at_risk_is_an_early_warning_sent_once_with_the_band_and_its_crossing_date(con):
    import io

    at_risk(con)
    buf = io.StringIO()
    for day in range(3):  # three daily runs: one message
        wa.evaluate(con, as_of=AS_OF, now=NOW + timedelta(days=day))
        with console_sender(buf) as s:
            send_pending(con, s, now=NOW + timedelta(days=day))
    [a] = wa.list_alerts(con, "all")
    assert (a.kind, a.period, a.subject, a.delivery) == ("threshold_at_risk", "2026-11", "1500.00 GBP", "sent")
    assert a.details["band_cross_date"] == "2026-11-28" and a.details["status"] == "at_risk"
    out = buf.getvalue()
    assert out.count("Spend threshold at risk (early warning)") == 1
    assert "on pace to cross on 2026-11-28" in out and "£1,230.00 – £1,650.00" in out and "projected £1,350.00" in out
    text = json.dumps(build_message(message_of(a)), ensure_ascii=False)
    assert "on pace to cross on *2026-11-28*" in text and "£1,230.00 – £1,650.00" in text


def test_at_risk_escalates_comes_back_silently_and_resolves_once(con):
    import io

    buf = io.StringIO()

    def run(flags, day):
        at_risk(con, flags)
        ev = wa.evaluate(con, as_of=AS_OF, now=NOW + timedelta(days=day))
        with console_sender(buf) as s:
            send_pending(con, s, now=NOW + timedelta(days=day))
        return ev

    run(VISION_AT_RISK, 0)
    ev = run(VISION_PROJECTED, 1)  # the projection itself passes: the graver alert, the warning escalated
    k = keys(con)
    warning, projected = k[("threshold_at_risk", "vision", "2026-11", "1500.00 GBP")], k[("threshold_projected", "vision", "2026-11", "1500.00 GBP")]
    assert ev.escalated == [warning.alert_id] and warning.escalated_to == projected.alert_id
    assert "on pace to cross the monthly threshold of £1,500.00 on 2026-11-26" in buf.getvalue()
    ev = run(VISION_AT_RISK, 2)  # back under: the projection resolves; the warning is active again, not sent again
    assert ev.returned == [warning.alert_id] and ev.resolved == [projected.alert_id] and ev.reopened == []
    assert wa.get_alert(con, warning.alert_id).state == "open"
    run(VISION_OK, 3)  # the band is under too: the warning resolves
    out = buf.getvalue()
    assert out.count("Resolved: Spend threshold at risk (early warning)") == 1  # day 3
    assert out.count("Spend threshold at risk (early warning)") == 2  # the warning once (day 0), its resolution
    assert out.count("Resolved: Spend threshold: on pace to be crossed") == 1  # day 2
    assert out.count("Spend threshold: on pace to be crossed") == 2  # the projection once (day 1), its resolution
    assert [(c[1], c[4]) for c in wa.deliveries(con, warning.alert_id)] == [("alert", "sent"), ("resolved", "sent")]


def test_a_threshold_alert_says_what_to_do_and_names_a_stale_fx_rate(con):
    set_flags(con, [(NOV, "vision", "1612.40", "1791.56", 27, "1500.00", "over", date(2026, 11, 21), None)])
    make_recommendation(con)
    make_recommendation(con, gpu_class="A10G-24GB", action="stay_serverless", saving=Decimal("0.00"))  # nothing to do: not listed
    # USD lines converted at the ECB rate of Fri 30 Oct: by Fri 27 Nov it is 20 business days old (4 weeks of 5), stale.
    con.execute("""INSERT INTO stg_line_items_fx (charge_date, team, provider, product_kind, model, gpu_class, amount_reporting, currency,
                   reporting_currency, fx_rate_date, fx_rate_age_business_days, fx_stale) VALUES
                   ('2026-11-05', 'vision', 'modal', 'serverless_gpu', NULL, 'RTX4090-24GB', 900.00, 'USD', 'GBP', '2026-10-30', 4, true),
                   ('2026-11-27', 'vision', 'modal', 'serverless_gpu', NULL, 'RTX4090-24GB', 712.40, 'USD', 'GBP', '2026-10-30', 20, true),
                   ('2026-11-27', 'vision', 'gigagpu', 'dedicated_gpu', NULL, 'RTX4090-24GB', 249.00, 'EUR', 'GBP', '2026-10-01', 40, true),
                   ('2026-11-27', 'search', 'openai', 'hosted_api', 'gpt-4o', NULL, 10.00, 'CHF', 'GBP', '2026-10-01', 40, true)""")
    wa.evaluate(con, as_of=AS_OF, now=NOW)
    [a] = wa.list_alerts(con, "all", kind="threshold_crossed")
    # the rent (EUR) is not variable spend and search's CHF line is not vision's: only USD/GBP is named
    assert a.details["fx_stale"] == [{"currency_pair": "USD/GBP", "rate_date": "2026-10-30", "age_business_days": 20,
                                      "last_charge_date": "2026-11-27"}]
    msg = build_message(message_of(a))
    text = json.dumps(msg, ensure_ascii=False)
    assert "USD/GBP rate of 2026-10-30, 20 business days old by 2026-11-27" in text
    assert "EUR/GBP" not in text and "CHF" not in text
    todo = [b for b in msg["blocks"] if b.get("text", {}).get("text", "").startswith("*What to do:*")]
    assert todo[0]["text"]["text"] == "*What to do:* RTX4090-24GB: " + review_sentence(con, "vision", "RTX4090-24GB")
    assert "A10G" not in text
    # top line: modal RTX4090-24GB 900.00 + 712.40 = £1,612.40, 100 % of the variable spend
    assert "modal RTX4090-24GB £1,612.40 (100 %)" in text


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

# Vision's RTX 4090 load in November (a closed month: the calendar month is the window), worked by hand:
# all-serverless £470.32; the cheapest dedicated GPU £182.70 for the window, so moving everything would
# "save" 470.32 - 182.70 = £287.62 (the plain break-even, u* = 30.5 %); but demand peaks at 1.6 GPUs,
# so that is not reachable: 1 dedicated GPU plus serverless for the peaks costs £246.29, saving
# 470.32 - 246.29 = £224.03.  The recommendation (and so the alert) is the hybrid plan's £224.03.
VISION_HYBRID = dict(
    month=NOV, team="vision", gpu_class="RTX4090-24GB", window_kind="calendar_month", window_start=NOV,
    window_end=date(2026, 11, 30), currency="GBP", action="hybrid", dedicated_gpus=1, saving=Decimal("224.03"),
    spare_server_id=None, spare_server_utilisation=None, spare_gpu_hours=None, gpu_hours=Decimal("564.67"),
    peak_demand_gpus=Decimal("1.600"), serverless_cost=Decimal("470.32"), dedicated_provider="runpod",
    dedicated_sku="NVIDIA GeForce RTX 4090", dedicated_tier="community", dedicated_monthly=Decimal("182.70"), dedicated_units=1,
    breakeven_utilisation=Decimal("0.304657"), breakeven_text="30.5 %", breakeven_verdict="dedicated_cheaper",
    breakeven_saving=Decimal("287.62"), committed_offer=None, committed_term_months=None, committed_upfront_amount=None,
    committed_currency=None, committed_monthly=None,
)


def make_recommendation(con, **over):
    row = {**VISION_HYBRID, **over}
    con.execute(f"CREATE TABLE IF NOT EXISTS recommendations ({REC_COLUMNS})")
    con.execute(f"INSERT INTO recommendations ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values()))


def review_sentence(con, team, gpu_class):
    """What the review and `spendwatch breakeven --team` print for this row: recommendation_text of the mart's row."""
    from spendwatch.recommend import recommendation_text

    cur = con.execute("SELECT * FROM recommendations WHERE team = ? AND gpu_class = ?", [team, gpu_class])
    return recommendation_text(dict(zip([c[0] for c in cur.description], cur.fetchone())))


def test_a_gpu_recommendation_carries_the_one_saving_the_review_gives(con):
    set_flags(con, [])
    make_recommendation(con)
    make_recommendation(con, team="search", gpu_class="A10G-24GB", action="stay_serverless", saving=Decimal("0.00"))
    make_recommendation(con, team="research", gpu_class="H100-80GB-SXM", action="near", saving=Decimal("0.00"))
    ev = wa.evaluate(con, as_of=AS_OF, now=NOW)
    assert "dedicated_cheaper" in ev.evaluated and "invoice_discrepancy" in ev.skipped and not ev.notes
    [a] = wa.list_alerts(con, "all")  # stay_serverless and near save nothing: no alert
    assert (a.kind, a.team, a.period, a.subject) == ("dedicated_cheaper", "vision", "2026-11", "RTX4090-24GB")
    sentence = review_sentence(con, "vision", "RTX4090-24GB")
    assert sentence == ("rent 1 dedicated GPU(s) for the steady core, serverless for the peaks (demand peaks at 1.600 GPUs): "
                        "saves £224.03 a month")
    msg = build_message(message_of(a))
    text = json.dumps(msg, ensure_ascii=False)
    assert sentence in text and "£224.03" in text  # the same figure as the mart, in the review's words
    assert "287.62" not in text  # the unreachable move-everything figure is not a second saving
    assert msg["blocks"][0]["text"]["text"] == "A hybrid plan would cost less"
    assert "30.5 %" in text and "spendwatch review --team vision --month 2026-11" in text
    buf = __import__("io").StringIO()
    Console(file=buf, width=400, color_system=None).print(console_markup(message_of(a)))
    assert sentence in buf.getvalue()


def test_spare_capacity_is_the_recommendation_when_the_load_fits_on_a_paid_server(con):
    set_flags(con, [])
    # gg-4090-01 is 18.3 % used (0.182986), with 588.25 spare GPU-hours >= the 564.67 the load needs: saving = the
    # whole serverless cost of the window, £470.32, at no extra rent.
    make_recommendation(con, action="use_spare_capacity", dedicated_gpus=0, saving=Decimal("470.32"), spare_server_id="gg-4090-01",
                        spare_server_utilisation=Decimal("0.182986"), spare_gpu_hours=Decimal("588.25"))
    wa.evaluate(con, as_of=AS_OF, now=NOW)
    [a] = wa.list_alerts(con, "all")
    text = json.dumps(build_message(message_of(a)), ensure_ascii=False)
    assert "vision's load fits on gg-4090-01 (18 % used): saves £470.32 a month at no extra rent" in text
    assert review_sentence(con, "vision", "RTX4090-24GB") in text and "588.25 spare GPU-hours" in text


def test_missing_models_skip_their_kind_and_leave_its_alerts_alone(con):
    set_flags(con, [])
    con.execute("DROP TABLE recommendations")
    ev = wa.evaluate(con, as_of=AS_OF, now=NOW)
    assert {"dedicated_cheaper", "threshold_crossed", "invoice_discrepancy", "source_stale"} <= set(ev.skipped)
    assert ev.skipped["dedicated_cheaper"] == "model recommendations not built yet"
    make_recommendation(con)
    wa.evaluate(con, as_of=AS_OF, now=NOW)
    [a] = wa.list_alerts(con, "all")
    con.execute("DROP TABLE recommendations")  # the model is being rebuilt: its alert must not resolve
    ev = wa.evaluate(con, as_of=AS_OF, now=NOW)
    assert "dedicated_cheaper" in ev.skipped and ev.resolved == []
    assert wa.get_alert(con, a.alert_id).state == "open"
    make_recommendation(con, action="stay_serverless", saving=Decimal("0.00"))
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
    sync_config(con, Config.model_validate({"teams": [{"name": t} for t in teams],
                                            "attribution": [{"match": "tag", "tag_key": "team"}]}))
    from warehouse import models as sqlmodels

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
    ("dedicated_cheaper", {"recommendation": {"gpu_class": HOSTILE, "currency": "GBP", "team": HOSTILE, "action": "rent_dedicated",
                                              "dedicated_gpus": "1", "dedicated_provider": HOSTILE, "dedicated_sku": HOSTILE,
                                              "saving": "10", "breakeven_text": HOSTILE, "window_start": HOSTILE}}),
    ("threshold_crossed", {"currency": "GBP", "variable_spend": "1600", "threshold": "1500", "drivers": [{"provider": HOSTILE, "line": HOSTILE}],
                           "recommendations": [{"gpu_class": HOSTILE, "team": HOSTILE, "currency": "GBP", "action": "use_spare_capacity",
                                                "saving": "5", "spare_server_id": HOSTILE, "spare_server_utilisation": "0.5"}],
                           "fx_stale": [{"currency_pair": HOSTILE, "rate_date": HOSTILE, "age_business_days": 9}]}),
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
