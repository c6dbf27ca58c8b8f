"""Price history and fail-soft fetching, through the real httpx path against a local server."""

from __future__ import annotations

import json
import time
from datetime import datetime
from decimal import Decimal

import pytest
from werkzeug import Response

from scrapers.base import Request, Source
from scrapers.fetch import FetchPolicy, fetch_all
from warehouse.prices import apply_outcome

T1 = datetime(2026, 11, 1, 6, 0)
T2 = datetime(2026, 11, 2, 6, 0)
T3 = datetime(2026, 11, 3, 6, 0)


class FakeGpuSource(Source):
    """A JSON price list {"gpus": [{"name": ..., "usd_per_hour": "..."}]} served by the test server."""

    source_id = "fakegpu"
    provider = "fakegpu"
    kind = "dedicated_gpu"
    extension = "json"
    expected_gpu_models = ("H100-80GB-SXM",)

    def __init__(self, url: str):
        self.url = url

    def requests(self):
        return [Request(self.url)]

    def parse(self, payload: bytes):
        try:
            data = json.loads(payload)
            gpus = data["gpus"]
        except (ValueError, KeyError, TypeError):
            raise self.fail("no 'gpus' list in the payload") from None
        from scrapers.gpus import normalise_gpu

        return [
            self.record(sku=g["name"], component="gpu", amount=Decimal(g["usd_per_hour"]), currency="USD", unit="hour",
                        gpu_model=normalise_gpu(g["name"]), gpu_count=1, tier="on_demand")
            for g in gpus
        ]


def body(**prices: str) -> str:
    return json.dumps({"gpus": [{"name": k.replace("_", " "), "usd_per_hour": v} for k, v in prices.items()]})


FAST = FetchPolicy(timeout=0.5, attempts=3, backoff=0.01, max_delay=2)


def refresh(con, src, at, policy=FAST):
    [outcome] = fetch_all([src], "live", fetched_at=at, policy=policy)
    return outcome, apply_outcome(con, outcome, at)


def open_prices(con):
    return dict(con.execute("SELECT sku, amount FROM price_history WHERE valid_to IS NULL ORDER BY sku").fetchall())


def test_same_price_twice_is_one_row(con, httpserver):
    httpserver.expect_request("/p").respond_with_data(body(H100_SXM="2.69", A100_80GB="1.64"))
    src = FakeGpuSource(httpserver.url_for("/p"))
    refresh(con, src, T1)
    _, res = refresh(con, src, T2)
    assert (res.inserted, res.closed) == (0, 0)
    assert con.execute("SELECT count(*) FROM price_history").fetchone()[0] == 2
    assert con.execute("SELECT count(*) FROM price_history WHERE valid_to IS NOT NULL").fetchone()[0] == 0
    # provenance is kept
    url, sha = con.execute("SELECT source_url, payload_sha256 FROM price_history LIMIT 1").fetchone()
    assert url.endswith("/p") and len(sha) == 64


def test_change_closes_old_row_and_opens_new(con, httpserver):
    httpserver.expect_ordered_request("/p").respond_with_data(body(H100_SXM="2.69"))
    httpserver.expect_ordered_request("/p").respond_with_data(body(H100_SXM="2.39"))
    src = FakeGpuSource(httpserver.url_for("/p"))
    refresh(con, src, T1)
    _, res = refresh(con, src, T2)
    assert (res.inserted, res.closed) == (1, 1)
    rows = con.execute("SELECT amount, valid_from, valid_to, closed_reason FROM price_history ORDER BY valid_from").fetchall()
    assert rows == [(Decimal("2.69"), T1, T2, "changed"), (Decimal("2.39"), T2, None, None)]
    # the price in force at any moment is unambiguous
    at = lambda ts: con.execute(
        "SELECT amount FROM price_history WHERE valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)", [ts, ts]
    ).fetchall()
    assert at(datetime(2026, 11, 1, 12)) == [(Decimal("2.69"),)]
    assert at(datetime(2026, 11, 2, 12)) == [(Decimal("2.39"),)]


