"""Provider export loaders: every format from its fixture, the unit traps, rejects and sniffing (end to end:
test_loaders_end_to_end.py).

Expected values are worked out by hand from the fixture files (see
tests/fixtures/exports/README.md) or summed independently here with Python's
json / csv and Decimal, never read back from the loaders.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from spendwatch.core.errors import UsageError
from warehouse.ingest import create_stage_tables, detect_format
from warehouse.ingest.contract import UnreadableFile
from warehouse.loaders import (
    anthropic_cost,
    anthropic_usage,
    fireworks_billing,
    modal_billing,
    openai_costs,
    openai_usage,
    runpod_billing,
    together_billing,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "exports"
EXAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "examples" / "spendwatch.toml"
MICRO = Decimal("0.000001")
CENT = Decimal("0.01")

LOADERS = {
    m.FORMAT: m
    for m in (
        openai_costs,
        openai_usage,
        anthropic_cost,
        anthropic_usage,
        runpod_billing,
        modal_billing,
        fireworks_billing,
        together_billing,
    )
}

# fixture -> (format, data records in the file, counted by hand)
FIXTURE_FORMATS = {
    "openai_costs.example.json": ("openai_costs", 1),
    "openai_costs_2026-11.json": ("openai_costs", 11),
    "openai_usage_completions.example.json": ("openai_usage", 1),
    "openai_usage_completions_2026-11.json": ("openai_usage", 4),
    "anthropic_cost_report_2026-11.json": ("anthropic_cost", 7),
    "anthropic_usage_messages_2026-11.json": ("anthropic_usage", 4),
    "runpod_billing_endpoints_2026-11.json": ("runpod_billing", 5),
    "runpod_billing_pods_2026-11.json": ("runpod_billing", 3),
    "modal_billing_report_2026-11.csv": ("modal_billing", 6),
    "modal_billing_report_2026-11-03_hourly.json": ("modal_billing", 4),
    "fireworks_billing_metrics_2026-11.csv": ("fireworks_billing", 5),
    "together_billing_usage_2026-11.json": ("together_billing", 4),
}


def stage(con, fmt: str, path: Path) -> tuple[list[dict], list[dict]]:
    """Stage one file with the format's loader; return (lines, rejects) ordered by row, checking read = loaded + rejected."""
    create_stage_tables(con)
    n_read = LOADERS[fmt].stage(con, path)
    cur = con.execute("SELECT * FROM stage_lines ORDER BY x_source_row")
    names = [d[0] for d in cur.description]
    lines = [dict(zip(names, row)) for row in cur.fetchall()]
    rejects = [
        dict(zip(("row_number", "column_name", "reason", "raw"), row))
        for row in con.execute(
            "SELECT row_number, column_name, reason, raw FROM stage_rejects ORDER BY row_number"
        ).fetchall()
    ]
    assert n_read == len(lines) + len(rejects), "every record must be loaded or rejected"
    rows = [line["x_source_row"] for line in lines] + [r["row_number"] for r in rejects]
    assert sorted(rows) == list(range(1, n_read + 1)), "x_source_row must number the records 1..n"
    for line in lines:  # the NOT NULL columns of billing_line_items the loader must fill
        for col in ("BillingCurrency", "BilledCost", "ChargeCategory", "ChargePeriodStart", "ChargePeriodEnd",
                    "x_provider", "x_product_kind", "x_natural_key"):
            assert line[col] is not None, f"{path.name} row {line['x_source_row']}: {col} is NULL"
        assert line["ChargePeriodEnd"] > line["ChargePeriodStart"]
    keys = [line["x_natural_key"] for line in lines]
    assert len(set(keys)) == len(keys), "natural keys must be unique within a file"
    return lines, rejects


def write_json(tmp_path: Path, name: str, payload: object) -> Path:
    p = tmp_path / name
    p.write_text(json.dumps(payload), encoding="utf-8")
    return p


def write_csv(tmp_path: Path, name: str, rows: list[list[str]]) -> Path:
    p = tmp_path / name
    with p.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return p


def load_decimal_json(path: Path) -> object:
    return json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)


def micro(value: Decimal) -> Decimal:
    """A dollar amount as billing_line_items stores it (6 decimal places, half away from zero)."""
    return value.quantize(MICRO, rounding=ROUND_HALF_UP)


# --------------------------------------------------------------------------- sniffing


@pytest.mark.parametrize("name", sorted(FIXTURE_FORMATS))
def test_sniff_picks_exactly_the_right_loader(name):
    path = FIXTURES / name
    head = path.read_bytes()[:65536]
    claimed = [fmt for fmt, module in LOADERS.items() if module.sniff(path, head)]
    assert claimed == [FIXTURE_FORMATS[name][0]]
    assert detect_format(path) == FIXTURE_FORMATS[name][0]  # against every installed loader, FOCUS included


