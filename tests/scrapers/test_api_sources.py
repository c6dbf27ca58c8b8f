"""Hosted-API price sources (OpenAI, Anthropic, Together, Fireworks) and the two cross-check catalogs.

Every expected value below was read by hand from the recorded capture in
``tests/fixtures/prices/`` (or, for genai-prices, from its serialised catalog there).
No test touches the network: HTTP goes through ``httpx.MockTransport``.
"""

from __future__ import annotations

import hashlib

import json
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from scrapers.base import UNITS, ParseError, PriceRecord
from scrapers.fetch import SNAPSHOT_DIR, fetch_all, parse_payload
from scrapers.sources.anthropic import SOURCE as ANTHROPIC
from scrapers.sources.anthropic import api_model_id
from scrapers.sources.fireworks import SOURCE as FIREWORKS
from scrapers.sources.genai_prices import SOURCE as GENAI
from scrapers.sources.openai import SOURCE as OPENAI
from scrapers.sources.openrouter import SOURCE as OPENROUTER
from scrapers.sources.openrouter import split_model_id
from scrapers.sources.together import SOURCE as TOGETHER

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "prices"
SHARED_OPENROUTER = Path(__file__).resolve().parents[3] / "shared" / "data" / "openrouter" / "models-2025-05-22.json"
ALL = [OPENAI, ANTHROPIC, TOGETHER, FIREWORKS, OPENROUTER, GENAI]


def capture(source) -> bytes:
    return (FIXTURES / f"{source.source_id}.{source.extension}").read_bytes()


def find(records: list[PriceRecord], sku: str, component: str, tier: str | None = "standard", provider: str | None = None) -> PriceRecord:
    hits = [r for r in records if r.sku == sku and r.component == component and r.tier == tier and (provider is None or r.provider == provider)]
    assert len(hits) == 1, f"{sku}/{component}/{tier}: {len(hits)} records"
    return hits[0]


# --- shared checks -------------------------------------------------------------


@pytest.mark.parametrize("source", ALL, ids=lambda s: s.source_id)
def test_snapshot_is_an_identical_copy_of_the_capture(source):
    assert (SNAPSHOT_DIR / f"{source.source_id}.{source.extension}").read_bytes() == capture(source)


@pytest.mark.parametrize("source", ALL, ids=lambda s: s.source_id)
def test_capture_passes_the_fetch_layer_checks(source):
    records = parse_payload(source, capture(source))
    assert all(r.source_id == source.source_id and r.currency == "USD" for r in records)
    keys = [(r.provider, r.sku, r.component, r.tier) for r in records]
    assert len(keys) == len(set(keys)), "one price per provider/sku/component/tier"


@pytest.mark.parametrize("source", ALL, ids=lambda s: s.source_id)
@pytest.mark.parametrize("payload", [b"", b"   \n", b"<html><body>Service temporarily unavailable</body></html>", b"{}"])
def test_empty_or_foreign_page_is_a_parse_error_naming_the_source(source, payload):
    with pytest.raises(ParseError) as err:
        source.parse(payload)
    assert err.value.source_id == source.source_id
    assert str(err.value).startswith(f"{source.source_id}: ")


def test_kinds_and_catalog_flags():
    for s in (OPENAI, ANTHROPIC, TOGETHER, FIREWORKS):
        assert (s.kind, s.catalog) == ("hosted_api", False)
    assert OPENROUTER.catalog and GENAI.catalog
    assert GENAI.requests() == []


# --- OpenAI --------------------------------------------------------------------


def test_openai_standard_prices_per_million_tokens():
    recs = OPENAI.parse(capture(OPENAI))
    assert find(recs, "gpt-4o", "input_token").amount == Decimal("2.50")
    assert find(recs, "gpt-4o", "cached_input_token").amount == Decimal("1.25")
    assert find(recs, "gpt-4o", "output_token").amount == Decimal("10.00")
    r = find(recs, "gpt-4o-mini", "cached_input_token")
    assert (r.amount, r.unit, r.currency, r.provider, r.product_kind) == (Decimal("0.075"), "1M_tokens", "USD", "openai", "hosted_api")
    assert find(recs, "gpt-6.1-sol", "cache_write_token").amount == Decimal("2.50")
    assert find(recs, "gpt-6-luna", "cache_write_token").amount == Decimal("0.125")


