"""AWS EC2 accelerated instances from AWS's public price list (issue 12, item 8).

``tests/fixtures/prices/aws_ec2_price_list.csv`` is an excerpt written in the real price-list layout:
the 5 disclaimer lines and the header of a 2025-09-12 ``AmazonEC2`` file as quoted in public code (see
tests/fixtures/prices/README.md), columns confirmed against gpuhunt's reader
(dstackai/gpuhunt, ``src/gpuhunt/providers/aws.py`` at 0641ff4c24ba060d4a558d308d516742bb42acd5).
It has kept rows and decoys the filter must drop (Windows, dedicated tenancy, a reserved term,
an unused capacity reservation, SQL Server pre-installed, a CPU family).

The kept rows' prices were looked up, by hand, in SkyPilot's AWS catalog: skypilot-org/skypilot-catalog,
``catalogs/v7/aws/vms.csv`` at commit 27f67dd4e1bc0d35fa0ec075180ad54b230882c4 (read 2026-12-06; the
commit's date was not available, and its p5.48xlarge at $98.32 predates AWS's June 2025 GPU price cut),
column ``Price`` (on-demand USD per instance-hour) with ``AcceleratorName``/``AcceleratorCount``:

    g4dn.xlarge    T4           1   us-east-1 0.526     eu-west-1 0.587
    g5.12xlarge    A10G         4   us-east-1 5.672     eu-central-1 7.09282
    inf1.xlarge    Inferentia   1   us-east-1 0.228
    inf2.24xlarge  Inferentia2  6   us-east-1 6.49063
    inf2.48xlarge  Inferentia2 12   us-east-1 12.98127  eu-west-1 16.22658
    trn1.2xlarge   Trainium     1   us-east-1 1.34375
    trn1.32xlarge  Trainium    16   us-east-1 21.5
    p4d.24xlarge   A100         8   us-west-2 32.7726
    p4de.24xlarge  A100-80GB    8   us-east-1 40.96575
    p5.48xlarge    H100         8   us-east-1 98.32     eu-west-2 127.816
    p5en.48xlarge  H200         8   us-east-1 84.8

No test touches the internet: the price list is served from pytest-httpserver on 127.0.0.1.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from scrapers.base import ParseError, PriceRecord
from scrapers.fetch import SNAPSHOT_DIR, FetchPolicy, fetch_all
from scrapers.sources import aws_ec2

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "prices"
EXCERPT = FIXTURES / "aws_ec2_price_list.csv"
INDEX = FIXTURES / "aws_region_index.json"
SOURCE = aws_ec2.SOURCE

# (instance type, region) -> (USD per instance-hour, accelerators), from SkyPilot's catalog (module docstring).
SKYPILOT = {
    ("g4dn.xlarge", "us-east-1"): ("0.526", 1),
    ("g4dn.xlarge", "eu-west-1"): ("0.587", 1),
    ("g5.12xlarge", "us-east-1"): ("5.672", 4),
    ("g5.12xlarge", "eu-central-1"): ("7.09282", 4),
    ("inf1.xlarge", "us-east-1"): ("0.228", 1),
    ("inf2.24xlarge", "us-east-1"): ("6.49063", 6),
    ("inf2.48xlarge", "us-east-1"): ("12.98127", 12),
    ("inf2.48xlarge", "eu-west-1"): ("16.22658", 12),
    ("trn1.2xlarge", "us-east-1"): ("1.34375", 1),
    ("trn1.32xlarge", "us-east-1"): ("21.5", 16),
    ("p4d.24xlarge", "us-west-2"): ("32.7726", 8),
    ("p4de.24xlarge", "us-east-1"): ("40.96575", 8),
    ("p5.48xlarge", "us-east-1"): ("98.32", 8),
    ("p5.48xlarge", "eu-west-2"): ("127.816", 8),
    ("p5en.48xlarge", "us-east-1"): ("84.8", 8),
}


def excerpt() -> bytes:
    return EXCERPT.read_bytes()


def by_key(records: list[PriceRecord]) -> dict[tuple[str, str | None], PriceRecord]:
    return {(r.sku, r.region): r for r in records}


def region_file(code: str) -> bytes:
    """The excerpt as AWS would split it: that region's rows under the same disclaimer lines and header."""
    lines = excerpt().split(b"\n")
    rows = [ln for ln in lines[6:] if f',"{code}",'.encode() in ln]
    return b"\n".join(lines[:6] + rows) + b"\n"


