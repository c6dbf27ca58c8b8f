"""Serverless GPU price sources: RunPod Serverless, Modal, Replicate, Cerebrium, Banana.

Each parser runs on its recorded capture (tests/fixtures/prices/); the expected figures
were read off the captures by hand.  Changed layouts, empty pages and unit traps must raise
ParseError naming the source.  No network: the "live" path is served by httpx.MockTransport.
"""

from __future__ import annotations

import importlib
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from scrapers.base import ParseError, PriceRecord

ROOT = Path(__file__).resolve().parents[2]
CAPTURES = ROOT / "tests" / "fixtures" / "prices"
SNAPSHOTS = ROOT / "scrapers" / "snapshots"

CAPTURED = {
    "runpod_serverless": "md",
    "modal": "html",
    "replicate": "html",
    "cerebrium": "html",
}


def source(source_id: str):
    return importlib.import_module(f"scrapers.sources.{source_id}").SOURCE


def capture(source_id: str) -> bytes:
    return (CAPTURES / f"{source_id}.{CAPTURED[source_id]}").read_bytes()


def find(records: list[PriceRecord], **match) -> PriceRecord:
    hits = [r for r in records if all(getattr(r, k) == v for k, v in match.items())]
    assert len(hits) == 1, f"{match}: {len(hits)} records"
    return hits[0]


def parse_text(source_id: str, text: str) -> list[PriceRecord]:
    return source(source_id).parse(text.encode("utf-8"))


# --- shared contract -----------------------------------------------------------


@pytest.mark.parametrize("source_id,ext", sorted(CAPTURED.items()))
def test_source_contract_and_shipped_snapshot(source_id, ext):
    src = source(source_id)
    assert src.source_id == source_id
    assert src.kind == "serverless_gpu"
    assert src.extension == ext
    assert not src.discontinued
    assert (SNAPSHOTS / f"{source_id}.{ext}").read_bytes() == capture(source_id)


@pytest.mark.parametrize("source_id", sorted(CAPTURED))
def test_capture_parses_to_usd_per_second_with_expected_gpus(source_id):
    src = source(source_id)
    records = src.parse(capture(source_id))
    assert {r.unit for r in records} == {"second"}
    assert {r.currency for r in records} == {"USD"}
    assert {r.provider for r in records} == {src.provider}
    assert {r.product_kind for r in records} == {"serverless_gpu"}
    assert set(src.expected_gpu_models) <= {r.gpu_model for r in records if r.component == "gpu"}
    assert all(r.amount > 0 for r in records)


@pytest.mark.parametrize("source_id", sorted(CAPTURED))
@pytest.mark.parametrize("payload", [b"", b"   \n", b"<html><body><p>Service unavailable</p></body></html>"])
def test_empty_or_unrelated_page_raises_naming_the_source(source_id, payload):
    with pytest.raises(ParseError) as e:
        source(source_id).parse(payload)
    assert e.value.source_id == source_id
    assert str(e.value).startswith(f"{source_id}: ")


def test_live_fetch_goes_to_each_sources_url_and_parses(monkeypatch):
    """The fetch layer's live path, with every request answered from the captures."""
    from scrapers.fetch import FetchPolicy, fetch_all

    by_url = {source(s).primary_url(): capture(s) for s in CAPTURED}

    def handler(request: httpx.Request) -> httpx.Response:
        body = by_url.get(str(request.url))
        return httpx.Response(200, content=body) if body is not None else httpx.Response(404)

    outcomes = fetch_all(
        [source(s) for s in CAPTURED],
        "live",
        transport=httpx.MockTransport(handler),
        policy=FetchPolicy(attempts=1),
    )
    assert {o.source_id: o.status for o in outcomes} == {s: "ok" for s in CAPTURED}, [o.error for o in outcomes]


def test_offline_mode_reads_the_shipped_snapshots():
    from scrapers.fetch import fetch_all

    outcomes = fetch_all([source(s) for s in [*CAPTURED, "banana"]], "offline")
    status = {o.source_id: o.status for o in outcomes}
    assert status == {**{s: "ok" for s in CAPTURED}, "banana": "skipped"}, [o.error for o in outcomes]


