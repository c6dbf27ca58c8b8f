"""Pulling billing and usage exports live from provider APIs into files the export loaders read.

Each ``pull_*`` function calls one provider's billing endpoint for a date range
(``start`` inclusive, ``end`` exclusive, whole UTC days), follows every page, and
saves each page's response body unchanged as ``<format>_<start>_<page>.json`` in
``out_dir`` (``format`` being the loader that reads it: ``openai_costs``,
``openai_usage``, ``anthropic_cost``, ``anthropic_usage``, ``runpod_billing``).
It is HTTP only: no database, no parsing beyond checking the page envelope.

* Timeouts on every request; retries with exponential backoff and jitter on
  connection errors, timeouts, 429 and 5xx, honouring ``Retry-After`` (capped at
  ``max_delay``), all through ``spendwatch.core.http``.  With ``RetryPolicy.budget``
  (one ``Budget`` per pass) a wait that does not fit the pass raises a
  ``BillingApiError`` saying the pull is left for the next pass.
* The API key travels only in the request headers.  It never appears in an
  exception, a log line or a saved file: error messages are built here from the
  status and a scrubbed excerpt of the body, and chained transport errors (whose
  request objects carry the headers) are dropped.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from spendwatch.core.errors import SpendwatchError
from spendwatch.core.http import Budget, HttpError, HttpPolicy, RetryDeferred, request
from spendwatch.core.redact import excerpt as _excerpt
from spendwatch.core.redact import redact as _redact

log = logging.getLogger(__name__)

OPENAI_API = "https://api.openai.com"
ANTHROPIC_API = "https://api.anthropic.com"
RUNPOD_API = "https://rest.runpod.io/v1"
ANTHROPIC_VERSION = "2023-06-01"
USER_AGENT = "spendwatch/0.1 (billing export puller)"

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_PAGES = 1000
RUNPOD_RESOURCES = ("pods", "endpoints", "networkvolumes")
RUNPOD_BUCKETS = ("hour", "day", "week", "month", "year")
# The grouping each RunPod resource is pulled with, so every record names its pod / endpoint.
RUNPOD_GROUPING = {"pods": "podId", "endpoints": "endpointId", "networkvolumes": None}
# Most buckets one page may hold, per bucket width (OpenAI and Anthropic share these limits).
PAGE_LIMITS = {"1d": 31, "1h": 168, "1m": 1440}



class BillingApiError(SpendwatchError):
    """A billing API call failed.  The message names the provider and endpoint, never the key."""


@dataclass(frozen=True)
class RetryPolicy:
    """Timeouts and retries of every billing API request."""

    attempts: int = 5
    backoff: float = 1.0  # first delay in seconds; doubles each attempt, with jitter (at least half of it)
    max_delay: float = 60.0  # cap on any one wait, Retry-After included
    timeout: httpx.Timeout = field(default_factory=lambda: httpx.Timeout(30.0, connect=10.0))
    sleep: Callable[[float], None] = time.sleep
    budget: Budget | None = None  # the pass's time: a wait past it leaves the pull for the next pass

    def http(self) -> HttpPolicy:
        return HttpPolicy(timeout=self.timeout, attempts=self.attempts, backoff=self.backoff, max_delay=self.max_delay,
                          sleep=self.sleep, retry_status=RETRY_STATUS, jitter_floor=0.5)


DEFAULT_POLICY = RetryPolicy()


# --------------------------------------------------------------------------- OpenAI


def pull_openai_costs(
    client: httpx.Client,
    api_key: str,
    start: date,
    end: date,
    out_dir: str | os.PathLike,
    *,
    base_url: str = OPENAI_API,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> list[Path]:
    """Save ``GET /v1/organization/costs`` pages (daily, grouped by project and line item) for [start, end)."""
    return _pull_report(_OPENAI, client, api_key, start, end, out_dir, fmt="openai_costs", what="costs",
                        path="/v1/organization/costs", groups=("project_id", "line_item"),
                        bucket_width="1d", base_url=base_url, policy=policy)


def pull_openai_usage_completions(
    client: httpx.Client,
    api_key: str,
    start: date,
    end: date,
    out_dir: str | os.PathLike,
    *,
    bucket_width: str = "1d",
    base_url: str = OPENAI_API,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> list[Path]:
    """Save ``GET /v1/organization/usage/completions`` pages (tokens by project, model, API key, tier) for [start, end)."""
    return _pull_report(_OPENAI, client, api_key, start, end, out_dir, fmt="openai_usage", what="usage",
                        path="/v1/organization/usage/completions",
                        groups=("project_id", "model", "api_key_id", "batch", "service_tier"),
                        bucket_width=bucket_width, base_url=base_url, policy=policy)


# --------------------------------------------------------------------------- Anthropic


def pull_anthropic_cost_report(
    client: httpx.Client,
    api_key: str,
    start: date,
    end: date,
    out_dir: str | os.PathLike,
    *,
    base_url: str = ANTHROPIC_API,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> list[Path]:
    """Save ``GET /v1/organizations/cost_report`` pages (daily, by workspace and description) for [start, end)."""
    return _pull_report(_ANTHROPIC, client, api_key, start, end, out_dir, fmt="anthropic_cost", what="cost report",
                        path="/v1/organizations/cost_report", groups=("workspace_id", "description"),
                        bucket_width="1d", base_url=base_url, policy=policy)


def pull_anthropic_usage(
    client: httpx.Client,
    api_key: str,
    start: date,
    end: date,
    out_dir: str | os.PathLike,
    *,
    bucket_width: str = "1d",
    base_url: str = ANTHROPIC_API,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> list[Path]:
    """Save ``GET /v1/organizations/usage_report/messages`` pages (tokens by workspace, key, model, tier) for [start, end)."""
    return _pull_report(_ANTHROPIC, client, api_key, start, end, out_dir, fmt="anthropic_usage", what="usage",
                        path="/v1/organizations/usage_report/messages",
                        groups=("workspace_id", "api_key_id", "model", "service_tier", "context_window"),
                        bucket_width=bucket_width, base_url=base_url, policy=policy)


# --------------------------------------------------------------------------- RunPod


def pull_runpod_billing(
    client: httpx.Client,
    api_key: str,
    start: date,
    end: date,
    out_dir: str | os.PathLike,
    *,
    resources: Sequence[str] = RUNPOD_RESOURCES,
    bucket_size: str = "hour",
    window_days: int = 7,
    base_url: str = RUNPOD_API,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> list[Path]:
    """Save RunPod ``GET /billing/{pods,endpoints,networkvolumes}`` for [start, end), per resource and window.

    The v1 API returns one unpaged JSON array per call and does not echo the
    request, so each file wraps the response body, byte for byte, with the context
    the loader needs: ``{"object": "runpod.billing", "resource", "bucketSize",
    "grouping", "startTime", "endTime", "records": <body>}``.  The range is pulled in
    windows of ``window_days`` (one call per resource per window, which keeps every
    file small), saved as ``runpod_billing_<window start>_<resource>.json``.  Pods are
    grouped by podId and endpoints by endpointId so every record names what it bills.
    """
    unknown = [r for r in resources if r not in RUNPOD_RESOURCES]
    if unknown:
        raise BillingApiError(f"RunPod: unknown billing resource(s) {', '.join(unknown)} (known: {', '.join(RUNPOD_RESOURCES)})")
    if bucket_size not in RUNPOD_BUCKETS:
        raise BillingApiError(f"RunPod: bucket_size must be one of {', '.join(RUNPOD_BUCKETS)}, not {bucket_size!r}")
    if window_days < 1:
        raise BillingApiError(f"RunPod: window_days must be at least 1, not {window_days}")
    if not api_key:
        raise BillingApiError("RunPod /billing: no API key given")
    lo, hi = _day_range(start, end)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    headers = _bearer_headers(api_key)
    saved = []
    window_start = lo
    while window_start < hi:
        window_end = min(window_start + timedelta(days=window_days), hi)
        for resource in resources:
            params = [("bucketSize", bucket_size), ("startTime", _rfc3339(window_start)), ("endTime", _rfc3339(window_end))]
            grouping = RUNPOD_GROUPING[resource]
            if grouping:
                params.append(("grouping", grouping))
            url = _join(base_url, f"/billing/{resource}")
            resp = _get(client, url, params, headers, policy, "RunPod", api_key)
            body = _json_body(resp, "RunPod", url, api_key)
            if not isinstance(body, list):
                raise BillingApiError(
                    f"RunPod {_path(url)}: expected a JSON array of billing records, got {type(body).__name__}"
                )
            meta = {
                "object": "runpod.billing",
                "resource": resource,
                "bucketSize": bucket_size,
                "grouping": grouping,
                "startTime": _rfc3339(window_start),
                "endTime": _rfc3339(window_end),
            }
            # the response body goes in unchanged (no float re-serialisation), after the context keys
            payload = json.dumps(meta)[:-1].encode() + b', "records": ' + resp.content.strip() + b"}\n"
            path = out / f"runpod_billing_{window_start.date().isoformat()}_{resource}.json"
            _write(path, payload)
            log.info("RunPod %s: %d record(s) saved to %s", resource, len(body), path)
            saved.append(path)
        window_start = window_end
    return saved


# --------------------------------------------------------------------------- shared


@dataclass(frozen=True)
class _ReportApi:
    """How one provider's paged usage / cost report endpoints spell a request (OpenAI and Anthropic differ only here)."""

    provider: str
    range_params: tuple[str, str]  # names of the range start / end parameters
    stamp: Callable[[datetime], str]  # how a range bound is written
    group_param: str
    headers: Callable[[str], dict[str, str]]


