"""Alerts against a local Slack stand-in on 127.0.0.1 (slack-sdk's WebhookClient and WebClient pointed at it).

The stand-in answers like Slack (shared/docs/DOMAIN.md §8): a webhook says 200 ``ok`` or an error text,
chat.postMessage answers JSON with ``"ok"``, and conversations.history returns the messages it was sent
with their metadata.  Every expected value below is worked out by hand from the inputs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from werkzeug import Request, Response

from spendwatch.core.config import Config
from spendwatch.delivery import Routing, SlackSender, build_message, message_of, send_pending, unset_webhooks
from tests.spendwatch.delivery.alert_models import alert_inputs, threshold_tables
from warehouse import alerts as wa
from warehouse.db import connect

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 11, 28, 7, 0)
AS_OF = date(2026, 11, 27)
HOOK = "/services/T0STANDIN/B0STANDIN/w3bh00kS3cr3tT0kenXYZ"
BOT_TOKEN = "xoxb-2222222222-3333333333-standinTokenAbcdefghijkl"


class FakeSlack:
    """Slack's webhook, chat.postMessage and conversations.history, with scripted answers."""

    def __init__(self, server, hook=HOOK):
        self.server = server
        self.webhook_posts: list[dict] = []
        self.messages: list[dict] = []  # what chat.postMessage accepted, in order
        self.webhook_answers: list[tuple[int, str, dict]] = []  # scripted, then 200 ok
        self.bot_answers: list[tuple[int, object, dict]] = []   # scripted, then {"ok": true}
        self.delay = 0.0
        self.on_post = None  # called with the request before answering (to kill the sender)
        self.history_error: str | None = None  # conversations.history answers {"ok": false, "error": this}
        server.expect_request(hook, method="POST").respond_with_handler(self._webhook)
        server.expect_request("/api/chat.postMessage", method="POST").respond_with_handler(self._post)
        server.expect_request("/api/conversations.history").respond_with_handler(self._history)

    @property
    def hook_url(self) -> str:
        return self.server.url_for(HOOK)

    @property
    def api_url(self) -> str:
        return self.server.url_for("/api/")

    def _answer(self, scripted, default):
        return scripted.pop(0) if scripted else default

    def _webhook(self, req: Request) -> Response:
        self.webhook_posts.append(json.loads(req.get_data()))
        if self.on_post:
            self.on_post(req)
        time.sleep(self.delay)
        status, body, headers = self._answer(self.webhook_answers, (200, "ok", {}))
        return Response(body, status=status, headers=headers, content_type="text/plain")

    def _post(self, req: Request) -> Response:
        payload = json.loads(req.get_data())
        status, body, headers = self._answer(self.bot_answers, (200, None, {}))
        if body is None:  # accepted: Slack posts it, then answers
            ts = f"{time.time():.6f}"  # Slack's clock: now
            self.messages.append({"ts": ts, **payload, "channel": "C0SEARCH"})  # Slack answers with the channel's id
            body = {"ok": True, "channel": "C0SEARCH", "ts": ts}
        if self.on_post:
            self.on_post(req)
        time.sleep(self.delay)
        return Response(body if isinstance(body, str) else json.dumps(body), status=status, headers=headers,
                        content_type="application/json")

    def _history(self, req: Request) -> Response:
        args = req.values  # slack-sdk posts the Web API's arguments as a form
        assert args.get("include_all_metadata") in ("1", "true", "True")
        if self.history_error:
            return Response(json.dumps({"ok": False, "error": self.history_error}), content_type="application/json")
        if args.get("channel") != "C0SEARCH":  # conversations.history wants an id, not a #name
            return Response(json.dumps({"ok": False, "error": "channel_not_found"}), content_type="application/json")
        oldest = float(args.get("oldest") or 0)
        msgs = [{"type": "message", "ts": m["ts"], "text": m["text"], "metadata": m.get("metadata")}
                for m in reversed(self.messages) if float(m["ts"]) >= oldest and m.get("channel") == args.get("channel")]
        return Response(json.dumps({"ok": True, "messages": msgs, "has_more": False}), content_type="application/json")

    def keys(self) -> list[str]:
        return [m["metadata"]["event_payload"]["key"] for m in self.messages]