def test_excerpt_prices_match_skypilots_catalog() -> None:
    records = by_key(SOURCE.parse(excerpt()))
    assert set(records) == set(SKYPILOT)  # every decoy was filtered out
    for key, (price, accelerators) in SKYPILOT.items():
        r = records[key]
        assert (r.amount, r.gpu_count, r.min_units) == (Decimal(price), accelerators, accelerators), key
        assert (r.component, r.unit, r.currency, r.tier, r.billing, r.term_months) == (
            "instance", "hour", "USD", "on_demand", "hourly", Decimal(0)), key


def test_per_accelerator_price_and_accelerator_names() -> None:
    records = by_key(SOURCE.parse(excerpt()))
    p5 = records[("p5.48xlarge", "us-east-1")]
    assert p5.amount / p5.gpu_count == Decimal("12.29")  # 98.32 / 8 H100s
    inf2 = records[("inf2.48xlarge", "us-east-1")]
    assert inf2.amount / inf2.gpu_count == Decimal("1.0817725")  # 12.98127 / 12 Inferentia2 chips
    assert {k[0]: r.gpu_model for k, r in records.items()} == {
        "g4dn.xlarge": "T4-16GB", "g5.12xlarge": "A10G-24GB", "inf1.xlarge": "INFERENTIA1-8GB",
        "inf2.24xlarge": "INFERENTIA2-32GB", "inf2.48xlarge": "INFERENTIA2-32GB", "trn1.2xlarge": "TRAINIUM1-32GB",
        "trn1.32xlarge": "TRAINIUM1-32GB", "p4d.24xlarge": "A100-40GB", "p4de.24xlarge": "A100-80GB",
        "p5.48xlarge": "H100-80GB-SXM", "p5en.48xlarge": "H200-141GB"}
    assert "12 x AWS Inferentia2 chips" in inf2.note and "192 vCPU, 768 GiB" in inf2.note
    assert {r.provider for r in records.values()} == {"aws"}


def test_live_fetch_follows_the_region_index_and_keeps_only_accelerated_rows(httpserver) -> None:
    index_path = "/offers/v1.0/aws/AmazonEC2/current/region_index.json"
    httpserver.expect_request(index_path).respond_with_data(INDEX.read_bytes(), content_type="application/json")
    for code in ("us-east-1", "us-west-2", "eu-west-1", "eu-west-2", "eu-central-1"):
        httpserver.expect_request(f"/offers/v1.0/aws/AmazonEC2/20250912225308/{code}/index.csv").respond_with_data(
            region_file(code), content_type="text/csv")
    [out] = fetch_all([SOURCE], "live", fetched_at=datetime(2026, 12, 6, 6), policy=FetchPolicy(timeout=5, attempts=1),
                      url_overrides={"aws_ec2": httpserver.url_for(index_path)})
    assert out.status == "ok", out.error
    assert len(httpserver.log) == 6  # the index, then one file per region
    assert {(k, (str(r.amount.normalize()), r.gpu_count)) for k, r in by_key(out.records).items()} == {
        (k, (str(Decimal(p).normalize()), n)) for k, (p, n) in SKYPILOT.items()}
    # The payload (what is archived and recorded) is the kept rows in the price list's own layout:
    # the shipped snapshot and the test capture are exactly that.
    assert out.payload == (SNAPSHOT_DIR / "aws_ec2.csv").read_bytes() == (FIXTURES / "aws_ec2.csv").read_bytes()
    kept = out.payload.split(b"\n")
    assert kept[:6] == excerpt().split(b"\n")[:6]
    assert all(line in excerpt().split(b"\n") for line in kept)  # rows copied verbatim, decoys gone
    assert b'"c6i.large"' not in out.payload and b'"Windows"' not in out.payload and b'"Reserved"' not in out.payload


def test_a_single_price_list_file_needs_no_index(httpserver) -> None:
    httpserver.expect_request("/index.csv").respond_with_data(excerpt())
    [out] = fetch_all([SOURCE], "live", fetched_at=datetime(2026, 12, 6, 6), policy=FetchPolicy(timeout=5, attempts=1),
                      url_overrides={"aws_ec2": httpserver.url_for("/index.csv")})
    assert out.status == "ok", out.error
    assert set(by_key(out.records)) == set(SKYPILOT)


