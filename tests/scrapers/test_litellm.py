"""LiteLLM's model cost map as a third cross-check catalog (issue 12, item 8).

``tests/fixtures/prices/litellm.json`` is a trimmed, byte-for-byte excerpt of the map shipped in the
``litellm`` 1.110.2 wheel (``litellm/model_prices_and_context_window_backup.json``; provenance in
tests/fixtures/prices/README.md).  Every expected value below was read by hand from that file:

    "o3"                   input_cost_per_token 2e-06, output 8e-06, cache_read 5e-07,
                           _batches 1e-06 / 4e-06, _flex 1e-06 / 4e-06 / 2.5e-07
    "o3-2025-04-16"        the same prices          -> an alias of o3
    "gpt-4o"               2.5e-06 / 1e-05 / 1.25e-06; "gpt-4o-2024-08-06" and "-2024-11-20" the same
    "gpt-4o-2024-05-13"    5e-06 / 1.5e-05          -> a model of its own
    "azure/o3"             litellm_provider azure   -> Azure's, not OpenAI's
    "claude-haiku-latest"  {"alias_of": "claude-haiku-5-5"}
    "claude-sonnet-4-5"    3e-06 / 1.5e-05, cache_creation 3.75e-06, _above_1hr 6e-06;
                           "claude-sonnet-4-5-20250929" the same
    "fireworks_ai/kimi-k2p6" and "fireworks_ai/accounts/fireworks/models/kimi-k2p6": 9.5e-07 / 4e-06
    "together_ai/openai/gpt-oss-120b": 1.5e-07 / 6e-07
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from scrapers.base import ParseError, PriceRecord
from scrapers.fetch import SNAPSHOT_DIR
from scrapers.sources import litellm

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "prices"
SOURCE = litellm.SOURCE


def capture() -> bytes:
    return (FIXTURES / "litellm.json").read_bytes()


def prices(records: list[PriceRecord], provider: str, sku: str) -> dict[tuple[str, str], Decimal]:
    return {(r.component, r.tier): r.amount for r in records if r.provider == provider and r.sku == sku}


def test_snapshot_shipped_for_offline_is_the_tested_capture() -> None:
    assert (SNAPSHOT_DIR / "litellm.json").read_bytes() == capture()


def test_capture_is_an_unmodified_excerpt_of_the_wheels_map() -> None:
    doc = json.loads(capture(), parse_float=Decimal)
    assert len(doc) == 694
    assert doc["o3"]["input_cost_per_token"] == Decimal("2e-06")  # the published text, read exactly
    assert doc["claude-haiku-latest"] == {"alias_of": "claude-haiku-5-5"}
    assert {v.get("litellm_provider") for v in doc.values() if "alias_of" not in v} >= {
        "openai", "anthropic", "together_ai", "fireworks_ai", "azure"}


def test_o3_and_its_dated_snapshot_are_one_model() -> None:
    records = SOURCE.parse(capture())
    assert prices(records, "openai", "o3") == {
        ("input_token", "standard"): Decimal("0.000002"), ("output_token", "standard"): Decimal("0.000008"),
        ("cached_input_token", "standard"): Decimal("0.0000005"),
        ("input_token", "batch"): Decimal("0.000001"), ("output_token", "batch"): Decimal("0.000004"),
        ("input_token", "flex"): Decimal("0.000001"), ("output_token", "flex"): Decimal("0.000004"),
        ("cached_input_token", "flex"): Decimal("0.00000025"),
        ("input_token", "priority"): Decimal("0.0000035"), ("output_token", "priority"): Decimal("0.000014"),
        ("cached_input_token", "priority"): Decimal("0.000000875"),
    }
    assert not [r for r in records if r.sku == "o3-2025-04-16"]
    assert all("aliases o3-2025-04-16" in r.note for r in records if r.provider == "openai" and r.sku == "o3")
    assert {r.unit for r in records} == {"token"} and {r.currency for r in records} == {"USD"}


def test_a_dated_snapshot_at_other_prices_is_its_own_model() -> None:
    records = SOURCE.parse(capture())
    assert prices(records, "openai", "gpt-4o")[("input_token", "standard")] == Decimal("0.0000025")
    assert prices(records, "openai", "gpt-4o-2024-05-13")[("input_token", "standard")] == Decimal("0.000005")
    assert not [r for r in records if r.sku in ("gpt-4o-2024-08-06", "gpt-4o-2024-11-20")]


def test_alias_of_entries_and_prefixed_keys_fold_into_their_model() -> None:
    records = SOURCE.parse(capture())
    haiku = [r for r in records if r.sku == "claude-haiku-5-5"]
    assert haiku and all("claude-haiku-latest" in r.note for r in haiku)
    assert not {r.sku for r in records} & {"claude-haiku-latest", "claude-sonnet-latest", "gpt-astra-latest"}
    kimi = prices(records, "fireworks", "accounts/fireworks/models/kimi-k2p6")
    assert (kimi[("input_token", "standard")], kimi[("output_token", "standard")]) == (Decimal("9.5E-7"), Decimal("0.000004"))
    assert not [r for r in records if r.sku == "kimi-k2p6"]
    assert prices(records, "together", "openai/gpt-oss-120b") == {
        ("input_token", "standard"): Decimal("1.5E-7"), ("output_token", "standard"): Decimal("6E-7")}


def test_providers_stay_apart_and_anthropic_cache_writes_have_durations() -> None:
    records = SOURCE.parse(capture())
    assert prices(records, "azure", "o3")[("input_token", "standard")] == Decimal("0.000002")
    sonnet = prices(records, "anthropic", "claude-sonnet-4-5")
    assert sonnet[("cache_write_token", "cache_5m")] == Decimal("0.00000375")
    assert sonnet[("cache_write_token", "cache_1h")] == Decimal("0.000006")
    assert sonnet[("cache_write_token", "batch_cache_5m")] == Decimal("0.000001875")
    assert not [r for r in records if r.sku.startswith("ft:")]  # fine-tuning templates are not models
    skus = {(r.provider, r.sku) for r in records}
    assert ("openai", "sora-2") not in skus and ("openai", "gpt-image-1.5") not in skus  # not text models


def _edited(**changes: dict) -> bytes:
    """The capture with some prices replaced (JSON numbers, as LiteLLM writes them)."""
    doc = json.loads(capture())
    for key, fields in changes.items():
        doc[key].update({k: float(v) for k, v in fields.items()})
    return json.dumps(doc, indent=4).encode()


def test_a_price_change_of_a_model_with_aliases_is_one_change(tmp_path) -> None:
    from scrapers.fetch import fetch_all
    from spendwatch import operations
    from warehouse.db import connect
    from warehouse.prices import apply_outcome

    con = connect(tmp_path / "w.duckdb")
    operations.sync_sources(con)
    first = fetch_all([SOURCE], "offline", fetched_at=datetime(2026, 12, 1, 6))[0]
    assert first.status == "ok", first.error
    apply_outcome(con, first, datetime(2026, 12, 1, 6))
    # o3 falls 5x, under both of its names (as OpenAI's o3 did in June 2025): a catalog takes it.
    cut = {"input_cost_per_token": Decimal("4e-07"), "output_cost_per_token": Decimal("1.6e-06")}
    (tmp_path / "snap").mkdir()
    (tmp_path / "snap" / "litellm.json").write_bytes(_edited(**{"o3": cut, "o3-2025-04-16": cut}))
    second = fetch_all([SOURCE], "snapshot", snapshot_dir=tmp_path / "snap", fetched_at=datetime(2026, 12, 2, 6))[0]
    assert second.status == "ok", second.error
    res = apply_outcome(con, second, datetime(2026, 12, 2, 6))
    assert (res.closed, res.inserted) == (2, 2)  # input and output of the one model o3
    changed = con.execute(
        "SELECT sku, component, amount FROM price_history WHERE source_id = 'litellm' AND valid_from = ? ORDER BY component",
        [datetime(2026, 12, 2, 6)]).fetchall()
    assert changed == [("o3", "input_token", Decimal("0.000000400000")), ("o3", "output_token", Decimal("0.000001600000"))]
    con.close()


def test_cross_checked_against_openai_in_price_discrepancies(tmp_path) -> None:
    from spendwatch import operations
    from spendwatch.core.config import load_config
    from spendwatch.core.paths import EXAMPLE_CONFIG
    from warehouse.db import connect

    con = connect(tmp_path / "w.duckdb")
    operations.sync(con, load_config(EXAMPLE_CONFIG))  # the settings (reporting currency) the models need
    snap = tmp_path / "snap"
    snap.mkdir()
    (snap / "openai.md").write_bytes((SNAPSHOT_DIR / "openai.md").read_bytes())
    # LiteLLM ships o3 at 10x (the kind of absurd value it has shipped): within the bounds, so it is kept
    # and shown as a finding, once for o3 and its alias.
    (snap / "litellm.json").write_bytes(_edited(**{"o3": {"input_cost_per_token": Decimal("2e-05")},
                                                   "o3-2025-04-16": {"input_cost_per_token": Decimal("2e-05")}}))
    operations.refresh_prices(con, mode="snapshot", snapshot_dir=snap, as_of=datetime(2026, 12, 1, 6),
                              source_ids=["openai", "litellm"])
    operations.refresh_fx(con, mode="offline")
    assert all(r.status == "ok" for r in operations.build_models(con, select=["price_discrepancies"]) if r.status != "skipped")
    rows = con.execute(
        """SELECT provider, model, component, provider_price_per_1m, catalog_price_per_1m, diff_pct
           FROM price_discrepancies WHERE catalog_source = 'litellm' ORDER BY model, component""").fetchall()
    # openai.md: o3 $2.00 input per 1M; LiteLLM now 2e-05 per token = $20 per 1M: +900 %.  Everything else
    # in openai.md's standard table agrees with LiteLLM 1.110.2 within 1 % (gpt-4o $2.50/$1.25/$10 ...).
    assert rows == [("openai", "o3", "input_token", Decimal("2.000000000000"), Decimal("20.000000000000"), Decimal("900.00"))]
    con.close()


@pytest.mark.parametrize(
    "payload, reason",
    [
        (b"[]", "expected the model map"),
        (b"not json", "not JSON"),
        (b'{"o3": 3}', "not an object"),
        (json.dumps({"o3": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": "cheap"}}).encode(),
         "is not a number"),
        (b'{"o3": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 2e-06}}', "only 1 priced text models"),
    ],
)
def test_a_changed_map_is_a_parse_error(payload: bytes, reason: str) -> None:
    with pytest.raises(ParseError) as info:
        SOURCE.parse(payload)
    assert reason in info.value.reason


def test_absurd_entries_are_returned_for_the_gates_to_drop_alone() -> None:
    from scrapers.plausibility import screen

    doc = _edited(**{"gpt-4o": {"input_cost_per_token": Decimal("1e15")}})
    screened = screen(SOURCE, SOURCE.parse(doc))
    assert len(screened.implausible) == 1 and "gpt-4o input_token" in screened.implausible[0]
    assert prices(screened.keep, "openai", "o3")[("input_token", "standard")] == Decimal("0.000002")


def test_the_request_is_the_raw_file_on_github() -> None:
    [req] = SOURCE.requests()
    assert req.url == "https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json"
    assert SOURCE.catalog and SOURCE.kind == "hosted_api"