@pytest.fixture
def slack(httpserver):
    return FakeSlack(httpserver)


def config(**teams) -> Config:
    return Config.model_validate({"teams": [{"name": n, **v} for n, v in teams.items()] or [{"name": "search"}]})


def webhook_sender(slack, cfg=None, **kw) -> SlackSender:
    return SlackSender(Routing.from_config(cfg or config(search={}), environ={"SLACK_WEBHOOK_URL": slack.hook_url}),
                       timeout=kw.pop("timeout", 5.0), **kw)


def bot_sender(slack, **kw) -> SlackSender:
    cfg = config(search={"slack_channel": "C0SEARCH"})
    return SlackSender(Routing.from_config(cfg, environ={}, bot_token=BOT_TOKEN), api_url=slack.api_url,
                       timeout=kw.pop("timeout", 5.0), **kw)


def spend(con, teams=("search",), status="over", variable="1612.40", lines=()):
    """threshold_flags / team_monthly_spend for November 2026, and the month's line items (what drove the spend)."""
    threshold_tables(con)
    con.execute("DROP TABLE IF EXISTS stg_line_items_fx")
    alert_inputs(con)
    for t in teams:
        con.execute("INSERT INTO threshold_flags VALUES (DATE '2026-11-01', ?, 'GBP', ?, 1791.56, 27, 1500.00, 'GBP', ?, "
                    "CASE WHEN ? = 'over' THEN DATE '2026-11-21' END, NULL, false, NULL, NULL, NULL, NULL)", [t, Decimal(variable), status, status])
    for row in lines:
        con.execute("INSERT INTO stg_line_items_fx (charge_date, team, provider, product_kind, model, gpu_class, amount_reporting)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)", list(row))


def raise_alerts(con, teams=("search",), now=NOW, **kw):
    spend(con, teams, **kw)
    wa.evaluate(con, as_of=AS_OF, now=now)
    return wa.list_alerts(con, "all")


# --- 1. delivered means Slack said so ------------------------------------------------------------

@pytest.mark.parametrize("status, body, delivery", [
    (200, "ok", "sent"),
    (200, "invalid_payload", "failed"),      # a proxy's 200 with an error body is no delivery
    (200, "", "failed"),
    (400, "invalid_payload", "failed"),
    (403, "action_prohibited", "failed"),
    (404, "channel_not_found", "failed"),
    (410, "channel_is_archived", "failed"),
    (500, "rollup_error", "pending"),
    (503, "service unavailable", "pending"),
])
def test_webhook_answers(con, slack, status, body, delivery):
    slack.webhook_answers.append((status, body, {}))
    [a] = raise_alerts(con)
    with webhook_sender(slack) as s:
        send_pending(con, s, now=NOW)
    b = wa.get_alert(con, a.alert_id)
    assert (b.delivery, b.response_status) == (delivery, status)
    assert (b.last_error is None) == (delivery == "sent")
    if delivery != "sent":
        assert body in b.last_error


def test_ten_invalid_payload_answers_are_ten_failures_not_ten_deliveries(con, slack):
    slack.webhook_answers += [(200, "invalid_payload", {})] * 10
    raise_alerts(con, teams=tuple(f"t{i}" for i in range(10)))
    with webhook_sender(slack, cfg=config(**{f"t{i}": {} for i in range(10)})) as s:
        res = send_pending(con, s, now=NOW)
    assert (res.sent, res.failed, wa.counts(con).get("sent", 0)) == (0, 10, 0)