# --- RunPod Serverless -----------------------------------------------------------


def test_runpod_flex_and_active_prices_per_gpu_type():
    records = source("runpod_serverless").parse(capture("runpod_serverless"))
    assert find(records, sku="H100 PRO", tier="flex").amount == Decimal("0.00116")
    assert find(records, sku="H100 PRO", tier="active").amount == Decimal("0.00093")
    assert find(records, sku="H100 PRO", tier="flex").gpu_model == "H100-80GB-SXM"
    assert find(records, sku="B200", tier="flex").amount == Decimal("0.00240")
    assert find(records, sku="H200 PRO", tier="active").amount == Decimal("0.00124")
    # Every GPU named in a grouped row gets the row's price.
    for name in ("L40", "L40S", "6000 Ada PRO"):
        assert find(records, sku=name, tier="flex").amount == Decimal("0.00053")
        assert find(records, sku=name, tier="active").amount == Decimal("0.00037")
    assert find(records, sku="A40", tier="flex").gpu_model == "A40-48GB"
    assert find(records, sku="RTX 4000", tier="flex").gpu_model == "RTX4000ADA-20GB"
    assert find(records, sku="4090 PRO", tier="flex").gpu_model == "RTX4090-24GB"
    # 16 GPU types in 9 rows, each with a flex and an active price.
    assert len(records) == 32
    assert {r.tier for r in records} == {"flex", "active"}
    assert {r.component for r in records} == {"gpu"}
    assert "80 GB" in find(records, sku="A100", tier="flex").note


def test_runpod_requests_the_markdown_docs():
    assert source("runpod_serverless").requests()[0].url == "https://docs.runpod.io/serverless/pricing.md"


def test_runpod_table_without_per_second_unit_is_refused():
    text = capture("runpod_serverless").decode().replace("Flex cost per second", "Flex cost").replace(
        "Active cost per second", "Active cost"
    )
    with pytest.raises(ParseError, match="per second"):
        parse_text("runpod_serverless", text)


def test_runpod_hourly_price_in_per_second_column_is_refused():
    text = capture("runpod_serverless").decode().replace("\\$0.00116 ", "\\$4.18   ")
    with pytest.raises(ParseError, match="implausible per second"):
        parse_text("runpod_serverless", text)


def test_runpod_missing_gpu_table_is_refused():
    text = capture("runpod_serverless").decode().replace("**GPU type(s)**", "**Hardware**")
    with pytest.raises(ParseError, match="no 'GPU pricing' table"):
        parse_text("runpod_serverless", text)


def test_runpod_unknown_gpu_names_the_row_and_the_fix():
    text = capture("runpod_serverless").decode().replace("| B200                    |", "| Z9000                   |")
    with pytest.raises(ParseError, match="unknown GPU type 'Z9000'.*scrapers/gpus.py"):
        parse_text("runpod_serverless", text)


def test_runpod_dropped_gpu_class_is_implausible():
    lines = [l for l in capture("runpod_serverless").decode().splitlines() if not l.startswith("| H100 PRO")]
    with pytest.raises(ParseError, match="H100-80GB-SXM"):
        parse_text("runpod_serverless", "\n".join(lines))


def test_runpod_sentinel_prices_are_returned_not_dropped():
    text = capture("runpod_serverless").decode().replace("\\$0.00011 ", "\\$-1     ")
    records = parse_text("runpod_serverless", text)
    assert find(records, sku="A4000", tier="active").amount == Decimal("-1")


# --- Modal -----------------------------------------------------------------------


def test_modal_gpu_cpu_and_memory_per_second():
    records = source("modal").parse(capture("modal"))
    h100 = find(records, sku="Nvidia H100")
    assert (h100.amount, h100.component, h100.gpu_model, h100.gpu_count) == (Decimal("0.001097"), "gpu", "H100-80GB-SXM", 1)
    assert find(records, sku="Nvidia B200").amount == Decimal("0.001736")
    assert find(records, sku="Nvidia A100, 40 GB").gpu_model == "A100-40GB"
    assert find(records, sku="Nvidia A100, 80 GB").amount == Decimal("0.000694")
    assert find(records, sku="Nvidia T4").amount == Decimal("0.000164")
    cpu = find(records, component="cpu")
    assert (cpu.sku, cpu.amount, cpu.gpu_model) == ("cpu-core", Decimal("0.0000131"), None)
    assert "physical core" in cpu.note
    mem = find(records, component="memory")
    assert (mem.sku, mem.amount) == ("memory-gib", Decimal("0.00000222"))
    assert len([r for r in records if r.component == "gpu"]) == 10
    assert {r.tier for r in records} == {"on_demand"}
    assert all("region multiplier" in r.note for r in records)


