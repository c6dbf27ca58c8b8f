"""Every price source, end to end through the real httpx path, against its capture served on 127.0.0.1."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from scrapers.base import Request
from scrapers.fetch import FetchPolicy, SNAPSHOT_DIR, fetch_all
from scrapers.sources import all_sources
from warehouse.prices import apply_outcome

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "prices"
HTTP_SOURCES = [s for s in all_sources() if not s.discontinued and s.local_payload() is None]


@pytest.mark.parametrize("source", HTTP_SOURCES, ids=lambda s: s.source_id)
def test_capture_served_locally_parses_and_is_stored(source, httpserver, con):
    capture = FIXTURES / f"{source.source_id}.{source.extension}"
    assert capture.exists(), f"no capture for {source.source_id} in tests/fixtures/prices"
    assert capture.read_bytes() == (SNAPSHOT_DIR / capture.name).read_bytes(), "the shipped snapshot differs from the test capture"
    original = source.requests()[0]
    httpserver.expect_request(f"/{source.source_id}", method=original.method).respond_with_data(capture.read_bytes())
    at = datetime(2026, 12, 1, 6, 0)
    [outcome] = fetch_all([source], "live", fetched_at=at, policy=FetchPolicy(timeout=5, attempts=1),
                          url_overrides={source.source_id: httpserver.url_for(f"/{source.source_id}")})
    assert outcome.status == "ok", outcome.error
    assert outcome.records and all(r.fetched_at == at and r.payload_sha256 == outcome.payload_sha256 for r in outcome.records)
    res = apply_outcome(con, outcome, at)
    assert res.inserted == len([r for r in outcome.records if r.amount > 0])
    stored = con.execute("SELECT count(*), min(amount) FROM price_history WHERE source_id = ?", [source.source_id]).fetchone()
    assert stored[0] == res.inserted and stored[1] > 0
    if original.json is not None:  # GraphQL and other POST bodies reach the server intact
        body = json.loads(httpserver.log[0][0].get_data())
        assert body == original.json


def test_offline_mode_covers_every_source():
    outcomes = fetch_all(all_sources(), "offline", fetched_at=datetime(2026, 12, 1))
    by = {o.source_id: o for o in outcomes}
    assert by["banana"].status == "skipped" and by["banana"].error == "discontinued"
    failed = {o.source_id: o.error for o in outcomes if o.status == "failed"}
    assert not failed
    assert all(o.records for o in outcomes if o.source_id != "banana")


def test_snapshot_dir_replays_and_skips_missing(tmp_path):
    (tmp_path / "openrouter.json").write_bytes((FIXTURES / "openrouter.json").read_bytes())
    outcomes = {o.source_id: o for o in fetch_all(all_sources(), "snapshot", snapshot_dir=tmp_path, fetched_at=datetime(2026, 12, 1))}
    assert outcomes["openrouter"].status == "ok"
    skipped = [sid for sid, o in outcomes.items() if o.status == "skipped" and sid not in ("banana", "genai_prices")]
    assert "modal" in skipped and "runpod_pods" in skipped
    assert "no file modal.html" in outcomes["modal"].error


def test_record_then_replay_round_trips(tmp_path, httpserver):
    from scrapers.fetch import record

    src = next(s for s in HTTP_SOURCES if s.source_id == "runpod_serverless")
    httpserver.expect_request("/rs").respond_with_data((FIXTURES / "runpod_serverless.md").read_bytes())
    outcomes = fetch_all([src], "live", fetched_at=datetime(2026, 12, 1), policy=FetchPolicy(attempts=1),
                         url_overrides={"runpod_serverless": httpserver.url_for("/rs")})
    [saved] = record(outcomes, tmp_path / "rec")
    assert saved.name == "runpod_serverless.md"
    [replayed] = fetch_all([src], "snapshot", snapshot_dir=tmp_path / "rec", fetched_at=datetime(2026, 12, 1))
    assert replayed.status == "ok" and replayed.payload_sha256 == outcomes[0].payload_sha256