def test_sniff_rejects_other_usage_endpoints_and_foreign_files(tmp_path):
    embeddings = FIXTURES / "openai_usage_embeddings.example.json"
    focus = tmp_path / "focus.csv"
    focus.write_text(
        "BilledCost,BillingAccountId,BillingCurrency,ChargeCategory,ChargePeriodStart,ChargePeriodEnd\n"
        "12.5,acct-1,USD,Usage,2026-11-01T00:00:00Z,2026-11-02T00:00:00Z\n"
    )
    error_body = write_json(tmp_path, "error.json", {"error": {"type": "authentication_error", "message": "invalid x-api-key"}})
    for path in (embeddings, focus, error_body):
        head = path.read_bytes()
        assert [fmt for fmt, m in LOADERS.items() if m.sniff(path, head)] == []
    with pytest.raises(UsageError, match="unrecognised export format"):
        detect_format(embeddings)


# --------------------------------------------------------------------------- OpenAI costs


def test_openai_costs_float_dollars_exact_to_the_cent(con):
    path = FIXTURES / "openai_costs_2026-11.json"
    lines, rejects = stage(con, "openai_costs", path)
    assert rejects == []
    # float dollars go through their decimal text: 2.675 (binary 2.67499999...) stays 2.675
    assert lines[2]["BilledCost"] == Decimal("2.675000")
    assert lines[3]["BilledCost"] == Decimal("0.070000")
    assert lines[7]["BilledCost"] == Decimal("0.100000")
    assert lines[9]["BilledCost"] == Decimal("1234.560000")
    assert lines[10]["BilledCost"] == Decimal("0.0000415")  # exact (DECIMAL(38, 18), migration 009)
    # independent: every result's amount, parsed as Decimal from the JSON text
    pages = load_decimal_json(path)
    amounts = [r["amount"]["value"] for p in pages for b in p["data"] for r in b["results"]]
    assert [line["BilledCost"] for line in lines] == amounts  # exact, not rounded to the micro-dollar
    assert sum(line["BilledCost"] for line in lines) == sum(amounts)
    assert sum(amounts).quantize(CENT) == Decimal("1390.63")
    first = lines[0]
    assert first["BillingCurrency"] == "USD"  # "usd" upper-cased
    assert first["ChargePeriodStart"] == datetime(2026, 11, 1) and first["ChargePeriodEnd"] == datetime(2026, 11, 2)
    assert first["x_project_id"] == first["SubAccountId"] == "proj_assistant"
    assert first["ChargeDescription"] == "gpt-4o-2024-08-06, input"
    assert first["x_model"] == "gpt-4o-2024-08-06"
    assert lines[3]["x_model"] is None  # "text-embedding-3-small" names no token kind
    assert (first["x_provider"], first["x_product_kind"], first["ChargeCategory"]) == ("openai", "hosted_api", "Usage")
    assert first["x_natural_key"] == "openai|costs|proj_assistant|gpt-4o-2024-08-06, input||2026-11-01T00:00:00Z|2026-11-02T00:00:00Z"
    assert first["x_input_tokens"] is None  # cost lines never carry tokens


def test_openai_costs_rows_are_numbered_bucket_major_across_pages(con):
    lines, _ = stage(con, "openai_costs", FIXTURES / "openai_costs_2026-11.json")
    by_row = {line["x_source_row"]: line for line in lines}
    assert by_row[5]["ChargeDescription"] == "gpt-4o-mini-2024-07-18, input"  # page 1, bucket 1, result 5
    assert by_row[6]["ChargePeriodStart"] == datetime(2026, 11, 2)  # page 1, bucket 2, result 1
    assert by_row[9]["ChargePeriodStart"] == datetime(2026, 11, 3)  # page 2, bucket 1, result 1


def test_openai_costs_example_single_page(con):
    lines, _ = stage(con, "openai_costs", FIXTURES / "openai_costs.example.json")
    assert len(lines) == 1
    assert lines[0]["BilledCost"] == Decimal("0.06")
    assert lines[0]["ChargePeriodStart"] == datetime(2024, 11, 1)  # 1730419200


