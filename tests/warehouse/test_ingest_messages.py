"""Messages name the real cause; amounts are exact; unknown columns and long decimals load with a note."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from warehouse.ingest import ingest_file
from warehouse.ingest.contract import UnreadableFile

HEAD = "BilledCost,BillingCurrency,ChargeCategory,ChargePeriodStart,ChargePeriodEnd,ProviderName"
DAY = "2026-10-01T00:00:00Z,2026-10-02T00:00:00Z,AWS"


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding=encoding)
    return p


def reasons(con) -> list[tuple]:
    return con.execute("SELECT row_number, column_name, reason FROM ingest_rejects ORDER BY row_number, rowid").fetchall()


def test_numbers_that_are_not_numbers_and_numbers_out_of_range(con, sample_config, tmp_path):
    rows = ["NaN", "Infinity", "-inf", "1_000", "1e300", "12.5"]
    p = write(tmp_path, "n.csv", HEAD + "\n" + "\n".join(f"{v},USD,Usage,{DAY}" for v in rows) + "\n")
    r = ingest_file(con, p, sample_config)
    assert (r.rows_loaded, r.rows_rejected) == (1, 5)
    assert reasons(con) == [
        (1, "BilledCost", "BilledCost is not a number"), (2, "BilledCost", "BilledCost is not a number"),
        (3, "BilledCost", "BilledCost is not a number"), (4, "BilledCost", "BilledCost is not a number"),
        (5, "BilledCost", "BilledCost is out of range")]


def test_provider_amounts_that_are_not_numbers_and_out_of_range(con, sample_config, tmp_path):
    def result(value: str) -> str:
        return ('{"object": "organization.costs.result", "amount": {"value": ' + value + ', "currency": "usd"}, '
                '"line_item": "gpt-4o, input", "project_id": "p1"}')
    page = ('{"object": "page", "data": [{"object": "bucket", "start_time": 1761955200, "end_time": 1762041600, '
            '"results": [' + ", ".join(result(v) for v in ('"NaN"', '"1_000"', "1e300", "2.5")) + ']}], "has_more": false}')
    r = ingest_file(con, write(tmp_path, "costs.json", page), sample_config)
    assert (r.rows_loaded, r.rows_rejected) == (1, 3)
    assert reasons(con) == [(1, "amount.value", "amount.value NaN is not a number"),
                            (2, "amount.value", "amount.value 1_000 is not a number"),
                            (3, "amount.value", "amount.value 1e300 is out of range")]


def test_a_row_with_more_cells_than_the_header_says_so(con, sample_config, tmp_path):
    p = write(tmp_path, "wide.csv", f"{HEAD}\n1.00,USD,Usage,{DAY}\n2,000.00,USD,Usage,{DAY}\n")
    r = ingest_file(con, p, sample_config)  # the row is rejected alone, the other loads
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (2, 1, 1)
    # The first reason given is the real cause (the other checks fail on the shifted cells).
    assert con.execute("SELECT row_number, column_name, reason, raw FROM ingest_rejects ORDER BY rowid LIMIT 1").fetchone() == (
        2, "cells beyond the header", "the row has more cells than the header has columns (6): an unquoted comma?", "AWS")


def test_a_utf16_file_names_its_encoding(con, sample_config, tmp_path):
    p = write(tmp_path, "utf16.csv", f"{HEAD}\n1.00,USD,Usage,{DAY}\n", encoding="utf-16")
    with pytest.raises(UnreadableFile, match=r"utf16.csv: the file is UTF-16 \(little-endian\) text; .* UTF-8"):
        ingest_file(con, p, sample_config)
    with pytest.raises(UnreadableFile, match="UTF-16"):  # an explicit format too
        ingest_file(con, p, sample_config, fmt="focus")


def test_a_json_document_of_the_wrong_shape_names_the_path_it_expected(con, sample_config, tmp_path):
    page = {"object": "page", "items": [{"object": "organization.costs.result", "amount": {"value": 1}}]}
    with pytest.raises(UnreadableFile, match=r"expected a 'data' array of buckets \(\$\.data\[\*\]\.results\[\*\]\)"):
        ingest_file(con, write(tmp_path, "p.json", json.dumps(page)), sample_config, fmt="openai_costs")
    together = {"object": "together.billing_usage", "items": []}
    with pytest.raises(UnreadableFile, match=r"\$\.data\[\*\]"):
        ingest_file(con, write(tmp_path, "t.json", json.dumps(together)), sample_config)


def test_amounts_are_exact_and_longer_ones_rounded_with_a_note(con, sample_config, tmp_path):
    values = ["0.123456789012345678", "1234567.000000000000000001", "0.1234567890123456789", "2"]
    p = write(tmp_path, "x.csv", HEAD + ",x_custom\n" + "\n".join(f"{v},USD,Usage,{DAY},a" for v in values) + "\n")
    r = ingest_file(con, p, sample_config)
    assert (r.rows_loaded, r.rows_noted) == (4, 1)
    got = [v for (v,) in con.execute("SELECT BilledCost FROM billing_line_items ORDER BY x_source_row").fetchall()]
    # Exact to 18 decimals; the 19-decimal value is rounded half up at the 18th.
    assert got == [Decimal("0.123456789012345678"), Decimal("1234567.000000000000000001"),
                   Decimal("0.123456789012345679"), Decimal("2")]
    assert r.totals["USD"] == sum(got)
    assert con.execute("SELECT row_number, column_name, note FROM ingest_notes ORDER BY row_number NULLS FIRST").fetchall() == [
        (None, "x_custom", "not a FOCUS column: not loaded"),
        (3, "BilledCost", "BilledCost has more than 18 decimals: rounded to 0.123456789012345679")]


def test_a_provider_csv_with_an_unknown_column_loads_with_a_note(con, sample_config, tmp_path):
    head = ("email,start_time,end_time,usage_type,accelerator_type,accelerator_seconds,base_model_name,prompt_tokens,"
            "completion_tokens,region")
    row = "a@acme.ai,2026-11-01 10:00:00 UTC,2026-11-01 10:00:01 UTC,SERVERLESS,,,llama-v3p1-8b,120,30,us-east"
    r = ingest_file(con, write(tmp_path, "fw.csv", f"{head}\n{row}\n"), sample_config)
    assert (r.format, r.rows_loaded, r.rows_rejected) == ("fireworks_billing", 1, 0)
    assert con.execute("SELECT row_number, column_name, note FROM ingest_notes").fetchall() == [
        (None, "region", "not a column of this format: not loaded")]
