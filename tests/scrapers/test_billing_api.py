"""Live billing pullers against a local pytest-httpserver: pagination, auth headers, retries, secrecy of the key."""

from __future__ import annotations

import json
import logging
import socket
from datetime import date
from pathlib import Path

import httpx
import pytest
from werkzeug import Request, Response

from scrapers.billing_api import (
    BillingApiError,
    RetryPolicy,
    pull_anthropic_cost_report,
    pull_anthropic_usage,
    pull_openai_costs,
    pull_openai_usage_completions,
    pull_runpod_billing,
)
from warehouse.ingest import create_stage_tables, detect_format
from warehouse.db import connect
from warehouse.loaders import anthropic_cost, openai_costs, runpod_billing

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "exports"
OPENAI_KEY = "sk-admin-TESTKEY-0123456789abcdef"
ANTHROPIC_KEY = "sk-ant-admin01-TESTKEY-abcdefghijklmnop"
RUNPOD_KEY = "rpa_TESTKEY0123456789ABCDEFGH"
NOV1, NOV4 = date(2026, 11, 1), date(2026, 11, 4)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def policy(sleeps) -> RetryPolicy:
    return RetryPolicy(attempts=3, backoff=0.5, max_delay=30.0, sleep=sleeps.append)


@pytest.fixture
def client():
    with httpx.Client() as c:
        yield c


def two_pages(fixture: str) -> tuple[bytes, bytes]:
    """The first two pages of a saved multi-page fixture, as the API would send them."""
    pages = json.loads((FIXTURES / fixture).read_text())
    return json.dumps(pages[0]).encode(), json.dumps(pages[1]).encode()


def paging_handler(first: bytes, second: bytes, token: str):
    def handler(request: Request) -> Response:
        if request.args.get("page") is None:
            return Response(first, content_type="application/json")
        if request.args.get("page") == token:
            return Response(second, content_type="application/json")
        return Response('{"error": "bad page token"}', status=400, content_type="application/json")

    return handler


def test_openai_costs_follows_next_page_and_sends_the_key(httpserver, client, policy, tmp_path):
    first, second = two_pages("openai_costs_2026-11.json")
    httpserver.expect_request("/v1/organization/costs").respond_with_handler(
        paging_handler(first, second, "page_AAAAAGkxTwAAAAAAaTKggA==")
    )
    paths = pull_openai_costs(client, OPENAI_KEY, NOV1, NOV4, tmp_path, base_url=httpserver.url_for(""), policy=policy)
    assert [p.name for p in paths] == ["openai_costs_2026-11-01_001.json", "openai_costs_2026-11-01_002.json"]
    assert paths[0].read_bytes() == first and paths[1].read_bytes() == second  # saved unchanged
    requests = [req for req, _ in httpserver.log]
    assert len(requests) == 2
    assert all(req.headers["Authorization"] == f"Bearer {OPENAI_KEY}" for req in requests)
    q = requests[0].args
    assert (q["start_time"], q["end_time"], q["bucket_width"]) == ("1793491200", "1793750400", "1d")
    assert q.getlist("group_by") == ["project_id", "line_item"]
    assert requests[1].args["page"] == "page_AAAAAGkxTwAAAAAAaTKggA=="
    # the saved pages are what the openai_costs loader reads
    assert [detect_format(p) for p in paths] == ["openai_costs", "openai_costs"]
    con = connect(tmp_path / "w.duckdb")
    create_stage_tables(con)
    assert openai_costs.stage(con, paths[0]) + openai_costs.stage(con, paths[1]) == 11
    assert list(tmp_path.glob(".*.part")) == []


def test_openai_usage_completions_pages(httpserver, client, policy, tmp_path):
    page1 = json.loads((FIXTURES / "openai_usage_completions_2026-11.json").read_text())
    page2 = dict(page1, data=[])
    page1 = dict(page1, has_more=True, next_page="page_2")
    httpserver.expect_request("/v1/organization/usage/completions").respond_with_handler(
        paging_handler(json.dumps(page1).encode(), json.dumps(page2).encode(), "page_2")
    )
    paths = pull_openai_usage_completions(
        client, OPENAI_KEY, NOV1, NOV4, tmp_path, bucket_width="1h", base_url=httpserver.url_for(""), policy=policy
    )
    assert [p.name for p in paths] == ["openai_usage_2026-11-01_001.json", "openai_usage_2026-11-01_002.json"]
    q = httpserver.log[0][0].args
    assert q["bucket_width"] == "1h" and q["limit"] == "168"
    assert "model" in q.getlist("group_by") and "project_id" in q.getlist("group_by")