def test_openai_costs_reject_reasons(con, tmp_path):
    day = {"object": "bucket", "start_time": 1793491200, "end_time": 1793577600}

    def result(value, currency="usd", **extra):
        amount = {"currency": currency} if value is ... else {"value": value, "currency": currency}
        return {"object": "organization.costs.result", "amount": amount, "line_item": "gpt-4o, input",
                "project_id": "proj_x", **extra}

    page = {"object": "page", "has_more": False, "next_page": None, "data": [
        {**day, "results": [result(1.5), result("abc"), result(2.0, "eur"), result(...), result(3.0, None)]},
        {"object": "bucket", "start_time": 1793577600, "end_time": 1793491200, "results": [result(4.0)]},
        {"object": "bucket", "end_time": 1793577600, "results": [result(5.0)]},
    ]}
    lines, rejects = stage(con, "openai_costs", write_json(tmp_path, "costs.json", page))
    assert [line["x_source_row"] for line in lines] == [1]
    assert [(r["row_number"], r["column_name"]) for r in rejects] == [
        (2, "amount.value"), (3, "amount.currency"), (4, "amount.value"), (5, "amount.currency"),
        (6, "end_time"), (7, "start_time"),
    ]
    reasons = [r["reason"] for r in rejects]
    assert reasons[0] == "amount.value abc is not a number"
    assert reasons[1].startswith("unknown currency eur")
    assert reasons[2] == "missing mandatory field: amount.value"
    assert reasons[3] == "missing mandatory field: amount.currency"
    assert "end before start" in reasons[4]
    assert reasons[5] == "missing mandatory field: bucket start_time"
    assert '"value":"abc"' in rejects[0]["raw"].replace(" ", "")


def test_admin_api_structure_errors_are_unreadable(con, tmp_path):
    create_stage_tables(con)
    no_data = write_json(tmp_path, "a.json", [{"object": "page", "data": []}, {"object": "page", "error": "x"}])
    with pytest.raises(UnreadableFile, match="page 2 is not a OpenAI Admin API page"):
        openai_costs.stage(con, no_data)
    no_results = write_json(tmp_path, "b.json", {"object": "page", "data": [{"start_time": 1, "end_time": 2}]})
    with pytest.raises(UnreadableFile, match="page 1 bucket 1 has no 'results' array"):
        openai_costs.stage(con, no_results)
    broken = tmp_path / "c.json"
    broken.write_text('{"object": "page", "data": [')
    with pytest.raises(UnreadableFile, match="c.json"):
        openai_costs.stage(con, broken)


# --------------------------------------------------------------------------- OpenAI usage


def test_openai_usage_cached_tokens_are_a_subset_of_input(con):
    # The official example: input 1000 = cached 400 + cache writes 100 + uncached 500 (it says so itself).
    lines, _ = stage(con, "openai_usage", FIXTURES / "openai_usage_completions.example.json")
    (line,) = lines
    assert (line["x_input_tokens"], line["x_cached_input_tokens"], line["x_cache_write_tokens"]) == (500, 400, 100)
    assert line["x_input_tokens"] + line["x_cached_input_tokens"] + line["x_cache_write_tokens"] == 1000
    assert line["x_output_tokens"] == 500
    assert line["BilledCost"] == 0 and line["BillingCurrency"] == "USD" and line["ChargeCategory"] == "Usage"


def test_openai_usage_uncached_is_input_minus_cached_without_cache_writes(con, tmp_path):
    page = {"object": "page", "has_more": False, "next_page": None, "data": [{
        "object": "bucket", "start_time": 1793491200, "end_time": 1793577600, "results": [
            {"object": "organization.usage.completions.result", "input_tokens": 1000,
             "input_cached_tokens": 400, "output_tokens": 250, "project_id": "proj_assistant", "model": "gpt-4o"},
        ]}]}
    (line,), _ = stage(con, "openai_usage", write_json(tmp_path, "u.json", page))
    assert (line["x_input_tokens"], line["x_cached_input_tokens"], line["x_cache_write_tokens"]) == (600, 400, None)


def test_openai_usage_fixture_tokens_and_tiers(con):
    path = FIXTURES / "openai_usage_completions_2026-11.json"
    lines, rejects = stage(con, "openai_usage", path)
    assert rejects == []
    assert [line["x_input_tokens"] for line in lines] == [5225000, 12044000, 5756000, 61300000]
    assert [line["x_cache_write_tokens"] for line in lines] == [0, 1250000, None, None]
    results = [r for b in load_decimal_json(path)["data"] for r in b["results"]]
    for line, r in zip(lines, results):  # never double-counted: the parts add up to input_tokens
        parts = line["x_input_tokens"] + line["x_cached_input_tokens"] + (line["x_cache_write_tokens"] or 0)
        assert parts == r["input_tokens"]
    assert lines[0]["SkuPriceId"] == "gpt-4o-2024-08-06|default"
    assert lines[3]["SkuPriceId"] == "gpt-4.1-2025-04-14|batch"
    assert all(line["BilledCost"] == 0 for line in lines)