def test_disappeared_sku_is_closed_not_deleted(con, httpserver):
    """One SKU of four gone from an otherwise complete capture is closed (a quarter is not a truncated page)."""
    httpserver.expect_ordered_request("/p").respond_with_data(body(H100_SXM="2.69", A100_80GB="1.64", L4="0.44", L40S="0.86"))
    httpserver.expect_ordered_request("/p").respond_with_data(body(H100_SXM="2.69", L4="0.44", L40S="0.86"))
    src = FakeGpuSource(httpserver.url_for("/p"))
    refresh(con, src, T1)
    _, res = refresh(con, src, T2)
    assert res.status == "ok" and res.closed == 1
    assert con.execute("SELECT valid_to, closed_reason FROM price_history WHERE sku = 'A100 80GB'").fetchone() == (T2, "disappeared")
    assert open_prices(con) == {"H100 SXM": Decimal("2.69"), "L4": Decimal("0.44"), "L40S": Decimal("0.86")}


def test_history_is_never_rewritten(con, httpserver):
    httpserver.expect_ordered_request("/p").respond_with_data(body(H100_SXM="2.69"))
    httpserver.expect_ordered_request("/p").respond_with_data(body(H100_SXM="9.99"))
    src = FakeGpuSource(httpserver.url_for("/p"))
    refresh(con, src, T2)
    _, res = refresh(con, src, T1)  # an older observation with other prices
    assert res.status == "refused" and "never rewritten" in res.error
    assert open_prices(con) == {"H100 SXM": Decimal("2.69")}


def _seed(con, httpserver):
    httpserver.expect_ordered_request("/p").respond_with_data(body(H100_SXM="2.69"))
    src = FakeGpuSource(httpserver.url_for("/p"))
    refresh(con, src, T1)
    return src


def _assert_kept_and_named(con, res, needle):
    assert res.status == "failed"
    assert "fakegpu" in res.error and needle in res.error
    assert open_prices(con) == {"H100 SXM": Decimal("2.69")}
    status, error = con.execute("SELECT status, error FROM price_fetches ORDER BY attempted_at DESC LIMIT 1").fetchone()
    assert status == "failed" and needle in error


def test_timeout_keeps_last_good_prices(con, httpserver):
    src = _seed(con, httpserver)

    def slow(_req):
        time.sleep(0.8)
        return Response(body(H100_SXM="1.00"))

    httpserver.expect_request("/p").respond_with_handler(slow)
    outcome, res = refresh(con, src, T2, FetchPolicy(timeout=0.2, attempts=2, backoff=0.01))
    _assert_kept_and_named(con, res, "timed out")
    assert "after 2 attempt(s)" in res.error
    time.sleep(1.8)  # let the server finish the abandoned slow requests before the next test


def test_500_then_success(con, httpserver):
    httpserver.expect_ordered_request("/p").respond_with_data("boom", status=500)
    httpserver.expect_ordered_request("/p").respond_with_data(body(H100_SXM="2.49"))
    src = FakeGpuSource(httpserver.url_for("/p"))
    outcome, res = refresh(con, src, T1)
    assert outcome.attempts == 2 and res.status == "ok"
    assert open_prices(con) == {"H100 SXM": Decimal("2.49")}


def test_429_honours_retry_after(con, httpserver):
    waits = []

    async def fake_sleep(s):
        waits.append(s)

    httpserver.expect_ordered_request("/p").respond_with_data("slow down", status=429, headers={"Retry-After": "1.5"})
    httpserver.expect_ordered_request("/p").respond_with_data(body(H100_SXM="2.49"))
    src = FakeGpuSource(httpserver.url_for("/p"))
    outcome, res = refresh(con, src, T1, FetchPolicy(timeout=1, attempts=3, backoff=0.01, sleep=fake_sleep))
    assert res.status == "ok" and waits == [1.5]