@pytest.mark.parametrize("status, body, delivery, error", [
    (200, {"ok": True, "channel": "C0SEARCH", "ts": "1.1"}, "sent", None),
    (200, {"ok": False, "error": "channel_not_found"}, "failed", "channel_not_found"),
    (200, {"ok": False, "error": "invalid_auth"}, "failed", "invalid_auth"),
    (200, {"ok": False, "error": "internal_error"}, "pending", "internal_error"),
    (200, {"ok": "true"}, "failed", "without \"ok\": true"),   # a string is not true
    (200, "ok", "failed", "non-JSON"),                          # not JSON at all
    (502, "<html>bad gateway</html>", "pending", "HTTP 502"),
])
def test_web_api_answers(con, slack, status, body, delivery, error):
    slack.bot_answers.append((status, body, {}))
    [a] = raise_alerts(con)
    with bot_sender(slack) as s:
        send_pending(con, s, now=NOW)
    b = wa.get_alert(con, a.alert_id)
    assert b.delivery == delivery
    if error:
        assert error in b.last_error
    assert BOT_TOKEN[5:] not in json.dumps(b.as_json(), default=str)


@pytest.mark.parametrize("value", ["hooks.slack.com/services/T0/B0/notAUrlS3cr3tValue", "http://[::1/services/T0/B0/brokenIpv6S3cr3t",
                                   "https://", "ftp://hooks.example/services/T0/B0/ftpS3cr3tValue"])
def test_a_webhook_variable_that_is_no_http_url_fails_at_once_naming_the_variable(con, slack, value):
    # Before: urllib's ValueError or "no host given" counted as "no answer (may have been posted)": retried forever.
    [a] = raise_alerts(con)
    with SlackSender(Routing.from_config(config(search={}), environ={"SLACK_WEBHOOK_URL": value}), timeout=2.0) as s:
        res = send_pending(con, s, now=NOW)
    b = wa.get_alert(con, a.alert_id)
    assert (res.failed, b.delivery) == (1, "failed") and not slack.webhook_posts
    assert b.last_error.startswith("destination SLACK_WEBHOOK_URL is not usable: its value is ")
    secret = value.rsplit("/", 1)[-1]
    assert "nothing was sent" in b.last_error and (not secret or secret[:8] not in json.dumps(b.as_json(), default=str))
    # a bare "https://" is no secret: registered, it was masked inside every URL and hid their secret paths from redaction
    from spendwatch.core.redact import redact

    assert redact("https://prices.example/v1/Pk4Mn7Bv2Cx9Zl5Qw8Er3Ty6") == "https://prices.example/v1/[redacted]"


def test_a_megabyte_error_body_is_redacted_whole_then_cut(con, slack):
    # The webhook URL sits across the 200-character cut: redacted first, so no piece of it is stored.
    slack.webhook_answers.append((400, "x" * 190 + slack.hook_url + "y" * 1_000_000, {}))
    [a] = raise_alerts(con)
    with webhook_sender(slack) as s:
        send_pending(con, s, now=NOW)
    b = wa.get_alert(con, a.alert_id)
    stored = json.dumps([b.as_json(), wa.attempts(con, a.alert_id)], default=str)
    assert b.delivery == "failed" and len(b.last_error) < 260 and "[redacted" in b.last_error
    secret = HOOK.rsplit("/", 1)[-1]
    assert not any(secret[i:i + 6] in stored for i in range(len(secret) - 5))


def test_a_bot_that_cannot_read_the_history_fails_with_a_hint_and_never_posts_blind(con, slack):
    slack.delay = 1.5
    [a] = raise_alerts(con)
    with bot_sender(slack, timeout=0.5) as s:
        assert send_pending(con, s, now=NOW).unknown == 1  # posted, the answer came too late
    slack.delay, slack.history_error = 0.0, "missing_scope"
    with bot_sender(slack) as s:
        res = send_pending(con, s, now=NOW + timedelta(minutes=5))
    b = wa.get_alert(con, a.alert_id)
    assert (res.failed, b.delivery, len(slack.messages)) == (1, "failed", 1)  # not posted a second time
    assert "missing_scope" in b.last_error and "channels:history" in b.last_error
    slack.history_error = "ratelimited"  # a passing trouble: pending, still not posted blind
    wa.retry_failed(con)
    with bot_sender(slack) as s:
        assert send_pending(con, s, now=NOW + timedelta(minutes=10)).retry == 1
    slack.history_error = None  # readable again: found there, recorded as delivered
    with bot_sender(slack) as s:
        assert send_pending(con, s, now=NOW + timedelta(minutes=15)).sent == 1
    assert len(slack.messages) == 1 and wa.get_alert(con, a.alert_id).delivery == "sent"