def test_openai_usage_rejects_inconsistent_token_counts(con, tmp_path):
    def res(**kw):
        return {"object": "organization.usage.completions.result", "output_tokens": 10, **kw}

    page = {"object": "page", "data": [{"object": "bucket", "start_time": 1793491200, "end_time": 1793577600,
            "results": [
                res(input_tokens=1000, input_cached_tokens=1200),
                res(input_tokens=1000, input_cached_tokens=400, input_cache_write_tokens=100, input_uncached_tokens=600),
                res(input_tokens=12.5),
                res(input_cached_tokens=3),
                res(input_tokens=100, input_cached_tokens=40, input_uncached_tokens=60),
            ]}]}
    lines, rejects = stage(con, "openai_usage", write_json(tmp_path, "u.json", page))
    assert [line["x_source_row"] for line in lines] == [5]
    assert [(r["row_number"], r["column_name"]) for r in rejects] == [
        (1, "input_cached_tokens"), (2, "input_uncached_tokens"), (3, "input_tokens"), (4, "input_tokens"),
    ]
    assert "must be a subset" in rejects[0]["reason"]
    assert "disagrees with input_tokens - input_cached_tokens - input_cache_write_tokens = 500" in rejects[1]["reason"]
    assert rejects[2]["reason"] == "input_tokens 12.5 is not a token count"
    assert rejects[3]["reason"] == "missing mandatory field: input_tokens"


# --------------------------------------------------------------------------- Anthropic


def test_anthropic_cost_amount_is_cents(con):
    path = FIXTURES / "anthropic_cost_report_2026-11.json"
    lines, rejects = stage(con, "anthropic_cost", path)
    assert rejects == []
    assert lines[0]["BilledCost"] == Decimal("1.2345")  # "123.45" cents
    assert lines[3]["BilledCost"] == Decimal("2.50")  # web search "250"
    assert lines[5]["BilledCost"] == Decimal("1.190001")  # "119.0001"
    cents = [Decimal(r["amount"]) for b in load_decimal_json(path)["data"] for r in b["results"]]
    assert [line["BilledCost"] for line in lines] == [micro(c / 100) for c in cents]
    assert sum(line["BilledCost"] for line in lines).quantize(CENT) == (sum(cents) / 100).quantize(CENT) == Decimal("58.65")
    first = lines[0]
    assert first["x_workspace_id"] == "wrkspc_search"
    assert first["ChargeDescription"] == "Claude Sonnet 4 Usage - Input Tokens"
    assert first["x_model"] == "claude-sonnet-4-20250514"
    assert first["ChargePeriodStart"] == datetime(2026, 11, 1) and first["ChargePeriodEnd"] == datetime(2026, 11, 2)
    assert lines[4]["x_workspace_id"] is None  # the default workspace
    assert lines[3]["ChargeDescription"] == "Web Search" and lines[3]["x_model"] is None


def test_anthropic_cost_rejects_and_rfc3339_offsets(con, tmp_path):
    report = {"has_more": False, "next_page": None, "data": [
        {"starting_at": "2026-11-01T01:00:00+01:00", "ending_at": "2026-11-02T00:00:00Z", "results": [
            {"currency": "USD", "amount": "500"},
            {"currency": "USD", "amount": "12,5"},
            {"currency": "EUR", "amount": "100"},
            {"currency": "USD"},
        ]},
        {"starting_at": "yesterday", "ending_at": "2026-11-02T00:00:00Z", "results": [{"currency": "USD", "amount": "1"}]},
    ]}
    lines, rejects = stage(con, "anthropic_cost", write_json(tmp_path, "cost.json", report))
    (line,) = lines
    assert line["ChargePeriodStart"] == datetime(2026, 11, 1)  # 01:00+01:00 is midnight UTC
    assert line["BilledCost"] == Decimal("5.00")
    assert [(r["row_number"], r["column_name"], r["reason"]) for r in rejects] == [
        (2, "amount", "amount 12,5 is not a number"),
        (3, "currency", "unknown currency EUR (Anthropic bills in USD)"),
        (4, "amount", "missing mandatory field: amount"),
        (5, "starting_at", "starting_at yesterday is not an RFC 3339 timestamp"),
    ]


