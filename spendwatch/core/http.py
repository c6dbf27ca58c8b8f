"""The one HTTP module: timeouts, retries with exponential backoff and jitter, Retry-After, budgets.

Price sources (``scrapers.fetch``), billing APIs (``scrapers.billing_api``) and Slack all
retry through here.  The retry loop is tenacity's; this module only decides *what* is
retried and *how long* to wait.

How to use it
-------------
* ``parse_retry_after(value, cap=...)``: the one parser of a ``Retry-After`` header.
  ``None`` when the header is absent (or empty); otherwise seconds in ``[0, cap]``.
  Delta-seconds (``"120"``, ``"1.5"``) or an HTTP-date (``"Wed, 21 Oct 2026 07:28:00 GMT"``,
  measured from ``now``).  ``inf``, ``nan``, a negative number, garbage, or anything past
  ``cap`` all count as ``cap``: a server that says "come back in 1e12 seconds" or
  sends nonsense gets the longest wait we would ever do, never a crash, never a
  busy loop.  It never raises.
* ``Budget(seconds)``: the time one pass (a daily price refresh, an alert delivery
  round) may spend.  Create one per pass and pass it to every call of the pass.
  A retry whose wait would not fit in ``budget.remaining()`` is not waited for:
  the call raises ``RetryDeferred`` (``kind == "deferred"``, with ``retry_after``),
  which means "leave this work for the next pass", not "failed for good".
  ``Budget(None)`` (or ``Budget.unlimited()``) never defers.
* ``request(client, method, url, policy=..., budget=..., **httpx_kwargs)`` (sync,
  ``httpx.Client``) and ``arequest(...)`` (async, ``httpx.AsyncClient``): one request
  with retries on timeouts, connection errors, 429 and 5xx (``policy.retry_status``),
  honouring Retry-After, else waiting ``backoff * 2**n`` with full jitter (capped at
  ``policy.max_delay``).  They return the ``httpx.Response`` for any status that is not
  retried (the caller decides what a 404 means), and raise ``HttpError`` when the
  attempts are used up, on a redirect loop (``kind="redirect_loop"``) or a body that
  cannot be decoded (``kind="decoding"``, a bad ``Content-Encoding``); those two are
  not retried; ``on_attempt(n)`` is called before attempt n; with ``return_last=True`` the
  last response is returned instead of raising when every attempt got a retried status.  ``HttpError`` messages carry
  no request object, so no header (API key) can leak through ``__context__``; pass ``secrets=`` to scrub the message as well.
* ``retry_call(fn, classify=..., policy=..., budget=...)`` / ``aretry_call``: the same
  retry rules around any callable, for clients that are not httpx (slack-sdk).
  ``classify(exc)`` returns ``Retry(retry_after=<header value or None>)`` to retry an
  exception or ``None`` to re-raise it at once.  For slack-sdk::

      def classify(exc):
          if isinstance(exc, SlackApiError) and exc.response.status_code == 429:
              return Retry(exc.response.headers.get("Retry-After"))
          if isinstance(exc, (SlackRequestError, TimeoutError, URLError)):
              return Retry(None)
          return None

      retry_call(lambda: client.chat_postMessage(...), classify=classify,
                 policy=HttpPolicy(attempts=3, max_delay=60), budget=budget)

  and catch ``RetryDeferred`` to keep the message for the next pass.
"""

from __future__ import annotations

import asyncio
import email.utils
import inspect
import logging
import math
import random
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TypeVar

import httpx
import tenacity

log = logging.getLogger("spendwatch.http")

T = TypeVar("T")

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
_DELTA = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$|^\s*[+-]?(inf|infinity|nan)\s*$", re.IGNORECASE)