# --- 2. Retry-After ------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["1e12", "inf", "nan", "-5", "soon", "Wed, 21 Oct 3026 07:28:00 GMT"])
def test_an_absurd_retry_after_leaves_the_alert_pending_for_the_cap(con, slack, value):
    slack.webhook_answers.append((429, "rate_limited", {"Retry-After": value}))
    [a] = raise_alerts(con)
    with webhook_sender(slack) as s:
        res = send_pending(con, s, now=NOW)
    b = wa.get_alert(con, a.alert_id)
    wait = (b.next_attempt_at - NOW).total_seconds() if b.next_attempt_at else None
    if value in ("-5",):  # a negative wait is garbage: the cap as well
        assert wait == 3600
    assert (res.sent, b.delivery) == (0, "pending") and wait == 3600  # capped at an hour, never a crash
    [(_, _, _, _, outcome, code, retry_after, _, _)] = wa.attempts(con, a.alert_id)
    assert (outcome, code, retry_after) == ("retry", 429, 3600.0)


def test_a_wait_past_the_pass_budget_is_left_for_the_next_pass(con, slack):
    slack.webhook_answers.append((429, "rate_limited", {"Retry-After": "3"}))
    [a] = raise_alerts(con)
    started = time.monotonic()
    with webhook_sender(slack, pass_budget=1.0) as s:
        res = send_pending(con, s, now=NOW)
    assert time.monotonic() - started < 2.5 and res.sent == 0
    assert wa.get_alert(con, a.alert_id).next_attempt_at == NOW + timedelta(seconds=3)
    with webhook_sender(slack) as s:  # the next pass, after the wait
        assert send_pending(con, s, now=NOW + timedelta(seconds=4)).sent == 1
    assert len(slack.webhook_posts) == 2


# --- 3. duplicates --------------------------------------------------------------------------------

def test_bot_slow_success_is_found_in_the_history_not_sent_twice(con, slack):
    slack.delay = 1.5  # Slack posts it, but answers after our 0.5 s timeout
    [a] = raise_alerts(con)
    with bot_sender(slack, timeout=0.5) as s:
        first = send_pending(con, s, now=NOW)
    assert (first.sent, first.unknown) == (0, 1)
    assert "may have been posted" in wa.get_alert(con, a.alert_id).last_error
    slack.delay = 0.0
    with bot_sender(slack) as s:
        second = send_pending(con, s, now=NOW + timedelta(minutes=5))
    assert second.sent == 1 and slack.keys() == [f"{a.alert_id}:1:alert"]  # one message in the channel
    assert [r[4] for r in wa.attempts(con, a.alert_id)] == ["unknown", "sent"]


def test_webhook_slow_success_is_sent_again_the_one_documented_window(con, slack):
    slack.delay = 1.5
    [a] = raise_alerts(con)
    with webhook_sender(slack, timeout=0.5) as s:
        assert send_pending(con, s, now=NOW).unknown == 1
    slack.delay = 0.0
    with webhook_sender(slack) as s:
        assert send_pending(con, s, now=NOW + timedelta(minutes=5)).sent == 1
    assert len(slack.webhook_posts) == 2  # a webhook cannot read the channel: README states this window


_CHILD = r"""
import json, sys
from spendwatch.core.config import Config
from spendwatch.delivery import Routing, SlackSender, send_pending
from warehouse.db import connect
db, cfg, env, token, api = sys.argv[1:6]
con = connect(db)
routing = Routing.from_config(Config.model_validate(json.loads(cfg)), environ=json.loads(env), bot_token=token or None)
with SlackSender(routing, api_url=api, concurrency=1) as s:
    send_pending(con, s, flush_every=1)
print("finished")
"""


