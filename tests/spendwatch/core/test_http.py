"""spendwatch.core.http: Retry-After parsing, retries, budgets and failure kinds (httpx MockTransport, no network)."""

from __future__ import annotations

import asyncio
import gzip
from datetime import datetime, timezone

import httpx
import pytest

from spendwatch.core.http import (
    Budget,
    HttpError,
    HttpPolicy,
    Retry,
    RetryDeferred,
    arequest,
    parse_retry_after,
    request,
    retry_call,
)

NOW = datetime(2026, 12, 6, 12, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("120", 120.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("1e12", 300.0),  # past the cap
        ("inf", 300.0),
        ("Infinity", 300.0),
        ("-inf", 300.0),
        ("nan", 300.0),
        ("-5", 300.0),  # negative: garbage
        ("soon", 300.0),
        ("12 seconds", 300.0),
        ("300", 300.0),
        ("301", 300.0),
        # HTTP-dates (RFC 9110 IMF-fixdate), measured from NOW = Sun, 06 Dec 2026 12:00:00 GMT
        ("Sun, 06 Dec 2026 12:01:30 GMT", 90.0),
        ("Sun, 06 Dec 2026 11:00:00 GMT", 0.0),  # in the past: retry now
        ("Mon, 07 Dec 2026 12:00:00 GMT", 300.0),  # a day away: the cap
        ("Fri, 31 Dec 9999 23:59:59 GMT", 300.0),
        ("Sun, 99 Foo 2026 12:00:00 GMT", 300.0),
    ],
)
def test_parse_retry_after(value, expected):
    assert parse_retry_after(value, cap=300, now=NOW) == expected


def test_parse_retry_after_never_raises_on_a_bad_cap():
    assert parse_retry_after("5", cap=float("nan")) == 0.0
    assert parse_retry_after("5", cap=float("inf")) == 0.0


def _client(handler, **kw) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler), **kw)


def _policy(waits: list[float], **kw) -> HttpPolicy:
    kw.setdefault("attempts", 4)
    kw.setdefault("max_delay", 30)
    return HttpPolicy(sleep=waits.append, rng=lambda: 1.0, **kw)


def test_retries_503_honouring_retry_after_then_succeeds():
    calls = []

    def handler(req):
        calls.append(req)
        if len(calls) == 1:
            return httpx.Response(503, headers={"Retry-After": "7"})
        if len(calls) == 2:
            return httpx.Response(429, headers={"Retry-After": "1e12"})
        return httpx.Response(200, text="ok")

    waits: list[float] = []
    with _client(handler) as c:
        resp = request(c, "GET", "https://example.test/p", policy=_policy(waits))
    assert resp.text == "ok"
    assert waits == [7.0, 30.0]  # the second Retry-After is past the cap: the cap


def test_backoff_doubles_with_jitter_when_no_retry_after():
    waits: list[float] = []
    with _client(lambda req: httpx.Response(502)) as c, pytest.raises(HttpError) as ei:
        request(c, "GET", "https://example.test/p", policy=_policy(waits, backoff=0.5))
    # rng() = 1.0: the top of each jitter window, 0.5 * 2**n
    assert waits == [0.5, 1.0, 2.0]
    assert ei.value.kind == "status" and ei.value.status == 502 and ei.value.attempts == 4


def test_non_retry_status_is_returned_at_once():
    waits: list[float] = []
    with _client(lambda req: httpx.Response(404)) as c:
        assert request(c, "GET", "https://example.test/p", policy=_policy(waits)).status_code == 404
    assert waits == []


def test_a_wait_past_the_budget_defers_the_work():
    clock = [0.0]
    budget = Budget(60, clock=lambda: clock[0])
    clock[0] = 50.0  # 10 s left of the pass
    waits: list[float] = []
    with _client(lambda req: httpx.Response(429, headers={"Retry-After": "20"})) as c, pytest.raises(RetryDeferred) as ei:
        request(c, "GET", "https://example.test/p", policy=_policy(waits), budget=budget)
    assert waits == []  # never waited
    assert ei.value.kind == "deferred" and ei.value.retry_after == 20.0 and ei.value.attempts == 1
    assert "next pass" in str(ei.value)


def test_redirect_loop_fails_without_retrying():
    calls = []

    def handler(req):
        calls.append(req)
        return httpx.Response(302, headers={"Location": str(req.url)})

    with _client(handler, follow_redirects=True) as c, pytest.raises(HttpError) as ei:
        request(c, "GET", "https://example.test/loop", policy=_policy([]))
    assert ei.value.kind == "redirect_loop"
    assert len(calls) == 21  # one request plus httpx's 20 redirects, once: not retried


def test_bad_content_encoding_fails_without_retrying():
    calls = []

    def handler(req):
        calls.append(req)
        return httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=b"not gzip at all")

    with _client(handler) as c, pytest.raises(HttpError) as ei:
        request(c, "GET", "https://example.test/p", policy=_policy([]))
    assert ei.value.kind == "decoding" and len(calls) == 1


def test_good_gzip_is_decoded():
    body = gzip.compress(b'{"a": 1}')
    with _client(lambda req: httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=body)) as c:
        assert request(c, "GET", "https://example.test/p", policy=_policy([])).json() == {"a": 1}


def test_timeouts_are_retried_then_named_and_carry_no_request():
    def handler(req):
        raise httpx.ReadTimeout("read timed out", request=req)

    waits: list[float] = []
    with _client(handler) as c, pytest.raises(HttpError) as ei:
        request(c, "GET", "https://example.test/p", policy=_policy(waits, attempts=3, timeout=2.0),
                headers={"Authorization": "Bearer sk-secret-123456"})
    e = ei.value
    assert e.kind == "timeout" and e.attempts == 3 and len(waits) == 2
    assert "timed out" in str(e) and "sk-secret" not in str(e)
    assert e.__context__ is None and e.__cause__ is None


def test_async_request_retries_and_defers():
    async def main():
        calls = []

        def handler(req):
            calls.append(req)
            return httpx.Response(503) if len(calls) < 3 else httpx.Response(200, text="fine")

        waits: list[float] = []

        async def sleep(s):
            waits.append(s)

        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as c:
            resp = await arequest(c, "GET", "https://example.test/p",
                                  policy=HttpPolicy(sleep=sleep, rng=lambda: 0.5, backoff=1.0))
        assert resp.text == "fine" and waits == [0.5, 1.0]

    asyncio.run(main())


def test_retry_call_for_a_non_httpx_client():
    class RateLimited(Exception):
        def __init__(self, retry_after):
            self.retry_after = retry_after

    tries = []

    def post():
        tries.append(1)
        if len(tries) < 3:
            raise RateLimited("nan" if len(tries) == 1 else "Sun, 06 Dec 2026 12:00:02 GMT")
        return "sent"

    waits: list[float] = []

    def classify(exc):
        return Retry(exc.retry_after) if isinstance(exc, RateLimited) else None

    assert retry_call(post, classify=classify, policy=HttpPolicy(sleep=waits.append, max_delay=15)) == "sent"
    assert waits[0] == 15.0 and 0 <= waits[1] <= 15.0

    def boom():
        raise KeyError("not retried")

    with pytest.raises(KeyError):
        retry_call(boom, classify=classify, policy=HttpPolicy(sleep=waits.append))