def test_anthropic_usage_tokens_map_disjointly(con):
    lines, rejects = stage(con, "anthropic_usage", FIXTURES / "anthropic_usage_messages_2026-11.json")
    assert rejects == []
    first = lines[0]
    assert (first["x_input_tokens"], first["x_cached_input_tokens"], first["x_cache_write_tokens"],
            first["x_output_tokens"]) == (411500, 1260200, 52000, 1894200)
    assert lines[3]["x_cache_write_tokens"] == 625000  # 1-hour cache writes count as cache writes too
    assert first["x_workspace_id"] == "wrkspc_search" and first["x_api_key_id"] == "apikey_01Rj2N8SVvo6BePZj99NhmiT"
    assert first["SkuPriceId"] == "claude-sonnet-4-20250514|standard"
    assert all(line["BilledCost"] == 0 and line["ChargeCategory"] == "Usage" for line in lines)


def test_anthropic_usage_rejects_bad_token_counts(con, tmp_path):
    report = {"data": [{"starting_at": "2026-11-01T00:00:00Z", "ending_at": "2026-11-01T00:00:00Z", "results": [
        {"uncached_input_tokens": 1, "output_tokens": 1}]},
        {"starting_at": "2026-11-01T00:00:00Z", "ending_at": "2026-11-02T00:00:00Z", "results": [
            {"uncached_input_tokens": "many", "output_tokens": 1},
            {"uncached_input_tokens": 5},
            {"uncached_input_tokens": 5, "output_tokens": 2, "cache_creation": {"ephemeral_5m_input_tokens": -1}},
        ]}]}
    lines, rejects = stage(con, "anthropic_usage", write_json(tmp_path, "usage.json", report))
    assert lines == []
    assert [(r["row_number"], r["column_name"]) for r in rejects] == [
        (1, "ending_at"), (2, "uncached_input_tokens"), (3, "output_tokens"),
        (4, "cache_creation.ephemeral_5m_input_tokens"),
    ]


# --------------------------------------------------------------------------- RunPod


def test_runpod_endpoint_records_from_the_bare_api_array(con):
    path = FIXTURES / "runpod_billing_endpoints_2026-11.json"
    lines, rejects = stage(con, "runpod_billing", path)
    assert rejects == []
    first = lines[0]
    assert first["x_product_kind"] == "serverless_gpu"
    assert first["x_endpoint_id"] == first["ResourceId"] == "ep-vision-detector"
    assert first["x_gpu_class"] == "RTX4090-24GB" and first["SkuId"] == "NVIDIA GeForce RTX 4090"
    assert first["x_gpu_seconds"] == Decimal("4726.000")  # 4726000 ms
    # no bucketSize in the array: starts off midnight mean hourly buckets
    assert first["ChargePeriodStart"] == datetime(2026, 11, 2, 13) and first["ChargePeriodEnd"] == datetime(2026, 11, 2, 14)
    assert lines[3]["x_gpu_class"] == "A100-80GB" and lines[4]["x_gpu_class"] == "L40S-48GB"
    assert lines[4]["x_gpu_seconds"] == Decimal("3584.906")
    amounts = [r["amount"] for r in load_decimal_json(path)]
    assert [line["BilledCost"] for line in lines] == [micro(a) for a in amounts]
    assert sum(line["BilledCost"] for line in lines).quantize(CENT) == sum(amounts).quantize(CENT) == Decimal("15.89")


def test_runpod_pod_records_from_the_puller_wrapper(con):
    lines, rejects = stage(con, "runpod_billing", FIXTURES / "runpod_billing_pods_2026-11.json")
    assert rejects == []
    first = lines[0]
    assert first["x_product_kind"] == "dedicated_gpu" and first["ResourceId"] == "xedezhzb9la3ye"
    assert first["x_gpu_class"] == "H100-80GB-SXM" and first["x_gpu_seconds"] == Decimal("86400.000")
    assert first["ChargePeriodEnd"] - first["ChargePeriodStart"] == datetime(2026, 11, 2) - datetime(2026, 11, 1)
    assert first["x_endpoint_id"] is None
    assert lines[2]["SkuId"] == "NVIDIA A40" and lines[2]["x_gpu_seconds"] == Decimal("74520.000")
    assert sum(line["BilledCost"] for line in lines) == Decimal("137.40")  # 64.56 + 64.56 + 8.28