def test_openai_dashes_are_no_price_not_zero():
    recs = OPENAI.parse(capture(OPENAI))
    assert not [r for r in recs if r.sku == "gpt-5.5-pro" and r.component == "cached_input_token"]
    assert not [r for r in recs if r.sku == "gpt-4o" and r.component == "cache_write_token"]
    assert not [r for r in recs if r.sku == "gpt-4o" and r.tier == "standard_long_context"]
    assert all(r.amount > 0 for r in recs)


def test_openai_long_context_and_service_tiers():
    recs = OPENAI.parse(capture(OPENAI))
    long = find(recs, "gpt-5.5", "input_token", "standard_long_context")
    assert long.amount == Decimal("10.00") and long.note == "prompts over 272K input tokens"
    assert find(recs, "gpt-6-astra", "output_token", "standard_long_context").amount == Decimal("75.00")
    assert find(recs, "gpt-4o", "input_token", "batch").amount == Decimal("1.25")
    assert find(recs, "gpt-4o", "output_token", "batch").amount == Decimal("5.00")
    assert find(recs, "gpt-5.4", "cached_input_token", "batch").amount == Decimal("0.13")
    assert find(recs, "o3", "input_token", "flex").amount == Decimal("1.00")
    fast = find(recs, "gpt-4o", "input_token", "priority")
    assert fast.amount == Decimal("4.25") and "Fast mode" in fast.note
    assert find(recs, "gpt-5.6-luna", "output_token", "priority_long_context").amount == Decimal("3.60")


def test_openai_grouped_modality_tables_are_not_read():
    skus = {r.sku for r in OPENAI.parse(capture(OPENAI))}
    assert "gpt-image-2" not in skus and "gpt-5.3-codex" not in skus
    assert "gpt-5.5 (<272K context length)" not in skus and "gpt-5.5" in skus


@pytest.mark.parametrize(
    "old, new, reason",
    [
        ("| Short context input |", "| Input (short) |", "columns changed"),
        ("### Standard pricing data", "### Default pricing data", "Standard pricing data"),
        ("| gpt-4o | $2.50 |", "| GPT-4o | $2.50 |", "not an API model id"),
        ("| gpt-4o | $2.50 |", "| gpt-4o | $2.50 per 1M |", "not a dollar price"),
        ("| gpt-4o | $2.50 |", "| gpt-4o | $0.00 |", "implausible"),
        ("| gpt-4o-mini | $0.15 |", "| gpt-4o-mini-x | $0.15 |", "gpt-4o-mini"),
        ("Prices per 1M tokens.", "Prices per token.", "Prices per 1M tokens"),
    ],
)
def test_openai_changed_layout_is_a_parse_error(old, new, reason):
    text = capture(OPENAI).decode()
    assert old in text
    with pytest.raises(ParseError, match=reason) as err:
        OPENAI.parse(text.replace(old, new, 1).encode())
    assert err.value.source_id == "openai"


def test_openai_fetches_the_markdown_twin():
    assert OPENAI.primary_url() == "https://developers.openai.com/api/docs/pricing.md"


# --- Anthropic -----------------------------------------------------------------


def test_anthropic_model_table_with_both_cache_write_durations():
    recs = ANTHROPIC.parse(capture(ANTHROPIC))
    assert find(recs, "claude-sonnet-4-5", "input_token").amount == Decimal("3")
    assert find(recs, "claude-sonnet-4-5", "cache_write_token", "cache_5m").amount == Decimal("3.75")
    assert find(recs, "claude-sonnet-4-5", "cache_write_token", "cache_1h").amount == Decimal("6")
    assert find(recs, "claude-sonnet-4-5", "cached_input_token").amount == Decimal("0.30")
    r = find(recs, "claude-sonnet-4-5", "output_token")
    assert (r.amount, r.unit, r.currency, r.provider) == (Decimal("15"), "1M_tokens", "USD", "anthropic")
    # footnote markers are not part of the price
    assert find(recs, "claude-opus-5-5", "cached_input_token").amount == Decimal("0.20")
    assert find(recs, "claude-sonnet-5-5", "cached_input_token").amount == Decimal("0.10")