def test_a_region_file_that_fails_fails_the_source(httpserver) -> None:
    index_path = "/region_index.json"
    httpserver.expect_request(index_path).respond_with_data(INDEX.read_bytes())
    httpserver.expect_request("/offers/v1.0/aws/AmazonEC2/20250912225308/us-east-1/index.csv").respond_with_data(
        region_file("us-east-1"))
    httpserver.expect_request("/offers/v1.0/aws/AmazonEC2/20250912225308/us-west-2/index.csv").respond_with_data(
        "gone", status=404)
    [out] = fetch_all([SOURCE], "live", fetched_at=datetime(2026, 12, 6, 6), policy=FetchPolicy(timeout=5, attempts=1),
                      url_overrides={"aws_ec2": httpserver.url_for(index_path)})
    assert out.status == "failed" and "us-west-2/index.csv: HTTP 404" in out.error and not out.records


def test_the_request_is_the_public_region_index() -> None:
    [req] = SOURCE.requests()
    assert req.url == "https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/AmazonEC2/current/region_index.json"
    assert not any(k.lower() == "authorization" for k in req.headers)  # no key needed
    files = SOURCE.region_files(INDEX.read_bytes(), req.url)
    assert files[0] == ("us-east-1", "https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/AmazonEC2/20250912225308/us-east-1/index.csv")
    assert len(files) == 5


def _swap_cell(payload: bytes, itype: str, region: str, old: bytes, new: bytes) -> bytes:
    lines = payload.split(b"\n")
    for i, ln in enumerate(lines):
        if f'"{itype}"'.encode() in ln and f',"{region}",'.encode() in ln and b'"OnDemand","$' in ln and b'"Linux"' in ln and b'"Shared"' in ln:
            assert old in ln
            lines[i] = ln.replace(old, new, 1)
            return b"\n".join(lines)
    raise AssertionError(f"no kept row {itype} {region}")


@pytest.mark.parametrize(
    "mutate, reason",
    [
        (lambda p: p.replace(b'"MarketOption",', b'"Market Option",', 1), "columns missing from the price list: MarketOption"),
        (lambda p: b"\n".join(p.split(b"\n")[1:]), "not an AWS price list CSV"),
        (lambda p: b"", "empty payload"),
        (lambda p: _swap_cell(p, "p5.48xlarge", "eu-west-2", b'"Linux","No License required"', b'"Linux","No License required","x"'),
         "unreadable CSV"),
        (lambda p: _swap_cell(p, "g5.12xlarge", "us-east-1", b'"4","NA"', b'"four","NA"'), "GPU column is 'four'"),
        (lambda p: _swap_cell(p, "inf1.xlarge", "us-east-1", b'"inf1.xlarge","Yes"', b'"inf1.12xlarge","Yes"'),
         "chips per instance unknown for inf1.12xlarge"),
        (lambda p: _swap_cell(p, "p5.48xlarge", "us-east-1", b'"98.3200000000"', b'"ninety"'), "PricePerUnit"),
    ],
    ids=["renamed column", "no disclaimer lines", "empty", "ragged row", "gpu count", "unknown neuron size", "price"],
)
def test_a_changed_price_list_is_a_parse_error_naming_what(mutate, reason: str) -> None:
    with pytest.raises(ParseError) as info:
        SOURCE.parse(mutate(excerpt()))
    assert info.value.source_id == "aws_ec2" and reason in info.value.reason, info.value.reason


def test_two_different_on_demand_prices_for_one_instance_and_region_fail() -> None:
    lines = excerpt().split(b"\n")
    row = next(ln for ln in lines if b'"p5en.48xlarge"' in ln)
    doubled = b"\n".join(lines[:7] + [row.replace(b'"84.8000000000"', b'"85.0000000000"')] + lines[7:])
    with pytest.raises(ParseError, match="p5en.48xlarge in us-east-1 has two on-demand Linux prices"):
        SOURCE.parse(doubled)


def test_nothing_accelerated_is_a_parse_error() -> None:
    lines = excerpt().split(b"\n")
    only_cpu = b"\n".join(lines[:6] + [ln for ln in lines[6:] if b'"c6i.large"' in ln]) + b"\n"
    with pytest.raises(ParseError, match="no on-demand Linux row of an accelerated instance family"):
        SOURCE.parse(only_cpu)
