"""Provider export loaders end to end: every fixture ingested, restatements and redeliveries replace, rejects and unreadable files.

Expected values are worked out by hand from the fixture files (see tests/fixtures/exports/README.md) or summed
independently here with Python's json / csv and Decimal, never read back from the loaders."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

import pytest

from spendwatch.core.config import load_config
from spendwatch.core.errors import UsageError
from tests.warehouse.test_ingest_attribution import team_lines
from tests.warehouse.test_loaders_providers import (
    CENT,
    EXAMPLE_CONFIG,
    FIXTURES,
    FIXTURE_FORMATS,
    load_decimal_json,
    stage,
    write_csv,
    write_json,
)
from warehouse.ingest import ingest_file
from warehouse.ingest.contract import UnreadableFile


# --------------------------------------------------------------------------- end to end


def test_ingest_every_fixture_end_to_end(con):
    cfg = load_config(EXAMPLE_CONFIG)
    for name, (fmt, records) in sorted(FIXTURE_FORMATS.items()):
        result = ingest_file(con, FIXTURES / name, cfg)
        assert (result.format, result.rows_read, result.rows_loaded, result.rows_rejected) == (fmt, records, records, 0), name
    teams = dict(team_lines(con, cfg, "x_source_format || ':' || coalesce(x_project_id, x_workspace_id, x_endpoint_id, '?'), team"))
    assert teams["openai_costs:proj_assistant"] == "assistant"
    assert teams["openai_costs:proj_search_rerank"] == "search"
    assert teams["openai_costs:proj_batch_eval"] == "unallocated"
    assert teams["anthropic_cost:wrkspc_search"] == "search"
    assert teams["runpod_billing:ep-vision-detector"] == "vision"
    assert teams["modal_billing:research"] == "research"
    embedding = {team for name, team in team_lines(con, cfg, "ResourceName, team") if name == "embedding-service"}
    assert embedding == {"search"}  # Modal tag team=search, via the tag rule

    # metering lines add nothing to spend: spend is the cost formats alone
    metering = con.execute(
        "SELECT sum(BilledCost) FROM billing_line_items "
        "WHERE x_source_format IN ('openai_usage', 'anthropic_usage', 'fireworks_billing')"
    ).fetchone()[0]
    assert metering == 0
    (openai_spend,) = con.execute(
        "SELECT sum(BilledCost) FROM billing_line_items WHERE x_provider = 'openai'").fetchone()
    assert openai_spend.quantize(CENT) == Decimal("1390.69")  # 1390.63 (Nov fixture) + 0.06 (example)


def test_restated_openai_costs_replace_instead_of_adding(con, tmp_path):
    cfg = load_config(EXAMPLE_CONFIG)
    original = FIXTURES / "openai_costs_2026-11.json"
    ingest_file(con, original, cfg)
    pages = load_decimal_json(original)
    original_total = sum(Decimal(str(r["amount"]["value"])) for p in pages for b in p["data"] for r in b["results"])
    first_day = pages[0]["data"][0]
    first_day["results"][0]["amount"]["value"] = Decimal("18.50")  # a late restatement of 18.4125
    restated = tmp_path / "openai_costs_2026-11-01_restated.json"
    restated.write_text(json.dumps({"object": "page", "data": [first_day], "has_more": False, "next_page": None},
                                   default=str))
    result = ingest_file(con, restated, cfg)
    assert (result.rows_loaded, result.rows_replaced) == (5, 5)
    count, total = con.execute("SELECT count(*), sum(BilledCost) FROM billing_line_items").fetchone()
    assert count == 11
    assert total == original_total - Decimal("18.4125") + Decimal("18.50")


def test_ingest_keeps_rejects_and_rolls_back_unreadable_files(con, tmp_path):
    cfg = load_config(EXAMPLE_CONFIG)
    report = {"data": [{"starting_at": "2026-11-01T00:00:00Z", "ending_at": "2026-11-02T00:00:00Z", "results": [
        {"currency": "USD", "amount": "100", "workspace_id": "wrkspc_search"},
        {"currency": "USD", "amount": "lots", "workspace_id": "wrkspc_search"}]}]}
    result = ingest_file(con, write_json(tmp_path, "cost.json", report), cfg)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (2, 1, 1)
    assert con.execute("SELECT row_number, column_name, reason FROM ingest_rejects").fetchall() == [
        (2, "amount", "amount lots is not a number")]
    broken = tmp_path / "broken.json"
    broken.write_text('[{"amount": 1.0, "time": "2026-11-01T00:00:00Z", "timeBilledMs": 5}')
    with pytest.raises(UnreadableFile):
        ingest_file(con, broken, cfg, "runpod_billing")
    assert con.execute("SELECT count(*) FROM billing_line_items").fetchone()[0] == 1


def test_gzipped_exports_and_streamed_arrays_keep_file_order(con, tmp_path):
    import gzip

    cfg = load_config(EXAMPLE_CONFIG)
    for name in ("modal_billing_report_2026-11.csv", "modal_billing_report_2026-11-03_hourly.json"):
        packed = tmp_path / f"{name}.gz"
        packed.write_bytes(gzip.compress((FIXTURES / name).read_bytes()))
        result = ingest_file(con, packed, cfg)
        assert (result.format, result.rows_loaded, result.rows_rejected) == ("modal_billing", FIXTURE_FORMATS[name][1], 0)
    # a top-level array is streamed record by record; x_source_row must still follow the file
    records = [{"amount": 0.5, "endpointId": f"ep-{i:04d}", "time": f"2026-11-{1 + i // 100:02d}T{i % 24:02d}:00:00Z",
                "timeBilledMs": 1000 + i} for i in range(2400)]
    path = write_json(tmp_path, "runpod_many.json", records)
    lines, _ = stage(con, "runpod_billing", path)
    assert [line["x_endpoint_id"] for line in lines] == [f"ep-{i:04d}" for i in range(2400)]
    assert lines[7]["x_gpu_seconds"] == Decimal("1.007")


def _rp(amount: str, time: str) -> dict:
    return {"amount": amount, "endpointId": "ep-1", "gpuTypeId": "NVIDIA GeForce RTX 4090", "podId": None,
            "time": time, "timeBilledMs": 1000000}


def test_runpod_sparse_redelivery_replaces_instead_of_adding(con, tmp_path, sample_config):
    # Daily records for Nov 1-2, then a re-delivery with Nov 2 again and Nov 9 (idle between):
    # the sparse file once read as weekly buckets and added Nov 2 a second time.
    ingest_file(con, write_json(tmp_path, "a.json", [_rp("1.25", "2026-11-01T00:00:00Z"),
                                                     _rp("2.50", "2026-11-02T00:00:00Z")]), sample_config)
    r = ingest_file(con, write_json(tmp_path, "b.json", [_rp("2.50", "2026-11-02T00:00:00Z"),
                                                         _rp("4.00", "2026-11-09T00:00:00Z")]), sample_config)
    assert r.rows_replaced == 1
    assert con.execute("SELECT sum(BilledCost) FROM billing_line_items").fetchone()[0] == Decimal("7.75")  # 1.25+2.50+4.00
    assert con.execute("SELECT ChargePeriodEnd FROM billing_line_items WHERE ChargePeriodStart = '2026-11-09'"
                       ).fetchone()[0] == datetime(2026, 11, 10)


def test_modal_hourly_redelivery_replaces_a_lone_midnight_hour(con, tmp_path, sample_config):
    # An hourly report with usage only at 00:00 reads as daily; its re-delivery with 01:00 as
    # hourly.  The 00:00 line is the same charge either way and must not count twice.
    row = {"object_id": "ap-1", "description": "batch", "environment_name": "main", "cost": "1.50", "tags": {}}
    ingest_file(con, write_json(tmp_path, "m1.json", [dict(row, interval_start="2026-11-03T00:00:00+00:00")]),
                sample_config)
    r = ingest_file(con, write_json(tmp_path, "m2.json", [dict(row, interval_start="2026-11-03T00:00:00+00:00"),
                                                          dict(row, interval_start="2026-11-03T01:00:00+00:00")]),
                    sample_config)
    assert r.rows_replaced == 1
    assert con.execute("SELECT sum(BilledCost), count(*) FROM billing_line_items").fetchone() == (Decimal("3.00"), 2)


def _costs_page(quantity) -> dict:
    result = {"object": "organization.costs.result", "amount": {"value": "1.25", "currency": "usd"},
              "line_item": "gpt-4o, input", "project_id": "proj_a", "quantity": quantity, "quantity_unit": "tokens"}
    return {"object": "page", "has_more": False, "next_page": None, "data": [
        {"object": "bucket", "start_time": 1793491200, "end_time": 1793577600,
         "results": [result, dict(result, line_item="gpt-4o, output", quantity=1000)]}]}


def _usage_page(tokens) -> dict:
    result = {"object": "organization.usage.completions.result", "input_tokens": tokens, "output_tokens": tokens,
              "input_cached_tokens": 0, "num_model_requests": 1, "project_id": "proj_a", "model": "gpt-4o"}
    return {"object": "page", "has_more": False, "next_page": None, "data": [
        {"object": "bucket", "start_time": 1793491200, "end_time": 1793577600,
         "results": [result, dict(result, model="gpt-4o-mini", input_tokens=10, output_tokens=5)]}]}


OVERSIZED = {  # one record with an absurd figure beside a good one: the record is rejected, never the file
    "openai_usage tokens": ("openai_usage", lambda: _usage_page(5_000_000_000_000_000_000), "input_tokens"),
}
# An OpenAI cost line's quantity, a RunPod record's billed time or GPU count is not its money: an absurd one loads the record,
# the figure NULL, with a note (issue 11 item 4).
OVERSIZED_NOTED = {
    "openai_costs quantity": ("openai_costs", lambda: _costs_page(1e20), "quantity"),
    "runpod timeBilledMs": ("runpod_billing", lambda: [_rp("1.00", "2026-11-01T00:00:00Z"),
                                                       dict(_rp("2.00", "2026-11-02T00:00:00Z"), timeBilledMs=1e21)],
                            "timeBilledMs"),
    "runpod gpuCount": ("runpod_billing", lambda: [_rp("1.00", "2026-11-01T00:00:00Z"),
                                                   dict(_rp("2.00", "2026-11-02T00:00:00Z"), gpuCount=3_000_000_000)],
                        "gpuCount"),
}


@pytest.mark.parametrize("case", list(OVERSIZED), ids=list(OVERSIZED))
def test_an_oversized_figure_rejects_its_record_not_the_file(con, tmp_path, sample_config, case):
    fmt, payload, column = OVERSIZED[case]
    r = ingest_file(con, write_json(tmp_path, "big.json", payload()), sample_config, fmt=fmt)
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (2, 1, 1)
    (got,) = con.execute("SELECT column_name FROM ingest_rejects").fetchall()
    assert got == (column,)


@pytest.mark.parametrize("case", list(OVERSIZED_NOTED), ids=list(OVERSIZED_NOTED))
def test_an_oversized_quantity_loads_its_money_with_a_note(con, tmp_path, sample_config, case):
    fmt, payload, column = OVERSIZED_NOTED[case]
    r = ingest_file(con, write_json(tmp_path, "big.json", payload()), sample_config, fmt=fmt)
    assert (r.rows_read, r.rows_loaded, r.rows_rejected, r.rows_noted) == (2, 2, 0, 1)
    # RunPod: 1.00 + 2.00; OpenAI costs: 1.25 + 1.25
    assert r.totals == {"USD": Decimal("2.50") if fmt == "openai_costs" else Decimal("3.00")}
    assert con.execute("SELECT column_name FROM ingest_notes").fetchall() == [(column,)]
    noted_row = con.execute("SELECT min(row_number) FROM ingest_notes").fetchone()[0]
    figure = "ConsumedQuantity" if fmt == "openai_costs" else "x_gpu_seconds"
    assert con.execute(f"SELECT {figure} FROM billing_line_items WHERE x_source_row = ?", [noted_row]).fetchone() == (None,)


MODAL_HEADER = ["Object ID", "Description", "Environment", "Interval Start", "Cost", "Tags"]


def test_modal_us_date_is_rejected_not_read_as_year_nine(con, tmp_path, sample_config):
    # DuckDB itself would cast "9/1/26" to 0009-01-26: money in the wrong millennium.
    p = write_csv(tmp_path, "m.csv", [MODAL_HEADER, ["ap-1", "batch", "main", "2026-09-01T00:00:00", "1.50", ""],
                                      ["ap-1", "batch", "main", "9/1/26", "2.50", ""]])
    r = ingest_file(con, p, sample_config)
    assert (r.format, r.rows_loaded, r.rows_rejected, r.totals) == ("modal_billing", 1, 1, {"USD": Decimal("1.50")})
    assert con.execute("SELECT row_number, column_name FROM ingest_rejects").fetchall() == [(2, "interval_start")]


def test_modal_csv_gzip_by_content_and_short_row_rejected_alone(con, tmp_path, sample_config):
    import gzip as gz

    text = "\r\n".join([",".join(MODAL_HEADER), "ap-1,batch,main,2026-09-01T00:00:00,1.50,", "ap-2,desc,main"]) + "\r\n"
    p = tmp_path / "modal_report.csv"  # gzip content under a .csv name
    p.write_bytes(gz.compress(text.encode()))
    r = ingest_file(con, p, sample_config)
    assert (r.format, r.rows_read, r.rows_loaded, r.rows_rejected) == ("modal_billing", 2, 1, 1)
    assert con.execute("SELECT row_number FROM ingest_rejects").fetchall() == [(2,)]


def test_a_truncated_json_array_is_unreadable_not_half_loaded(con, tmp_path, sample_config):
    row = {"object_id": "ap-1", "description": "batch", "environment_name": "main",
           "interval_start": "2026-11-03T00:00:00+00:00", "cost": "1.50", "tags": {}}
    p = tmp_path / "cut.json"
    p.write_text("[\n  " + json.dumps(row) + ",\n  " + json.dumps(dict(row, object_id="ap-2")) + ",\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"cut\.json: not a readable .*the top-level array is not closed"):
        ingest_file(con, p, sample_config, fmt="modal_billing")
    assert con.execute("SELECT count(*) FROM billing_line_items").fetchone() == (0,)


def test_a_broken_csv_names_the_line_and_duckdbs_reason(con, tmp_path, sample_config):
    p = tmp_path / "latin1.csv"
    p.write_bytes((",".join(MODAL_HEADER) + "\nap-1,Geb\xfchr,main,2026-09-01T00:00:00,1.50,\n").encode("latin-1"))
    with pytest.raises(UsageError) as e:
        ingest_file(con, p, sample_config, fmt="modal_billing")
    msg = str(e.value)
    assert msg.startswith(f"{p}: ") and "CSV Error on Line: 2: Invalid unicode" in msg and "\n" not in msg


def test_underscored_numbers_are_rejected_and_lowercase_usd_is_usd(con, tmp_path, sample_config):
    # DuckDB would read "1_000" as 1000; Anthropic's currency may come as "usd".
    page = json.loads((FIXTURES / "anthropic_cost_report_2026-11.json").read_text(encoding="utf-8"))
    results = page["data"][0]["results"]
    results[0]["amount"] = "1_000"
    results[1]["currency"] = "usd"
    r = ingest_file(con, write_json(tmp_path, "cost.json", page), sample_config)
    assert r.rows_rejected == 1
    assert con.execute("SELECT row_number, column_name FROM ingest_rejects").fetchall() == [(1, "amount")]