@pytest.mark.parametrize(("header", "wait"), [("1e12", 2.0), ("inf", 2.0), ("nan", 2.0), ("soon", 2.0), ("0.25", 0.25)])
def test_retry_after_is_capped_whatever_the_server_says(con, httpserver, header, wait):
    """1e12, inf, nan or garbage count as the cap (max_delay = 2 s here): never a crash, never an endless wait."""
    waits = []

    async def fake_sleep(s):
        waits.append(s)

    httpserver.expect_ordered_request("/p").respond_with_data("slow down", status=429, headers={"Retry-After": header})
    httpserver.expect_ordered_request("/p").respond_with_data(body(H100_SXM="2.49"))
    src = FakeGpuSource(httpserver.url_for("/p"))
    _, res = refresh(con, src, T1, FetchPolicy(timeout=1, attempts=3, backoff=0.01, max_delay=2, sleep=fake_sleep))
    assert res.status == "ok" and waits == [wait]


def test_retry_after_as_a_date(con, httpserver):
    from email.utils import format_datetime
    from datetime import timedelta, timezone

    waits = []

    async def fake_sleep(s):
        waits.append(s)

    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    httpserver.expect_ordered_request("/p").respond_with_data("slow down", status=503, headers={"Retry-After": when})
    httpserver.expect_ordered_request("/p").respond_with_data(body(H100_SXM="2.49"))
    src = FakeGpuSource(httpserver.url_for("/p"))
    _, res = refresh(con, src, T1, FetchPolicy(timeout=1, attempts=3, backoff=0.01, max_delay=60, sleep=fake_sleep))
    assert res.status == "ok" and len(waits) == 1 and 27 <= waits[0] <= 30


def test_a_wait_past_the_pass_budget_leaves_the_source_for_the_next_pass(con, httpserver):
    src = _seed(con, httpserver)
    waits = []

    async def fake_sleep(s):
        waits.append(s)

    httpserver.expect_request("/p").respond_with_data("slow down", status=429, headers={"Retry-After": "120"})
    outcome, res = refresh(con, src, T2, FetchPolicy(timeout=1, attempts=3, max_delay=600, budget_seconds=30, sleep=fake_sleep))
    assert waits == [] and (outcome.status, res.status) == ("deferred", "deferred")
    assert "left for the next pass" in res.error and "120" in res.error
    assert open_prices(con) == {"H100 SXM": Decimal("2.69")}
    assert con.execute("SELECT status FROM price_fetches ORDER BY attempted_at DESC LIMIT 1").fetchone() == ("deferred",)


def test_persistent_500_keeps_prices(con, httpserver):
    src = _seed(con, httpserver)
    httpserver.expect_request("/p").respond_with_data("down", status=503)
    _, res = refresh(con, src, T2)
    _assert_kept_and_named(con, res, "HTTP 503")


def test_changed_layout_keeps_prices(con, httpserver):
    src = _seed(con, httpserver)
    httpserver.expect_request("/p").respond_with_data(json.dumps({"products": []}))
    _, res = refresh(con, src, T2)
    _assert_kept_and_named(con, res, "no 'gpus' list")


def test_empty_page_keeps_prices(con, httpserver):
    src = _seed(con, httpserver)
    httpserver.expect_request("/p").respond_with_data(json.dumps({"gpus": []}))
    _, res = refresh(con, src, T2)
    _assert_kept_and_named(con, res, "no prices")


def test_missing_expected_sku_is_implausible(con, httpserver):
    src = _seed(con, httpserver)
    httpserver.expect_request("/p").respond_with_data(body(A100_80GB="1.64"))
    _, res = refresh(con, src, T2)
    _assert_kept_and_named(con, res, "H100-80GB-SXM")