def test_anthropic_batch_fast_and_prompt_length_rows():
    recs = ANTHROPIC.parse(capture(ANTHROPIC))
    assert find(recs, "claude-sonnet-5-5", "input_token", "batch").amount == Decimal("1")
    assert find(recs, "claude-sonnet-5-5", "output_token", "batch").amount == Decimal("5")
    # "Claude Opus 5 / Claude Opus 4.8" prices both models
    assert find(recs, "claude-opus-4-8", "input_token", "fast").amount == Decimal("10")
    assert find(recs, "claude-opus-5", "output_token", "fast").amount == Decimal("50")
    assert find(recs, "claude-opus-5-5", "output_token", "fast").amount == Decimal("40")
    over = find(recs, "claude-haiku-5-5", "input_token", "standard_long_context")
    assert over.amount == Decimal("0.50") and over.note == "prompts over 100,000 tokens"
    assert find(recs, "claude-haiku-5-5", "input_token").amount == Decimal("0.10")
    assert find(recs, "claude-haiku-5-5", "cache_write_token", "cache_1h_long_context").amount == Decimal("1")
    assert find(recs, "claude-haiku-5-5", "output_token", "batch_long_context").amount == Decimal("1.25")
    retired = find(recs, "claude-opus-4-1", "input_token")
    assert retired.amount == Decimal("15") and retired.note == "retired, except on Bedrock and Google Cloud"


@pytest.mark.parametrize(
    "name, api_id",
    [
        ("Claude Opus 5.5", "claude-opus-5-5"),
        ("Claude Sonnet 5", "claude-sonnet-5"),
        ("Claude Haiku 4.5", "claude-haiku-4-5"),
        ("Claude Opus 4", "claude-opus-4-0"),
        ("Claude Sonnet 3.7", "claude-3-7-sonnet"),
        ("Claude Haiku 3", "claude-3-haiku"),
        ("Claude Opus 5 / Claude Opus 4.8", None),
        ("Opus 5.5", None),
    ],
)
def test_anthropic_display_names_map_to_api_aliases(name, api_id):
    assert api_model_id(name) == api_id


@pytest.mark.parametrize(
    "old, new, reason",
    [
        ("| 1h cache writes |", "| Extended cache writes |", "columns changed"),
        ("## Model pricing", "## Model prices", "Model pricing' section is missing"),
        ("| Claude Haiku 4.5 | $1 / MTok |", "| Claude Haiku 4.5 | USD 1 |", "not a '\\$N / MTok' price"),
        ("| Claude Opus 5 | $5 / MTok |", "| Claude-Next | $5 / MTok |", "not of the form"),
        ("| Claude Sonnet 4.5 | $3 / MTok |", "| Claude Sonnet 4.4 | $3 / MTok |", "claude-sonnet-4-5"),
        ("| Model | Batch input | Batch output |", "| Model | Input | Output |", "Batch processing' table: columns changed"),
    ],
)
def test_anthropic_changed_layout_is_a_parse_error(old, new, reason):
    text = capture(ANTHROPIC).decode()
    assert old in text
    with pytest.raises(ParseError, match=reason) as err:
        ANTHROPIC.parse(text.replace(old, new, 1).encode())
    assert err.value.source_id == "anthropic"


# --- Together ------------------------------------------------------------------


