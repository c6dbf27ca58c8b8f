"""Dedicated-GPU price sources (RunPod Pods, Lambda, Hetzner GEX, GigaGPU) parse their recorded captures.

Every expected price below was read by hand from the capture in tests/fixtures/prices/, not
from the parser's output.  No test touches the network.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from scrapers.base import ParseError, PriceRecord, Source
from scrapers.fetch import fetch_all
from scrapers.gpus import normalise_gpu
from scrapers.sources import gigagpu, hetzner, lambda_cloud, runpod_pods

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "prices"
SNAPSHOTS = ROOT / "scrapers" / "snapshots"
ALL = [runpod_pods.SOURCE, lambda_cloud.SOURCE, hetzner.SOURCE, gigagpu.SOURCE]


def capture(source: Source) -> bytes:
    return (FIXTURES / f"{source.source_id}.{source.extension}").read_bytes()


def by(records: list[PriceRecord], **match) -> list[PriceRecord]:
    return [r for r in records if all(getattr(r, k) == v for k, v in match.items())]


def one(records: list[PriceRecord], **match) -> PriceRecord:
    found = by(records, **match)
    assert len(found) == 1, f"{match}: {len(found)} records"
    return found[0]


def fails(source: Source, payload: bytes, *fragments: str) -> ParseError:
    with pytest.raises(ParseError) as info:
        source.parse(payload)
    err = info.value
    assert err.source_id == source.source_id
    assert str(err).startswith(f"{source.source_id}: ")
    for fragment in fragments:
        assert fragment.lower() in err.reason.lower(), err.reason
    return err


# --- shared contract ---------------------------------------------------------------------


@pytest.mark.parametrize("source", ALL, ids=lambda s: s.source_id)
def test_snapshot_shipped_for_offline_is_the_tested_capture(source: Source) -> None:
    name = f"{source.source_id}.{source.extension}"
    assert (SNAPSHOTS / name).read_bytes() == (FIXTURES / name).read_bytes()


@pytest.mark.parametrize("source", ALL, ids=lambda s: s.source_id)
def test_every_record_is_a_dedicated_gpu_price_of_its_source(source: Source) -> None:
    records = source.parse(capture(source))
    assert records
    for r in records:
        assert r.source_id == source.source_id and r.provider == source.provider
        assert r.product_kind == "dedicated_gpu"
        assert isinstance(r.amount, Decimal)
    assert set(source.expected_gpu_models) <= {r.gpu_model for r in records}


@pytest.mark.parametrize("source", ALL, ids=lambda s: s.source_id)
@pytest.mark.parametrize("payload", [b"", b"   \n"], ids=["empty", "blank"])
def test_empty_payload_is_a_parse_error(source: Source, payload: bytes) -> None:
    fails(source, payload, "empty")


# --- RunPod Pods -------------------------------------------------------------------------

H100 = "NVIDIA H100 80GB HBM3"


def runpod_doc() -> dict:
    return json.loads(capture(runpod_pods.SOURCE))


def test_runpod_h100_sxm_every_tier_from_the_capture() -> None:
    records = runpod_pods.SOURCE.parse(capture(runpod_pods.SOURCE))
    h100 = by(records, sku=H100)
    expected = {
        "secure": Decimal("2.99"),
        "community": Decimal("2.69"),
        "spot_secure": Decimal("1.75"),
        "spot_community": Decimal("1.5"),
        "reserved_3m": Decimal("2.811"),
        "reserved_6m": Decimal("2.601"),
    }
    assert {r.tier: r.amount for r in h100} == expected  # oneMonthPrice is null: no reserved_1m
    for r in h100:
        assert (r.component, r.currency, r.unit, r.gpu_count, r.gpu_model) == ("gpu", "USD", "hour", 1, "H100-80GB-SXM")


def test_runpod_null_prices_are_skipped_not_errors() -> None:
    records = runpod_pods.SOURCE.parse(capture(runpod_pods.SOURCE))
    # RTX 5090: both spot prices are null; H200 too.
    assert {r.tier for r in by(records, sku="NVIDIA GeForce RTX 5090")} == {
        "secure", "community", "reserved_3m", "reserved_6m"}
    assert not by(records, tier="reserved_1m")  # oneMonthPrice is null for every GPU in the capture


def test_runpod_placeholder_prices_of_clouds_a_gpu_is_not_sold_in_are_not_prices() -> None:
    records = runpod_pods.SOURCE.parse(capture(runpod_pods.SOURCE))
    # MI300X: communityCloud false but communityPrice 0.5 -> only the secure-cloud tiers.
    assert {r.tier: r.amount for r in by(records, sku="AMD Instinct MI300X OAM")} == {
        "secure": Decimal("2.49"), "spot_secure": Decimal("1.49"),
        "reserved_3m": Decimal("2.117"), "reserved_6m": Decimal("1.992")}
    # RTX 3070: secureCloud false and securePrice 0 -> community tiers only, name not yet normalisable.
    rtx3070 = by(records, sku="NVIDIA GeForce RTX 3070")
    assert {r.tier: r.amount for r in rtx3070} == {"community": Decimal("0.13"), "spot_community": Decimal("0.07")}
    assert all(r.gpu_model is None and "not recognised" in r.note for r in rtx3070)
    # V100 SXM2 32GB: secureCloud false, so its 0.49 secure and 0.42 3-month prices are not offered.
    assert {r.tier for r in by(records, sku="Tesla V100-SXM2-32GB")} == {"community", "spot_community"}
    assert one(records, sku="Tesla V100-SXM2-32GB", tier="community").gpu_model == "V100-32GB"
    assert not by(records, sku="unknown")


def test_runpod_request_is_the_graphql_query_without_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RUNPOD_API_KEY", raising=False)
    [req] = runpod_pods.SOURCE.requests()
    assert (req.method, req.url) == ("POST", "https://api.runpod.io/graphql")
    assert "gpuTypes" in req.json["query"] and "threeMonthPrice" in req.json["query"]
    assert "Authorization" not in req.headers


def test_runpod_key_goes_in_a_bearer_header_and_nowhere_else(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNPOD_API_KEY", "rpa_test_secret_123")
    [req] = runpod_pods.SOURCE.requests()
    assert req.headers["Authorization"] == "Bearer rpa_test_secret_123"
    assert "rpa_test_secret_123" not in req.url
    assert "rpa_test_secret_123" not in repr(runpod_pods.SOURCE) + str(runpod_pods.SOURCE)
    assert "rpa_test_secret_123" not in json.dumps(req.json)


def test_runpod_graphql_error_is_a_parse_error_with_its_message() -> None:
    payload = json.dumps({"errors": [{"message": "Cannot query field \"securePrice\" on type \"GpuType\"."}],
                          "data": None}).encode()
    fails(runpod_pods.SOURCE, payload, "GraphQL error", "securePrice")


def test_runpod_changed_schema_names_the_missing_field() -> None:
    doc = runpod_doc()
    del doc["data"]["gpuTypes"][8]["securePrice"]
    fails(runpod_pods.SOURCE, json.dumps(doc).encode(), "gpuTypes[8]", "securePrice")


@pytest.mark.parametrize(
    "payload, reason",
    [
        (b"<html>Service unavailable</html>", "not JSON"),
        (b'{"data": {"gpuTypes": []}}', "empty"),
        (b'{"data": {}}', "no data.gpuTypes"),
        (b'[]', "JSON list"),
    ],
)
def test_runpod_implausible_payloads(payload: bytes, reason: str) -> None:
    fails(runpod_pods.SOURCE, payload, reason)


def test_runpod_no_priced_gpu_at_all_is_a_parse_error() -> None:
    doc = runpod_doc()
    for gpu in doc["data"]["gpuTypes"]:
        gpu["secureCloud"] = gpu["communityCloud"] = False
    fails(runpod_pods.SOURCE, json.dumps(doc).encode(), "has a published price")


def test_runpod_without_h100_is_implausible() -> None:
    doc = runpod_doc()
    doc["data"]["gpuTypes"] = [g for g in doc["data"]["gpuTypes"] if "H100 80GB" not in g["id"]]
    fails(runpod_pods.SOURCE, json.dumps(doc).encode(), "H100-80GB-SXM")


def test_runpod_boolean_where_a_price_belongs_is_rejected() -> None:
    doc = runpod_doc()
    doc["data"]["gpuTypes"][8]["securePrice"] = True
    fails(runpod_pods.SOURCE, json.dumps(doc).encode(), "not a number")


# --- Lambda ------------------------------------------------------------------------------


def lambda_api() -> bytes:
    return (FIXTURES / "lambda_api.json").read_bytes()


def test_lambda_api_cents_per_instance_hour_become_usd_per_gpu_hour() -> None:
    records = lambda_cloud.SOURCE.parse(lambda_api())
    h100 = one(records, sku="gpu_8x_h100_sxm5")
    # 3192 cents/hour for the 8-GPU instance = $31.92 / 8 = $3.99 per GPU-hour.
    assert h100.amount == Decimal("3.99")
    assert (h100.component, h100.unit, h100.currency, h100.gpu_count) == ("gpu", "hour", "USD", 8)
    assert h100.gpu_model == "H100-80GB-SXM" and h100.tier == "on_demand"
    assert one(records, sku="gpu_8x_b200_sxm6").amount == Decimal("6.69")  # 5352 / 8 / 100
    a100_40 = one(records, sku="gpu_8x_a100")  # 1592 cents, "A100 (40 GB SXM4)"
    assert (a100_40.amount, a100_40.gpu_model) == (Decimal("1.99"), "A100-40GB")
    gh200 = one(records, sku="gpu_1x_gh200")
    assert (gh200.amount, gh200.gpu_count, gh200.gpu_model) == (Decimal("2.29"), 1, "GH200-96GB")
    assert one(records, sku="gpu_1x_h100_pcie").gpu_model == "H100-80GB-PCIE"
    assert len(records) == 9  # sold-out types (no capacity) are still priced


def test_lambda_api_division_is_exact_decimal() -> None:
    payload = json.dumps({"data": {
        "gpu_8x_a100_80gb_sxm4": {"instance_type": {
            "name": "gpu_8x_a100_80gb_sxm4", "description": "8x A100 (80 GB SXM4)",
            "gpu_description": "A100 (80 GB SXM4)", "price_cents_per_hour": 2490,
            "specs": {"vcpus": 240, "memory_gib": 1800, "storage_gib": 19968, "gpus": 8}},
            "regions_with_capacity_available": []},
        "gpu_8x_h100_sxm5": {"instance_type": {
            "name": "gpu_8x_h100_sxm5", "gpu_description": "H100 (80 GB SXM5)", "price_cents_per_hour": 2392,
            "specs": {"gpus": 8}}, "regions_with_capacity_available": []},
        "cpu_4x_general": {"instance_type": {
            "name": "cpu_4x_general", "description": "4 vCPU", "price_cents_per_hour": 12,
            "specs": {"vcpus": 4, "gpus": 0}}, "regions_with_capacity_available": []},
    }}).encode()
    records = lambda_cloud.SOURCE.parse(payload)
    assert one(records, sku="gpu_8x_a100_80gb_sxm4").amount == Decimal("3.1125")  # 2490 / 8 / 100
    assert one(records, sku="gpu_8x_h100_sxm5").amount == Decimal("2.99")
    assert not by(records, sku="cpu_4x_general")  # no GPUs: not a GPU price


def test_lambda_public_page_per_gpu_hour_rows() -> None:
    records = lambda_cloud.SOURCE.parse(capture(lambda_cloud.SOURCE))
    h100 = one(records, sku="8x NVIDIA H100 SXM (80 GB)")
    assert (h100.amount, h100.gpu_count, h100.gpu_model, h100.unit, h100.currency) == (
        Decimal("3.99"), 8, "H100-80GB-SXM", "hour", "USD")
    a100_40 = one(records, sku="8x NVIDIA A100 SXM (40 GB)")
    assert (a100_40.amount, a100_40.gpu_model) == (Decimal("1.99"), "A100-40GB")
    assert one(records, sku="8x NVIDIA A100 SXM (80 GB)").gpu_model == "A100-80GB"
    single = one(records, sku="1x NVIDIA H100 SXM (80 GB)")
    assert (single.amount, single.gpu_count) == (Decimal("4.29"), 1)
    assert one(records, sku="1x NVIDIA H100 PCIe (80 GB)").gpu_model == "H100-80GB-PCIE"
    # The Reserved row says CONTACT SALES; the 1-Click Clusters table is a reservation (its own test).
    assert not by(records, tier="reserved")
    assert len(by(records, tier="on_demand")) == 10 and len(records) == 11
    assert all("sales tax" in r.note for r in records)


def test_lambda_page_and_api_agree_on_the_8x_h100() -> None:
    page = one(lambda_cloud.SOURCE.parse(capture(lambda_cloud.SOURCE)), sku="8x NVIDIA H100 SXM (80 GB)")
    api = one(lambda_cloud.SOURCE.parse(lambda_api()), sku="gpu_8x_h100_sxm5")
    assert (page.amount, page.gpu_count, page.gpu_model) == (api.amount, api.gpu_count, api.gpu_model)


def test_lambda_page_with_a_thead_table_layout() -> None:
    html = b"""<html><body><table class="_pricingTable_z1nfw_13">
      <thead><tr><th>Instance</th><th>VRAM / GPU</th><th>vCPUs</th><th>PRICE / GPU / HR</th></tr></thead>
      <tbody><tr><th data-label="Instance">On-demand 8x NVIDIA H100 SXM</th><td data-label="VRAM">80 GB</td>
      <td>208</td><td data-label="Price">$3.99</td></tr></tbody></table></body></html>"""
    [rec] = lambda_cloud.SOURCE.parse(html)
    assert (rec.sku, rec.amount, rec.gpu_count) == ("8x NVIDIA H100 SXM (80 GB)", Decimal("3.99"), 8)


def test_lambda_without_key_fetches_the_public_page(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAMBDA_API_KEY", raising=False)
    [req] = lambda_cloud.SOURCE.requests()
    assert (req.method, req.url) == ("GET", "https://lambda.ai/pricing")
    assert "Authorization" not in req.headers


def test_lambda_key_switches_to_the_api_and_stays_out_of_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMBDA_API_KEY", "secret_lambda_key_42")
    [req] = lambda_cloud.SOURCE.requests()
    assert (req.method, req.url) == ("GET", "https://cloud.lambda.ai/api/v1/instance-types")
    assert req.headers["Authorization"] == "Bearer secret_lambda_key_42"
    assert "secret_lambda_key_42" not in req.url
    assert "secret_lambda_key_42" not in repr(lambda_cloud.SOURCE)
    assert "secret_lambda_key_42" not in str(lambda_cloud.SOURCE)
    assert "secret_lambda_key_42" not in lambda_cloud.SOURCE.primary_url()


def test_lambda_api_error_names_the_code() -> None:
    payload = b'{"error": {"code": "global/invalid-api-key", "message": "API key was invalid, expired, or deleted."}}'
    fails(lambda_cloud.SOURCE, payload, "global/invalid-api-key")


@pytest.mark.parametrize(
    "payload, reason",
    [
        (b"<html><body><h1>Pricing</h1><p>Contact us</p></body></html>", "no <table>"),
        (b"<html><body><table><tr><td>Plan</td><td>Cost</td></tr><tr><td>x</td><td>$1</td></tr></table></body></html>",
         "no table has both a VRAM"),
        (b'{"data": {}}', "empty"),
        (b'{"data": {"gpu_1x_a10": {"instance_type": {"name": "gpu_1x_a10", "specs": {"gpus": 1}}}}}',
         "price_cents_per_hour"),
        (b"Temporarily unavailable", "neither"),
    ],
)
def test_lambda_changed_layout_or_payload(payload: bytes, reason: str) -> None:
    fails(lambda_cloud.SOURCE, payload, reason)


def test_lambda_page_price_cell_that_is_not_a_price_fails() -> None:
    html = capture(lambda_cloud.SOURCE).replace(b"$3.99 / GPU / hr", b"call us")
    fails(lambda_cloud.SOURCE, html, "8x NVIDIA H100 SXM", "no dollar amount")


def test_lambda_page_price_no_longer_per_hour_fails() -> None:
    html = capture(lambda_cloud.SOURCE).replace(b"Price/GPU/hr*", b"Price/GPU/month")
    fails(lambda_cloud.SOURCE, html, "no longer a price per hour")


def test_lambda_page_one_table_losing_its_header_is_not_a_partial_parse() -> None:
    html = capture(lambda_cloud.SOURCE)
    first_header = b"<tr><td>Type</td><td>VRAM/GPU</td>"
    at = html.index(first_header, html.index(first_header) + 1)  # the 1x table's header row
    html = html[:at] + b"<tr><td>Type</td><td>Memory</td>" + html[at + len(first_header):]
    fails(lambda_cloud.SOURCE, html, "On-demand 1x NVIDIA GH200", "partial")


def test_lambda_page_row_in_unknown_format_fails() -> None:
    html = capture(lambda_cloud.SOURCE).replace(b"On-demand 1x NVIDIA A10<", b"NVIDIA A10 (single)<")
    fails(lambda_cloud.SOURCE, html, "NVIDIA A10 (single)")


# --- Hetzner -----------------------------------------------------------------------------


def hetzner_doc() -> dict:
    return json.loads(capture(hetzner.SOURCE))


def test_hetzner_gex45_monthly_hourly_and_setup_fee_in_eur() -> None:
    records = hetzner.SOURCE.parse(capture(hetzner.SOURCE))
    fsn1 = by(records, sku="GEX45", region="fsn1")
    monthly = one(fsn1, component="instance", unit="month")
    assert (monthly.amount, monthly.currency, monthly.gpu_count, monthly.gpu_model) == (
        Decimal("212.30"), "EUR", 1, "RTXPRO4000-24GB")
    assert "excl. VAT" in monthly.note and "customer's country" in monthly.note
    assert "1.70" in monthly.note  # the primary IPv4 the order page adds is not in the price
    assert one(fsn1, component="instance", unit="hour").amount == Decimal("0.3402")
    setup = one(fsn1, component="setup_fee")
    assert (setup.amount, setup.currency, setup.unit) == (Decimal("209"), "EUR", "month")
    assert "one-off" in setup.note and "excl. VAT" in setup.note
    assert {r.region for r in by(records, sku="GEX45")} == {"fsn1", "nbg1", "hel1"}


def test_hetzner_gex131_and_gex63() -> None:
    records = hetzner.SOURCE.parse(capture(hetzner.SOURCE))
    gex131 = by(records, sku="GEX131", region="nbg1")
    assert one(gex131, component="instance", unit="month").amount == Decimal("1497.30")
    assert one(gex131, component="setup_fee").amount == Decimal("1499")
    assert one(gex131, component="instance", unit="month").gpu_model == "RTXPRO6000-96GB"
    gex63 = by(records, sku="GEX63")
    assert {r.region for r in gex63} == {"hel1"}  # the feed prices it in Helsinki only
    assert one(gex63, unit="month", component="instance").amount == Decimal("997.30")
    assert len(records) == 3 * (3 + 1 + 3)  # three records per product and datacenter
    assert not by(records, sku="ROBOT_1266")  # the IPv4 add-on is not a GPU server


def test_hetzner_inactive_datacenter_is_not_offered() -> None:
    doc = hetzner_doc()
    doc["products"]["ROBOT_1768"]["locations"][0]["active"] = False  # GEX45 in FSN1
    records = hetzner.SOURCE.parse(json.dumps(doc).encode())
    assert {r.region for r in by(records, sku="GEX45")} == {"nbg1", "hel1"}


def test_hetzner_withdrawn_product_is_a_parse_error() -> None:
    doc = hetzner_doc()
    del doc["products"]["ROBOT_1767"]
    fails(hetzner.SOURCE, json.dumps(doc).encode(), "ROBOT_1767", "GEX63")


def test_hetzner_missing_setup_price_names_the_keys_present() -> None:
    doc = hetzner_doc()
    del doc["products"]["ROBOT_1747"]["locations"][1]["prices"]["setup"]
    fails(hetzner.SOURCE, json.dumps(doc).encode(), "GEX131", "NBG1", "'setup'", "hourly, monthly")


def test_hetzner_nothing_orderable_is_a_parse_error() -> None:
    doc = hetzner_doc()
    for product in doc["products"].values():
        for loc in product["locations"]:
            loc["active"] = False
    fails(hetzner.SOURCE, json.dumps(doc).encode(), "inactive")


@pytest.mark.parametrize(
    "payload, reason",
    [(b"<!DOCTYPE html><html></html>", "not JSON"), (b'{"products": {}}', "empty"),
     (b'{"data": []}', "no 'products'")],
)
def test_hetzner_implausible_payloads(payload: bytes, reason: str) -> None:
    fails(hetzner.SOURCE, payload, reason)


def test_hetzner_request_is_the_public_price_feed() -> None:
    [req] = hetzner.SOURCE.requests()
    assert (req.method, req.url) == ("GET", "https://www.hetzner.com/_resources/app/data/app/live_data_prices.json")


# --- GigaGPU -----------------------------------------------------------------------------


def test_gigagpu_monthly_gbp_server_prices() -> None:
    records = gigagpu.SOURCE.parse(capture(gigagpu.SOURCE))
    assert {r.sku: r.amount for r in records} == {
        "RTX 3090 24GB": Decimal("159"), "RTX 4090 24GB": Decimal("289"), "RTX 5090 32GB": Decimal("299")}
    rtx4090 = one(records, sku="RTX 4090 24GB")
    assert (rtx4090.currency, rtx4090.unit, rtx4090.component, rtx4090.gpu_count, rtx4090.gpu_model) == (
        "GBP", "month", "instance", 1, "RTX4090-24GB")
    assert rtx4090.note == "VAT treatment not stated on the page"  # the "from £159/mo" teaser is no product


def test_gigagpu_multi_gpu_card_and_vat_statement() -> None:
    html = """<html><body><p>All prices exclude VAT.</p>
      <div class="card"><h3>2x RTX 4090 24GB</h3><p>£549 per month</p></div>
      <div class="card"><h3>RTX 6000 Pro 96GB</h3><p>£899/mo</p></div></body></html>""".encode()
    records = gigagpu.SOURCE.parse(html)
    dual = one(records, sku="2x RTX 4090 24GB")
    assert (dual.amount, dual.gpu_count, dual.gpu_model) == (Decimal("549"), 2, "RTX4090-24GB")
    assert one(records, sku="RTX 6000 Pro 96GB").gpu_model == "RTXPRO6000-96GB"
    assert all(r.note == "excl. VAT" for r in records)


def test_gigagpu_no_monthly_gbp_price_degrades_loudly() -> None:
    html = capture(gigagpu.SOURCE).replace("£".encode(), b"$")
    fails(gigagpu.SOURCE, html, "no monthly GBP price", "README")


def test_gigagpu_price_outside_any_gpu_product_refuses_a_partial_parse() -> None:
    html = capture(gigagpu.SOURCE).replace(
        b"</section>\n</main>", b"</section>\n<div class=\"addon\">Managed backups: \xc2\xa325/mo</div>\n</main>")
    fails(gigagpu.SOURCE, html, "belong to no GPU product", "partial")


def test_gigagpu_prices_with_no_gpu_names_fail() -> None:
    html = "<html><body><div><h3>Starter</h3><p>£99/mo</p></div><div><h3>Pro</h3><p>£199/mo</p></div></body></html>"
    fails(gigagpu.SOURCE, html.encode(), "none inside an element that names a GPU")


def test_gigagpu_same_card_at_two_prices_fails() -> None:
    html = """<html><body><div><h3>RTX 4090 24GB</h3><p>£289/mo</p></div>
      <div><h3>RTX 4090 24GB</h3><p>£319/mo</p></div></body></html>"""
    fails(gigagpu.SOURCE, html.encode(), "two prices")


def test_gigagpu_not_html_fails() -> None:
    fails(gigagpu.SOURCE, b'{"servers": []}', "not HTML")


def test_gigagpu_url_can_be_overridden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GIGAGPU_PRICING_URL", raising=False)
    assert gigagpu.SOURCE.primary_url() == "https://gigagpu.com/pricing/"
    monkeypatch.setenv("GIGAGPU_PRICING_URL", "https://gigagpu.com/dedicated-gpu-servers/")
    assert gigagpu.SOURCE.primary_url() == "https://gigagpu.com/dedicated-gpu-servers/"


# --- GPU names added for these sources ---------------------------------------------------


@pytest.mark.parametrize(
    "name, expected",
    [
        ("Tesla V100-SXM2-32GB", "V100-32GB"),
        ("Tesla V100-FHHL-16GB", "V100-16GB"),
        ("NVIDIA A30", "A30-24GB"),
        ("NVIDIA RTX 5000 Ada Generation", "RTX5000ADA-32GB"),
        ("RTX 4000 SFF Ada Generation", "RTX4000ADA-20GB"),
        ("NVIDIA RTX PRO 4000 Blackwell SFF 24GB", "RTXPRO4000-24GB"),
        ("RTX 6000 Pro 96GB", "RTXPRO6000-96GB"),
        ("Quadro RTX 6000 (24 GB)", "QUADRORTX6000-24GB"),
        ("A100 (40 GB SXM4)", "A100-40GB"),
    ],
)
def test_gpu_names_of_dedicated_providers(name: str, expected: str) -> None:
    assert normalise_gpu(name) == expected



# --- through the fetch layer, on a mock transport ------------------------------------------


def test_live_fetch_sends_the_graphql_query_and_the_key_only_in_the_header(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNPOD_API_KEY", "rpa_wire_secret")
    monkeypatch.setenv("LAMBDA_API_KEY", "lambda_wire_secret")
    seen: dict[str, httpx.Request] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen[request.url.host] = request
        if request.url.host == "api.runpod.io":
            return httpx.Response(200, content=capture(runpod_pods.SOURCE))
        return httpx.Response(200, content=lambda_api())

    outcomes = fetch_all([runpod_pods.SOURCE, lambda_cloud.SOURCE], "live", transport=httpx.MockTransport(handler))
    assert [o.status for o in outcomes] == ["ok", "ok"]
    runpod_req, lambda_req = seen["api.runpod.io"], seen["cloud.lambda.ai"]
    assert runpod_req.method == "POST" and "gpuTypes" in json.loads(runpod_req.content)["query"]
    assert runpod_req.headers["Authorization"] == "Bearer rpa_wire_secret"
    assert lambda_req.headers["Authorization"] == "Bearer lambda_wire_secret"
    for o in outcomes:
        assert "secret" not in (o.url or "")
        assert all("secret" not in (r.source_url or "") for r in o.records)
    assert one(outcomes[1].records, sku="gpu_8x_h100_sxm5").amount == Decimal("3.99")
