"""Fetching every price source concurrently, fail-soft.

Modes:
  * ``live``: HTTP through ``spendwatch.core.http`` (timeouts, an identifying User-Agent,
    retries with exponential backoff and jitter on connection errors, timeouts, 429 and
    5xx, Retry-After parsed once and capped).  A retry wait that does not fit in the
    pass's budget leaves the source ``deferred`` to the next pass.
  * ``snapshot``: replay ``<dir>/<source_id>.<ext>`` files; sources with no file are skipped.
  * ``offline``: the recorded snapshots shipped in ``scrapers/snapshots/``.

Every outcome says when its payload was captured (``captured_at``): the fetch time for a
live fetch; for a recorded file, the date ``captures.json`` in its folder gives (the
bundled snapshots all have one; ``record`` writes it), else the run's as-of time for a
``--snapshot-dir`` folder and unknown (stale) for a bundled snapshot.

A source that fails never stops the others: whatever goes wrong inside one source (HTTP
errors, a redirect loop, a bad Content-Encoding, a timeout, a parser exception, an
implausible price) becomes that outcome's error, and the caller keeps its last good
prices.  Parsing and the plausibility gates (``scrapers.plausibility``) run here too.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable

import httpx

from scrapers.base import FetchOutcome, ParseError, PriceRecord, Source, sha256
from scrapers.plausibility import screen
from spendwatch.core.http import Budget, HttpError, HttpPolicy, arequest
from spendwatch.core.redact import redact

SNAPSHOT_DIR = Path(__file__).resolve().parent / "snapshots"
CAPTURES_FILE = "captures.json"  # {"<file name>": {"captured": "YYYY-MM-DD[THH:MM:SS]", "basis": "..."}}
USER_AGENT = "spendwatch/0.1 (GPU and model-API price tracker; +https://github.com/spendwatch/spendwatch)"


@dataclass
class FetchPolicy:
    timeout: float = 10.0
    attempts: int = 4
    backoff: float = 0.5  # first delay; doubles each attempt, with full jitter
    max_delay: float = 20.0  # cap on any one wait, Retry-After included
    sleep: Callable[[float], "asyncio.Future | None"] | None = None  # for tests
    budget_seconds: float | None = 300.0  # the whole pass; a retry wait past it defers the source

    def http(self) -> HttpPolicy:
        return HttpPolicy(timeout=self.timeout, attempts=self.attempts, backoff=self.backoff,
                          max_delay=self.max_delay, sleep=self.sleep)


class FetchError(Exception):
    pass


async def fetch_bytes(client: httpx.AsyncClient, source: Source, policy: FetchPolicy, url: str | None = None,
                      budget: Budget | None = None) -> tuple[bytes, str, int]:
    """GET/POST the source's request with retries.  Returns (payload, url, attempts).

    ``url`` replaces the request's URL (method, headers and body kept): for mirrors,
    and for serving recorded captures from a local server in tests and benches.
    Raises ``HttpError`` (``RetryDeferred`` when the budget ran out) or ``FetchError``.
    """
    req = source.requests()[0]
    if url is not None:
        req = dataclasses.replace(req, url=url)
    # an API key in a header is scrubbed from any error text, whatever echoes it
    secrets = [v.split(" ", 1)[-1] for k, v in req.headers.items() if k.lower() in ("authorization", "x-api-key")]
    tries: list[int] = [0]

    def on_attempt(n: int) -> None:
        tries[0] = n

    async def get(u: str, method: str = "GET", body: dict | None = None) -> bytes:
        resp = await arequest(client, method, u, policy=policy.http(), budget=budget, where=u,
                              secrets=secrets, on_attempt=on_attempt, headers=req.headers, json=body)
        if resp.status_code >= 400:
            raise FetchError(redact(f"{u}: HTTP {resp.status_code}", secrets))  # a key in the query or path never reaches price_fetches
        return resp.content

    assemble = getattr(source, "assemble", None)
    if assemble is not None:  # a payload built from several requests (scrapers.base.Source.assemble)
        return await assemble(get, req.url), req.url, tries[0]
    return await get(req.url, req.method, req.json), req.url, tries[0]


def parse_payload(source: Source, payload: bytes) -> list[PriceRecord]:
    """Parse strictly; an empty or implausible result is a ParseError naming the source."""
    records = source.parse(payload)
    if not records:
        raise ParseError(source.source_id, "the payload parsed to no prices")
    positive = [r for r in records if r.amount > 0]
    if not positive:
        raise ParseError(source.source_id, "every price parsed as zero or a sentinel")
    _check_expected(source, positive, "")
    return records


def _check_expected(source: Source, records: list[PriceRecord], after: str) -> None:
    missing_gpu = [g for g in source.expected_gpu_models if g not in {r.gpu_model for r in records}]
    missing_sku = [s for s in source.expected_skus if s not in {r.sku for r in records}]
    if missing_gpu or missing_sku:
        raise ParseError(source.source_id, f"expected prices are missing{after}: {', '.join(missing_gpu + missing_sku)}")


def _finish(source: Source, out: FetchOutcome, payload: bytes, url: str, fetched_at: datetime) -> FetchOutcome:
    """Parse and gate the payload: ok with the records that passed, or failed naming why."""
    out.payload = payload
    out.url = url
    out.payload_sha256 = sha256(payload)
    try:
        screened = screen(source, parse_payload(source, payload))
        # a catalog whose unit changed wholesale loses its expected models to the bounds: a failure, named
        _check_expected(source, screened.keep, " once implausible entries are dropped")
    except ParseError as e:
        out.status, out.error = "failed", str(e)
        return out
    except Exception as e:  # a parser bug is still that source's failure only
        out.status, out.error = "failed", f"{source.source_id}: parser error: {type(e).__name__}: {e}"
        return out
    out.zeros, out.implausible = screened.zeros, len(screened.implausible)
    out.implausible_examples = screened.implausible[:5]
    out.records = [r.with_provenance(fetched_at, url, out.payload_sha256) for r in screened.keep]
    out.status = "ok"
    return out


def capture_dates(folder: Path) -> dict[str, tuple[datetime, str]]:
    """``captures.json`` of a folder of recorded captures: file name -> (captured at, basis).  {} if absent or unreadable."""
    path = folder / CAPTURES_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    out = {}
    for name, entry in raw.items() if isinstance(raw, dict) else ():
        when = entry.get("captured") if isinstance(entry, dict) else entry
        try:
            at = datetime.fromisoformat(str(when))
        except ValueError:
            continue
        at = at.astimezone(timezone.utc).replace(tzinfo=None) if at.tzinfo else at
        basis = entry.get("basis", "") if isinstance(entry, dict) else ""
        out[name] = (at, f"{path}: {basis}".rstrip(": "))
    return out


async def _one(
    source: Source,
    mode: str,
    client: httpx.AsyncClient | None,
    snapshot_dir: Path | None,
    fetched_at: datetime,
    policy: FetchPolicy,
    url: str | None = None,
    budget: Budget | None = None,
) -> FetchOutcome:
    t0 = time.perf_counter()
    out = FetchOutcome(source.source_id, "skipped", mode, extension=source.extension, catalog=bool(source.catalog))
    try:
        return await _one_inner(out, source, mode, client, snapshot_dir, fetched_at, policy, url, budget)
    except Exception as e:  # anything else inside one source is that source's failure only
        out.status, out.error = "failed", f"{source.source_id}: {type(e).__name__}: {e}"
        out.records = []
        return out
    finally:
        out.seconds = time.perf_counter() - t0


async def _one_inner(out: FetchOutcome, source: Source, mode: str, client, snapshot_dir, fetched_at, policy, url, budget):
    if source.discontinued:
        out.error = "discontinued"
        return out
    local = source.local_payload()
    if local is not None:
        out.mode = "local"
        out.captured_at, out.capture_basis = _now(), "installed package data, read now"
        return _finish(source, out, local, f"package:{source.source_id}", fetched_at)
    if mode in ("snapshot", "offline"):
        folder = snapshot_dir if mode == "snapshot" else SNAPSHOT_DIR
        name = f"{source.source_id}.{source.extension}"
        path = folder / name
        if not path.exists():
            out.error = f"no file {path.name} in {folder}"
            return out
        # a user's folder without a date for the file: the replay's as-of time; a shipped snapshot: unknown
        unknown = (fetched_at, f"{path}: not in {CAPTURES_FILE}; taken as of the run's as-of time") if mode == "snapshot" \
            else (None, f"{path}: not in {CAPTURES_FILE}: capture date unknown")
        out.captured_at, out.capture_basis = capture_dates(folder).get(name, unknown)
        return _finish(source, out, path.read_bytes(), source.primary_url(), fetched_at)
    assert client is not None
    try:
        payload, got_url, attempts = await fetch_bytes(client, source, policy, url, budget)
        out.attempts = attempts
    except HttpError as e:
        out.attempts = e.attempts
        out.status = "deferred" if e.kind == "deferred" else "failed"
        out.error = f"{source.source_id}: {e}"
        return out
    except FetchError as e:
        out.status, out.error = "failed", f"{source.source_id}: {e}"
        return out
    out.captured_at, out.capture_basis = _now(), "live fetch"
    return _finish(source, out, payload, got_url, fetched_at)


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


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
    budget = Budget(policy.budget_seconds)  # one budget for the whole pass, shared by every source
    fetched_at = fetched_at or datetime.now(timezone.utc).replace(tzinfo=None)
    sources = list(sources)
    async with httpx.AsyncClient(
        headers={"User-Agent": USER_AGENT},
        follow_redirects=True,
        transport=transport,
        limits=httpx.Limits(max_connections=32),
    ) as client:

        async def run(s: Source) -> FetchOutcome:
            o = await _one(s, mode, client, snapshot_dir, fetched_at, policy, (url_overrides or {}).get(s.source_id), budget)
            if on_done:
                try:
                    on_done(o)
                except Exception:  # a progress bar's bug must not lose the outcome
                    pass
            return o

        return list(await asyncio.gather(*(run(s) for s in sources)))


def fetch_all(sources: Iterable[Source], mode: str = "live", **kw) -> list[FetchOutcome]:
    """Synchronous wrapper of :func:`fetch_all_async` (runs its own event loop)."""
    return asyncio.run(fetch_all_async(sources, mode, **kw))


def record(outcomes: Iterable[FetchOutcome], folder: Path) -> list[Path]:
    """Save what a live run fetched as ``<folder>/<source_id>.<ext>`` (the --snapshot-dir layout),
    with each file's capture time in ``<folder>/captures.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    manifest_path = folder / CAPTURES_FILE
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = {}
    for o in outcomes:
        if o.payload is not None and o.mode in ("live", "local"):
            p = folder / f"{o.source_id}.{o.extension}"
            p.write_bytes(o.payload)
            saved.append(p)
            if o.captured_at is not None:
                manifest[p.name] = {"captured": o.captured_at.isoformat(timespec="seconds"), "basis": f"spendwatch {o.mode} fetch"}
    if saved:
        tmp = manifest_path.with_name(f".{CAPTURES_FILE}.part")
        tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(manifest_path)
    return saved