def test_anthropic_cost_report_headers_and_pagination(httpserver, client, policy, tmp_path):
    report = json.loads((FIXTURES / "anthropic_cost_report_2026-11.json").read_text())
    first = dict(report, data=report["data"][:1], has_more=True, next_page="page_MjAyNi0xMS0wMlQwMDowMDowMFo=")
    second = dict(report, data=report["data"][1:], has_more=False, next_page=None)
    httpserver.expect_request("/v1/organizations/cost_report").respond_with_handler(
        paging_handler(json.dumps(first).encode(), json.dumps(second).encode(), "page_MjAyNi0xMS0wMlQwMDowMDowMFo=")
    )
    paths = pull_anthropic_cost_report(client, ANTHROPIC_KEY, NOV1, NOV4, tmp_path,
                                       base_url=httpserver.url_for(""), policy=policy)
    assert len(paths) == 2
    for req, _ in httpserver.log:
        assert req.headers["x-api-key"] == ANTHROPIC_KEY
        assert req.headers["anthropic-version"] == "2023-06-01"
        assert "Authorization" not in req.headers
    q = httpserver.log[0][0].args
    assert (q["starting_at"], q["ending_at"]) == ("2026-11-01T00:00:00Z", "2026-11-04T00:00:00Z")
    assert q.getlist("group_by[]") == ["workspace_id", "description"]
    con = connect(tmp_path / "w.duckdb")
    create_stage_tables(con)
    assert sum(anthropic_cost.stage(con, p) for p in paths) == 7


def test_anthropic_usage_pull(httpserver, client, policy, tmp_path):
    body = (FIXTURES / "anthropic_usage_messages_2026-11.json").read_bytes()
    httpserver.expect_request("/v1/organizations/usage_report/messages").respond_with_data(
        body, content_type="application/json")
    (path,) = pull_anthropic_usage(client, ANTHROPIC_KEY, NOV1, NOV4, tmp_path,
                                   base_url=httpserver.url_for(""), policy=policy)
    assert path.name == "anthropic_usage_2026-11-01_001.json" and path.read_bytes() == body
    assert detect_format(path) == "anthropic_usage"
    assert "model" in httpserver.log[0][0].args.getlist("group_by[]")


def test_runpod_billing_wraps_each_resource(httpserver, client, policy, tmp_path):
    endpoints = (FIXTURES / "runpod_billing_endpoints_2026-11.json").read_bytes()
    pods = json.dumps(json.loads((FIXTURES / "runpod_billing_pods_2026-11.json").read_text())["records"]).encode()
    httpserver.expect_request("/billing/endpoints").respond_with_data(endpoints, content_type="application/json")
    httpserver.expect_request("/billing/pods").respond_with_data(pods, content_type="application/json")
    paths = pull_runpod_billing(client, RUNPOD_KEY, NOV1, NOV4, tmp_path, resources=("endpoints", "pods"),
                                bucket_size="hour", base_url=httpserver.url_for(""), policy=policy)
    assert [p.name for p in paths] == ["runpod_billing_2026-11-01_endpoints.json", "runpod_billing_2026-11-01_pods.json"]
    for req, _ in httpserver.log:
        assert req.headers["Authorization"] == f"Bearer {RUNPOD_KEY}"
        assert req.args["bucketSize"] == "hour" and req.args["startTime"] == "2026-11-01T00:00:00Z"
    assert httpserver.log[0][0].args["grouping"] == "endpointId"
    assert httpserver.log[1][0].args["grouping"] == "podId"
    saved = json.loads(paths[0].read_text())
    assert (saved["object"], saved["resource"], saved["bucketSize"]) == ("runpod.billing", "endpoints", "hour")
    assert saved["records"] == json.loads(endpoints)
    assert endpoints.strip() in paths[0].read_bytes()  # the body is kept byte for byte
    con = connect(tmp_path / "w.duckdb")
    create_stage_tables(con)
    assert runpod_billing.stage(con, paths[1]) == 3
    kinds = con.execute("SELECT DISTINCT x_product_kind, ChargePeriodEnd - ChargePeriodStart FROM stage_lines").fetchall()
    assert [(k, str(d)) for k, d in kinds] == [("dedicated_gpu", "1:00:00")]  # the wrapper's hour, not inferred


def test_runpod_billing_pulls_in_windows(httpserver, client, policy, tmp_path):
    httpserver.expect_request("/billing/networkvolumes").respond_with_data("[]", content_type="application/json")
    paths = pull_runpod_billing(client, RUNPOD_KEY, date(2026, 11, 1), date(2026, 11, 11), tmp_path,
                                resources=("networkvolumes",), window_days=7,
                                base_url=httpserver.url_for(""), policy=policy)
    assert [p.name for p in paths] == ["runpod_billing_2026-11-01_networkvolumes.json",
                                       "runpod_billing_2026-11-08_networkvolumes.json"]
    windows = [(req.args["startTime"], req.args["endTime"]) for req, _ in httpserver.log]
    assert windows == [("2026-11-01T00:00:00Z", "2026-11-08T00:00:00Z"), ("2026-11-08T00:00:00Z", "2026-11-11T00:00:00Z")]
    assert "grouping" not in httpserver.log[0][0].args
    assert json.loads(paths[1].read_text())["records"] == []


