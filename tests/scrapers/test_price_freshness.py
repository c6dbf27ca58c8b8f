"""Issue 12: prices that say how old they really are, and failures that stay local.

Freshness is read from the ``source_freshness`` model after offline, failed, stale and
recovered runs.  The capture dates come from scrapers/snapshots/captures.json (the dates the
recorded values were read, tests/fixtures/prices/README.md) or from a captures.json written
here; ages are worked out from today's date in the test.  The last test runs the daily Dagster
job live against recorded captures served through an httpx MockTransport, with one source per
failure kind.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from scrapers.fetch import SNAPSHOT_DIR, FetchPolicy
from scrapers.sources import all_sources, get_source
from spendwatch import operations
from spendwatch.cli import main
from warehouse import price_checks

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "prices"


def _today() -> date:
    return datetime.now(timezone.utc).date()


def _row(con, source_id: str) -> dict:
    return next(r for r in price_checks.freshness(con) if r["source_id"] == source_id)


def test_an_offline_run_says_its_prices_come_from_recorded_captures_and_how_old_they_are(con):
    res = operations.refresh_prices(con, mode="offline", source_ids=["openai", "runpod_pods"])
    # captures.json: openai's rows were read 2026-10-04, RunPod's response confirmed 2026-12-01
    assert "offline: no live fetch; prices come from recorded captures dated 2026-10-04 to 2026-12-01" in res.summary()
    openai = _row(con, "openai")
    assert openai["last_live_fetch_at"] is None and openai["capture_mode"] == "offline"
    assert openai["capture_date"] == date(2026, 10, 4)
    assert openai["age_days"] == (_today() - date(2026, 10, 4)).days
    assert openai["stale"] is True and "days old (max 7)" in openai["stale_reason"]
    pods = _row(con, "runpod_pods")
    assert pods["capture_date"] == date(2026, 12, 1)
    assert pods["stale"] is ((_today() - date(2026, 12, 1)).days > 7)
    fresh = price_checks.fresh(con, get_source("openai"))
    assert not fresh.passed and fresh.metadata["last_live_fetch"] == "never"
    assert fresh.metadata["prices_from"] == "offline capture of 2026-10-04"
    # a second offline run the next day replays the same capture: the prices do not get younger
    operations.refresh_prices(con, mode="offline", source_ids=["openai"], as_of=datetime.now() + timedelta(seconds=-1))
    assert _row(con, "openai")["capture_date"] == date(2026, 10, 4)


def test_every_shipped_snapshot_has_its_capture_date():
    from scrapers.fetch import capture_dates

    dates = capture_dates(SNAPSHOT_DIR)
    shipped = {p.name for p in SNAPSHOT_DIR.iterdir() if p.name != "captures.json"}
    assert shipped <= set(dates), f"no capture date in scrapers/snapshots/captures.json for {sorted(shipped - set(dates))}"
    assert all(at.date() <= _today() for at, _ in dates.values())


def test_prices_sources_shows_never_and_the_capture_date(tmp_path, capsys):
    wh = tmp_path / "w.duckdb"
    assert main(["prices", "refresh", "--offline", "--warehouse", str(wh), "--source", "openai"]) == 0
    out = capsys.readouterr().out
    assert "recorded captures dated 2026-10-04" in out
    assert main(["prices", "sources", "--warehouse", str(wh), "--format", "json"]) == 0
    rows = {r["source_id"]: r for r in json.loads(capsys.readouterr().out)}
    openai = rows["openai"]
    assert (openai["last_live_fetch"], openai["prices_from"], openai["capture_date"]) == ("never", "offline capture of 2026-10-04", "2026-10-04")
    assert openai["age_days"] == (_today() - date(2026, 10, 4)).days and openai["stale"] is True
    assert rows["anthropic"]["prices_from"] == "no capture" and rows["anthropic"]["stale_reason"] == "no prices in force"
    assert main(["prices", "sources", "--warehouse", str(wh)]) == 0
    assert "openai" in capsys.readouterr().out


def _serve(httpserver, source_id: str, status: int = 200) -> dict[str, str]:
    src = get_source(source_id)
    path = f"/{source_id}"
    httpserver.clear()
    if status == 200:
        httpserver.expect_request(path).respond_with_data((FIX / f"{source_id}.{src.extension}").read_bytes())
    else:
        httpserver.expect_request(path).respond_with_data("down", status=status)
    return {source_id: httpserver.url_for(path)}


FAST = FetchPolicy(timeout=2, attempts=1)


def test_failed_stale_and_recovered(con, httpserver, tmp_path):
    sid = "runpod_serverless"
    # 1. recorded capture from 10 days ago, replayed: stale
    old = (datetime.now(timezone.utc) - timedelta(days=10)).replace(tzinfo=None, microsecond=0)
    folder = tmp_path / "recorded"
    folder.mkdir()
    (folder / "runpod_serverless.md").write_bytes((FIX / "runpod_serverless.md").read_bytes())
    (folder / "captures.json").write_text(json.dumps({"runpod_serverless.md": {"captured": old.isoformat(), "basis": "test"}}))
    operations.refresh_prices(con, mode="snapshot", snapshot_dir=folder, source_ids=[sid], as_of=old)
    row = _row(con, sid)
    assert (row["age_days"], row["stale"], row["last_live_fetch_at"]) == (10, True, None)
    assert row["stale_reason"] == "prices in force are 10 days old (max 7)"
    check = price_checks.fresh(con, get_source(sid))
    assert not check.passed and check.problems == ["stale: prices in force are 10 days old (max 7)"]
    # a max_age_days of 30 for this source (spendwatch.toml [prices.sources.runpod_serverless]) makes it fresh
    operations.sync_sources(con, lambda s: 30 if s == sid else 7)
    assert _row(con, sid)["stale"] is False
    operations.sync_sources(con, lambda s: 7)
    # 2. a live fetch fails: still stale, and the failure is named
    operations.refresh_prices(con, mode="live", source_ids=[sid], policy=FAST, url_overrides=_serve(httpserver, sid, 503))
    row = _row(con, sid)
    assert (row["stale"], row["last_status"], row["capture_mode"]) == (True, "failed", "snapshot")
    check = price_checks.fresh(con, get_source(sid))
    assert len(check.problems) == 2 and check.problems[1].startswith("last refresh failed: runpod_serverless:")
    # 3. it recovers: a live capture, today
    operations.refresh_prices(con, mode="live", source_ids=[sid], policy=FAST, url_overrides=_serve(httpserver, sid))
    row = _row(con, sid)
    assert (row["stale"], row["age_days"], row["capture_mode"], row["last_status"]) == (False, 0, "live", "ok")
    assert row["last_live_fetch_at"] is not None
    assert price_checks.fresh(con, get_source(sid)).passed
    # 4. it fails again: prices from today's capture are not stale, but the check says the last refresh failed
    operations.refresh_prices(con, mode="live", source_ids=[sid], policy=FAST, url_overrides=_serve(httpserver, sid, 503))
    row = _row(con, sid)
    assert (row["stale"], row["last_status"], row["capture_mode"]) == (False, "failed", "live")
    assert not price_checks.fresh(con, get_source(sid)).passed


def test_record_writes_the_capture_dates(tmp_path, httpserver, con):
    from scrapers.fetch import capture_dates

    sid = "runpod_serverless"
    operations.refresh_prices(con, mode="live", source_ids=[sid], policy=FAST, url_overrides=_serve(httpserver, sid),
                              record_dir=tmp_path / "rec")
    [(at, basis)] = capture_dates(tmp_path / "rec").values()
    assert abs(datetime.now(timezone.utc).replace(tzinfo=None) - at) < timedelta(minutes=5) and "live fetch" in basis


# --- every failure stays local, through the daily Dagster job ---------------------------------

INJECTED = {
    "runpod_serverless": "redirect loop",
    "modal": "bad Content-Encoding",
    "replicate": "timeout",
    "runpod_pods": "1e15",
    "cerebrium": "parser exception",
}


def _handler(inject: bool):
    by_url = {}
    for s in all_sources():
        if s.discontinued or s.local_payload() is not None:
            continue
        snap = SNAPSHOT_DIR / f"{s.source_id}.{s.extension}"
        if snap.exists():
            by_url[s.requests()[0].url] = (s.source_id, snap.read_bytes())
    ecb = (SNAPSHOT_DIR / "ecb_fx.xml").read_bytes()

    def handler(request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        if "ecb.europa.eu" in url:
            return httpx.Response(200, content=ecb)
        sid, body = by_url.get(url, (None, None))
        if sid is None:
            return httpx.Response(404)
        if inject and sid == "runpod_serverless":
            return httpx.Response(302, headers={"Location": url})
        if inject and sid == "modal":
            return httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=body[:200])  # not gzip
        if inject and sid == "replicate":
            raise httpx.ReadTimeout("timed out", request=request)
        if inject and sid == "runpod_pods":
            doc = json.loads(body)
            doc["data"]["gpuTypes"][0]["securePrice"] = 1e15
            return httpx.Response(200, content=json.dumps(doc).encode())
        return httpx.Response(200, content=body)

    return handler


def _use_transport(monkeypatch, inject: bool) -> None:
    """Every httpx client in the process answers from the recorded captures (no network)."""
    real_async, real_sync = httpx.AsyncClient, httpx.Client
    monkeypatch.setattr(httpx, "AsyncClient", lambda *a, **kw: real_async(*a, **{**kw, "transport": httpx.MockTransport(_handler(inject))}))
    monkeypatch.setattr(httpx, "Client", lambda *a, **kw: real_sync(*a, **{**kw, "transport": httpx.MockTransport(_handler(inject))}))


def test_each_failure_kind_fails_only_its_source_and_the_daily_job_completes(tmp_path, monkeypatch):
    import dagster as dg
    import duckdb

    from warehouse.db import connect

    # the baseline: which sources the recorded captures serve well over this transport, nothing injected
    _use_transport(monkeypatch, inject=False)
    base_con = connect(tmp_path / "baseline.duckdb")
    try:
        baseline_ok = {r.source_id for r in operations.refresh_prices(base_con, mode="live").results if r.status == "ok"}
    finally:
        base_con.close()
    monkeypatch.undo()
    assert set(INJECTED) <= baseline_ok, "every source that gets a failure injected works without it"

    # the daily job, live, with one failure of each kind (and a parser that raises)
    _use_transport(monkeypatch, inject=True)
    monkeypatch.setattr(get_source("cerebrium"), "parse", lambda payload: 1 / 0)
    wh = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("SPENDWATCH_WAREHOUSE", str(wh))
    monkeypatch.setenv("SPENDWATCH_PRICE_MODE", "live")
    from pipelines.definitions import defs
    from pipelines.resources import build_resources

    job = defs.resolve_job_def("daily_spend_job")
    result = job.execute_in_process(partition_key="2026-11-30", instance=dg.DagsterInstance.ephemeral(),
                                    resources=build_resources(), raise_on_error=False)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    done = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert done == {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}  # models and alerts ran

    con = duckdb.connect(str(wh), read_only=True)
    try:
        last = {sid: (st, err) for sid, st, err in con.execute(
            "SELECT source_id, arg_max(status, attempted_at), arg_max(error, attempted_at) FROM price_fetches GROUP BY source_id").fetchall()}
    finally:
        con.close()
    assert {sid for sid in baseline_ok if last[sid][0] != "ok"} == set(INJECTED)  # only the injected ones failed
    assert all(last[sid][0] == "failed" for sid in INJECTED)
    assert "too many redirects" in last["runpod_serverless"][1]
    assert "could not be decoded (bad Content-Encoding?)" in last["modal"][1]
    assert "timed out" in last["replicate"][1]
    assert "implausible price, capture refused: AMD Instinct MI300X OAM gpu secure: 1E+15 USD/hour" in last["runpod_pods"][1]
    assert "parser error: ZeroDivisionError" in last["cerebrium"][1]
    # their Dagster freshness checks fail with WARN severity; the job still succeeded
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    for sid in INJECTED:
        assert checks[f"{sid}_fresh"].passed is False and checks[f"{sid}_fresh"].severity == dg.AssetCheckSeverity.WARN
    assert checks["openai_fresh"].passed is True