def test_runpod_bucket_inference_volumes_and_rejects(con, tmp_path):
    monthly = [
        {"amount": 1.4, "diskSpaceBilledGb": 20, "time": "2026-09-01T00:00:00Z"},
        {"amount": 1.4, "diskSpaceBilledGb": 20, "time": "2026-10-01T00:00:00Z"},
        {"amount": "n/a", "diskSpaceBilledGb": 20, "time": "2026-10-01T00:00:00Z"},
        {"amount": 3.1, "gpuTypeId": "NVIDIA L4", "time": "2026-10-01T00:00:00Z", "timeBilledMs": 1000},
        {"amount": 2.0, "podId": "abc", "timeBilledMs": 5},
        {"amount": 2.0, "podId": "abc", "time": "2026-10-01T00:00:00Z", "timeBilledMs": -5},
    ]
    lines, rejects = stage(con, "runpod_billing", write_json(tmp_path, "vol.json", monthly))
    # Rows 4 (gpuTypeId alone) and 6 (a negative timeBilledMs) load with a note (issue 11 item 4).
    assert [line["x_source_row"] for line in lines] == [1, 2, 4, 6]
    assert lines[0]["x_product_kind"] == "other" and lines[0]["ResourceType"] == "Network Volume"
    assert lines[0]["ConsumedQuantity"] == Decimal("20") and lines[0]["ConsumedUnit"] == "GB"
    # A bare array does not say its bucket, and gaps cannot tell months from idle days:
    # midnight starts read as the API default, day (the puller's wrapper says the real one).
    assert lines[0]["ChargePeriodEnd"] == datetime(2026, 9, 2)
    assert lines[1]["ChargePeriodEnd"] == datetime(2026, 10, 2)
    assert [(r["row_number"], r["column_name"]) for r in rejects] == [(3, "amount"), (5, "time")]
    assert (lines[2]["x_product_kind"], lines[2]["x_gpu_class"], lines[2]["BilledCost"]) == ("other", "L4-24GB", Decimal("3.1"))
    assert (lines[3]["x_gpu_seconds"], lines[3]["ConsumedQuantity"], lines[3]["BilledCost"]) == (None, None, Decimal("2.0"))
    assert con.execute("SELECT row_number, column_name FROM stage_notes ORDER BY row_number").fetchall() == [
        (4, "gpuTypeId"), (6, "timeBilledMs")]
    assert rejects[0]["reason"] == "amount n/a is not a number"
    assert "cannot tell a pod from a serverless endpoint" in con.execute(
        "SELECT note FROM stage_notes WHERE row_number = 4").fetchone()[0]

    single = write_json(tmp_path, "one.json", [{"amount": 9.5, "endpointId": "ep1", "time": "2026-11-01T00:00:00Z",
                                                "timeBilledMs": 60000}])
    (line,), _ = stage(con, "runpod_billing", single)
    assert line["ChargePeriodEnd"] == datetime(2026, 11, 2)  # one midnight start: the API default, day

    bad_wrapper = write_json(tmp_path, "w.json", {"object": "runpod.billing", "resource": "gpus", "records": []})
    create_stage_tables(con)
    with pytest.raises(UnreadableFile, match="unknown resource 'gpus'"):
        runpod_billing.stage(con, bad_wrapper)


# --------------------------------------------------------------------------- Modal


def test_modal_cli_csv_daily(con):
    path = FIXTURES / "modal_billing_report_2026-11.csv"
    lines, rejects = stage(con, "modal_billing", path)
    assert rejects == []
    first = lines[0]
    assert first["ChargePeriodStart"] == datetime(2026, 11, 1) and first["ChargePeriodEnd"] == datetime(2026, 11, 2)
    assert first["x_workspace_id"] == "research" and first["x_endpoint_id"] == "ap-2hLhY3S8fFtWqVzKDq1Ev4"
    assert json.loads(first["Tags"]) == {"team": "research"}
    assert first["x_product_kind"] == "serverless_gpu" and first["x_gpu_class"] == "H100-80GB-SXM"
    assert lines[1]["x_gpu_class"] is None  # embedding-service names no GPU
    assert lines[2]["x_gpu_class"] == "A10G-24GB"  # whisper-a10g-batch
    assert lines[5]["x_gpu_class"] is None  # gpt4-eval-sandbox is not a T4
    with path.open(newline="", encoding="utf-8") as f:
        costs = [Decimal(row["Cost"]) for row in csv.DictReader(f)]
    assert [line["BilledCost"] for line in lines] == costs
    assert sum(line["BilledCost"] for line in lines).quantize(CENT) == sum(costs).quantize(CENT) == Decimal("89.73")


def test_modal_api_json_hourly(con):
    path = FIXTURES / "modal_billing_report_2026-11-03_hourly.json"
    lines, rejects = stage(con, "modal_billing", path)
    assert rejects == []
    assert lines[0]["ChargePeriodStart"] == datetime(2026, 11, 3, 9)
    assert lines[0]["ChargePeriodEnd"] == datetime(2026, 11, 3, 10)
    assert lines[0]["x_natural_key"] == "modal|research|ap-2hLhY3S8fFtWqVzKDq1Ev4|2026-11-03T09:00:00Z"  # no bucket (007)
    assert lines[3]["Tags"] is not None and json.loads(lines[3]["Tags"]) == {}
    assert sum(line["BilledCost"] for line in lines) == sum(Decimal(r["cost"]) for r in load_decimal_json(path))


