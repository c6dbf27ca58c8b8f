"""One test per unit trap in shared/docs/DOMAIN.md section 3, through the real parsers, loaders and models."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from scrapers.fetch import fetch_all
from scrapers.sources import get_source
from spendwatch import operations
from warehouse.config_sync import sync_config
from warehouse.ingest import ingest_file
from warehouse.models import build
from warehouse.prices import apply_outcome

FIX = Path(__file__).resolve().parents[1] / "fixtures"
AT = datetime(2026, 12, 1, 6, 0)


def _load_prices(con, *source_ids, snapshot_dir=FIX / "prices"):
    outcomes = fetch_all([get_source(s) for s in source_ids], "snapshot", snapshot_dir=snapshot_dir, fetched_at=AT)
    operations.sync_sources(con)
    return {o.source_id: apply_outcome(con, o, AT) for o in outcomes}


def test_openrouter_prices_are_usd_per_token_not_per_million(con, sample_config):
    """"0.0000025" per token is $2.50 per 1M tokens: read as per-million it would be off by 1e6."""
    _load_prices(con, "openrouter")
    unit, amount = con.execute(
        "SELECT unit, amount FROM price_history WHERE source_id = 'openrouter' AND provider = 'openai' AND sku = 'gpt-4o' AND component = 'input_token'"
    ).fetchone()
    assert (unit, amount) == ("token", Decimal("0.0000025"))
    sync_config(con, sample_config)
    build(con, select=["prices_normalised"])
    per_1m = con.execute(
        "SELECT amount_per_1m_tokens FROM prices_normalised WHERE source_id = 'openrouter' AND provider = 'openai' AND sku = 'gpt-4o' AND component = 'input_token'"
    ).fetchone()[0]
    assert per_1m == Decimal("2.5")


def test_openrouter_minus_one_means_no_price(con):
    """The router models' "-1" is a sentinel: dropped and counted, never stored as minus one dollar."""
    res = _load_prices(con, "openrouter")["openrouter"]
    assert res.dropped > 0
    assert con.execute("SELECT count(*) FROM price_history WHERE amount <= 0").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM price_history WHERE sku = 'auto' AND provider = 'openrouter'").fetchone()[0] == 0
    assert con.execute("SELECT dropped FROM price_fetches WHERE source_id = 'openrouter'").fetchone()[0] == res.dropped


def test_openai_float_dollars_and_anthropic_cents_strings(con, sample_config):
    """OpenAI: float dollars, lower-case 'usd'.  Anthropic: decimal strings in CENTS.  Mixing them is a 100x error."""
    ingest_file(con, FIX / "exports" / "openai_costs.example.json", sample_config)
    ingest_file(con, FIX / "exports" / "anthropic_cost_report_2026-11.json", sample_config)
    openai = con.execute("SELECT BilledCost, BillingCurrency FROM billing_line_items WHERE x_source_format = 'openai_costs'").fetchall()
    assert openai == [(Decimal("0.060000"), "USD")]  # {"value": 0.06, "currency": "usd"}
    import json

    billed = [r[0] for r in con.execute("SELECT BilledCost FROM billing_line_items WHERE x_source_format = 'anthropic_cost'").fetchall()]
    assert Decimal("1.234500") in billed  # "123.45" cents = $1.2345
    doc = json.loads((FIX / "exports" / "anthropic_cost_report_2026-11.json").read_text())
    cents_total = sum(Decimal(r["amount"]) for b in doc["data"] for r in b["results"])
    assert sum(billed) == cents_total / 100


def test_replicate_per_second_and_per_hour_agree(con, sample_config):
    """Replicate lists $/sec and $/hr: stored per second, normalised per hour = x 3600 (gpu-h100: $0.001525/s = $5.49/h)."""
    _load_prices(con, "replicate")
    sync_config(con, sample_config)
    build(con, select=["prices_normalised"])
    unit, amount, per_hour = con.execute(
        "SELECT unit, amount, amount_per_hour FROM prices_normalised WHERE source_id = 'replicate' AND sku = 'gpu-h100'"
    ).fetchone()
    assert (unit, amount, per_hour) == ("second", Decimal("0.001525"), Decimal("5.49"))


def test_modal_bills_gpu_cpu_and_memory_separately(con):
    _load_prices(con, "modal")
    components = {r[0] for r in con.execute("SELECT DISTINCT component FROM price_history WHERE source_id = 'modal'").fetchall()}
    assert {"gpu", "cpu", "memory"} <= components
    assert con.execute("SELECT amount FROM price_history WHERE source_id = 'modal' AND component = 'cpu'").fetchone()[0] == Decimal("0.0000131")


def test_runpod_serverless_has_flex_and_active_rates(con):
    _load_prices(con, "runpod_serverless")
    rows = dict(con.execute(
        "SELECT tier, amount FROM price_history WHERE source_id = 'runpod_serverless' AND sku = 'H100 PRO'").fetchall())
    assert rows == {"flex": Decimal("0.00116"), "active": Decimal("0.00093")}


def test_cached_input_tokens_are_a_subset_of_input_tokens(con, sample_config):
    """OpenAI's input_tokens (1000) includes input_cached_tokens (400) and cache writes (100): never counted twice."""
    ingest_file(con, FIX / "exports" / "openai_usage_completions.example.json", sample_config)
    uncached, cached, writes, output = con.execute(
        "SELECT sum(x_input_tokens), sum(x_cached_input_tokens), sum(x_cache_write_tokens), sum(x_output_tokens) FROM billing_line_items"
    ).fetchone()
    assert (uncached, cached, writes, output) == (500, 400, 100, 500)
    assert uncached + cached + writes == 1000