def parse_retry_after(value: str | None, *, cap: float, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header value: ``None`` if absent, else in ``[0, cap]``.

    Delta-seconds or an HTTP-date (relative to ``now``, default the current UTC time).
    inf, nan, negative, garbage or a value past ``cap`` all count as ``cap``.  Never raises.
    """
    cap = _finite_cap(cap)
    if value is None:
        return None
    try:
        text = str(value).strip()
    except Exception:  # an object whose str() fails is garbage too
        return cap
    if not text:
        return None
    seconds: float | None = None
    if _DELTA.match(text):
        try:
            seconds = float(text)
        except (ValueError, OverflowError):
            seconds = None
    else:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=timezone.utc)
            ref = now if now is not None else datetime.now(timezone.utc)
            if ref.tzinfo is None:
                ref = ref.replace(tzinfo=timezone.utc)
            try:
                # a date in the past means "now": 0 seconds (RFC 9110 10.2.3)
                seconds = max(0.0, (when - ref).total_seconds())
            except OverflowError:
                seconds = None
    if seconds is None or not math.isfinite(seconds) or seconds < 0 or seconds > cap:
        return cap
    return seconds


def _finite_cap(cap: float) -> float:
    try:
        cap = float(cap)
    except (TypeError, ValueError):
        return 0.0
    return cap if math.isfinite(cap) and cap >= 0 else 0.0


class Budget:
    """The time left to one pass.  ``Budget(None)`` is unlimited.  Share one across a pass's calls."""

    def __init__(self, seconds: float | None, *, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._deadline = None if seconds is None else clock() + max(0.0, float(seconds))
        self.total = seconds

    @classmethod
    def unlimited(cls) -> "Budget":
        return cls(None)

    def remaining(self) -> float:
        if self._deadline is None:
            return math.inf
        return max(0.0, self._deadline - self._clock())

    def allows(self, wait: float) -> bool:
        """True when waiting ``wait`` seconds still fits in this pass."""
        return wait <= self.remaining()


class HttpError(Exception):
    """A request that did not succeed.  Text only: it never holds the request (and its headers).

    ``kind``: timeout | connection | status | redirect_loop | decoding | deferred.
    """

    def __init__(self, message: str, *, kind: str, status: int | None = None, attempts: int = 0,
                 retry_after: float | None = None, cause: str | None = None, detail: str | None = None):
        from spendwatch.core.redact import redact

        super().__init__(redact(message))  # a URL in the message may carry a token in its query or path
        self.kind = kind
        self.status = status
        self.attempts = attempts
        self.retry_after = retry_after
        self.cause = cause  # the underlying exception's type name (ConnectError, ReadTimeout, ...)
        self.detail = detail  # its text, scrubbed of the secrets passed in


class RetryDeferred(HttpError):
    """The next retry's wait does not fit in the pass's budget: the work is left for the next pass."""


@dataclass(frozen=True)
class Retry:
    """``classify``'s answer: retry this failure; ``retry_after`` is the raw header value, if any."""

    retry_after: str | None = None


@dataclass(frozen=True)
class HttpPolicy:
    """Timeouts and retries.  ``max_delay`` caps every single wait, Retry-After included."""

    timeout: float | httpx.Timeout = 10.0
    attempts: int = 4
    backoff: float = 0.5  # first delay (s); doubles each attempt, full jitter
    max_delay: float = 20.0
    retry_status: frozenset[int] = RETRY_STATUS
    sleep: Callable[[float], Any] | None = None  # tests: a sync or async function replacing the sleep
    rng: Callable[[], float] = field(default=random.random, repr=False)
    jitter_floor: float = 0.0  # 0: full jitter; 0.5: "equal jitter", at least half the backoff

    def backoff_delay(self, attempt: int) -> float:
        """Uniform in [floor * c, c] for c = backoff * 2**(attempt-1) capped at max_delay (full jitter by default)."""
        ceiling = min(self.backoff * (2 ** (attempt - 1)), self.max_delay)
        return ceiling * (self.jitter_floor + (1 - self.jitter_floor) * self.rng())


# --------------------------------------------------------------------------- the retry loop


def _scrub(text: str, secrets: Iterable[str]) -> str:
    """The one redaction (spendwatch.core.redact): the given secrets, and URL credentials, tokens and keys."""
    from spendwatch.core.redact import redact

    return redact(text, secrets)


class _Rules:
    """What tenacity needs from us: whether to retry, how long to wait, and the budget check."""

    def __init__(self, classify: Callable[[BaseException], Retry | None], result_retry: Callable[[Any], Retry | None] | None,
                 policy: HttpPolicy, budget: Budget | None, where: str):
        self.classify = classify
        self.result_retry = result_retry
        self.policy = policy
        self.budget = budget or Budget.unlimited()
        self.where = where

    def decision(self, rs: tenacity.RetryCallState) -> Retry | None:
        out = rs.outcome
        if out is None:
            return None
        if out.failed:
            return self.classify(out.exception())
        return self.result_retry(out.result()) if self.result_retry else None

    def should_retry(self, rs: tenacity.RetryCallState) -> bool:
        return self.decision(rs) is not None

    def wait(self, rs: tenacity.RetryCallState) -> float:
        d = self.decision(rs)
        header = parse_retry_after(d.retry_after if d else None, cap=self.policy.max_delay)
        return header if header is not None else self.policy.backoff_delay(rs.attempt_number)

    def before_sleep(self, rs: tenacity.RetryCallState) -> None:
        wait = rs.upcoming_sleep
        if not self.budget.allows(wait):
            raise RetryDeferred(
                f"{self.where}: next retry in {wait:.0f}s does not fit the {self.budget.remaining():.0f}s left "
                f"of this pass; left for the next pass (after {rs.attempt_number} attempt(s))",
                kind="deferred", attempts=rs.attempt_number, retry_after=wait,
            )
        log.warning("%s: attempt %d failed, retrying in %.1fs", self.where, rs.attempt_number, wait)

    def kwargs(self) -> dict:
        return dict(
            retry=self.should_retry,
            wait=self.wait,
            stop=tenacity.stop_after_attempt(max(1, self.policy.attempts)),
            before_sleep=self.before_sleep,
            retry_error_callback=lambda rs: rs.outcome,  # the last outcome, handled by the caller
            reraise=True,
        )


def _final(rs_outcome: Any) -> Any:
    if isinstance(rs_outcome, tenacity.Future):
        return rs_outcome.result()  # re-raises the last exception, or returns the last result
    return rs_outcome


def retry_call(fn: Callable[[], T], *, classify: Callable[[BaseException], Retry | None], policy: HttpPolicy | None = None,
               budget: Budget | None = None, where: str = "request",
               result_retry: Callable[[T], Retry | None] | None = None) -> T:
    """Call ``fn`` with the retry rules (sync).  Raises the last exception, or ``RetryDeferred``."""
    policy = policy or HttpPolicy()
    rules = _Rules(classify, result_retry, policy, budget, where)
    sleep = policy.sleep or time.sleep
    out = tenacity.Retrying(sleep=sleep, **rules.kwargs())(fn)
    return _final(out)


async def aretry_call(fn: Callable[[], Awaitable[T]], *, classify: Callable[[BaseException], Retry | None],
                      policy: HttpPolicy | None = None, budget: Budget | None = None, where: str = "request",
                      result_retry: Callable[[T], Retry | None] | None = None) -> T:
    """Await ``fn()`` with the retry rules (async).  Raises the last exception, or ``RetryDeferred``."""
    policy = policy or HttpPolicy()
    rules = _Rules(classify, result_retry, policy, budget, where)
    sleep = policy.sleep or asyncio.sleep
    if not inspect.iscoroutinefunction(sleep):
        sync_sleep = sleep

        async def sleep(seconds: float) -> None:  # noqa: F811 - an async wrapper of a test's sync sleep
            sync_sleep(seconds)

    out = await tenacity.AsyncRetrying(sleep=sleep, **rules.kwargs())(fn)
    return _final(out)


# --------------------------------------------------------------------------- httpx


def _classify_httpx(exc: BaseException) -> Retry | None:
    if isinstance(exc, (httpx.TooManyRedirects, httpx.DecodingError)):
        return None  # the same again would fail the same way
    if isinstance(exc, httpx.TransportError):  # timeouts, refused connections, protocol errors
        return Retry(None)
    return None


def _status_retry(policy: HttpPolicy) -> Callable[[httpx.Response], Retry | None]:
    def check(resp: httpx.Response) -> Retry | None:
        if resp.status_code in policy.retry_status:
            return Retry(resp.headers.get("Retry-After"))
        return None

    return check


class _Call:
    """What ``request`` and ``arequest`` share: the policy, the attempt count, and how an outcome ends."""

    def __init__(self, method: str, url: str, policy: HttpPolicy | None, budget: Budget | None, where: str | None,
                 secrets: Iterable[str], on_attempt: Callable[[int], None] | None):
        self.policy = policy or HttpPolicy()
        self.where = where or f"{method} {httpx.URL(url).copy_with(query=None)}"
        self.rules = dict(classify=_classify_httpx, policy=self.policy, budget=budget, where=self.where,
                          result_retry=_status_retry(self.policy))
        self.secrets = tuple(secrets)
        self.on_attempt = on_attempt
        self.n = 0

    def next_attempt(self) -> None:
        self.n += 1
        if self.on_attempt is not None:
            self.on_attempt(self.n)

    def failure(self, exc: BaseException) -> HttpError:
        return _http_error(exc, self.where, self.n, self.policy, self.secrets)

    def result(self, resp: httpx.Response, return_last: bool) -> httpx.Response:
        if resp.status_code in self.policy.retry_status and not return_last:
            raise _status_error(resp, self.where, self.n)
        return resp


def _http_error(exc: BaseException, where: str, attempts: int, policy: HttpPolicy, secrets: Iterable[str]) -> HttpError:
    if isinstance(exc, RetryDeferred):
        exc.__context__ = None
        return exc
    detail = _scrub(str(exc), secrets)[:200]
    if isinstance(exc, httpx.TooManyRedirects):
        kind, text = "redirect_loop", "too many redirects (a redirect loop)"
    elif isinstance(exc, httpx.DecodingError):
        kind, text = "decoding", f"the body could not be decoded (bad Content-Encoding?): {detail}"
    elif isinstance(exc, httpx.TimeoutException):
        timeout = policy.timeout if isinstance(policy.timeout, (int, float)) else "the"
        kind, text = "timeout", f"timed out ({timeout}s timeout)"
    else:
        kind, text = "connection", f"connection error: {type(exc).__name__}: {detail}"
    tries = f" after {attempts} attempt(s)" if attempts > 1 else ""
    return HttpError(f"{where}: {text}{tries}", kind=kind, attempts=attempts, cause=type(exc).__name__, detail=detail)


def _status_error(resp: httpx.Response, where: str, attempts: int) -> HttpError:
    return HttpError(f"{where}: HTTP {resp.status_code} after {attempts} attempt(s)", kind="status",
                     status=resp.status_code, attempts=attempts)


def request(client: httpx.Client, method: str, url: str, *, policy: HttpPolicy | None = None, budget: Budget | None = None,
            where: str | None = None, secrets: Iterable[str] = (), on_attempt: Callable[[int], None] | None = None,
            return_last: bool = False, **kwargs: Any) -> httpx.Response:
    """One request with the retry rules (sync).  See the module docstring."""
    call = _Call(method, url, policy, budget, where, secrets, on_attempt)

    def attempt() -> httpx.Response:
        call.next_attempt()
        return client.request(method, url, timeout=call.policy.timeout, **kwargs)

    failure: HttpError | None = None
    try:
        resp = retry_call(attempt, **call.rules)
    except (httpx.HTTPError, RetryDeferred) as e:
        failure = call.failure(e)
    if failure is not None:  # raised outside the except: httpx's exception (request, headers) is not its __context__
        raise failure
    return call.result(resp, return_last)


async def arequest(client: httpx.AsyncClient, method: str, url: str, *, policy: HttpPolicy | None = None,
                   budget: Budget | None = None, where: str | None = None, secrets: Iterable[str] = (),
                   on_attempt: Callable[[int], None] | None = None, return_last: bool = False,
                   **kwargs: Any) -> httpx.Response:
    """One request with the retry rules (async).  See the module docstring."""
    call = _Call(method, url, policy, budget, where, secrets, on_attempt)

    async def attempt() -> httpx.Response:
        call.next_attempt()
        return await client.request(method, url, timeout=call.policy.timeout, **kwargs)

    failure: HttpError | None = None
    try:
        resp = await aretry_call(attempt, **call.rules)
    except (httpx.HTTPError, RetryDeferred) as e:
        failure = call.failure(e)
    if failure is not None:
        raise failure
    return call.result(resp, return_last)
