"""``spendwatch whatif`` (issue 13, item 7) on the seed's example, a 7B model at 100,000 requests a day with about
256 tokens out (512 in), priced from a hand-made warehouse in GBP and worked by hand."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

import pytest

from spendwatch import cli
from spendwatch.cli import whatif as whatif_cli
from tests.dbt_like_sql.test_decisions import make_wh  # noqa: F401  (fixture)

D = Decimal
G4090 = "RTX4090-24GB"
CLASS = """
[[throughput]]
model_class = "7b"
gpu = "RTX4090-24GB"
tokens_per_second = 2500
utilisation = 0.6
models = ["size-tier:4b-16b-parameters"]
"""


@pytest.fixture
def priced(make_wh, monkeypatch):
    wh = make_wh()
    wh.config({"vision": None}, extra=CLASS)
    start = datetime(2026, 9, 1)
    for tier, amount in (("flex", "0.0002"), ("active", "0.00015")):
        wh.price(source_id="runpod_serverless", provider="runpod", kind="serverless_gpu", sku="4090 PRO", component="gpu",
                 unit="second", amount=amount, currency="GBP", gpu_model=G4090, gpu_count=1, tier=tier, valid_from=start)
    wh.price(source_id="runpod_pods", provider="runpod", kind="dedicated_gpu", sku="RTX 4090", component="gpu", unit="hour",
             amount="0.25", currency="GBP", gpu_model=G4090, gpu_count=1, tier="community", valid_from=start)
    # A 6-month plan is cheaper per month (0.20 x 24 x 30 = £144) but commits: not a what-if's dedicated option.
    wh.price(source_id="runpod_pods", provider="runpod", kind="dedicated_gpu", sku="RTX 4090", component="gpu", unit="hour",
             amount="0.20", currency="GBP", gpu_model=G4090, gpu_count=1, tier="reserved_6m", term_months=6,
             billing="upfront", upfront_amount="876.00", valid_from=start)
    for comp in ("input_token", "output_token"):
        wh.price(source_id="fireworks", provider="fireworks", kind="hosted_api", sku="size-tier:4b-16b-parameters",
                 component=comp, unit="1M_tokens", amount="0.15", currency="GBP", tier="standard", valid_from=start)
    wh.build()
    wh.con.close()
    monkeypatch.setenv("SPENDWATCH_WAREHOUSE", str(wh.path))
    monkeypatch.setenv("SPENDWATCH_CONFIG", str(wh.path.parent / "spendwatch.toml"))
    return wh


def _json(capsys, *argv: str) -> dict:
    code = cli.main(["whatif", "--requests-per-day", "100000", "--input-tokens", "512", "--output-tokens", "256",
                     "--model-class", "7b", "--month", "2026-11", *argv, "--format", "json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def test_the_seeds_example(priced, capsys):
    got = _json(capsys, "--cold-start-minutes", "10")
    costs = {o["way"]: D(o["monthly_cost"]) for o in got["options"]}
    # 100,000 x (512 + 256) = 76,800,000 tokens a day; at 2,500 tokens/s: 30,720 busy GPU-seconds a day.
    # serverless: (30,720 + 10 min x 60) s x £0.0002 x 30 days = 31,320 x 0.006 = £187.92
    # dedicated: 76.8M / (2,500 x 0.6 x 86,400 = 129.6M) = 0.593 -> 1 GPU; £0.25 x 24 x 30 = £180.00
    # hosted API: 100,000 x 30 x (512 x 0.15 + 256 x 0.15) / 1M = 3,000,000 x 115.2 / 1M = £345.60
    assert costs == {"serverless": D("187.92"), "dedicated": D("180.00"), "hosted_api": D("345.60")}
    assert [o["way"] for o in got["options"]] == ["dedicated", "serverless", "hosted_api"]   # cheapest first
    assert got["options"][0]["offer"] == "runpod RTX 4090 (community)"                       # not the 6-month plan
    text = "\n".join(got["assumptions"])
    for needle in ("76,800,000 tokens a day", "2,500 tokens/s", "30,720 GPU-seconds a day", "cold starts: 10 minutes",
                   "0.593, so 1", "month: 30 days"):
        assert needle in text, needle
    assert got["inputs"]["currency"] == "GBP"


def test_sub_second_latency_keeps_a_worker_warm(priced, capsys):
    got = _json(capsys, "--sub-second")
    s = next(o for o in got["options"] if o["way"] == "serverless")
    # one always-on worker: 86,400 s x £0.00015 x 30 = £388.80 (no cold starts)
    assert (D(s["monthly_cost"]), s["offer"]) == (D("388.80"), "runpod 4090 PRO (active)")


def test_redundancy_and_the_table(priced, capsys):
    got = _json(capsys, "--redundancy", "1")
    assert D(next(o for o in got["options"] if o["way"] == "dedicated")["monthly_cost"]) == D("360.00")   # 2 x £180
    assert cli.main(["whatif", "--requests-per-day", "100,000", "--output-tokens", "256", "--model-class", "7b",
                     "--month", "2026-11"]) == 0
    out = capsys.readouterr().out
    assert "assumptions:" in out and "per month" in out


def test_unknown_class_is_a_clear_error(priced, capsys):
    code = cli.main(["whatif", "--requests-per-day", "10", "--output-tokens", "5", "--model-class", "70b"])
    err = capsys.readouterr().err
    assert code == 2 and "--model-class '70b'" in err and "known: 7b" in err


def test_pure_function_matches_the_cli():
    prices = {"serverless": {"offer": "s", "per_second": D("0.0002")}, "dedicated": [], "api": []}
    r = whatif_cli.whatif(100000, 512, 256, G4090, D(2500), D("0.6"), False, D(0), 0, 30, prices)
    assert [(o["way"], o["monthly_cost"]) for o in r["options"]] == [("serverless", D("184.32"))]   # 30,720 x 0.0002 x 30
