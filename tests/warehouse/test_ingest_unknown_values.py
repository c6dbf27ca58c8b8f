"""Values a loader does not know load, with a note: only money, currency, dates or identity reject a row.

Issue 11 item 4.  An unknown GPU model (dedicated invoice), an unknown ``usage_type``
(Together), an unknown ``gpuTypeId`` or a record grouped by it alone (RunPod) and an empty
or absent ``ChargeCategory`` (FOCUS) used to reject the row, losing its money.  Now the
row loads, the value kept as written and what it leaves unknown NULL (GPU class, count,
hours) or product kind ``other``, and the file total equals the warehouse total.  The
models count such a line in its team's spend and never classify it as what it is not.
Totals are worked out by hand in the comments.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from spendwatch.cli import main
from warehouse.config_sync import sync_config
from warehouse.ingest import ingest_file
from warehouse.models import build, load_project

D = Decimal

INVOICE_HEADER = ("invoice_id,provider,account_id,server_id,server_name,gpu_model,gpu_count,period_start,period_end,"
                  "amount,currency,description,used_hours\n")
INVOICE_ROWS = (
    "GG-1,gigagpu,GG-ACME,gg-4090-01,London 1,RTX 4090,1,2026-10-01,2026-11-01,249.00,GBP,Dedicated server,118.5\n"
    "GG-2,gigagpu,GG-ACME,gg-vd-01,London 2,Voodoo5 6000,1,2026-10-01,2026-11-01,100.00,GBP,Dedicated server,\n"
    "GG-3,gigagpu,GG-ACME,gg-4090-02,London 3,RTX 4090,two,2026-10-01,2026-11-01,50.50,GBP,Dedicated server,10\n"
)


def write(folder: Path, name: str, text: str) -> Path:
    p = folder / name
    p.write_text(text, encoding="utf-8")
    return p


def notes(con) -> list[tuple]:
    return con.execute("SELECT row_number, column_name, raw FROM ingest_notes ORDER BY row_number, column_name").fetchall()


def built(con, cfg, *models: str) -> None:
    sync_config(con, cfg)
    results = build(con, load_project(), select=list(models))
    assert all(r.status == "ok" for r in results), [(r.name, r.status) for r in results if r.status != "ok"]


def test_dedicated_invoice_unknown_gpu_model_and_count_load_with_notes(con, sample_config, tmp_path):
    r = ingest_file(con, write(tmp_path, "inv.csv", INVOICE_HEADER + INVOICE_ROWS), sample_config)
    # Nothing rejected; rows 2 (unknown GPU) and 3 (gpu_count "two") noted.  249.00 + 100.00 + 50.50 = 399.50
    assert (r.rows_read, r.rows_loaded, r.rows_rejected, r.rows_noted) == (3, 3, 0, 2)
    assert r.totals == {"GBP": D("399.50")}
    assert con.execute("SELECT sum(BilledCost) FROM billing_line_items").fetchone() == (D("399.50"),)
    assert notes(con) == [(2, "gpu_model", "Voodoo5 6000"), (3, "gpu_count", "two")]
    # The unknown stays unknown: no class for row 2, no count (so no GPU-seconds) for row 3;
    # row 1's 118.5 h x 3600 s x 1 GPU = 426,600 GPU-seconds.
    assert con.execute("SELECT x_source_row, ResourceId, x_gpu_class, x_gpu_count, x_gpu_seconds, x_product_kind "
                       "FROM billing_line_items ORDER BY x_source_row").fetchall() == [
        (1, "gg-4090-01", "RTX4090-24GB", 1, D("426600.000"), "dedicated_gpu"),
        (2, "gg-vd-01", None, 1, None, "dedicated_gpu"),
        (3, "gg-4090-02", "RTX4090-24GB", None, None, "dedicated_gpu"),
    ]
    # The models build and keep the money: 399.50 of October's dedicated spend, 249.00 of it the
    # platform team's (the gg-4090-01 rule), the rest unallocated.
    built(con, sample_config, "stg_line_items", "dedicated_utilisation")
    assert con.execute("SELECT team, sum(billed_cost) FROM stg_line_items GROUP BY team ORDER BY team").fetchall() == [
        ("platform", D("249.00")), ("unallocated", D("150.50"))]


def test_spendwatch_ingest_counts_the_dedicated_notes_per_file(tmp_path, capsys):
    warehouse = tmp_path / "w.duckdb"
    export = write(tmp_path, "inv.csv", INVOICE_HEADER + INVOICE_ROWS)
    assert main(["ingest", str(export), "--format-output", "json", "--warehouse", str(warehouse)]) == 0
    (out,) = json.loads(capsys.readouterr().out)
    assert (out["rows_loaded"], out["rows_rejected"], out["rows_noted"]) == (3, 0, 2)


RUNPOD_WRAPPED = {
    "object": "runpod.billing", "resource": "endpoints", "bucketSize": "day", "grouping": "endpointId",
    "records": [
        {"amount": 12.34, "endpointId": "ep-vision-detector", "gpuTypeId": "NVIDIA A40",
         "time": "2026-11-01T00:00:00Z", "timeBilledMs": 3600000},
        {"amount": 5.66, "endpointId": "ep-vision-detector", "gpuTypeId": "NVIDIA Z9000 Quantum",
         "time": "2026-11-01T00:00:00Z", "timeBilledMs": 1800000},
    ],
}


def test_runpod_unknown_gpu_counts_in_the_team_spend_not_in_serverless_usage(con, sample_config, tmp_path):
    path = write(tmp_path, "rp.json", json.dumps(RUNPOD_WRAPPED))
    r = ingest_file(con, path, sample_config)
    # 12.34 + 5.66 = 18.00; row 2's GPU is unknown: loaded, noted.
    assert (r.rows_read, r.rows_loaded, r.rows_rejected, r.rows_noted) == (2, 2, 0, 1)
    assert r.totals == {"USD": D("18.00")}
    ((row, column, raw),) = notes(con)  # a JSON record's note keeps the whole record
    assert (row, column, json.loads(raw)["gpuTypeId"]) == (2, "gpuTypeId", "NVIDIA Z9000 Quantum")
    assert con.execute("SELECT x_source_row, SkuId, x_gpu_class, x_product_kind, x_gpu_seconds FROM billing_line_items "
                       "ORDER BY x_source_row").fetchall() == [
        (1, "NVIDIA A40", "A40-48GB", "serverless_gpu", D("3600.000")),
        (2, "NVIDIA Z9000 Quantum", None, "serverless_gpu", D("1800.000")),
    ]
    built(con, sample_config, "stg_line_items", "stg_serverless_usage", "breakeven")
    # The vision team's spend holds both lines: 18.00.
    assert con.execute("SELECT team, sum(billed_cost) FROM stg_line_items GROUP BY team").fetchall() == [
        ("vision", D("18.00"))]
    # Serverless usage (what break-even weighs) is of known GPUs only: the A40's 3,600 s.
    assert con.execute("SELECT gpu_class, sum(gpu_seconds) FROM stg_serverless_usage GROUP BY gpu_class").fetchall() == [
        ("A40-48GB", D("3600.000"))]


def test_runpod_record_grouped_by_gpu_type_alone_loads_as_other(con, sample_config, tmp_path):
    records = [{"amount": 3.00, "gpuTypeId": "NVIDIA L4", "time": "2026-11-01T00:00:00Z", "timeBilledMs": 1000},
               {"amount": 1.50, "gpuTypeId": "NVIDIA L4", "time": "2026-11-02T00:00:00Z", "timeBilledMs": 2000}]
    r = ingest_file(con, write(tmp_path, "by_type.json", json.dumps(records)), sample_config)
    # 3.00 + 1.50 = 4.50, both noted: a pod cannot be told from an endpoint.
    assert (r.rows_read, r.rows_loaded, r.rows_rejected, r.rows_noted) == (2, 2, 0, 2)
    assert r.totals == {"USD": D("4.50")}
    assert con.execute("SELECT DISTINCT x_product_kind, x_gpu_class, ResourceId, ServiceName FROM billing_line_items"
                       ).fetchall() == [("other", "L4-24GB", None, "RunPod GPU (by type)")]
    built(con, sample_config, "stg_line_items", "stg_serverless_usage")
    assert con.execute("SELECT product_kind, sum(billed_cost) FROM stg_line_items GROUP BY ALL").fetchall() == [
        ("other", D("4.50"))]
    assert con.execute("SELECT count(*) FROM stg_serverless_usage").fetchone() == (0,)


def test_together_unknown_usage_type_loads_as_other(con, sample_config, tmp_path):
    def item(usage_type: str, cost: str, **kw) -> dict:
        return {"start_time": "2026-11-01T00:00:00Z", "end_time": "2026-11-02T00:00:00Z", "usage_type": usage_type,
                "model": "m", "cost": cost, "currency": "USD", **kw}

    doc = {"object": "together.billing_usage", "data": [
        item("serverless_inference", "1.25", prompt_tokens=100, completion_tokens=50),
        item("audio_transcription", "0.75", hardware="2x_nvidia_h100_80gb_sxm", billed_seconds=60),
    ]}
    r = ingest_file(con, write(tmp_path, "t.json", json.dumps(doc)), sample_config)
    # 1.25 + 0.75 = 2.00; row 2 noted.
    assert (r.rows_read, r.rows_loaded, r.rows_rejected, r.rows_noted) == (2, 2, 0, 1)
    assert r.totals == {"USD": D("2.00")}
    ((row, column, raw),) = notes(con)
    assert (row, column, json.loads(raw)["usage_type"]) == (2, "usage_type", "audio_transcription")
    # As written, kind other, no GPU class/count/seconds guessed from the hardware.
    assert con.execute("SELECT ChargeDescription, x_product_kind, ServiceCategory, x_gpu_class, x_gpu_count, "
                       "x_gpu_seconds FROM billing_line_items WHERE x_source_row = 2").fetchone() == (
        "audio_transcription: m on 2x_nvidia_h100_80gb_sxm", "other", "Other", None, None, None)


FOCUS_HEAD = "BilledCost,BillingCurrency,ChargeCategory,ChargePeriodStart,ChargePeriodEnd,ProviderName,ResourceId\n"


def test_focus_empty_charge_category_loads_as_unknown(con, sample_config, tmp_path):
    body = ("10.00,USD,Usage,2026-10-01T00:00:00Z,2026-10-02T00:00:00Z,AWS,i-1\n"
            "4.50,USD,,2026-10-02T00:00:00Z,2026-10-03T00:00:00Z,AWS,i-2\n"
            "1.00,USD,Tax,2026-10-03T00:00:00Z,2026-10-04T00:00:00Z,AWS,\n")
    r = ingest_file(con, write(tmp_path, "f.csv", FOCUS_HEAD + body), sample_config)
    # 10.00 + 4.50 + 1.00 = 15.50; row 2 noted.
    assert (r.rows_read, r.rows_loaded, r.rows_rejected, r.rows_noted) == (3, 3, 0, 1)
    assert r.totals == {"USD": D("15.50")}
    assert con.execute("SELECT row_number, column_name, note FROM ingest_notes").fetchall() == [
        (2, "ChargeCategory", "ChargeCategory is empty: stored as Unknown")]
    built(con, sample_config, "stg_line_items", "stg_data_horizon")
    # Spend keeps it (unallocated, not tax); the usage horizon reads Usage lines only (row 1, to 2 October).
    assert con.execute("SELECT source_row, charge_category, product_kind, team FROM stg_line_items ORDER BY source_row"
                       ).fetchall() == [(1, "Usage", "other", "unallocated"), (2, "Unknown", "other", "unallocated"),
                                        (3, "Tax", "tax", "(organisation)")]
    assert con.execute("SELECT sum(billed_cost) FROM stg_line_items").fetchone() == (D("15.50"),)
    (until,) = con.execute("SELECT data_until FROM stg_data_horizon WHERE provider = 'aws'").fetchone()
    assert until.isoformat() == "2026-10-02T00:00:00"


def test_focus_without_a_charge_category_column_loads_every_row(con, sample_config, tmp_path):
    head = "BilledCost,BillingCurrency,ChargePeriodStart,ChargePeriodEnd,ProviderName\n"
    body = ("3.00,EUR,2026-10-01T00:00:00Z,2026-10-02T00:00:00Z,Azure\n"
            "4.00,EUR,2026-10-02T00:00:00Z,2026-10-03T00:00:00Z,Azure\n")
    r = ingest_file(con, write(tmp_path, "nocat.csv", head + body), sample_config)
    # 3.00 + 4.00 = 7.00; both rows noted.
    assert (r.rows_read, r.rows_loaded, r.rows_rejected, r.rows_noted) == (2, 2, 0, 2)
    assert r.totals == {"EUR": D("7.00")}
    assert con.execute("SELECT DISTINCT ChargeCategory FROM billing_line_items").fetchall() == [("Unknown",)]
    assert con.execute("SELECT DISTINCT note FROM ingest_notes").fetchall() == [
        ("ChargeCategory is not a column of the file: stored as Unknown",)]


def test_together_unreadable_token_counts_load_the_money_with_notes(con, sample_config, tmp_path):
    base = {"start_time": "2026-11-01T00:00:00Z", "end_time": "2026-11-02T00:00:00Z", "model": "m",
            "usage_type": "serverless_inference", "currency": "USD"}
    doc = {"object": "together.billing_usage", "data": [
        dict(base, cost="2.00", prompt_tokens=100, cached_prompt_tokens=40, completion_tokens=10),
        dict(base, model="m2", cost="3.00", prompt_tokens="lots", completion_tokens=10),
        dict(base, model="m3", cost="0.50", prompt_tokens=10, cached_prompt_tokens=-1, completion_tokens=5),
    ]}
    r = ingest_file(con, write(tmp_path, "tokens.json", json.dumps(doc)), sample_config)
    # 2.00 + 3.00 + 0.50 = 5.50; rows 2 and 3 noted.
    assert (r.rows_read, r.rows_loaded, r.rows_rejected, r.rows_noted) == (3, 3, 0, 2)
    assert r.totals == {"USD": D("5.50")}
    # Row 1: 100 - 40 = 60 uncached, 110 tokens in all; what a note leaves unknown is NULL, never a guess.
    assert con.execute("SELECT x_source_row, x_input_tokens, x_cached_input_tokens, x_output_tokens, ConsumedQuantity "
                       "FROM billing_line_items ORDER BY x_source_row").fetchall() == [
        (1, 60, 40, 10, D("110")), (2, None, None, 10, None), (3, None, None, 5, D("15"))]
    assert [(row, col) for row, col, _ in notes(con)] == [(2, "prompt_tokens"), (3, "cached_prompt_tokens")]


def test_focus_unreadable_quantity_loads_the_money_with_a_note(con, sample_config, tmp_path):
    head = "BilledCost,BillingCurrency,ChargeCategory,ChargePeriodStart,ChargePeriodEnd,ProviderName,PricingQuantity\n"
    body = ("6.00,USD,Usage,2026-10-01T00:00:00Z,2026-10-02T00:00:00Z,AWS,3\n"
            "2.25,USD,Usage,2026-10-02T00:00:00Z,2026-10-03T00:00:00Z,AWS,n/a\n")
    r = ingest_file(con, write(tmp_path, "qty.csv", head + body), sample_config)
    # 6.00 + 2.25 = 8.25; row 2's quantity unknown (NULL), noted.
    assert (r.rows_read, r.rows_loaded, r.rows_rejected, r.rows_noted) == (2, 2, 0, 1)
    assert r.totals == {"USD": D("8.25")}
    assert con.execute("SELECT PricingQuantity FROM billing_line_items ORDER BY x_source_row").fetchall() == [
        (D("3"),), (None,)]
    assert notes(con) == [(2, "PricingQuantity", "n/a")]