def _pull_report(
    api: _ReportApi,
    client: httpx.Client,
    api_key: str,
    start: date,
    end: date,
    out_dir: str | os.PathLike,
    *,
    fmt: str,
    what: str,
    path: str,
    groups: Sequence[str],
    bucket_width: str,
    base_url: str,
    policy: RetryPolicy,
) -> list[Path]:
    """One report pull: check the bucket width, build the query for [start, end) and save every page."""
    if bucket_width not in PAGE_LIMITS:
        raise BillingApiError(
            f"{api.provider} {what}: bucket_width must be one of {', '.join(PAGE_LIMITS)}, not {bucket_width!r}"
        )
    lo, hi = _day_range(start, end)
    params = [
        (api.range_params[0], api.stamp(lo)),
        (api.range_params[1], api.stamp(hi)),
        ("bucket_width", bucket_width),
        *[(api.group_param, g) for g in groups],
        ("limit", str(PAGE_LIMITS[bucket_width])),
    ]
    return _pull_pages(
        client,
        provider=api.provider,
        fmt=fmt,
        url=_join(base_url, path),
        params=params,
        headers=api.headers(api_key),
        secret=api_key,
        start=start,
        out_dir=Path(out_dir),
        policy=policy,
    )


def _pull_pages(
    client: httpx.Client,
    *,
    provider: str,
    fmt: str,
    url: str,
    params: list[tuple[str, str]],
    headers: dict[str, str],
    secret: str,
    start: date,
    out_dir: Path,
    policy: RetryPolicy,
) -> list[Path]:
    """Follow ``has_more`` / ``next_page`` through every page, saving each body as ``<fmt>_<start>_<n>.json``."""
    if not secret:
        raise BillingApiError(f"{provider} {_path(url)}: no API key given")
    out_dir.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    token: str | None = None
    seen: set[str] = set()
    for n in range(1, MAX_PAGES + 1):
        query = params + ([("page", token)] if token else [])
        resp = _get(client, url, query, headers, policy, provider, secret)
        body = _json_body(resp, provider, url, secret)
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise BillingApiError(f"{provider} {_path(url)}: page {n} is not a page object with a 'data' list")
        path = out_dir / f"{fmt}_{start.isoformat()}_{n:03d}.json"
        _write(path, resp.content)
        saved.append(path)
        log.info("%s %s: page %d (%d bucket(s)) saved to %s", provider, _path(url), n, len(body["data"]), path)
        if not body.get("has_more"):
            return saved
        token = body.get("next_page")
        if not isinstance(token, str) or not token:
            raise BillingApiError(f"{provider} {_path(url)}: page {n} says has_more but gives no next_page")
        if token in seen:
            raise BillingApiError(f"{provider} {_path(url)}: page {n} repeats an earlier next_page token")
        seen.add(token)
    raise BillingApiError(f"{provider} {_path(url)}: more than {MAX_PAGES} pages; narrow the date range")