@pytest.mark.parametrize("path", ["bot", "webhook"])
def test_kill_9_between_send_and_record(warehouse_path, slack, tmp_path, path):
    con = connect(warehouse_path)
    teams = ("search", "vision", "infra")
    alerts = raise_alerts(con, teams=teams)
    con.close()
    cfg = {"teams": [{"name": t, "slack_channel": "C0SEARCH"} for t in teams]}
    env = {} if path == "bot" else {"SLACK_WEBHOOK_URL": slack.hook_url}
    script = tmp_path / "child.py"
    script.write_text(_CHILD)
    child = subprocess.Popen([sys.executable, str(script), str(warehouse_path), json.dumps(cfg), json.dumps(env),
                              BOT_TOKEN if path == "bot" else "", slack.api_url],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})
    seen = []

    def kill_on_second(_req):
        seen.append(1)
        if len(seen) == 2:  # Slack has the second message; the sender dies before it hears so
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=10)

    slack.on_post = kill_on_second
    out, err = child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL and b"finished" not in out, err.decode()[-3000:]
    slack.on_post = None
    con = connect(warehouse_path)
    try:
        [(sending,)] = con.execute("SELECT count(*) FROM alert_deliveries WHERE state = 'sending'").fetchall()
        assert sending == 1  # the attempt was recorded before it was sent
        routing_env = {} if path == "bot" else {"SLACK_WEBHOOK_URL": slack.hook_url}
        routing = Routing.from_config(Config.model_validate(cfg), environ=routing_env, bot_token=BOT_TOKEN if path == "bot" else None)
        with SlackSender(routing, api_url=slack.api_url) as s:
            send_pending(con, s)
        assert {a.delivery for a in wa.list_alerts(con, "all")} == {"sent"}
    finally:
        con.close()
    if path == "bot":  # found in the channel's history: three alerts, three messages
        assert sorted(slack.keys()) == sorted(f"{a.alert_id}:1:alert" for a in alerts)
    else:              # the in-flight one is posted again: three alerts, four posts
        assert len(slack.webhook_posts) == 4


def test_after_a_crash_a_history_that_fails_once_still_keeps_the_bot_from_posting_blind(con, slack, monkeypatch):
    # bench/alerts.py found it: a row left 'sending' by kill -9 was only implicitly unknown; the recovery pass's
    # history read failed (a 500), the row went back to pending as if nothing had been posted, and the pass after
    # posted it blind: a duplicate.  Found 'sending', the row is now flagged unknown until the history is read.
    from spendwatch.delivery import send as send_mod

    [a] = raise_alerts(con)

    def die(*_a, **_k):  # the process dies after Slack took the message, before its answer is recorded
        raise KeyboardInterrupt

    monkeypatch.setattr(send_mod.wa, "record_outcomes", die)
    with pytest.raises(KeyboardInterrupt), bot_sender(slack) as s:
        send_pending(con, s, now=NOW)
    monkeypatch.undo()
    assert len(slack.messages) == 1 and con.execute("SELECT state FROM alert_deliveries").fetchall() == [("sending",)]
    slack.history_error = "internal_error"  # Slack cannot read the channel right now
    with bot_sender(slack) as s:
        assert send_pending(con, s, now=NOW + timedelta(minutes=5)).retry == 1
    slack.history_error = None
    with bot_sender(slack) as s:
        assert send_pending(con, s, now=NOW + timedelta(minutes=10)).sent == 1  # found in the history
    assert len(slack.messages) == 1 and wa.get_alert(con, a.alert_id).delivery == "sent"


# --- 6. channels ----------------------------------------------------------------------------------

def test_enabling_slack_after_console_delivery_delivers_to_slack_once(con, slack):
    import io

    from rich.console import Console

    [a] = raise_alerts(con)
    buf = io.StringIO()
    with SlackSender(Routing.from_config(config(search={}), environ={}), console=Console(file=buf, width=160)) as s:
        assert send_pending(con, s, now=NOW).by_channel == {"console": 1}
    assert "spendwatch alert #1" in buf.getvalue()
    for hours in (1, 2):  # the webhook is set: it gets the alert once
        wa.evaluate(con, as_of=AS_OF, now=NOW + timedelta(hours=hours))
        with webhook_sender(slack) as s:
            send_pending(con, s, now=NOW + timedelta(hours=hours))
    assert len(slack.webhook_posts) == 1
    assert [(c[2], c[4]) for c in wa.deliveries(con, a.alert_id)] == [("console", "sent"), ("webhook", "sent")]