def test_modal_cli_json_shape_and_rejects(con, tmp_path):
    rows = [
        {"Object ID": "ap-1", "Description": "svc", "Environment": "main", "Interval Start": "2026-11-01T00:00:00", "Cost": "1.25"},
        {"Object ID": "ap-2", "Description": "svc", "Environment": "main", "Interval Start": "2026-11-01T00:00:00", "Cost": "abc"},
        {"Object ID": "", "Description": "svc", "Environment": "main", "Interval Start": "2026-11-01T00:00:00", "Cost": "1"},
        {"Object ID": "ap-3", "Description": "svc", "Environment": "main", "Interval Start": "2026-11-01T00:00:00", "Cost": "1", "Tags": "[1]"},
        {"Object ID": "ap-4", "Description": "svc", "Environment": "main", "Interval Start": "soon", "Cost": "1"},
    ]
    lines, rejects = stage(con, "modal_billing", write_json(tmp_path, "cli.json", rows))
    # Row 4's tags are not a JSON object: it loads without them, with a note (its money is not lost).
    assert [(x["x_source_row"], x["BilledCost"], x["Tags"]) for x in lines] == [(1, Decimal("1.25"), None),
                                                                               (4, Decimal("1"), None)]
    assert lines[0]["ChargePeriodEnd"] == datetime(2026, 11, 2)
    assert [(r["row_number"], r["column_name"]) for r in rejects] == [(2, "cost"), (3, "object_id"), (5, "interval_start")]
    assert rejects[0]["reason"] == "cost abc is not a number"
    assert con.execute("SELECT row_number, column_name, note FROM stage_notes").fetchall() == [
        (4, "tags", "Tags is not a JSON object: not loaded (the record is kept here)")]

    no_cost = write_csv(tmp_path, "m.csv", [["Object ID", "Description", "Environment", "Interval Start", "Total"],
                                             ["ap-1", "x", "main", "2026-11-01T00:00:00", "1"]])
    create_stage_tables(con)
    with pytest.raises(UnreadableFile, match="lacks column"):
        modal_billing.stage(con, no_cost)


def test_gpu_in_description():
    assert modal_billing.gpu_in_description("llm-a100-40gb-trainer") == "A100-40GB"
    assert modal_billing.gpu_in_description("serve_L40S") == "L40S-48GB"
    assert modal_billing.gpu_in_description("gpt4-chat") is None
    assert modal_billing.gpu_in_description("stt4ever") is None


# --------------------------------------------------------------------------- Fireworks


def test_fireworks_metrics_are_metering_lines(con):
    lines, rejects = stage(con, "fireworks_billing", FIXTURES / "fireworks_billing_metrics_2026-11.csv")
    assert rejects == []
    assert all(line["BilledCost"] == 0 and line["ChargeCategory"] == "Usage" for line in lines)
    first = lines[0]
    assert first["x_product_kind"] == "hosted_api"
    assert (first["x_input_tokens"], first["x_output_tokens"]) == (1834, 412)
    assert first["x_model"] == "accounts/fireworks/models/llama-v3p3-70b-instruct"
    # an event at second resolution (end = start) covers [start, start + 1 s)
    assert first["ChargePeriodStart"] == datetime(2026, 11, 2, 9, 14, 3)
    assert first["ChargePeriodEnd"] == datetime(2026, 11, 2, 9, 14, 4)
    # two identical events stay two lines with distinct natural keys
    assert lines[1]["x_natural_key"] == first["x_natural_key"] + "#2"
    deploy = lines[3]
    assert deploy["x_product_kind"] == "dedicated_gpu" and deploy["x_gpu_class"] == "H100-80GB-SXM"
    assert deploy["x_gpu_seconds"] == Decimal("7200.000") and deploy["x_input_tokens"] is None
    assert sum(line["x_gpu_seconds"] or 0 for line in lines) == Decimal("14400")