def test_together_models_api_prices_are_per_million_tokens():
    recs = TOGETHER.parse(capture(TOGETHER))
    r = find(recs, "openai/gpt-oss-120b", "input_token")
    assert (r.amount, r.unit, r.currency, r.provider) == (Decimal("0.15"), "1M_tokens", "USD", "together")
    assert find(recs, "openai/gpt-oss-120b", "output_token").amount == Decimal("0.6")
    assert find(recs, "moonshotai/Kimi-K3", "cached_input_token").amount == Decimal("0.3")
    assert find(recs, "deepseek-ai/DeepSeek-V4.1-Flash", "cached_input_token").amount == Decimal("0.006")
    assert find(recs, "togethercomputer/m2-bert-80M-8k-retrieval", "input_token").amount == Decimal("0.008")


def test_together_zero_prices_are_returned_and_per_image_models_skipped():
    recs = TOGETHER.parse(capture(TOGETHER))
    free = find(recs, "meta-llama/Llama-3.3-70B-Instruct-Turbo-Free", "input_token")
    assert free.amount == Decimal("0")  # the fetch layer drops and counts it
    assert not [r for r in recs if r.sku == "black-forest-labs/FLUX.1-schnell"]


def test_together_accepts_a_data_envelope():
    models = json.loads(capture(TOGETHER))
    recs = TOGETHER.parse(json.dumps({"object": "list", "data": models}).encode())
    assert find(recs, "openai/gpt-oss-120b", "input_token").amount == Decimal("0.15")


def test_together_per_token_looking_prices_are_rejected():
    models = json.loads(capture(TOGETHER))
    for m in models:
        m["pricing"] = {k: v / 1_000_000 for k, v in m["pricing"].items()}
    with pytest.raises(ParseError, match="look per token"):
        TOGETHER.parse(json.dumps(models).encode())


def test_together_string_price_is_a_parse_error():
    models = json.loads(capture(TOGETHER))
    models[0]["pricing"]["input"] = "0.15"
    with pytest.raises(ParseError, match="expected a number"):
        TOGETHER.parse(json.dumps(models).encode())


def test_together_pricing_page_html():
    recs = TOGETHER.parse((FIXTURES / "together_pricing_page.html").read_bytes())
    r = find(recs, "moonshotai/Kimi-K3", "input_token")
    assert (r.amount, r.note) == (Decimal("3.00"), None)
    assert find(recs, "moonshotai/Kimi-K3", "output_token").amount == Decimal("15.00")
    assert find(recs, "openai/gpt-oss-120b", "output_token").amount == Decimal("0.60")
    unmapped = find(recs, "DeepSeek V4 Pro", "input_token")
    assert unmapped.amount == Decimal("1.32") and "display name" in unmapped.note
    # image and embedding tables are priced in other units and are not read
    assert not [r for r in recs if "FLUX" in r.sku or "M2-BERT" in r.sku]


def test_together_pricing_page_without_price_table_is_a_parse_error():
    html = (FIXTURES / "together_pricing_page.html").read_text()
    with pytest.raises(ParseError, match="no 'Model \\| Input \\| Output' table"):
        TOGETHER.parse(html.replace("<th>Input</th>", "<th>Prompt</th>").encode())


def test_together_key_switches_between_api_and_pricing_page(monkeypatch):
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if str(request.url) == "https://api.together.xyz/v1/models":
            if request.headers.get("Authorization") != "Bearer tk-test":
                return httpx.Response(401, json={"error": "unauthorized"})
            return httpx.Response(200, content=capture(TOGETHER), headers={"Content-Type": "application/json"})
        if str(request.url) == "https://www.together.ai/pricing":
            return httpx.Response(200, content=(FIXTURES / "together_pricing_page.html").read_bytes(), headers={"Content-Type": "text/html"})
        return httpx.Response(404)

    monkeypatch.setenv("TOGETHER_API_KEY", "tk-test")
    (with_key,) = fetch_all([TOGETHER], "live", transport=httpx.MockTransport(handler))
    assert with_key.ok and with_key.url == "https://api.together.xyz/v1/models"
    assert find(with_key.records, "deepseek-ai/DeepSeek-V4-Pro-0813", "output_token").amount == Decimal("3.96")

    monkeypatch.delenv("TOGETHER_API_KEY")
    (without_key,) = fetch_all([TOGETHER], "live", transport=httpx.MockTransport(handler))
    assert without_key.ok and without_key.url == "https://www.together.ai/pricing"
    assert "Authorization" not in seen[-1].headers
    assert find(without_key.records, "zai-org/GLM-5.3", "output_token").amount == Decimal("4.40")


