"""The bundled sample exports are reproducible and carry the findings the demo relies on.

``examples/generate.py`` must regenerate ``examples/exports/`` byte for byte, and the
committed files must contain exactly the deliberate invoice discrepancies that
``examples/README.md`` documents (values below are worked out by hand from the README).
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = ROOT / "examples" / "generate.py"
EXPORTS = ROOT / "examples" / "exports"

EXPECTED_FILES = {
    "anthropic_cost_report_2026-09.json",
    "anthropic_cost_report_2026-10.json",
    "anthropic_cost_report_2026-11.json",
    "anthropic_usage_messages_2026-09_2026-11.json",
    "dedicated_invoices_2026-09_2026-11.csv",
    "focus_aws_2026-09_2026-11.csv",
    "modal_billing_2026-09_2026-11.csv",
    "openai_costs_2026-09.json",
    "openai_costs_2026-10.json",
    "openai_costs_2026-11_p1.json",
    "openai_costs_2026-11_p2.json",
    "openai_usage_completions_2026-09_2026-11.json",
    "runpod_billing_endpoints_2026-09_2026-11.json",
}


def test_generator_reproduces_the_committed_exports_byte_for_byte(tmp_path: Path) -> None:
    out = tmp_path / "exports"
    done = subprocess.run(
        [sys.executable, str(GENERATOR), "--out", str(out), "--quiet"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    generated = {p.name for p in out.iterdir()}
    committed = {p.name for p in EXPORTS.iterdir() if not p.name.startswith(".")}
    assert generated == EXPECTED_FILES
    assert committed == EXPECTED_FILES
    for name in sorted(EXPECTED_FILES):
        assert (out / name).read_bytes() == (EXPORTS / name).read_bytes(), f"{name} differs from the committed copy"


def test_focus_export_has_exactly_one_line_whose_list_cost_disagrees_with_price_times_quantity() -> None:
    with (EXPORTS / "focus_aws_2026-09_2026-11.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    usage = [r for r in rows if r["ChargeCategory"] == "Usage"]
    off = [r for r in usage if Decimal(r["ListCost"]) != Decimal(r["ListUnitPrice"]) * Decimal(r["PricingQuantity"])]
    assert len(off) == 1
    line = off[0]
    assert line["ChargePeriodStart"] == "2026-10-08T00:00:00Z"
    assert line["ResourceName"] == "research-p4d"
    # 6 h x $32.7726 = $196.6356 used, but 8 h x $32.7726 = $262.1808 invoiced.
    assert Decimal(line["ListUnitPrice"]) * Decimal(line["PricingQuantity"]) == Decimal("196.6356")
    assert Decimal(line["ListCost"]) == Decimal(line["BilledCost"]) == Decimal("262.1808")
    # One Tax line per invoice, one invoice per month.
    taxes = [r for r in rows if r["ChargeCategory"] == "Tax"]
    assert sorted(r["InvoiceId"] for r in taxes) == sorted({r["InvoiceId"] for r in rows})
    assert len(taxes) == 3


def test_runpod_export_double_bills_five_october_hours_of_the_vision_endpoint() -> None:
    records = json.loads((EXPORTS / "runpod_billing_endpoints_2026-09_2026-11.json").read_text(encoding="utf-8"))
    flex = {"NVIDIA GeForce RTX 4090": Decimal("0.00031"), "NVIDIA RTX A5000": Decimal("0.00019")}
    off = []
    for r in records:
        expected = Decimal(r["timeBilledMs"]) / 1000 * flex[r["gpuTypeId"]]
        if Decimal(str(r["amount"])) != expected:
            off.append((r, expected))
    assert [r["time"] for r, _ in off] == [f"2026-10-14T{h}:00:00Z" for h in (12, 13, 14, 15, 16)]
    for r, expected in off:
        assert r["endpointId"] == "ep-vision-detector"
        assert Decimal(str(r["amount"])) == 2 * expected


def test_openai_november_costs_come_as_two_chained_pages() -> None:
    p1 = json.loads((EXPORTS / "openai_costs_2026-11_p1.json").read_text(encoding="utf-8"))
    p2 = json.loads((EXPORTS / "openai_costs_2026-11_p2.json").read_text(encoding="utf-8"))
    assert p1["has_more"] is True and p1["next_page"].startswith("page_")
    assert p2["has_more"] is False and p2["next_page"] is None
    starts = [b["start_time"] for b in p1["data"] + p2["data"]]
    # 2026-11-01T00:00Z = 1793491200; thirty consecutive daily buckets.
    assert starts == [1793491200 + 86400 * i for i in range(30)]


def test_dedicated_invoices_header_and_rows() -> None:
    lines = (EXPORTS / "dedicated_invoices_2026-09_2026-11.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == (
        "invoice_id,provider,account_id,server_id,server_name,gpu_model,gpu_count,"
        "period_start,period_end,amount,currency,description,used_hours"
    )
    rows = list(csv.DictReader(lines))
    assert [(r["period_start"], r["period_end"]) for r in rows] == [
        ("2026-09-01", "2026-10-01"), ("2026-10-01", "2026-11-01"), ("2026-11-01", "2026-12-01"),
    ]
    assert {(r["server_id"], r["amount"], r["currency"]) for r in rows} == {("gg-4090-01", "249.00", "GBP")}
