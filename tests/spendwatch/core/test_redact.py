"""spendwatch.core.redact: the one redaction module, on the shapes the issue names (hand-written inputs)."""

from __future__ import annotations

import httpx
import pytest

from scrapers import billing_api
from spendwatch.core.redact import MASK, excerpt, redact, redact_dsn
from warehouse.db import connect


@pytest.mark.parametrize("text, expected", [
    ("https://hooks.slack.com/services/T0/B0/abcdefSECRET1234", MASK),
    ("post to http://127.0.0.1:5000/services/T0009OTHR/B0008OTHR/an0th3rT0kenN0tRegistered failed",
     f"post to http://127.0.0.1:5000/services/{MASK} failed"),
    ("http://alice:p4ssw0rd@db.internal/x", f"http://{MASK}@db.internal/x"),
    ("https://api.example.com/v1/costs?api_key=abcdef123456&start=1", f"https://api.example.com/v1/costs?api_key={MASK}&start=1"),
    ("md:spend?motherduck_token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc", f"md:spend?motherduck_token={MASK}"),
    ("https://files.example.com/d/AbCdEf0123456789ghIJKL/report.csv", f"https://files.example.com/d/{MASK}/report.csv"),
    ("https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage", f"https://api.telegram.org/bot{MASK}/sendMessage"),
    ("Authorization: Bearer sk-ant-api03-AAAABBBBCCCC", f"Authorization: Bearer {MASK}"),
    ("x-api-key: rpa_ABCDEFGH12345678", f"x-api-key: {MASK}"),
    ("token xoxb-1234-5678-abcdefghij", f"token {MASK}"),
])
def test_secret_shapes_are_masked(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize("text", [
    "gpt-4o-2024-08-06 cost 3.20 GBP", "https://runpod.io/pricing", "invalid_payload", "channel_not_found",
    "https://openrouter.ai/api/v1/models", "H100 SXM 80GB at 2.49 USD/hour",
])
def test_ordinary_text_is_left_alone(text):
    assert redact(text) == text


def test_redaction_happens_before_the_cut():
    # 180 characters of padding put the 24-character token across the 200-character boundary.
    token = "Zq9xW4vR7tY2uI5oP8aS3dF6"
    body = "e" * 180 + token + " trailing"
    out = excerpt(body, 200, [token])
    assert not any(token[i:i + 6] in out for i in range(len(token) - 5))
    assert out.startswith("e" * 180 + MASK)


def test_billing_api_error_body_is_redacted_whole_before_truncation():
    key = "sk-admin-" + "Q" * 10 + "w8E3rT6yU9iO2pA5sD7fG1"  # 38 characters
    body = "x" * 280 + f" invalid key {key} given"

    def answer(request):
        return httpx.Response(401, text=body)

    client = httpx.Client(transport=httpx.MockTransport(answer))
    with pytest.raises(billing_api.BillingApiError) as err:
        billing_api._get(client, "https://api.openai.com/v1/organization/costs", [], {}, billing_api.RetryPolicy(attempts=1),
                         "OpenAI", key)
    assert not any(key[i:i + 6] in str(err.value) for i in range(len(key) - 5))


def test_motherduck_token_never_printed(monkeypatch):
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzcGVuZHdhdGNoIn0.c2lnbmF0dXJl"
    monkeypatch.setattr("duckdb.connect", lambda *a, **k: (_ for _ in ()).throw(__import__("duckdb").IOException(f"cannot reach {a[0]}")))
    with pytest.raises(Exception) as err:
        connect(f"md:spend?motherduck_token={token}")
    assert not any(token[i:i + 6] in str(err.value) for i in range(len(token) - 5))
    assert redact_dsn(f"md:spend?motherduck_token={token}") == f"md:spend?motherduck_token={MASK}"


def test_an_http_error_naming_a_url_with_a_token_is_redacted():
    import asyncio

    from spendwatch.core.http import HttpError, HttpPolicy, arequest

    token = "Pq8Rs7Tu6Vw5Xy4Za3Bc2De1"

    def refuse(request):
        raise httpx.ConnectError(f"cannot connect to {request.url}")

    async def go():
        async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as client:
            await arequest(client, "GET", f"https://prices.example/v1/gpus?api_key={token}", policy=HttpPolicy(attempts=1),
                           where=f"https://prices.example/v1/gpus?api_key={token}")

    with pytest.raises(HttpError) as err:
        asyncio.run(go())
    assert not any(token[i:i + 6] in str(err.value) for i in range(len(token) - 5))


def test_a_price_source_http_error_never_stores_a_key_from_its_url(httpserver):
    """A source URL carrying a key in its query and its path: the HTTP error that reaches price_fetches is redacted."""
    import asyncio

    from scrapers.base import Request
    from scrapers.fetch import FetchError, FetchPolicy, fetch_bytes

    token = "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2"
    httpserver.expect_request(f"/prices/{token}").respond_with_data("forbidden", status=403)

    class KeyedSource:
        source_id = "keyed"

        def requests(self):
            return [Request(url=httpserver.url_for(f"/prices/{token}") + f"?api_key={token}")]

    async def go():
        async with httpx.AsyncClient() as client:
            await fetch_bytes(client, KeyedSource(), FetchPolicy(timeout=2, attempts=1))

    with pytest.raises(FetchError) as err:
        asyncio.run(go())
    assert "HTTP 403" in str(err.value)
    assert not any(token[i:i + 6] in str(err.value) for i in range(len(token) - 5))