# --- Fireworks -----------------------------------------------------------------


def test_fireworks_model_ids_come_from_the_model_links():
    recs = FIREWORKS.parse(capture(FIREWORKS))
    k = "accounts/fireworks/models/kimi-k2p6"
    assert find(recs, k, "input_token").amount == Decimal("0.95")
    assert find(recs, k, "cached_input_token").amount == Decimal("0.16")
    r = find(recs, k, "output_token")
    assert (r.amount, r.unit, r.provider, r.note) == (Decimal("4.00"), "1M_tokens", "fireworks", "pricing page name: Kimi K2.6")
    assert find(recs, "accounts/fireworks/models/deepseek-v3p2", "input_token").amount == Decimal("0.56")
    assert find(recs, "accounts/fireworks/models/gpt-oss-120b", "cached_input_token").amount == Decimal("0.015")


def test_fireworks_size_tiers_and_derived_batch():
    recs = FIREWORKS.parse(capture(FIREWORKS))
    assert find(recs, "size-tier:4b-16b-parameters", "input_token").amount == Decimal("0.20")
    assert find(recs, "size-tier:moe-56-1b-176b-parameters", "output_token").amount == Decimal("1.20")
    batch = find(recs, "accounts/fireworks/models/kimi-k2p6", "input_token", "batch")
    assert batch.amount == Decimal("0.475") and "50%" in batch.note
    assert find(recs, "accounts/fireworks/models/kimi-k2p6", "output_token", "batch").amount == Decimal("2")
    assert not [r for r in recs if r.tier == "batch" and r.component == "cached_input_token"]
    # embedding prices (per input token by size) are not read
    assert not [r for r in recs if "150m" in r.sku]


def test_fireworks_without_batch_statement_has_no_batch_prices():
    html = capture(FIREWORKS).decode().replace("<strong>50% of serverless pricing</strong>", "<strong>a discount</strong>")
    assert not [r for r in FIREWORKS.parse(html.encode()) if r.tier == "batch"]


@pytest.mark.parametrize(
    "old, new, reason",
    [
        ("<th>Cached input</th>", "<th>Cache</th>", "no 'Model \\| Input \\| Cached input \\| Output' table"),
        ('<a href="https://app.fireworks.ai/models/fireworks/glm-5" target="_blank" rel="noreferrer">GLM 5</a>', "GLM 5", "no link to a model page"),
        ("<td>$0.95</td>", "<td>$0.95 / 1M</td>", "not a dollar price"),
        ("per 1 million tokens", "per token", "per 1 million tokens"),
    ],
)
def test_fireworks_changed_layout_is_a_parse_error(old, new, reason):
    text = capture(FIREWORKS).decode()
    assert old in text
    with pytest.raises(ParseError, match=reason) as err:
        FIREWORKS.parse(text.replace(old, new, 1).encode())
    assert err.value.source_id == "fireworks"


# --- OpenRouter ----------------------------------------------------------------


# sha256 of /work/shared/data/openrouter/models-2025-05-22.json (the shared dump), taken with sha256sum from that
# file, so a clean clone without the shared folder still checks the fixture is its unmodified copy.
SHARED_OPENROUTER_SHA256 = "061f724301c69595020c5e56a1c4c643fab3d38e15c51761ce9ec2aafd7980b7"


def test_openrouter_fixture_is_the_unmodified_shared_dump():
    assert hashlib.sha256(capture(OPENROUTER)).hexdigest() == SHARED_OPENROUTER_SHA256
    if SHARED_OPENROUTER.exists():  # in the workspace, against the file itself too
        assert capture(OPENROUTER) == SHARED_OPENROUTER.read_bytes()