def test_config_check_warns_when_a_team_webhook_variable_is_unset():
    cfg = config(search={"slack_webhook_env": "SLACK_WEBHOOK_SEARCH"}, vision={"slack_webhook_env": "SLACK_WEBHOOK_VISION"}, infra={})
    warnings = unset_webhooks(cfg, {"SLACK_WEBHOOK_VISION": "https://hooks.example/v", "SLACK_WEBHOOK_URL": "https://hooks.example/d"})
    assert warnings == ["team search: webhook variable SLACK_WEBHOOK_SEARCH is not set; its alerts go to the default webhook (SLACK_WEBHOOK_URL)"]
    assert unset_webhooks(cfg, {})[0].endswith("its alerts go to the console")


# --- 7. resolution ---------------------------------------------------------------------------------

def test_resolution_is_a_thread_reply_with_the_bot(con, slack):
    [a] = raise_alerts(con)
    with bot_sender(slack) as s:
        send_pending(con, s, now=NOW)
    spend(con, status="ok", variable="1400.00")  # corrected below the threshold
    assert wa.evaluate(con, as_of=AS_OF, now=NOW + timedelta(hours=1)).resolved == [a.alert_id]
    for hours in (1, 2):
        with bot_sender(slack) as s:
            send_pending(con, s, now=NOW + timedelta(hours=hours))
    first, reply = slack.messages
    assert reply["thread_ts"] == first["ts"] and reply["text"].startswith("Resolved: Spend threshold crossed for *search*, 2026-11")
    assert slack.keys() == [f"{a.alert_id}:1:alert", f"{a.alert_id}:1:resolved"]


def test_resolution_is_a_short_message_with_a_webhook_and_nothing_for_what_never_went_out(con, slack):
    [a] = [x for x in raise_alerts(con, teams=("search", "vision")) if x.team == "search"]
    with webhook_sender(slack, cfg=config(search={}, vision={})) as s:
        send_pending(con, s, now=NOW, ids=[a.alert_id])  # vision's alert is never sent
    spend(con, teams=(), status="ok")
    assert len(wa.evaluate(con, as_of=AS_OF, now=NOW + timedelta(hours=1)).resolved) == 2
    with webhook_sender(slack, cfg=config(search={}, vision={})) as s:
        res = send_pending(con, s, now=NOW + timedelta(hours=1))
    assert res.resolved_sent == 1 and len(slack.webhook_posts) == 2
    assert slack.webhook_posts[1]["text"] == (
        f"Resolved: Spend threshold crossed for *search*, 2026-11 (spendwatch alert #{a.alert_id}): "
        "spend is back under the threshold (corrected or re-attributed).")


# --- 8. content ---------------------------------------------------------------------------------------

def test_threshold_alert_names_the_top_three_lines_worked_by_hand(con):
    # November, team search: openai gpt-4o 700 + 200 = 900.00; anthropic claude-sonnet-4 400.00; runpod H100 (no model) 250.00;
    # together llama 62.40; a dedicated line (not variable) 999 is left out.  Variable total 1,612.40.
    # Shares: 900 / 1612.40 = 0.5582 (55.8 %), 400 / 1612.40 = 0.2481 (24.8 %), 250 / 1612.40 = 0.1550 (15.5 %).
    lines = [("2026-11-03", "search", "openai", "hosted_api", "gpt-4o", None, "700.00"),
             ("2026-11-20", "search", "openai", "hosted_api", "gpt-4o", None, "200.00"),
             ("2026-11-05", "search", "anthropic", "hosted_api", "claude-sonnet-4", None, "400.00"),
             ("2026-11-07", "search", "runpod", "serverless_gpu", None, "H100-80GB", "250.00"),
             ("2026-11-08", "search", "together", "hosted_api", "llama-3-70b", None, "62.40"),
             ("2026-11-09", "search", "gigagpu", "dedicated_gpu", None, "RTX5090", "999.00"),
             ("2026-10-09", "search", "openai", "hosted_api", "gpt-4o", None, "5000.00")]
    [a] = raise_alerts(con, lines=lines)
    assert a.details["drivers"] == [
        {"provider": "openai", "line": "gpt-4o", "amount": "900.00", "share": "0.5582"},
        {"provider": "anthropic", "line": "claude-sonnet-4", "amount": "400.00", "share": "0.2481"},
        {"provider": "runpod", "line": "H100-80GB", "amount": "250.00", "share": "0.1550"}]
    text = json.dumps(build_message(message_of(a)), ensure_ascii=False)
    assert "openai gpt-4o £900.00 (55.8 %); anthropic claude-sonnet-4 £400.00 (24.8 %); runpod H100-80GB £250.00 (15.5 %)" in text


