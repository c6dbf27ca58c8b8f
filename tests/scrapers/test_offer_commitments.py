"""Offers say what they commit you to (issue 12, item 9): term, billing (with the upfront amount) and the
smallest rentable unit in GPUs, on every dedicated price, through the parsers, the warehouse and the models.

Expected values are worked out by hand from the recorded captures in tests/fixtures/prices/:
RunPod's H100 SXM savings plans (threeMonthPrice 2.811, sixMonthPrice 2.601 USD per GPU-hour) are paid
up front for the term at 730.5 hours a month; Lambda's 8x nodes rent 8 GPUs at once; Hetzner's GEX45
setup fee (EUR 209) is paid once, up front.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from scrapers.base import PriceRecord, Source
from scrapers.sources import aws_ec2, gigagpu, hetzner, lambda_cloud, runpod_pods

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "prices"
DEDICATED = [runpod_pods.SOURCE, lambda_cloud.SOURCE, hetzner.SOURCE, gigagpu.SOURCE, aws_ec2.SOURCE]


def records_of(source: Source, name: str | None = None) -> list[PriceRecord]:
    return source.parse((FIXTURES / (name or f"{source.source_id}.{source.extension}")).read_bytes())


def one(records: list[PriceRecord], **match) -> PriceRecord:
    found = [r for r in records if all(getattr(r, k) == v for k, v in match.items())]
    assert len(found) == 1, f"{match}: {len(found)} records"
    return found[0]


def commitment(r: PriceRecord) -> tuple:
    return (r.term_months, r.billing, r.upfront_amount, r.min_units)


@pytest.mark.parametrize("source", DEDICATED, ids=lambda s: s.source_id)
def test_every_dedicated_price_says_what_it_commits_you_to(source: Source) -> None:
    records = records_of(source)
    assert records
    for r in records:
        assert r.term_months is not None and r.term_months >= 0, r
        assert r.billing in ("hourly", "monthly", "upfront"), r
        assert (r.upfront_amount is not None) == (r.billing == "upfront"), r
        assert r.min_units is not None and r.min_units >= 1, r


def test_lambda_api_instances_rent_all_their_gpus() -> None:
    records = records_of(lambda_cloud.SOURCE, "lambda_api.json")
    assert commitment(one(records, sku="gpu_8x_h100_sxm5")) == (Decimal(0), "hourly", None, 8)
    assert commitment(one(records, sku="gpu_1x_gh200")) == (Decimal(0), "hourly", None, 1)


def test_runpod_savings_plans_are_paid_up_front_for_the_term() -> None:
    h100 = [r for r in records_of(runpod_pods.SOURCE) if r.sku == "NVIDIA H100 80GB HBM3"]
    # 2.811 x 730.5 h x 3 months = 6160.3065 -> 6160.31; 2.601 x 730.5 x 6 = 11400.183 -> 11400.18
    assert commitment(one(h100, tier="reserved_3m")) == (Decimal(3), "upfront", Decimal("6160.31"), 1)
    assert commitment(one(h100, tier="reserved_6m")) == (Decimal(6), "upfront", Decimal("11400.18"), 1)
    for tier in ("secure", "community", "spot_secure", "spot_community"):
        assert commitment(one(h100, tier=tier)) == (Decimal(0), "hourly", None, 1)


def test_lambda_8x_nodes_rent_eight_gpus_at_once() -> None:
    records = records_of(lambda_cloud.SOURCE)
    node = one(records, sku="8x NVIDIA H100 SXM (80 GB)")
    assert (node.amount, node.component) == (Decimal("3.99"), "gpu")  # still priced per GPU-hour ...
    assert commitment(node) == (Decimal(0), "hourly", None, 8)  # ... but only 8 at a time
    assert commitment(one(records, sku="1x NVIDIA H100 SXM (80 GB)")) == (Decimal(0), "hourly", None, 1)


def test_lambda_1_click_cluster_is_a_reservation_paid_up_front() -> None:
    cluster = one(records_of(lambda_cloud.SOURCE), tier="reserved_1cc")
    assert (cluster.sku, cluster.amount, cluster.gpu_model, cluster.gpu_count) == (
        "1-Click Cluster NVIDIA HGX B200 (16 GPUs)", Decimal("9.86"), "B200-180GB", 16)
    # Shortest term "2 weeks" = 336 h = 336 / 730.5 = 0.46 months; 9.86 x 16 GPUs x 336 h = 53,007.36.
    assert commitment(cluster) == (Decimal("0.46"), "upfront", Decimal("53007.36"), 16)
    assert "2 weeks to 1 year" in cluster.note


def test_lambda_reserved_row_with_a_price_but_no_term_fails_loudly() -> None:
    from scrapers.base import ParseError

    html = (FIXTURES / "lambda.html").read_bytes().replace(b"<td>CONTACT SALES</td>", b"<td>$2.49 / GPU / hr</td>")
    with pytest.raises(ParseError, match="Reserved row shows a price"):
        lambda_cloud.SOURCE.parse(html)


def test_hetzner_setup_fee_is_a_one_off_paid_up_front() -> None:
    fsn1 = [r for r in records_of(hetzner.SOURCE) if r.sku == "GEX45" and r.region == "fsn1"]
    assert commitment(one(fsn1, component="setup_fee")) == (Decimal(0), "upfront", Decimal("209"), 1)
    assert commitment(one(fsn1, component="instance", unit="month")) == (Decimal(0), "monthly", None, 1)
    assert commitment(one(fsn1, component="instance", unit="hour")) == (Decimal(0), "hourly", None, 1)


def test_gigagpu_servers_are_billed_monthly_whole() -> None:
    html = b"""<html><body><div class="card"><h3>2x RTX 4090 24GB</h3><p>\xc2\xa3549 per month</p></div></body></html>"""
    [dual] = gigagpu.SOURCE.parse(html)
    assert commitment(dual) == (Decimal(0), "monthly", None, 2)


@pytest.mark.parametrize(
    "fields, reason",
    [
        ({"billing": "weekly"}, "unknown billing"),
        ({"billing": "upfront"}, "upfront amount goes with billing 'upfront'"),
        ({"billing": "hourly", "upfront_amount": Decimal(5)}, "upfront amount goes with billing 'upfront'"),
        ({"term_months": Decimal(-1)}, "term_months"),
        ({"min_units": 0}, "min_units"),
        ({"min_units": True}, "min_units"),
    ],
)
def test_an_impossible_commitment_is_refused(fields: dict, reason: str) -> None:
    base = dict(provider="x", source_id="x", product_kind="dedicated_gpu", sku="s", component="gpu",
                amount=Decimal(1), currency="USD", unit="hour")
    with pytest.raises(ValueError, match=reason):
        PriceRecord(**base, **fields)


# --- the warehouse ----------------------------------------------------------------------------


def _outcome(source: Source, records: list[PriceRecord], sha: str):
    from scrapers.fetch import FetchOutcome

    at = datetime(2026, 12, 1, 6)
    return FetchOutcome(source.source_id, "ok", "snapshot", url="file:x", payload=b"x", payload_sha256=sha,
                        records=[r.with_provenance(at, "file:x", sha) for r in records])


def test_commitments_are_stored_and_a_changed_commitment_is_a_changed_offer(tmp_path, monkeypatch) -> None:
    import dataclasses

    from spendwatch import operations
    from warehouse.db import connect
    from warehouse.prices import apply_outcome

    con = connect(tmp_path / "w.duckdb")
    operations.sync_sources(con)
    plan = one(records_of(runpod_pods.SOURCE), sku="NVIDIA H100 80GB HBM3", tier="reserved_3m")
    apply_outcome(con, _outcome(runpod_pods.SOURCE, [plan], "a" * 64), datetime(2026, 12, 1, 6))
    stored = con.execute("SELECT term_months, billing, upfront_amount, min_units FROM price_history").fetchall()
    assert stored == [(Decimal("3.00"), "upfront", Decimal("6160.31"), 1)]
    # Same price, now billed monthly: the offer changed, so the row closes and a new one opens.
    monthly = dataclasses.replace(plan, billing="monthly", upfront_amount=None)
    apply_outcome(con, _outcome(runpod_pods.SOURCE, [monthly], "b" * 64), datetime(2026, 12, 2, 6))
    rows = con.execute("SELECT billing, closed_reason FROM price_history ORDER BY valid_from").fetchall()
    assert rows == [("upfront", "changed"), ("monthly", None)]
    con.close()


def test_migration_012_backfills_prices_stored_before_it(tmp_path, monkeypatch) -> None:
    from warehouse import db

    every = db.migrations()
    monkeypatch.setattr(db, "migrations", lambda: [m for m in every if m.version < 12])
    con = db.connect(tmp_path / "w.duckdb")
    rows = [  # source, kind, sku, component, unit, tier, gpu_count, amount
        ("runpod_pods", "dedicated_gpu", "H100", "gpu", "hour", "reserved_6m", 1, "2.601"),
        ("runpod_pods", "dedicated_gpu", "H100", "gpu", "hour", "secure", 1, "2.99"),
        ("lambda", "dedicated_gpu", "8x H100", "gpu", "hour", "on_demand", 8, "3.99"),
        ("hetzner", "dedicated_gpu", "GEX45", "setup_fee", "month", None, 1, "209"),
        ("hetzner", "dedicated_gpu", "GEX45", "instance", "month", "on_demand", 1, "212.30"),
        ("gigagpu", "dedicated_gpu", "2x RTX 4090", "instance", "month", "monthly", 2, "549"),
        ("openai", "hosted_api", "gpt-4o", "input_token", "1M_tokens", "standard", None, "2.5"),
    ]
    for i, (src, kind, sku, comp, unit, tier, n, amount) in enumerate(rows):
        con.execute(
            """INSERT INTO price_history (price_key, source_id, provider, product_kind, sku, component, unit, tier,
               gpu_count, amount, currency, valid_from, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'USD', ?, ?)""",
            [str(i), src, src, kind, sku, comp, unit, tier, n, amount, datetime(2026, 11, 1), datetime(2026, 11, 1)],
        )
    monkeypatch.setattr(db, "migrations", lambda: every)
    assert db.migrate(con) == [m.version for m in every if m.version >= 12]
    got = con.execute("SELECT term_months, billing, upfront_amount, min_units FROM price_history ORDER BY price_key").fetchall()
    assert got == [
        (Decimal("6.00"), "upfront", Decimal("11400.18"), 1),  # 2.601 x 730.5 x 6
        (Decimal("0.00"), "hourly", None, 1),
        (Decimal("0.00"), "hourly", None, 8),
        (Decimal("0.00"), "upfront", Decimal("209"), 1),
        (Decimal("0.00"), "monthly", None, 1),
        (Decimal("0.00"), "monthly", None, 2),
        (None, None, None, None),  # not a dedicated price
    ]
    con.close()