def test_openrouter_keeps_per_token_strings_exactly():
    recs = OPENROUTER.parse(capture(OPENROUTER))
    r = find(recs, "gpt-4o", "input_token", None, "openai")
    # "0.0000025" USD per token, i.e. $2.50 per 1M: kept per token, never read as per million
    assert r.amount == Decimal("0.0000025") and r.unit == "token" and r.currency == "USD"
    assert r.amount * 1_000_000 == Decimal("2.5")
    assert find(recs, "gpt-4o", "output_token", None, "openai").amount == Decimal("0.00001")
    assert find(recs, "gpt-4o", "cached_input_token", None, "openai").amount == Decimal("0.00000125")
    c = find(recs, "claude-3-7-sonnet", "cache_write_token", None, "anthropic")
    assert c.amount == Decimal("0.00000375") and c.note == "openrouter id anthropic/claude-3.7-sonnet"
    assert find(recs, "claude-3-7-sonnet", "cached_input_token", None, "anthropic").amount == Decimal("0.0000003")
    assert find(recs, "llama-4-maverick", "input_token", None, "meta-llama").amount == Decimal("0.00000016")


def test_openrouter_minus_one_sentinel_is_returned_as_is():
    recs = OPENROUTER.parse(capture(OPENROUTER))
    auto = find(recs, "auto", "input_token", None, "openrouter")
    assert auto.amount == Decimal("-1") and "sentinel" in auto.note
    assert find(recs, "auto", "output_token", None, "openrouter").amount == Decimal("-1")
    # the whole catalog still passes the fetch layer, which drops and counts the sentinel
    assert parse_payload(OPENROUTER, capture(OPENROUTER))


def test_openrouter_free_variants_and_request_fees():
    recs = OPENROUTER.parse(capture(OPENROUTER))
    assert find(recs, "devstral-small:free", "input_token", None, "mistralai").amount == Decimal("0")
    fees = [r for r in recs if r.component == "request"]
    if "request" in UNITS:
        assert find(recs, "gpt-4o-search-preview", "request", None, "openai").amount == Decimal("0.035")
        assert all(r.amount != 0 for r in fees)
    else:
        assert fees == []  # no per-request unit in the contract yet


@pytest.mark.parametrize(
    "model_id, provider, sku",
    [
        ("openai/gpt-4o", "openai", "gpt-4o"),
        ("anthropic/claude-3.5-haiku-20241022:beta", "anthropic", "claude-3-5-haiku-20241022:beta"),
        ("meta-llama/llama-3.3-70b-instruct", "meta-llama", "llama-3.3-70b-instruct"),
        ("openrouter/auto", "openrouter", "auto"),
    ],
)
def test_openrouter_vendor_prefix_becomes_provider(model_id, provider, sku):
    assert split_model_id(model_id) == (provider, sku)


def test_openrouter_changed_layout_is_a_parse_error(tmp_path):
    doc = json.loads(capture(OPENROUTER))
    with pytest.raises(ParseError, match="'data' list is missing"):
        OPENROUTER.parse(json.dumps({"models": doc["data"]}).encode())
    # one entry per million instead of per token ($2.5 a token) is an implausible entry of a catalog: the
    # plausibility gates drop it alone (tests/test_price_gates.py); every entry so is a failure, named
    from scrapers.plausibility import screen

    per_million = json.loads(capture(OPENROUTER))
    next(m for m in per_million["data"] if m["id"] == "openai/gpt-4o")["pricing"]["prompt"] = "2.5"
    screened = screen(OPENROUTER, OPENROUTER.parse(json.dumps(per_million).encode()))
    assert [x for x in screened.implausible if "2.5" in x] == ["gpt-4o input_token: 2.5 USD/token is outside the plausible 0.0000000005..0.002"]
    for m in per_million["data"]:
        m["pricing"] = {k: str(Decimal(v) * 1000000) if v not in ("-1", "0") else v for k, v in m["pricing"].items()}
    (tmp_path / "openrouter.json").write_text(json.dumps(per_million))
    [failed] = fetch_all([OPENROUTER], "snapshot", snapshot_dir=tmp_path)
    assert failed.status == "failed" and "expected prices are missing once implausible entries are dropped" in failed.error
    numbers = json.loads(capture(OPENROUTER))
    numbers["data"][0]["pricing"]["prompt"] = 0.0
    with pytest.raises(ParseError, match="expected a decimal string"):
        OPENROUTER.parse(json.dumps(numbers).encode())