def _get(
    client: httpx.Client,
    url: str,
    params: list[tuple[str, str]],
    headers: dict[str, str],
    policy: RetryPolicy,
    provider: str,
    secret: str,
) -> httpx.Response:
    """GET with timeouts and retries; a final failure raises BillingApiError without the key."""
    where = f"{provider} {_path(url)}"
    tries = [0]

    def on_attempt(n: int) -> None:
        tries[0] = n

    failure: str | None = None
    try:
        resp = request(client, "GET", url, policy=policy.http(), budget=policy.budget, where=where, secrets=[secret],
                       on_attempt=on_attempt, return_last=True, params=params, headers=headers)
    except RetryDeferred as e:
        failure = (f"{where}: left for the next pass: a retry in {e.retry_after:.0f}s does not fit the "
                   f"time left (after {e.attempts} attempt(s))")
    except HttpError as e:
        failure = f"{where}: {e.cause or e.kind} after {e.attempts} attempt(s): {_scrub(e.detail or '', secret)}"
    if failure is not None:  # raised outside the except: nothing chained, only text leaves
        raise BillingApiError(failure)
    if resp.status_code >= 400:
        excerpt = _excerpt(resp.text.strip(), 300, [secret])  # redacted whole, then cut
        attempts = f" after {tries[0]} attempt(s)" if tries[0] > 1 else ""
        raise BillingApiError(f"{where}: HTTP {resp.status_code} {resp.reason_phrase}{attempts}: {excerpt}")
    return resp


