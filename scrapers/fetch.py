"""Fetching every price source concurrently, fail-soft.

Modes:
  * ``live``: HTTP with timeouts, an identifying User-Agent, and retries with
    exponential backoff and jitter on connection errors, timeouts, 429 and 5xx,
    honouring Retry-After.
  * ``snapshot``: replay ``<dir>/<source_id>.<ext>`` files; sources with no file are skipped.
  * ``offline``: the recorded snapshots shipped in ``scrapers/snapshots/``.

A source that fails never stops the others: its outcome carries the error, and the
caller keeps its last good prices.  Parsing happens here too, so a changed layout is
a failure of that source only.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable

import httpx

from scrapers.base import ParseError, PriceRecord, Source, sha256

SNAPSHOT_DIR = Path(__file__).resolve().parent / "snapshots"
USER_AGENT = "spendwatch/0.1 (GPU and model-API price tracker; +https://github.com/spendwatch/spendwatch)"
RETRY_STATUS = {429, 500, 502, 503, 504}


@dataclass
class FetchPolicy:
    timeout: float = 10.0
    attempts: int = 4
    backoff: float = 0.5  # first delay; doubles each attempt, with full jitter
    max_delay: float = 20.0  # cap on any one wait, Retry-After included
    sleep: Callable[[float], "asyncio.Future | None"] | None = None  # for tests


@dataclass
class FetchOutcome:
    source_id: str
    status: str  # ok | failed | skipped
    mode: str  # live | snapshot | offline
    url: str | None = None
    payload: bytes | None = None
    payload_sha256: str | None = None
    extension: str = "json"
    records: list[PriceRecord] = field(default_factory=list)
    error: str | None = None
    attempts: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class FetchError(Exception):
    pass


def _retry_after(resp: httpx.Response) -> float | None:
    value = resp.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


async def fetch_bytes(client: httpx.AsyncClient, source: Source, policy: FetchPolicy, url: str | None = None) -> tuple[bytes, str, int]:
    """GET/POST the source's request with retries.  Returns (payload, url, attempts).

    ``url`` replaces the request's URL (method, headers and body kept): for mirrors,
    and for serving recorded captures from a local server in tests and benches.
    """
    req = source.requests()[0]
    if url is not None:
        req = dataclasses.replace(req, url=url)
    sleep = policy.sleep or asyncio.sleep
    last: str = "no attempt"
    for attempt in range(1, policy.attempts + 1):
        delay: float | None = None
        try:
            resp = await client.request(req.method, req.url, headers=req.headers, json=req.json, timeout=policy.timeout)
        except httpx.TimeoutException:
            last = f"timed out after {policy.timeout:g}s"
        except httpx.TransportError as e:
            last = f"connection error: {type(e).__name__}"
        else:
            if resp.status_code < 400:
                return resp.content, req.url, attempt
            last = f"HTTP {resp.status_code}"
            if resp.status_code not in RETRY_STATUS:
                raise FetchError(last)
            delay = _retry_after(resp)
        if attempt == policy.attempts:
            break
        if delay is None:
            delay = random.uniform(0, policy.backoff * (2 ** (attempt - 1)))
        await sleep(min(delay, policy.max_delay))
    raise FetchError(f"{last} (after {policy.attempts} attempts)")


def parse_payload(source: Source, payload: bytes) -> list[PriceRecord]:
    """Parse strictly; an empty or implausible result is a ParseError naming the source."""
    records = source.parse(payload)
    if not records:
        raise ParseError(source.source_id, "the payload parsed to no prices")
    positive = [r for r in records if r.amount > 0]
    if not positive:
        raise ParseError(source.source_id, "every price parsed as zero or a sentinel")
    missing_gpu = [g for g in source.expected_gpu_models if g not in {r.gpu_model for r in positive}]
    missing_sku = [s for s in source.expected_skus if s not in {r.sku for r in positive}]
    if missing_gpu or missing_sku:
        raise ParseError(source.source_id, f"expected prices are missing: {', '.join(missing_gpu + missing_sku)}")
    return records


def _finish(source: Source, out: FetchOutcome, payload: bytes, url: str, fetched_at: datetime) -> FetchOutcome:
    out.payload = payload
    out.url = url
    out.payload_sha256 = sha256(payload)
    try:
        records = parse_payload(source, payload)
    except ParseError as e:
        out.status, out.error = "failed", str(e)
        return out
    except Exception as e:  # a parser bug is still that source's failure only
        out.status, out.error = "failed", f"{source.source_id}: parser error: {type(e).__name__}: {e}"
        return out
    out.records = [r.with_provenance(fetched_at, url, out.payload_sha256) for r in records]
    out.status = "ok"
    return out


async def _one(
    source: Source,
    mode: str,
    client: httpx.AsyncClient | None,
    snapshot_dir: Path | None,
    fetched_at: datetime,
    policy: FetchPolicy,
    url: str | None = None,
) -> FetchOutcome:
    t0 = time.perf_counter()
    out = FetchOutcome(source.source_id, "skipped", mode, extension=source.extension)
    try:
        if source.discontinued:
            out.error = "discontinued"
            return out
        local = source.local_payload()
        if local is not None:
            out.mode = "local"
            return _finish(source, out, local, f"package:{source.source_id}", fetched_at)
        if mode in ("snapshot", "offline"):
            folder = snapshot_dir if mode == "snapshot" else SNAPSHOT_DIR
            path = folder / f"{source.source_id}.{source.extension}"
            if not path.exists():
                out.error = f"no file {path.name} in {folder}"
                return out
            return _finish(source, out, path.read_bytes(), source.primary_url(), fetched_at)
        assert client is not None
        try:
            payload, got_url, attempts = await fetch_bytes(client, source, policy, url)
            out.attempts = attempts
        except FetchError as e:
            out.status, out.error = "failed", f"{source.source_id}: {url or source.primary_url()}: {e}"
            return out
        return _finish(source, out, payload, got_url, fetched_at)
    finally:
        out.seconds = time.perf_counter() - t0


async def fetch_all_async(
    sources: Iterable[Source],
    mode: str = "live",
    *,
    snapshot_dir: Path | None = None,
    fetched_at: datetime | None = None,
    policy: FetchPolicy | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    on_done: Callable[[FetchOutcome], None] | None = None,
    url_overrides: dict[str, str] | None = None,
) -> list[FetchOutcome]:
    if mode not in ("live", "snapshot", "offline"):
        raise ValueError(f"unknown mode {mode!r}")
    policy = policy or FetchPolicy()
    fetched_at = fetched_at or datetime.now(timezone.utc).replace(tzinfo=None)
    sources = list(sources)
    async with httpx.AsyncClient(
        headers={"User-Agent": USER_AGENT},
        follow_redirects=True,
        transport=transport,
        limits=httpx.Limits(max_connections=32),
    ) as client:

        async def run(s: Source) -> FetchOutcome:
            o = await _one(s, mode, client, snapshot_dir, fetched_at, policy, (url_overrides or {}).get(s.source_id))
            if on_done:
                on_done(o)
            return o

        return list(await asyncio.gather(*(run(s) for s in sources)))


def fetch_all(sources: Iterable[Source], mode: str = "live", **kw) -> list[FetchOutcome]:
    """Synchronous wrapper of :func:`fetch_all_async` (runs its own event loop)."""
    return asyncio.run(fetch_all_async(sources, mode, **kw))


def record(outcomes: Iterable[FetchOutcome], folder: Path) -> list[Path]:
    """Save what a live run fetched as ``<folder>/<source_id>.<ext>`` (the --snapshot-dir layout)."""
    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    for o in outcomes:
        if o.payload is not None and o.mode in ("live", "local"):
            p = folder / f"{o.source_id}.{o.extension}"
            p.write_bytes(o.payload)
            saved.append(p)
    return saved