# --- genai-prices --------------------------------------------------------------


def test_genai_prices_snapshot_is_the_bundled_catalog_of_0_2_3():
    import genai_prices

    assert genai_prices.__version__ == "0.2.3"
    assert GENAI.local_payload() == capture(GENAI)
    doc = json.loads(capture(GENAI))
    assert doc["version"] == "0.2.3" and sorted(p["id"] for p in doc["providers"]) == ["anthropic", "fireworks", "openai", "together"]


def test_genai_prices_base_prices_and_variants():
    recs = GENAI.parse(capture(GENAI))
    r = find(recs, "gpt-4o", "input_token", "standard", "openai")
    assert (r.amount, r.unit, r.currency, r.source_id) == (Decimal("2.5"), "1M_tokens", "USD", "genai_prices")
    assert find(recs, "gpt-4o", "cached_input_token", "standard", "openai").amount == Decimal("1.25")
    assert find(recs, "gpt-4o", "output_token", "batch", "openai").amount == Decimal("5")
    prio = find(recs, "gpt-4o", "input_token", "priority", "openai")
    assert prio.amount == Decimal("4.25") and prio.note == "catalog price from 2026-10-12"
    # the "fast" service tier (same prices as priority) is not repeated
    assert not [x for x in recs if x.sku == "gpt-4o" and x.tier == "fast"]


def test_genai_prices_latest_dated_price_and_base_tier():
    recs = GENAI.parse(capture(GENAI))
    sol = find(recs, "gpt-5.6-sol", "input_token", "standard", "openai")
    assert sol.amount == Decimal("4")  # the 2026-08-21 price, not the earlier $5
    assert sol.note == "catalog price from 2026-08-21; base tier; higher rate above 272000 input tokens"
    assert find(recs, "gpt-5.6-sol", "cache_write_token", "standard", "openai").amount == Decimal("5")


def test_genai_prices_anthropic_cache_write_tiers_match_the_anthropic_source():
    recs = GENAI.parse(capture(GENAI))
    assert find(recs, "claude-sonnet-4-5", "cache_write_token", "cache_5m", "anthropic").amount == Decimal("3.75")
    assert find(recs, "claude-sonnet-4-5", "cache_write_token", "cache_1h", "anthropic").amount == Decimal("6")
    assert find(recs, "claude-sonnet-4-5", "cache_write_token", "batch_cache_1h", "anthropic").amount == Decimal("3")
    assert find(recs, "claude-opus-5-5", "output_token", "fast", "anthropic").amount == Decimal("40")


def test_genai_prices_provider_ids_and_skus():
    recs = GENAI.parse(capture(GENAI))
    assert find(recs, "accounts/fireworks/models/kimi-k2p6", "input_token", "standard", "fireworks").amount == Decimal("0.95")
    assert find(recs, "moonshotai/Kimi-K3", "output_token", "standard", "together").amount == Decimal("15")
    assert not [r for r in recs if r.sku.startswith("ft:gpt-3.5-turbo")]  # a prefix matcher, not a model id
    assert {r.provider for r in recs} == {"openai", "anthropic", "together", "fireworks"}


def test_genai_prices_changed_layout_is_a_parse_error():
    doc = json.loads(capture(GENAI))
    doc["providers"] = [p for p in doc["providers"] if p["id"] != "anthropic"]
    with pytest.raises(ParseError, match="providers missing from the catalog: anthropic"):
        GENAI.parse(json.dumps(doc).encode())
    doc = json.loads(capture(GENAI))
    next(m for p in doc["providers"] for m in p["models"] if m["id"] == "gpt-4o")["prices"][0]["prices"]["input_mtok"] = 2.5
    with pytest.raises(ParseError, match="openai/gpt-4o standard input_mtok: expected a decimal string"):
        GENAI.parse(json.dumps(doc).encode())
