"""Sending one message to one channel through slack-sdk, and what Slack's answer means (no database here).

Webhooks go through ``slack_sdk.webhook.WebhookClient``, the bot through ``slack_sdk.web.WebClient``
(``chat.postMessage``, ``conversations.history``), both with slack-sdk's own retries turned off: a
request retried behind our back could post twice, so every retry is decided here and recorded in the
outbox.  Delivered means Slack said so: a webhook answer counts only when its status is 200 and its
body is ``ok``, a Web API answer only when it holds ``"ok": true``.  Anything else is a failure whose
reason is redacted (whole, before it is cut) and classified:

* ``sent``;
* ``retry``: not posted, try again (connection refused, 408, 5xx, Slack ``internal_error`` …);
* ``failed``: permanent (other 4xx, ``channel_not_found``, a 200 whose body is not ``ok`` …);
* ``deferred``: not tried in this pass (the endpoint is rate limited for longer than the pass can wait,
  or failing), with ``retry_in`` when Slack said how long (``Retry-After``, parsed once by
  :func:`spendwatch.core.http.parse_retry_after` and capped);
* ``unknown``: the request went out and no answer came back (a timeout, a dropped connection):
  Slack may have posted it.  With a bot token each message carries its key in message metadata and
  the sender looks for it in the channel's recent history before trying again; a webhook cannot
  read the channel, so it is sent again (the one window in which a webhook duplicate is possible).
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
import time
import urllib.error
import urllib.parse
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web import WebClient
from slack_sdk.webhook import WebhookClient

from spendwatch.core.http import Budget, parse_retry_after
from spendwatch.core.redact import excerpt, install_log_redaction, redact_exception
from spendwatch.delivery.messages import (
    CONSOLE, AlertMessage, build_message, build_resolved, console_markup, resolved_text,
)
from spendwatch.delivery.routing import Destination, Routing
from spendwatch.render import one_line

log = logging.getLogger("spendwatch.delivery")
# slack-sdk logs every failure (and, at DEBUG, every body) on its own: we report each outcome once, redacted.
_SDK_LOG = logging.getLogger("spendwatch.delivery.slack_sdk")
_SDK_LOG.setLevel(logging.CRITICAL)

SLACK_API_BASE = "https://slack.com/api/"
METADATA_EVENT = "spendwatch_alert"
RETRY_AFTER_CAP = 3600.0   # the longest Retry-After we honour: past it (or inf, nan, garbage) counts as this
BODY_EXCERPT = 200
HISTORY_PAGES = 5          # conversations.history pages searched for an unknown outcome (200 messages each)
HISTORY_MARGIN = 300       # seconds before the unknown attempt that the search starts from

# chat.postMessage answers 200 {"ok": false, "error": ...}; these errors will not go away by retrying.
PERMANENT_BOT_ERRORS = frozenset({
    "channel_not_found", "not_in_channel", "is_archived", "invalid_auth", "not_authed", "account_inactive",
    "token_revoked", "token_expired", "no_permission", "missing_scope", "restricted_action", "ekm_access_denied",
    "invalid_blocks", "invalid_blocks_format", "msg_too_long", "no_text", "too_many_attachments", "invalid_arguments",
    "invalid_arg_name", "invalid_charset", "invalid_form_data", "invalid_post_type", "missing_post_type",
    "as_user_not_supported", "team_access_not_granted", "duplicate_channel_not_found", "access_denied",
})
RETRYABLE_BOT_ERRORS = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"})



@dataclass(frozen=True)
class Request:
    """One message to one channel: the alert, which message (``alert``, ``reminder:DATE``, ``resolved``) and where.

    ``key`` (alert id, occurrence and message) goes into the bot message's metadata.  ``unknown_since`` is set
    when an earlier attempt's outcome is unknown: the bot looks for the key in the channel before sending.
    """

    alert: AlertMessage
    message: str
    destination: Destination
    key: str
    thread_ts: str | None = None
    unknown_since: datetime | None = None
    channel_id: str | None = None  # the id Slack answered with for this channel before, when the config names it


@dataclass(frozen=True)
class Attempt:
    """One request (or console print) and what came of it, for the audit trail."""

    at: datetime
    outcome: Literal["sent", "retry", "failed", "unknown"]
    status_code: int | None = None
    retry_after: float | None = None
    error: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What became of one message in one send pass (all text redacted); see the module docstring for ``status``."""

    status: Literal["sent", "retry", "failed", "deferred", "unknown"]
    channel: str
    destination: str
    status_code: int | None = None
    body: str | None = None
    error: str | None = None
    retry_in: float | None = None
    attempts: tuple[Attempt, ...] = ()
    slack_channel: str | None = None  # bot: the channel id and ts of the posted message (a resolution threads on it)
    slack_ts: str | None = None