def test_zero_prices_are_skipped_and_counted(con, httpserver):
    """On a provider's page a zero means "not offered": skipped and counted, never stored, not a failure."""
    httpserver.expect_request("/p").respond_with_data(body(H100_SXM="2.69", A100_80GB="0", L4="0.00"))
    src = FakeGpuSource(httpserver.url_for("/p"))
    _, res = refresh(con, src, T1)
    assert (res.status, res.records, res.zeros, res.dropped, res.inserted) == ("ok", 3, 2, 2, 1)
    assert con.execute("SELECT min(amount) FROM price_history").fetchone()[0] == Decimal("2.69")
    assert con.execute("SELECT dropped, zeros, implausible FROM price_fetches").fetchone() == (2, 2, 0)


def test_one_failing_source_does_not_stop_the_others(con, httpserver):
    httpserver.expect_request("/good").respond_with_data(body(H100_SXM="2.69"))
    httpserver.expect_request("/bad").respond_with_data("<html>maintenance</html>")

    class Other(FakeGpuSource):
        source_id = "othergpu"

    outcomes = fetch_all([FakeGpuSource(httpserver.url_for("/good")), Other(httpserver.url_for("/bad"))], "live", fetched_at=T1, policy=FAST)
    status = {o.source_id: o.status for o in outcomes}
    assert status == {"fakegpu": "ok", "othergpu": "failed"}


def test_user_agent_identifies_spendwatch(httpserver):
    seen = {}

    def handler(req):
        seen["ua"] = req.headers.get("User-Agent")
        return Response(body(H100_SXM="2.69"))

    httpserver.expect_request("/p").respond_with_handler(handler)
    fetch_all([FakeGpuSource(httpserver.url_for("/p"))], "live", fetched_at=T1, policy=FAST)
    assert seen["ua"].startswith("spendwatch/")


def test_archive_is_compressed_by_source_and_date(con, httpserver, tmp_path):
    import gzip

    httpserver.expect_request("/p").respond_with_data(body(H100_SXM="2.69"))
    [o] = fetch_all([FakeGpuSource(httpserver.url_for("/p"))], "live", fetched_at=T1, policy=FAST)
    res = apply_outcome(con, o, T1, archive_dir=tmp_path / "raw")
    files = list((tmp_path / "raw" / "fakegpu" / "2026-11-01").glob("*.json.gz"))
    assert len(files) == 1 and res.archive_path == str(files[0])
    assert gzip.decompress(files[0].read_bytes()) == o.payload


def test_backfill_applies_once_and_never_rewrites(con, tmp_path):
    """A backfill replays captures as the prices in force from its date; later it is a no-op, never a rewrite."""
    from datetime import date
    from pathlib import Path

    from spendwatch import operations

    captures = Path(__file__).resolve().parents[1] / "fixtures" / "prices"
    first = operations.refresh_prices(con, mode="offline", source_ids=["runpod_serverless"], backfills=[(date(2026, 9, 1), captures)])
    assert [r.status for r in first.backfilled] == ["ok"]
    assert con.execute("SELECT min(valid_from) FROM price_history").fetchone()[0] == datetime(2026, 9, 1)
    rows = con.execute("SELECT count(*) FROM price_history").fetchone()[0]
    again = operations.refresh_prices(con, mode="offline", source_ids=["runpod_serverless"], backfills=[(date(2026, 9, 1), captures)])
    assert again.backfilled == []  # the source has history: the backfill is skipped, history is not rewritten
    assert con.execute("SELECT count(*) FROM price_history").fetchone()[0] == rows
    # the offline refresh of the same prices extended nothing: one open row per price, opened on 1 September
    assert con.execute("SELECT count(*) FROM price_history WHERE valid_to IS NOT NULL").fetchone()[0] == 0


def test_backfill_folder_must_exist(con, tmp_path):
    from datetime import date

    from spendwatch import operations
    from spendwatch.core.errors import UsageError

    with pytest.raises(UsageError, match="price backfill folder not found"):
        operations.refresh_prices(con, mode="offline", source_ids=["runpod_serverless"], backfills=[(date(2026, 9, 1), tmp_path / "nope")])