def test_http_error_names_endpoint_but_never_the_key(httpserver, client, policy, tmp_path, caplog):
    httpserver.expect_request("/v1/organization/costs").respond_with_json(
        {"error": {"message": f"Incorrect API key provided: {OPENAI_KEY}.", "type": "invalid_request_error"}},
        status=401,
    )
    caplog.set_level(logging.DEBUG)
    with pytest.raises(BillingApiError) as info:
        pull_openai_costs(client, OPENAI_KEY, NOV1, NOV4, tmp_path, base_url=httpserver.url_for(""), policy=policy)
    message = str(info.value)
    assert "OpenAI /v1/organization/costs: HTTP 401" in message
    assert OPENAI_KEY not in message and "[redacted]" in message
    assert info.value.__cause__ is None and info.value.__context__ is None  # no httpx object (headers) attached
    assert OPENAI_KEY not in caplog.text
    assert list(tmp_path.iterdir()) == []  # nothing saved from an error


def test_retry_after_is_honoured_on_429(httpserver, client, policy, sleeps, tmp_path):
    body = (FIXTURES / "openai_costs.example.json").read_bytes()
    httpserver.expect_ordered_request("/v1/organization/costs").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "7"})
    httpserver.expect_ordered_request("/v1/organization/costs").respond_with_data(body, content_type="application/json")
    (path,) = pull_openai_costs(client, OPENAI_KEY, NOV1, NOV4, tmp_path, base_url=httpserver.url_for(""), policy=policy)
    assert sleeps == [7.0]
    assert path.read_bytes() == body


def test_5xx_is_retried_with_backoff_then_fails(httpserver, client, policy, sleeps, tmp_path):
    httpserver.expect_request("/v1/organizations/usage_report/messages").respond_with_data(
        f"upstream error for key {ANTHROPIC_KEY}", status=503)
    with pytest.raises(BillingApiError) as info:
        pull_anthropic_usage(client, ANTHROPIC_KEY, NOV1, NOV4, tmp_path, base_url=httpserver.url_for(""), policy=policy)
    assert "HTTP 503" in str(info.value) and "after 3 attempt(s)" in str(info.value)
    assert ANTHROPIC_KEY not in str(info.value)
    assert len(httpserver.log) == 3 and len(sleeps) == 2
    assert 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0  # doubling, jittered


def test_connection_errors_are_retried_and_reported_without_the_key(client, policy, sleeps, tmp_path):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(BillingApiError) as info:
        pull_runpod_billing(client, RUNPOD_KEY, NOV1, NOV4, tmp_path, resources=("pods",),
                            base_url=f"http://127.0.0.1:{port}/v1", policy=policy)
    assert "RunPod /v1/billing/pods: ConnectError after 3 attempt(s)" in str(info.value)
    assert RUNPOD_KEY not in str(info.value)
    assert info.value.__cause__ is None and info.value.__context__ is None
    assert len(sleeps) == 2


def test_broken_pagination_and_bodies_are_errors(httpserver, client, policy, tmp_path):
    httpserver.expect_request("/v1/organization/costs").respond_with_json(
        {"object": "page", "data": [], "has_more": True, "next_page": None})
    with pytest.raises(BillingApiError, match="has_more but gives no next_page"):
        pull_openai_costs(client, OPENAI_KEY, NOV1, NOV4, tmp_path, base_url=httpserver.url_for(""), policy=policy)
    httpserver.clear()
    httpserver.expect_request("/v1/organization/costs").respond_with_json(
        {"object": "page", "data": [], "has_more": True, "next_page": "same"})
    with pytest.raises(BillingApiError, match="repeats an earlier next_page"):
        pull_openai_costs(client, OPENAI_KEY, NOV1, NOV4, tmp_path, base_url=httpserver.url_for(""), policy=policy)
    httpserver.clear()
    httpserver.expect_request("/v1/organizations/cost_report").respond_with_data("<html>maintenance</html>")
    with pytest.raises(BillingApiError, match="response is not JSON"):
        pull_anthropic_cost_report(client, ANTHROPIC_KEY, NOV1, NOV4, tmp_path,
                                   base_url=httpserver.url_for(""), policy=policy)
    with pytest.raises(BillingApiError, match="must be after start"):
        pull_openai_costs(client, OPENAI_KEY, NOV4, NOV1, tmp_path, base_url=httpserver.url_for(""), policy=policy)
    with pytest.raises(BillingApiError, match="no API key"):
        pull_openai_costs(client, "", NOV1, NOV4, tmp_path, base_url=httpserver.url_for(""), policy=policy)