def test_fireworks_rejects(con, tmp_path):
    header = ["email", "start_time", "end_time", "usage_type", "accelerator_type", "accelerator_seconds",
              "base_model_name", "model_bucket", "parameter_count", "prompt_tokens", "completion_tokens"]
    rows = [
        header,
        ["a@x", "2026-11-02 10:00:00 UTC", "2026-11-02 09:00:00 UTC", "TEXT_COMPLETION_INFERENCE_USAGE", "", "", "m", "", "", "10", "5"],
        ["a@x", "2026-11-02 10:00:00 UTC", "2026-11-02 10:00:01 UTC", "TEXT_COMPLETION_INFERENCE_USAGE", "", "", "m", "", "", "ten", "5"],
        ["a@x", "", "2026-11-02 10:00:01 UTC", "TEXT_COMPLETION_INFERENCE_USAGE", "", "", "m", "", "", "10", "5"],
        ["a@x", "2026-11-02 10:00:00 UTC", "2026-11-02 10:00:01 UTC", "TEXT_COMPLETION_INFERENCE_USAGE", "", "", "m", "", "", "", ""],
        ["a@x", "2026-11-02 10:00:00 UTC", "2026-11-02 10:00:01 UTC", "TEXT_COMPLETION_INFERENCE_USAGE", "", "", "m", "", "", "7", "3"],
    ]
    lines, rejects = stage(con, "fireworks_billing", write_csv(tmp_path, "fw.csv", rows))
    assert [line["x_source_row"] for line in lines] == [5]
    assert [(r["row_number"], r["column_name"]) for r in rejects] == [
        (1, "end_time"), (2, "prompt_tokens"), (3, "start_time"), (4, "accelerator_seconds")]
    assert "end before start" in rejects[0]["reason"]
    assert json.loads(rejects[1]["raw"])["prompt_tokens"] == "ten"


# --------------------------------------------------------------------------- Together


def test_together_billing_usage(con):
    path = FIXTURES / "together_billing_usage_2026-11.json"
    lines, rejects = stage(con, "together_billing", path)
    assert rejects == []
    assert lines[0]["x_input_tokens"] == 35150000  # 41250000 prompt - 6100000 cached
    assert lines[0]["x_cached_input_tokens"] == 6100000 and lines[0]["x_product_kind"] == "hosted_api"
    dedicated = lines[2]
    assert dedicated["x_product_kind"] == "dedicated_gpu"
    assert (dedicated["x_gpu_count"], dedicated["x_gpu_class"]) == (2, "H100-80GB-SXM")
    assert dedicated["x_gpu_seconds"] == Decimal("172800.000")  # 86400 s x 2 GPUs
    assert dedicated["x_endpoint_id"] == dedicated["ResourceId"] == "endpoint-5c1b2e7a-93d4-4f0e-8a61-2b7d9c4e1f30"
    costs = [Decimal(item["cost"]) for item in load_decimal_json(path)["data"]]
    assert sum(line["BilledCost"] for line in lines) == sum(costs) == Decimal("254.2900")


def test_together_rejects(con, tmp_path):
    def item(**kw):
        return {"start_time": "2026-11-01T00:00:00Z", "end_time": "2026-11-02T00:00:00Z",
                "usage_type": "serverless_inference", "model": "m", "cost": "1.00", "currency": "USD", **kw}

    doc = {"object": "together.billing_usage", "data": [
        item(), item(usage_type="gpu_cluster"), item(currency="EUR"), item(cost="1.0.0"),
        item(prompt_tokens=10, cached_prompt_tokens=20), item(end_time="2026-10-31T00:00:00Z"),
        item(usage_type=" Dedicated_Endpoint", hardware="2x_nvidia_h100_80gb_sxm", billed_seconds=3600),
    ]}
    lines, rejects = stage(con, "together_billing", write_json(tmp_path, "t.json", doc))
    # An unknown usage type loads as written, product kind other, with a note (issue 11 item 4).
    assert [(line["x_source_row"], line["x_product_kind"], line["x_gpu_seconds"]) for line in lines] == [
        (1, "hosted_api", None), (2, "other", None), (5, "hosted_api", None),
        (7, "dedicated_gpu", Decimal("7200"))]  # 3600 s x 2 GPUs
    assert [(r["row_number"], r["column_name"]) for r in rejects] == [(3, "currency"), (4, "cost"), (6, "end_time")]
    # Cached above prompt: the tokens are not the money; both unknown, the line loads (noted).
    assert (lines[2]["x_input_tokens"], lines[2]["x_cached_input_tokens"], lines[2]["BilledCost"]) == (
        None, None, Decimal("1.00"))
    # The odd spelling of a known usage type reads as that type, with a note.
    assert con.execute("SELECT row_number, column_name, note FROM stage_notes ORDER BY row_number").fetchall() == [
        (2, "usage_type", 'unknown usage_type "gpu_cluster": kept as written, product kind other (known: '
                          'serverless_inference, batch_inference, dedicated_endpoint, fine_tuning)'),
        (5, "cached_prompt_tokens", "cached_prompt_tokens (20) exceed prompt_tokens (10); they must be a subset of it: "
                                    "unknown (NULL)"),
        (7, "usage_type", 'usage_type " Dedicated_Endpoint" read as dedicated_endpoint')]