def test_alerts_link_to_the_team_section_of_the_review(con):
    [a] = raise_alerts(con)
    routing = Routing.from_config(Config.model_validate({"teams": [{"name": "search"}], "review": {"base_url": "https://spend.example/review.html"}}),
                                  environ={})
    ctx = build_message(message_of(a, routing))["blocks"][-1]["elements"][0]["text"]
    assert ctx.endswith("<https://spend.example/review.html#team-search|the review>")


def test_untrusted_names_cannot_format_or_ping_in_slack(con):
    lines = [("2026-11-03", "search", "evil", "hosted_api", "*bold* _it_ ~x~ `code` <!channel> &amp;", None, "1612.40")]
    [a] = raise_alerts(con, lines=lines)
    text = json.dumps(build_message(message_of(a)), ensure_ascii=False)
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text and "&amp;amp;" in text
    shown = text[text.index("evil "):text.index("evil ") + 60]
    assert not any(ch in shown for ch in "*_~`")


def test_config_check_prints_the_warning(tmp_path, capsys, monkeypatch):
    from spendwatch import cli

    org = tmp_path / "spendwatch.toml"
    org.write_text('[[teams]]\nname = "search"\nslack_webhook_env = "SLACK_WEBHOOK_SEARCH"\n[exports]\npaths = []\n')
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "https://hooks.example/default")
    assert cli.main(["config", "check", "--config", str(org)]) == 0
    err = capsys.readouterr().err
    assert err == ("warning: team search: webhook variable SLACK_WEBHOOK_SEARCH is not set; "
                   "its alerts go to the default webhook (SLACK_WEBHOOK_URL)\n")


def test_a_channel_named_by_name_is_looked_up_by_the_id_slack_gave_it(con, slack):
    cfg = config(search={"slack_channel": "#search-spend"}, vision={"slack_channel": "#search-spend"})
    first, second = sorted(raise_alerts(con, teams=("search", "vision")), key=lambda a: a.team)

    def sender(**kw):
        return SlackSender(Routing.from_config(cfg, environ={}, bot_token=BOT_TOKEN), api_url=slack.api_url, **kw)

    with sender(timeout=2.0) as s:
        assert send_pending(con, s, now=NOW, ids=[first.alert_id]).sent == 1  # Slack answers with the id C0SEARCH
    slack.delay = 1.5
    with sender(timeout=0.5) as s:
        assert send_pending(con, s, now=NOW, ids=[second.alert_id]).unknown == 1
    slack.delay = 0.0
    with sender(timeout=2.0) as s:
        assert send_pending(con, s, now=NOW + timedelta(minutes=1)).sent == 1
    assert slack.keys() == [f"{first.alert_id}:1:alert", f"{second.alert_id}:1:alert"]  # no second copy


def test_threshold_alert_gives_the_projection_band(con):
    spend(con, status="projected_over", variable="1020.00")
    con.execute("UPDATE threshold_flags SET projected_low = 1650.00, projected_high = 1940.00, band_method = 'backtest'")
    wa.evaluate(con, as_of=AS_OF, now=NOW)
    [a] = wa.list_alerts(con, "all")
    fields = [f["text"] for b in build_message(message_of(a))["blocks"] if b["type"] == "section" and "fields" in b for f in b["fields"]]
    assert "*Projection band (80 %)*\n£1,650.00 – £1,940.00 (backtest)" in fields