class _Gate:
    """Per-endpoint 'not before' times, shared by the worker threads, so one 429 slows every request to that endpoint."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._not_before: dict[str, float] = {}

    def wait_time(self, key: str) -> float:
        with self._lock:
            return max(0.0, self._not_before.get(key, 0.0) - time.monotonic())

    def block(self, key: str, seconds: float) -> None:
        with self._lock:
            until = time.monotonic() + seconds
            if until > self._not_before.get(key, 0.0):
                self._not_before[key] = until


class _Breaker:
    """Per-endpoint count of consecutive transient failures in this pass; at the limit, the rest wait for the next pass."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._fails: dict[str, int] = {}

    def reset(self) -> None:
        with self._lock:
            self._fails.clear()

    def open(self, key: str) -> bool:
        with self._lock:
            return self.limit > 0 and self._fails.get(key, 0) >= self.limit

    def record(self, key: str, ok: bool) -> None:
        with self._lock:
            self._fails[key] = 0 if ok else self._fails.get(key, 0) + 1


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class _HistoryError(RuntimeError):
    """conversations.history could not be read; ``error`` is Slack's error code when it gave one."""

    def __init__(self, message: str, error: str | None = None) -> None:
        super().__init__(message)
        self.error = error


def _unusable_url(url: str | None) -> str | None:
    """Why a webhook URL cannot be posted to (nothing is sent), or None when it is an http(s) URL with a host."""
    try:
        parts = urllib.parse.urlsplit(url or "")
        host = parts.hostname
    except ValueError as e:
        return f"not a URL ({type(e).__name__})"
    if parts.scheme not in ("http", "https"):
        return "not an http(s) URL"
    if not host:
        return "a URL without a host"
    return None


def _transport_outcome(e: BaseException) -> str:
    """``retry`` when the request certainly did not reach Slack, ``unknown`` when it may have."""
    reason = e.reason if isinstance(e, urllib.error.URLError) else e
    if isinstance(reason, (ConnectionRefusedError, socket.gaierror)):
        return "retry"
    if isinstance(reason, (TimeoutError, socket.timeout, ConnectionResetError, http.client.HTTPException, OSError)):
        return "unknown"
    return "unknown"


