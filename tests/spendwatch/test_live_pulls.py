"""The daily job's live pulls: only providers with a key, pages saved for ingest, failures local and key-free."""

import json
from datetime import date
from pathlib import Path

import httpx

from spendwatch.operations import pull_live_exports

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "exports"


def test_pulls_only_providers_with_keys_and_reports_failures(tmp_path):
    costs = json.loads((FIX / "openai_costs.example.json").read_text())
    usage = json.loads((FIX / "openai_usage_completions.example.json").read_text())
    usage["has_more"], usage["next_page"] = False, None
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.host, request.url.path, request.headers.get("authorization"), request.headers.get("x-api-key")))
        if request.url.path == "/v1/organization/costs":
            return httpx.Response(200, json=costs)
        if request.url.path == "/v1/organization/usage/completions":
            return httpx.Response(200, json=usage)
        return httpx.Response(403, json={"error": {"type": "permission_error", "message": "bad key"}})

    keys = {"openai": "sk-admin-SECRET1", "anthropic": "sk-ant-admin-SECRET2", "runpod": None}
    pulls = {p.provider: p for p in pull_live_exports(keys, date(2026, 11, 30), tmp_path, transport=httpx.MockTransport(handler))}
    assert set(pulls) == {"openai", "anthropic"}  # no RunPod key, no RunPod call
    assert not any(host.endswith("runpod.io") for host, *_ in seen)
    assert pulls["openai"].error is None and len(pulls["openai"].files) == 2
    assert all(f.parent == tmp_path / "openai" and f.exists() for f in pulls["openai"].files)
    assert ("api.openai.com", "/v1/organization/costs", "Bearer sk-admin-SECRET1", None) in seen
    assert pulls["anthropic"].error and "403" in pulls["anthropic"].error
    assert "SECRET2" not in pulls["anthropic"].error


def test_a_day_without_usage_is_recorded_not_an_ingest_error(tmp_path, con, sample_config):
    # A quiet day: both OpenAI endpoints answer with an empty page.  Detection cannot tell an
    # empty costs page from an empty usage page, but the endpoint called says which it is.
    from spendwatch.operations import ingest_live

    empty = {"object": "page", "data": [], "has_more": False, "next_page": None}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=empty)

    pulls = pull_live_exports({"openai": "sk-admin-SECRET1"}, date(2026, 11, 30), tmp_path,
                              transport=httpx.MockTransport(handler))
    results = ingest_live(con, sample_config, pulls)
    # The two empty pages are byte for byte the same file, so the second is that file again.
    assert [(r.format, r.error, r.rows_read, r.skipped_duplicate) for r in results] == [
        ("openai_costs", None, 0, False), ("openai_costs", None, 0, True)]
    assert con.execute("SELECT format, rows_read, rows_loaded FROM ingested_files").fetchall() == [("openai_costs", 0, 0)]