def test_modal_per_hour_view_is_refused():
    text = capture("modal").decode().replace("$0.001097 / sec", "$3.95 / h")
    with pytest.raises(ParseError, match="per hour"):
        parse_text("modal", text)


def test_modal_missing_memory_price_is_refused():
    text = capture("modal").decode().replace("$0.00000222 / GiB / sec", "Contact us")
    with pytest.raises(ParseError):
        parse_text("modal", text)


def test_modal_without_line_items_is_refused():
    text = capture("modal").decode().replace('class="line-item ', 'class="row ')
    with pytest.raises(ParseError, match="line-item"):
        parse_text("modal", text)


def test_modal_region_multiplier_sentence_goes_into_the_note():
    sentence = "Functions that pin a region are billed at 1.5x (broad) or 1.75x (narrow) the base rate."
    text = capture("modal").decode().replace("</main>", f"<p>{sentence}</p></main>")
    records = parse_text("modal", text)
    assert all(sentence in r.note for r in records)


def test_modal_sandbox_rates_are_a_separate_tier():
    block = (
        '<h3>Sandboxes and Notebooks</h3><div class="line-item"><p class="text-light-green/60">Physical core</p>'
        '<p class="price">$0.00003942 / core / sec</p></div>'
    )
    text = capture("modal").decode().replace("</main>", f"{block}</main>")
    records = parse_text("modal", text)
    assert find(records, component="cpu", tier="sandbox").amount == Decimal("0.00003942")
    assert find(records, component="cpu", tier="on_demand").amount == Decimal("0.0000131")


# --- Replicate -------------------------------------------------------------------


def test_replicate_stores_the_per_second_price_of_each_sku():
    records = source("replicate").parse(capture("replicate"))
    h100 = find(records, sku="gpu-h100")
    assert (h100.amount, h100.unit, h100.gpu_model, h100.gpu_count) == (Decimal("0.001525"), "second", "H100-80GB-SXM", 1)
    # The $/hr figure on the page ($5.49) is a cross-check only, never stored.
    assert h100.amount * 3600 == Decimal("5.49")
    assert not any(r.amount >= 1 for r in records)
    assert find(records, sku="gpu-a100-large").amount == Decimal("0.001400")
    assert find(records, sku="gpu-l40s").amount == Decimal("0.000975")
    assert find(records, sku="gpu-t4").gpu_model == "T4-16GB"
    cpu = find(records, sku="cpu")
    assert (cpu.component, cpu.amount, cpu.gpu_model) == ("cpu", Decimal("0.000100"), None)
    assert find(records, sku="cpu-small").amount == Decimal("0.000025")
    assert len(records) == 15


def test_replicate_multi_gpu_skus_carry_their_gpu_count():
    records = source("replicate").parse(capture("replicate"))
    two = find(records, sku="gpu-h100-2x")
    assert (two.amount, two.gpu_count, two.gpu_model) == (Decimal("0.003050"), 2, "H100-80GB-SXM")
    assert find(records, sku="gpu-a100-large-8x").gpu_count == 8
    assert find(records, sku="gpu-l40s-2x").gpu_count == 2
    # a multi-GPU machine is priced as a whole: an "instance", not a per-GPU price
    assert find(records, sku="gpu-l40s-2x").component == "instance"
    assert find(records, sku="gpu-l40s").component == "gpu"
    assert find(records, sku="gpu-a100-large").gpu_count == 1
    assert "Additional hardware" in find(records, sku="gpu-h100-8x").note