class SlackSender:
    """Delivers messages through slack-sdk; thread-safe, so a send pass can run several deliveries at once."""

    def __init__(
        self,
        routing: Routing,
        *,
        timeout: float = 10.0,
        pass_budget: float | None = 60.0,
        max_retry_after: float = 5.0,
        max_rate_limit_waits: int = 3,
        breaker_limit: int = 5,
        concurrency: int = 8,
        api_url: str = SLACK_API_BASE,
        console: Any | None = None,
    ) -> None:
        install_log_redaction()
        self.routing = routing
        self.timeout = timeout
        self.pass_budget = pass_budget
        self.max_retry_after = max_retry_after
        self.max_rate_limit_waits = max_rate_limit_waits
        self.concurrency = max(1, concurrency)
        base = api_url.removesuffix("chat.postMessage")
        self.api_base = base if base.endswith("/") else base + "/"
        self._gate = _Gate()
        self._breaker = _Breaker(breaker_limit)
        self._budget = Budget(pass_budget)
        self._console = console
        self._console_lock = threading.Lock()
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()

    # -- lifecycle
    def close(self) -> None:
        self._clients.clear()

    def __enter__(self) -> "SlackSender":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def begin_pass(self) -> None:
        """A new send pass: a fresh time budget, and endpoints that were failing get another chance."""
        self._breaker.reset()
        self._budget = Budget(self.pass_budget)

    def destination(self, team: str) -> Destination:
        return self.routing.destination(team)

    def _webhook(self, dest: Destination) -> WebhookClient:
        with self._clients_lock:
            c = self._clients.get(dest.key)
            if c is None:
                c = self._clients[dest.key] = WebhookClient(dest.url or "", timeout=self.timeout, retry_handlers=[],
                                                            user_agent_prefix="spendwatch-alerts", logger=_SDK_LOG)
            return c

    def _web(self) -> WebClient:
        with self._clients_lock:
            c = self._clients.get("bot")
            if c is None:
                c = self._clients["bot"] = WebClient(token=self.routing.bot_token, base_url=self.api_base,
                                                     timeout=int(max(1, self.timeout)), retry_handlers=[],
                                                     user_agent_prefix="spendwatch-alerts", logger=_SDK_LOG)
                c.timeout = self.timeout  # urllib takes a float; the constructor's annotation says int
            return c

    # -- delivery
    def deliver_alert(self, alert: AlertMessage) -> Outcome:
        """Send an alert to its team's destination, outside the outbox (a run failure when the warehouse is down)."""
        dest = self.routing.destination(alert.team)
        return self.deliver(Request(alert, "alert", dest, f"{alert.alert_id}:{alert.occurrence}:alert"))

    def deliver(self, req: Request) -> Outcome:
        """Send one message and classify the answer; never raises for Slack or network trouble."""
        dest = req.destination
        attempts: list[Attempt] = []
        secrets = self.routing.secrets()

        def done(status, code=None, body=None, error=None, retry_in=None, ch=None, ts=None) -> Outcome:
            return Outcome(status, dest.channel, dest.label, code, body, error, retry_in, tuple(attempts), ch, ts)

        if dest.channel == "console":
            self._to_console(req)
            attempts.append(Attempt(_utcnow(), "sent"))
            return done("sent")
        if self._breaker.open(dest.key):
            return done("deferred", error="endpoint failing in this pass; left for the next pass")
        if dest.channel == "bot" and req.unknown_since is not None:
            try:
                found = self._find_in_history(req)
            except Exception as e:  # cannot tell whether it went out: do not post blind
                err = f"outcome of an earlier attempt unknown and the channel history could not be read: {self._reason(e, secrets)}"
                if getattr(e, "error", None) in PERMANENT_BOT_ERRORS:  # a missing scope will not come back by itself
                    err += " (the bot needs channels:history / groups:history and to be in the channel; then `spendwatch alerts retry`)"
                    attempts.append(Attempt(_utcnow(), "failed", error=err))
                    return done("failed", error=err)
                attempts.append(Attempt(_utcnow(), "retry", error=err))
                return done("retry", error=err)
            if found:
                attempts.append(Attempt(_utcnow(), "sent", error="found in the channel history: already posted"))
                return done("sent", 200, "found in channel history", ch=found[0], ts=found[1])
        if dest.channel == "webhook" and (why := _unusable_url(dest.url)):
            err = f"destination {dest.label} is not usable: its value is {why}; nothing was sent"
            attempts.append(Attempt(_utcnow(), "failed", error=err))
            return done("failed", error=err)
        payload = build_resolved(req.alert) if req.message == "resolved" else build_message(req.alert)
        waits = 0
        while True:
            wait = self._gate.wait_time(dest.key)
            if wait > self.max_retry_after or not self._budget.allows(wait):
                return done("deferred", error=f"rate limited: Slack asked to wait {wait:.1f} s, past this pass's budget",
                            retry_in=wait)
            if wait > 0:
                time.sleep(wait)
            at = _utcnow()
            try:
                code, body, headers, ch, ts = (self._post_webhook(dest, payload) if dest.channel == "webhook"
                                               else self._post_bot(req, payload))
            except SlackRequestError as e:
                err = f"destination {dest.label} is not usable: {self._reason(e, secrets)}"
                attempts.append(Attempt(at, "failed", error=err))
                return done("failed", error=err)
            except Exception as e:
                outcome = _transport_outcome(e)
                self._breaker.record(dest.key, ok=False)
                what = "no answer (the message may have been posted)" if outcome == "unknown" else "connection error"
                err = f"{what}: {self._reason(e, secrets)}"
                attempts.append(Attempt(at, outcome, error=err))
                return done(outcome, error=err)
            body_x = one_line(excerpt(body, BODY_EXCERPT, secrets))  # redacted whole, cut, one clean line
            status, error, rate_limited = self._classify(dest, code, body, body_x)
            if rate_limited:
                retry_after = parse_retry_after(headers.get("Retry-After") or headers.get("retry-after"), cap=RETRY_AFTER_CAP)
                retry_after = 1.0 if retry_after is None else retry_after
                self._gate.block(dest.key, retry_after)
                attempts.append(Attempt(at, "retry", code, retry_after, error))
                waits += 1
                if retry_after <= self.max_retry_after and waits <= self.max_rate_limit_waits and self._budget.allows(retry_after):
                    continue  # the gate makes this thread (and the others on this endpoint) wait first
                return done("retry", code, body_x, error, retry_in=retry_after)
            attempts.append(Attempt(at, status, code, None, error))
            self._breaker.record(dest.key, ok=status != "retry")
            if status == "failed":
                log.warning("alert #%s: permanent Slack error, not retrying: %s", req.alert.alert_id, error)
            return done(status, code, body_x, error, ch=ch, ts=ts)

    @staticmethod
    def _reason(e: BaseException, secrets: list[str]) -> str:
        return one_line(excerpt(redact_exception(e, secrets), BODY_EXCERPT))

    def _post_webhook(self, dest: Destination, payload: dict[str, Any]):
        resp = self._webhook(dest).send_dict(payload)
        return resp.status_code, resp.body or "", dict(resp.headers or {}), None, None

    def _post_bot(self, req: Request, payload: dict[str, Any]):
        dest = req.destination
        args: dict[str, Any] = {"channel": dest.slack_channel, "text": payload["text"], "blocks": payload["blocks"],
                                "unfurl_links": False, "unfurl_media": False,
                                "metadata": {"event_type": METADATA_EVENT, "event_payload": {"key": req.key}}}
        if req.thread_ts:
            args["thread_ts"] = req.thread_ts
        try:
            resp = self._web().chat_postMessage(**args)
        except SlackApiError as e:
            resp = e.response
        data = resp.data if isinstance(resp.data, dict) else {}
        body = _json_text(data) if data else str(resp.data or "")
        return resp.status_code, body, dict(resp.headers or {}), data.get("channel"), data.get("ts") if data.get("ok") is True else None

    def _find_in_history(self, req: Request) -> tuple[str, str] | None:
        """(channel, ts) of a message carrying this request's key in the channel's recent history, or None."""
        oldest = req.unknown_since.replace(tzinfo=timezone.utc).timestamp() - HISTORY_MARGIN if req.unknown_since else 0
        cursor = None
        for _ in range(HISTORY_PAGES):
            try:
                resp = self._web().conversations_history(channel=req.channel_id or req.destination.slack_channel,
                                                         oldest=f"{oldest:.6f}",
                                                         include_all_metadata=True, limit=200, cursor=cursor)
            except SlackApiError as e:
                code = (e.response.data or {}).get("error") if isinstance(e.response.data, dict) else None
                raise _HistoryError(f"conversations.history: {code or e.response.status_code}", code) from None
            data = resp.data if isinstance(resp.data, dict) else {}
            if data.get("ok") is not True:
                raise _HistoryError("conversations.history did not answer ok", data.get("error"))
            for m in data.get("messages") or []:
                meta = m.get("metadata") or {}
                if meta.get("event_type") == METADATA_EVENT and (meta.get("event_payload") or {}).get("key") == req.key:
                    return req.channel_id or req.destination.slack_channel, m.get("ts")
            cursor = (data.get("response_metadata") or {}).get("next_cursor")
            if not data.get("has_more") or not cursor:
                return None
        return None

    @staticmethod
    def _classify(dest: Destination, code: int, body: str, body_x: str) -> tuple[str, str | None, bool]:
        """(sent | retry | failed, error, rate_limited) for one HTTP answer."""
        if dest.channel == "bot":
            try:
                data = json.loads(body) if body else {}
            except ValueError:
                data = {}
            if code == 200 and isinstance(data, dict) and data.get("ok") is True:
                return "sent", None, False
            err = str(data.get("error") or "") if isinstance(data, dict) else ""
            if code == 429 or err == "ratelimited":
                return "retry", "chat.postMessage: rate limited", True
            if code == 408 or code >= 500 or err in RETRYABLE_BOT_ERRORS:
                return "retry", f"chat.postMessage: HTTP {code} {excerpt(err, 80) or body_x}".strip(), False
            if not err:
                return "failed", f"chat.postMessage: HTTP {code}, answer without \"ok\": true: {body_x}".strip(), False
            note = "" if err in PERMANENT_BOT_ERRORS else " (unknown error, treated as permanent)"
            return "failed", f"chat.postMessage: {excerpt(err, 80)}{note}", False
        if code == 200 and body.strip() == "ok":
            return "sent", None, False
        if code == 429:
            return "retry", f"HTTP 429 rate limited: {body_x}".strip(), True
        if code == 408 or code >= 500:
            return "retry", f"HTTP {code}: {body_x}".strip(), False
        if 300 <= code < 400:
            return "failed", f"HTTP {code}: Slack redirected the request; check the webhook URL in {dest.label}", False
        if code == 200:
            return "failed", f"HTTP 200 without the body ok (so not delivered): {body_x}".strip(), False
        return "failed", f"HTTP {code}: {body_x}".strip(), False

    def _to_console(self, req: Request) -> None:
        from rich.console import Console
        from rich.panel import Panel

        a = req.alert
        with self._console_lock:
            console = self._console or Console(highlight=False)
            if req.message == "resolved":
                console.print(Panel(resolved_text(a, CONSOLE), title=f"spendwatch alert #{a.alert_id} resolved", expand=False))
            else:
                console.print(Panel(console_markup(a), title=f"spendwatch alert #{a.alert_id}", expand=False))


def _json_text(data: dict[str, Any]) -> str:
    return json.dumps(data, default=str)