def _json_body(resp: httpx.Response, provider: str, url: str, secret: str) -> object:
    try:
        return json.loads(resp.content)
    except ValueError:
        pass
    excerpt = _excerpt(resp.text.strip(), 200, [secret])  # redacted whole, then cut
    raise BillingApiError(f"{provider} {_path(url)}: response is not JSON: {excerpt}")


def _scrub(text: str, secret: str) -> str:
    """Text with the API key, and anything shaped like a secret, redacted (spendwatch.core.redact)."""
    return _redact(text, [secret])


def _bearer_headers(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}", "Accept": "application/json", "User-Agent": USER_AGENT}


def _anthropic_headers(api_key: str) -> dict[str, str]:
    return {
        "x-api-key": api_key,
        "anthropic-version": ANTHROPIC_VERSION,
        "Accept": "application/json",
        "User-Agent": USER_AGENT,
    }


def _day_range(start: date, end: date) -> tuple[datetime, datetime]:
    """[start, end) as UTC midnights; end must be after start."""
    if end <= start:
        raise BillingApiError(f"billing pull: end {end.isoformat()} must be after start {start.isoformat()}")
    lo = datetime(start.year, start.month, start.day, tzinfo=timezone.utc)
    hi = datetime(end.year, end.month, end.day, tzinfo=timezone.utc)
    return lo, hi


def _rfc3339(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _join(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + path


def _path(url: str) -> str:
    return urlsplit(url).path


def _write(path: Path, payload: bytes) -> None:
    """Write atomically: a reader (the export sensor) never sees half a page (dotfiles are not ingested)."""
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_bytes(payload)
    os.replace(tmp, path)


def _unix_seconds(when: datetime) -> str:
    return str(int(when.timestamp()))


_OPENAI = _ReportApi("OpenAI", ("start_time", "end_time"), _unix_seconds, "group_by", _bearer_headers)
_ANTHROPIC = _ReportApi("Anthropic", ("starting_at", "ending_at"), _rfc3339, "group_by[]", _anthropic_headers)