def test_replicate_swapped_units_are_caught():
    """Per-second versus per-hour: a page whose $/sec slot holds the hourly figure must fail."""
    text = capture("replicate").decode().replace(
        ">$0.001525/sec</div>", ">$5.49/sec</div>"
    ).replace(">$5.49/hr</div>", ">$0.001525/hr</div>")
    with pytest.raises(ParseError, match="gpu-h100"):
        parse_text("replicate", text)


def test_replicate_sec_and_hr_disagreeing_by_more_than_one_percent_fail():
    text = capture("replicate").decode().replace(">$3.51/hr</div>", ">$3.60/hr</div>")
    with pytest.raises(ParseError, match="gpu-l40s.*1 %"):
        parse_text("replicate", text)


def test_replicate_rounding_within_one_percent_passes():
    # 0.000972/sec is 3.4992/hr: the page once showed exactly that pair.
    text = capture("replicate").decode().replace(">$0.000975/sec</div>", ">$0.000972/sec</div>")
    assert find(parse_text("replicate", text), sku="gpu-l40s").amount == Decimal("0.000972")


def test_replicate_missing_hourly_figure_is_a_layout_change():
    text = capture("replicate").decode().replace(">$5.49/hr</div>", "></div>")
    with pytest.raises(ParseError, match="gpu-h100.*'/hr'"):
        parse_text("replicate", text)


def test_replicate_without_hardware_table_is_refused():
    text = capture("replicate").decode().replace(">Hardware</th>", ">Machine</th>")
    with pytest.raises(ParseError, match="no hardware table"):
        parse_text("replicate", text)


# --- Cerebrium -------------------------------------------------------------------


def test_cerebrium_gpu_vcpu_and_memory_per_second():
    records = source("cerebrium").parse(capture("cerebrium"))
    h100 = find(records, sku="H100")
    assert (h100.amount, h100.gpu_model, h100.component) == (Decimal("0.000944"), "H100-80GB-SXM", "gpu")
    assert find(records, sku="B200").amount == Decimal("0.00167")
    assert find(records, sku="A100 (40GB)").gpu_model == "A100-40GB"
    assert find(records, sku="A100 (40GB)").amount == Decimal("0.000555")
    assert find(records, sku="L40s").gpu_model == "L40S-48GB"
    cpu = find(records, component="cpu")
    assert (cpu.sku, cpu.amount) == ("vcpu", Decimal("0.00000655"))
    mem = find(records, component="memory")
    assert (mem.sku, mem.amount) == ("memory-gb", Decimal("0.00000222"))
    # Storage ($0.05 /GB/mo) is not a compute rate.
    assert len(records) == 12


def test_cerebrium_repeated_breakpoint_content_is_deduplicated():
    text = capture("cerebrium").decode()
    start = text.index('<section class="framer-6p0d1y"')
    body = text[start : text.index("</section>", start) + len("</section>")]
    doubled = text.replace(body, body + body)
    assert len(parse_text("cerebrium", doubled)) == 12


def test_cerebrium_conflicting_prices_are_refused():
    text = capture("cerebrium").decode()
    extra = '<div><p>H100</p><p>$0.001100 <span>/s</span></p></div>'
    with pytest.raises(ParseError, match="'H100' is listed at two prices"):
        parse_text("cerebrium", text.replace("</footer>", f"{extra}</footer>"))


def test_cerebrium_hourly_prices_are_refused():
    text = capture("cerebrium").decode().replace(">/s</span>", ">/hr</span>", 1)
    with pytest.raises(ParseError, match="hourly"):
        parse_text("cerebrium", text)


def test_cerebrium_price_without_gpu_label_is_refused():
    text = capture("cerebrium").decode().replace(">H100</p>", ">Our fastest card</p>")
    with pytest.raises(ParseError, match="no recognisable GPU label"):
        parse_text("cerebrium", text)


# --- Banana ----------------------------------------------------------------------


def test_banana_is_discontinued_and_fetches_nothing():
    src = source("banana")
    assert src.discontinued is True
    assert src.kind == "serverless_gpu"
    assert src.requests() == []
    assert src.parse(b"anything") == []
    assert src.primary_url().startswith("https://")
    assert "2024" in importlib.import_module("scrapers.sources.banana").__doc__
