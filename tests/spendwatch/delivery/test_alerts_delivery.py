"""Delivery through the outbox to a local server that answers like Slack's webhook endpoint and chat.postMessage.

Slack's incoming webhooks answer 200 "ok", 400 "invalid_payload", 403 "action_prohibited",
404 "no_service" / "channel_not_found", 410 "channel_is_archived", 429 with Retry-After, 500;
chat.postMessage answers 200 {"ok": false, "error": "..."} for its own errors.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import date, datetime, timedelta

import pytest
from werkzeug import Response

from spendwatch.core.config import Config
from spendwatch.core.redact import MASK, RedactingFilter, redact, redact_exception, register
from spendwatch.delivery import Routing, SlackSender, send_pending
from tests.spendwatch.delivery.alert_models import alert_inputs, threshold_tables
from warehouse import alerts as wa

NOW = datetime(2026, 11, 28, 7, 0)
HOOK_PATH = "/services/T0001TEST/B0002TEST/s3cr3tW3bh00kT0ken"


def set_over(con, teams=("search",)):
    """threshold_flags / team_monthly_spend with each team over its £1,500 threshold in November 2026."""
    alert_inputs(con)
    threshold_tables(con)
    for t in teams:
        con.execute("INSERT INTO threshold_flags VALUES (DATE '2026-11-01', ?, 'GBP', 1612.40, 1791.56, 27, 1500.00, 'GBP', 'over', DATE '2026-11-21', NULL, ?, NULL, NULL, NULL, NULL)",
                    [t, t == "unallocated"])


def config(**teams) -> Config:
    return Config.model_validate({"teams": [{"name": n, **v} for n, v in teams.items()] or [{"name": "search"}]})


def sender_for(url=None, *, cfg=None, env=None, **kw) -> SlackSender:
    environ = dict(env or {})
    if url:
        environ["SLACK_WEBHOOK_URL"] = url
    return SlackSender(Routing.from_config(cfg or config(search={}), environ=environ), timeout=2.0, **kw)


def raise_one(con, teams=("search",)):
    set_over(con, teams)
    wa.evaluate(con, as_of=date(2026, 11, 27), now=NOW)
    return wa.list_alerts(con, "all")


def slack_posts(httpserver, path=HOOK_PATH):
    return [req for req, _ in httpserver.log if req.path == path]


# --- the happy path and exactly once -------------------------------------------------------

def test_exactly_one_delivery_across_three_runs(con, httpserver):
    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_data("ok", content_type="text/html")
    url = httpserver.url_for(HOOK_PATH)
    for run in range(3):
        set_over(con)
        wa.evaluate(con, as_of=date(2026, 11, 27), now=NOW + timedelta(days=run))
        with sender_for(url) as s:
            send_pending(con, s, now=NOW + timedelta(days=run))
    [req] = slack_posts(httpserver)
    body = json.loads(req.get_data())
    assert body["blocks"][0]["text"]["text"] == "Spend threshold crossed"
    assert "£1,612.40" in body["text"] and "spendwatch review --team search --month 2026-11" in body["text"]
    [a] = wa.list_alerts(con, "all")
    assert (a.delivery, a.channel, a.destination, a.response_status, a.response_body, a.attempts) == (
        "sent", "webhook", "SLACK_WEBHOOK_URL", 200, "ok", 1)
    assert a.sent_at == NOW


def test_a_500_then_recovery_delivers_once(con, httpserver):
    httpserver.expect_oneshot_request(HOOK_PATH, method="POST").respond_with_data("rollup_error", status=500)
    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_data("ok")
    url = httpserver.url_for(HOOK_PATH)
    [a] = raise_one(con)
    with sender_for(url) as s:
        first = send_pending(con, s, now=NOW)
    assert (first.sent, first.retry, first.pending) == (0, 1, 1)
    b = wa.get_alert(con, a.alert_id)
    assert (b.delivery, b.attempts, b.last_error, b.next_attempt_at) == ("pending", 1, "HTTP 500: rollup_error", None)
    # the next run (or `spendwatch alerts send`) retries it
    wa.evaluate(con, as_of=date(2026, 11, 27), now=NOW + timedelta(hours=1))
    with sender_for(url) as s:
        second = send_pending(con, s, now=NOW + timedelta(hours=1))
    assert (second.sent, second.pending) == (1, 0)
    c = wa.get_alert(con, a.alert_id)
    assert (c.delivery, c.attempts, c.last_error) == ("sent", 2, None)
    assert [r[4] for r in wa.attempts(con, a.alert_id)] == ["retry", "sent"]
    assert [r[1].status_code for r in httpserver.log] == [500, 200]


def test_a_429_is_honoured_with_retry_after_in_the_same_pass(con, httpserver):
    httpserver.expect_oneshot_request(HOOK_PATH).respond_with_response(Response("rate_limited", status=429, headers={"Retry-After": "1"}))
    httpserver.expect_request(HOOK_PATH).respond_with_data("ok")
    [a] = raise_one(con)
    started = time.monotonic()
    with sender_for(httpserver.url_for(HOOK_PATH)) as s:
        res = send_pending(con, s, now=NOW)
    elapsed = time.monotonic() - started
    assert res.sent == 1 and elapsed >= 0.95
    times = [r[1] for r in wa.attempts(con, a.alert_id)]
    assert [r[4:7] for r in wa.attempts(con, a.alert_id)] == [("retry", 429, 1.0), ("sent", 200, None)]
    assert len(times) == 2 and wa.get_alert(con, a.alert_id).attempts == 2


def test_a_long_retry_after_leaves_it_pending_until_then(con, httpserver):
    httpserver.expect_oneshot_request(HOOK_PATH).respond_with_response(Response("rate_limited", status=429, headers={"Retry-After": "120"}))
    httpserver.expect_request(HOOK_PATH).respond_with_data("ok")
    [a] = raise_one(con)
    url = httpserver.url_for(HOOK_PATH)
    with sender_for(url) as s:
        assert send_pending(con, s, now=NOW).retry == 1
    b = wa.get_alert(con, a.alert_id)
    assert b.delivery == "pending" and b.next_attempt_at == NOW + timedelta(seconds=120)
    with sender_for(url) as s:
        assert send_pending(con, s, now=NOW + timedelta(seconds=60)).attempted == 0
    assert len(slack_posts(httpserver)) == 1
    with sender_for(url) as s:
        assert send_pending(con, s, now=NOW + timedelta(seconds=121)).sent == 1


@pytest.mark.parametrize("status, body", [(400, "invalid_payload"), (403, "action_prohibited"), (404, "no_service"),
                                          (404, "channel_not_found"), (410, "channel_is_archived")])
def test_a_permanent_error_fails_and_is_not_retried(con, httpserver, status, body):
    httpserver.expect_request(HOOK_PATH).respond_with_data(body, status=status)
    [a] = raise_one(con)
    url = httpserver.url_for(HOOK_PATH)
    with sender_for(url) as s:
        res = send_pending(con, s, now=NOW)
    assert (res.failed, res.failed_total, res.pending) == (1, 1, 0)
    for later in (1, 2):
        wa.evaluate(con, as_of=date(2026, 11, 27), now=NOW + timedelta(days=later))
        with sender_for(url) as s:
            assert send_pending(con, s, now=NOW + timedelta(days=later)).attempted == 0
    assert len(slack_posts(httpserver)) == 1
    [f] = wa.failed_alerts(con)
    assert (f.alert_id, f.delivery, f.last_error, f.response_status) == (a.alert_id, "failed", f"HTTP {status}: {body}", status)
    # fixed the webhook: queue it again on purpose
    assert wa.retry_failed(con) == [a.alert_id]


def test_slack_down_keeps_alerts_pending_and_never_raises(con):
    raise_one(con, teams=("search", "vision"))
    dead = "http://127.0.0.1:9" + HOOK_PATH  # discard port: connection refused
    with sender_for(dead) as s:
        res = send_pending(con, s, now=NOW)
    assert (res.sent, res.retry + res.deferred, res.pending) == (0, 2, 2)
    for b in wa.list_alerts(con, "pending"):
        assert b.attempts == 1 and b.last_error.startswith("connection error: URLError")
        assert "127.0.0.1:9" not in b.last_error and "s3cr3t" not in b.last_error


def test_an_endpoint_failing_repeatedly_is_left_for_the_next_pass(con, httpserver):
    httpserver.expect_request(HOOK_PATH).respond_with_data("service unavailable", status=503)
    raise_one(con, teams=tuple(f"t{i}" for i in range(8)))
    with sender_for(httpserver.url_for(HOOK_PATH), concurrency=1, breaker_limit=3) as s:
        res = send_pending(con, s, now=NOW)
    assert (res.retry, res.deferred, res.pending) == (3, 5, 8)
    assert len(slack_posts(httpserver)) == 3


# --- routing ------------------------------------------------------------------------------

def test_each_team_posts_to_its_own_webhook_and_the_rest_to_the_default(con, httpserver):
    httpserver.expect_request("/vision").respond_with_data("ok")
    httpserver.expect_request("/default").respond_with_data("ok")
    cfg = config(vision={"slack_webhook_env": "SLACK_WEBHOOK_VISION"}, search={}, research={"slack_webhook_env": "SLACK_WEBHOOK_RESEARCH"})
    env = {"SLACK_WEBHOOK_URL": httpserver.url_for("/default"), "SLACK_WEBHOOK_VISION": httpserver.url_for("/vision")}
    raise_one(con, teams=("vision", "search", "research", "unallocated"))
    with SlackSender(Routing.from_config(cfg, environ=env)) as s:
        send_pending(con, s, now=NOW)
    dest = {a.team: a.destination for a in wa.list_alerts(con, "all")}
    # research names a variable that is not set: it falls back to the default channel rather than nowhere
    assert dest == {"vision": "SLACK_WEBHOOK_VISION", "search": "SLACK_WEBHOOK_URL", "research": "SLACK_WEBHOOK_URL",
                    "unallocated": "SLACK_WEBHOOK_URL"}
    assert len(slack_posts(httpserver, "/vision")) == 1 and len(slack_posts(httpserver, "/default")) == 3


# --- chat.postMessage with a bot token ---------------------------------------------------------

BOT_TOKEN = "xoxb-1111111111-2222222222-abcdefghijklmnopqrstuvwx"


def bot_sender(httpserver) -> SlackSender:
    cfg = config(search={"slack_channel": "#search-spend"})
    return SlackSender(Routing.from_config(cfg, environ={}, bot_token=BOT_TOKEN), api_url=httpserver.url_for("/api/chat.postMessage"))


def test_bot_token_posts_to_the_team_channel(con, httpserver):
    httpserver.expect_request("/api/chat.postMessage", method="POST",
                              headers={"Authorization": f"Bearer {BOT_TOKEN}"}).respond_with_json({"ok": True, "channel": "C1", "ts": "1.2"})
    [a] = raise_one(con)
    with bot_sender(httpserver) as s:
        assert send_pending(con, s, now=NOW).sent == 1
    [req] = slack_posts(httpserver, "/api/chat.postMessage")
    body = json.loads(req.get_data())
    assert body["channel"] == "#search-spend" and body["metadata"] == {"event_type": "spendwatch_alert", "event_payload": {"key": f"{a.alert_id}:1:alert"}}
    assert wa.get_alert(con, a.alert_id).channel == "bot"


@pytest.mark.parametrize("error, delivery", [("channel_not_found", "failed"), ("not_in_channel", "failed"), ("invalid_auth", "failed"),
                                             ("internal_error", "pending"), ("ratelimited", "pending")])
def test_bot_ok_false_is_a_failure_permanent_or_not(con, httpserver, error, delivery):
    headers = {"Retry-After": "30"} if error == "ratelimited" else {}
    httpserver.expect_request("/api/chat.postMessage").respond_with_response(
        Response(json.dumps({"ok": False, "error": error}), status=429 if error == "ratelimited" else 200,
                 headers=headers, content_type="application/json"))
    [a] = raise_one(con)
    with bot_sender(httpserver) as s:
        send_pending(con, s, now=NOW)
    b = wa.get_alert(con, a.alert_id)
    assert b.delivery == delivery
    assert error in b.last_error or b.response_status == 429
    assert BOT_TOKEN not in (b.last_error or "") and BOT_TOKEN not in (b.response_body or "")


# --- secrets -----------------------------------------------------------------------------------

def test_the_webhook_url_never_reaches_logs_stored_errors_or_attempts(con, httpserver, caplog):
    caplog.set_level(logging.WARNING, logger="werkzeug")  # the fake Slack's own access log (it is Slack's, not ours)
    caplog.set_level(logging.DEBUG)  # after: set_level also sets the capturing handler's level
    httpserver.expect_oneshot_request(HOOK_PATH).respond_with_data("rollup_error", status=500)
    httpserver.expect_oneshot_request(HOOK_PATH).respond_with_data("no_service", status=404)
    url = httpserver.url_for(HOOK_PATH)
    raise_one(con, teams=("search",))
    with sender_for(url) as s:
        send_pending(con, s, now=NOW)   # 500: pending
        send_pending(con, s, now=NOW)   # 404: failed
    raise_one(con, teams=("search", "vision"))
    with sender_for("http://127.0.0.1:9" + HOOK_PATH) as s:  # connection refused
        send_pending(con, s, now=NOW)
    assert "permanent Slack error" in caplog.text  # what went wrong is logged ...
    assert HOOK_PATH not in caplog.text and "s3cr3tW3bh00kT0ken" not in caplog.text  # ... never the URL
    stored = json.dumps([a.as_json() for a in wa.list_alerts(con, "all")], default=str)
    stored += json.dumps(con.execute("SELECT * FROM alert_attempts").fetchall(), default=str)
    assert "s3cr3tW3bh00kT0ken" not in stored and "HTTP 404: no_service" in stored and "HTTP 500: rollup_error" in stored


def test_redact_masks_registered_secrets_and_known_shapes():
    register("https://example.test/hooks/abcdef0123456789")
    assert redact("POST https://example.test/hooks/abcdef0123456789 failed") == f"POST {MASK} failed"
    assert redact("path /hooks/abcdef0123456789 only") == f"path {MASK} only"
    assert redact("x https%3A%2F%2Fexample.test%2Fhooks%2Fabcdef0123456789 y") == f"x {MASK} y"
    assert redact("to https://hooks.slack.com/services/T1/B2/xyz, ok") == f"to {MASK}, ok"
    assert redact("token xoxb-123456-abcdef used") == f"token {MASK} used"
    assert redact("Authorization: Bearer abc.def.ghi") == f"Authorization: Bearer {MASK}"
    assert redact("given secret here", ["given secret"]) == f"{MASK} here"
    # a JSON error body (a billing API or proxy echoing the request): the quoted key before the colon
    assert redact('{"error": "invalid", "api_key": "sk_live_abcdefghijkl", "n": 1}') == f'{{"error": "invalid", "api_key": {MASK}, "n": 1}}'
    assert redact(None) == ""

    class Boom(Exception):
        pass

    assert redact_exception(Boom("cannot reach https://hooks.slack.com/services/T1/B2/c")) == f"Boom: cannot reach {MASK}"
    record = logging.LogRecord("httpx", logging.INFO, __file__, 1, "HTTP Request: POST %s", ("https://hooks.slack.com/services/A/B/C",), None)
    RedactingFilter().filter(record)
    assert record.getMessage() == f"HTTP Request: POST {MASK}"
