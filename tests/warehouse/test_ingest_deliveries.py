"""Deliveries and scopes: corrections replace what they restate, A -> B -> A, forget, manifests, symlinks.

Every expected total is summed from the files' own cells with Python's csv + Decimal, never
read back from the code under test.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from spendwatch.cli import main
from spendwatch.core.config import Config
from spendwatch.core.errors import UsageError
from tests.warehouse.test_ingest_attribution import team_lines
from warehouse.ingest import ingest_file, ingest_paths

FOCUS = Path(__file__).resolve().parents[1] / "fixtures" / "focus"
AWS = FOCUS / "aws_focus_1.2_2026-10.csv"
HEADER = ["BillingAccountId", "BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd",
          "BilledCost", "BillingCurrency", "ChargeCategory", "ChargeDescription", "ServiceProviderName", "ResourceId",
          "Tags"]


def focus_rows(account: str, n: int, rate: str = "1.006", start: int = 0) -> list[dict[str, str]]:
    """n daily g5.xlarge lines of October 2026 for one account, AWS-style: the rate in the description."""
    return [{"BillingAccountId": account, "BillingPeriodStart": "2026-10-01T00:00:00Z",
             "BillingPeriodEnd": "2026-11-01T00:00:00Z", "ChargePeriodStart": f"2026-10-{d:02d}T00:00:00Z",
             "ChargePeriodEnd": f"2026-10-{d + 1:02d}T00:00:00Z",
             "BilledCost": str(Decimal(rate) * 24 + Decimal(d) / 1000 + Decimal("0.0000000001")),
             "BillingCurrency": "USD", "ChargeCategory": "Usage",
             "ChargeDescription": f"${rate} per On Demand Linux g5.xlarge Instance Hour",
             "ServiceProviderName": "AWS", "ResourceId": f"i-{account}-{d}", "Tags": '{"team": "vision"}'}
            for d in range(1 + start, 1 + start + n)]


def write_csv(path: Path, rows: list[dict[str, str]], header: list[str] = HEADER) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=header)
        w.writeheader()
        w.writerows(rows)
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def total(rows: list[dict[str, str]]) -> Decimal:
    return sum((Decimal(r["BilledCost"]) for r in rows), Decimal(0))


def stored(con) -> tuple[int, Decimal]:
    n, s = con.execute("SELECT count(*), coalesce(sum(BilledCost), 0) FROM billing_line_items").fetchone()
    return n, s


def everything(con) -> dict[str, list]:
    return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
            for t in ("billing_line_items", "billing_line_items_archive", "delivery_scopes", "ingested_files")}


# --------------------------------------------------------------------------- corrections


def test_a_correction_with_changed_descriptions_and_dropped_lines_replaces_its_scope(con, sample_config, tmp_path):
    a_rows = focus_rows("111111111111", 6) + focus_rows("222222222222", 4)
    a = write_csv(tmp_path / "a.csv", a_rows)
    ingest_file(con, a, sample_config)
    # AWS restates account 1's October: the rate in every description changes, and the last day is gone.
    b_rows = focus_rows("111111111111", 5, rate="1.010")
    b = write_csv(tmp_path / "b.csv", b_rows)
    r = ingest_file(con, b, sample_config)
    assert (r.rows_loaded, r.rows_replaced) == (5, 6)
    account2 = [x for x in read_csv(a) if x["BillingAccountId"] == "222222222222"]
    assert stored(con) == (5 + 4, total(read_csv(b)) + total(account2))  # exact, not just to the cent
    assert con.execute("SELECT count(*), sum(BilledCost) FROM billing_line_items_archive").fetchone() == (
        6, total(a_rows[:6]))
    assert con.execute("SELECT count(*) FROM billing_line_items WHERE ChargeDescription LIKE '$1.006%'").fetchone() == (4,)


def test_a_to_b_to_a_ends_at_a_and_identical_bytes_change_nothing(con, sample_config, tmp_path):
    a = write_csv(tmp_path / "a.csv", focus_rows("111111111111", 6))
    b = write_csv(tmp_path / "b.csv", focus_rows("111111111111", 3, rate="1.010"))
    ingest_file(con, a, sample_config)
    ingest_file(con, b, sample_config)
    assert stored(con) == (3, total(read_csv(b)))
    again = tmp_path / "a_again_under_another_name.csv"
    shutil.copy(a, again)
    r = ingest_file(con, again, sample_config)
    assert (r.skipped_duplicate, r.rows_restored, r.rows_replaced) == (False, 6, 3)
    assert stored(con) == (6, total(read_csv(a)))
    before = everything(con)
    r = ingest_file(con, a, sample_config)  # the current delivery's bytes again
    assert r.skipped_duplicate and everything(con) == before


def test_without_a_manifest_files_found_together_are_taken_in_path_order(con, sample_config, tmp_path):
    folder = tmp_path / "exports"
    write_csv(folder / "2026-10-a.csv", focus_rows("111111111111", 4))
    later = write_csv(folder / "2026-10-b.csv", focus_rows("111111111111", 2, rate="1.010"))
    ingest_paths(con, [folder], sample_config)
    assert stored(con) == (2, total(read_csv(later)))


# --------------------------------------------------------------------------- dedicated invoices

INVOICE_HEADER = ["invoice_id", "provider", "account_id", "server_id", "server_name", "gpu_model", "gpu_count",
                  "period_start", "period_end", "amount", "currency", "description", "used_hours"]


def invoice(invoice_id: str, amount: str, description: str) -> dict[str, str]:
    return {"invoice_id": invoice_id, "provider": "Hetzner", "account_id": "K0481516", "server_id": "gex130-7",
            "server_name": "GEX130", "gpu_model": "RTX 6000 Ada", "gpu_count": "1", "period_start": "2026-10-01",
            "period_end": "2026-11-01", "amount": amount, "currency": "GBP", "description": description,
            "used_hours": ""}


def test_a_setup_fee_never_replaces_the_rental(con, sample_config, tmp_path):
    ingest_file(con, write_csv(tmp_path / "rental.csv", [invoice("R1", "299.00", "GEX130 October 2026")],
                               INVOICE_HEADER), sample_config)
    r = ingest_file(con, write_csv(tmp_path / "setup.csv", [invoice("R2", "50.00", "Setup fee")], INVOICE_HEADER),
                    sample_config)
    assert r.rows_replaced == 0
    assert stored(con) == (2, Decimal("349.00"))  # 299 + 50
    # A corrected rental replaces the rental only.
    r = ingest_file(con, write_csv(tmp_path / "rental2.csv", [invoice("R1C", "279.00", "GEX130 October 2026, credit")],
                                   INVOICE_HEADER), sample_config)
    assert r.rows_replaced == 1
    assert sorted(con.execute("SELECT SkuId, ChargeFrequency, BilledCost FROM billing_line_items").fetchall()) == [
        ("rental", "Recurring", Decimal("279")), ("setup_fee", "One-Time", Decimal("50"))]


# --------------------------------------------------------------------------- spendwatch files


def files_json(capsys, warehouse: Path) -> list[dict]:
    assert main(["files", "list", "--format", "json", "--warehouse", str(warehouse)]) == 0
    return json.loads(capsys.readouterr().out)


def test_files_forget_restores_the_delivery_before_even_when_its_file_is_gone(capsys, tmp_path, sample_config):
    from warehouse.db import connect

    warehouse = tmp_path / "w.duckdb"
    a = write_csv(tmp_path / "a.csv", focus_rows("111111111111", 6))
    b = write_csv(tmp_path / "b.csv", focus_rows("111111111111", 3, rate="1.010"))
    expected_a = total(read_csv(a))
    for f in (a, b):
        assert main(["ingest", str(f), "--warehouse", str(warehouse)]) == 0
    capsys.readouterr()
    listed = files_json(capsys, warehouse)
    assert [(d["path"], d["status"]) for d in listed] == [(str(b.resolve()), "current"), (str(a.resolve()), "superseded")]
    a.unlink()  # the superseded file is gone from disk
    assert main(["files", "forget", str(b.resolve()), "--warehouse", str(warehouse)]) == 0
    assert "6 line(s) of earlier deliveries current again" in capsys.readouterr().out
    con = connect(warehouse)
    try:
        assert stored(con) == (6, expected_a)
        assert con.execute("SELECT count(*) FROM billing_line_items_archive").fetchone() == (0,)
    finally:
        con.close()
    assert [(d["path"], d["status"]) for d in files_json(capsys, warehouse)] == [(str(a.resolve()), "current")]


def test_a_file_ingested_with_the_wrong_format_is_forgotten_and_ingested_again(capsys, tmp_path):
    warehouse = tmp_path / "w.duckdb"
    cost = Path(__file__).resolve().parents[1] / "fixtures" / "exports" / "anthropic_cost_report_2026-11.json"
    # Forced as the usage format, every record is rejected (no token counts): nothing loads.
    assert main(["ingest", str(cost), "--format", "anthropic_usage", "--warehouse", str(warehouse)]) == 2
    capsys.readouterr()
    assert main(["ingest", str(cost), "--format-output", "json", "--warehouse", str(warehouse)]) == 0
    assert json.loads(capsys.readouterr().out)[0]["already_ingested"] is True  # same bytes: not read again
    sha = [d["sha256"] for d in files_json(capsys, warehouse)][0]
    assert main(["files", "forget", sha[:12], "--warehouse", str(warehouse)]) == 0
    capsys.readouterr()
    assert main(["ingest", str(cost), "--format-output", "json", "--warehouse", str(warehouse)]) == 0
    out = json.loads(capsys.readouterr().out)[0]
    assert out["format"] == "anthropic_cost" and out["rows_loaded"] == out["rows_read"] > 0


def test_a_failed_delivery_is_listed_as_failed_and_may_be_tried_again(capsys, tmp_path):
    warehouse = tmp_path / "w.duckdb"
    assert main(["ingest", str(AWS), "--format", "dedicated_invoice", "--warehouse", str(warehouse)]) == 2
    capsys.readouterr()
    [failed] = files_json(capsys, warehouse)
    assert failed["status"] == "failed" and "not a dedicated-invoice CSV" in failed["error"]
    assert main(["ingest", str(AWS), "--warehouse", str(warehouse)]) == 0
    capsys.readouterr()
    assert [d["status"] for d in files_json(capsys, warehouse)] == ["current"]


# --------------------------------------------------------------------------- manifests


def manifest(path: Path, parts: list[str]) -> Path:
    """An AWS Data Exports Manifest.json naming its data files (fields per AWS's manifest reference)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "executionId": "6e7b8a2f-0000-4a5e-9b44-1c2d3e4f5a6b",
        "exportArn": "arn:aws:bcm-data-exports:us-east-1:111111111111:export/focus-a1b2",
        "columns": [{"name": c, "type": "string"} for c in HEADER],
        "dataFiles": [f"s3://acme-billing/exports/focus/data/BILLING_PERIOD=2026-10/{p}" for p in parts],
    }), encoding="utf-8")
    return path


def test_the_parts_a_manifest_names_are_one_delivery(con, sample_config, tmp_path):
    root = tmp_path / "focus"
    data = root / "data" / "BILLING_PERIOD=2026-10"
    p1 = write_csv(data / "focus-00001.csv", focus_rows("111111111111", 3))
    p2 = write_csv(data / "focus-00002.csv", focus_rows("111111111111", 4, start=3))
    manifest(root / "metadata" / "BILLING_PERIOD=2026-10" / "focus-Manifest.json", ["focus-00001.csv", "focus-00002.csv"])
    results = ingest_paths(con, [root], sample_config)
    assert [r.path.name for r in results] == ["focus-00001.csv", "focus-00002.csv"]
    assert len({r.delivery_id for r in results}) == 1
    assert stored(con) == (7, total(read_csv(p1)) + total(read_csv(p2)))  # the parts restate their scope together
    # Next execution: one part for the same account and period restates everything the two held.
    shutil.rmtree(root)
    p3 = write_csv(data / "focus-00001.csv", focus_rows("111111111111", 2, rate="1.010"))
    manifest(root / "metadata" / "BILLING_PERIOD=2026-10" / "focus-Manifest.json", ["focus-00001.csv"])
    ingest_paths(con, [root], sample_config)
    assert stored(con) == (2, total(read_csv(p3)))


def test_a_manifest_whose_part_is_missing_ingests_nothing_of_it(con, sample_config, tmp_path):
    root = tmp_path / "focus"
    write_csv(root / "data" / "BILLING_PERIOD=2026-10" / "focus-00001.csv", focus_rows("111111111111", 3))
    manifest(root / "metadata" / "focus-Manifest.json", ["focus-00001.csv", "focus-00002.csv"])
    results = ingest_paths(con, [root], sample_config, errors="collect")
    assert [bool(r.error) for r in results] == [True]
    assert "focus-00002.csv" in results[0].error and stored(con) == (0, 0)


# --------------------------------------------------------------------------- folders and symlinks


def test_a_symlink_out_of_the_inbox_is_reported_and_skipped(capsys, tmp_path):
    inbox = tmp_path / "inbox"
    outside = tmp_path / "elsewhere"
    mine = write_csv(inbox / "mine.csv", focus_rows("111111111111", 2))
    secret = write_csv(outside / "not_an_export.csv", focus_rows("999999999999", 5))
    os.symlink(secret, inbox / "link_to_file.csv")
    os.symlink(outside, inbox / "link_to_folder")
    os.symlink(mine, inbox / "link_inside.csv")  # inside the inbox: read once, at its real place
    code = main(["ingest", str(inbox), "--format-output", "json", "--warehouse", str(tmp_path / "w.duckdb")])
    out, err = capsys.readouterr()
    assert code == 0
    assert [r["file"] for r in json.loads(out)] == [str(mine)]
    assert f"skipped {inbox / 'link_to_file.csv'}: symlink to a file outside {inbox}, not read" in err
    assert f"skipped {inbox / 'link_to_folder'}: symlink to a folder outside {inbox}, not followed" in err


# --------------------------------------------------------------------------- real-world dirt


def test_a_real_aws_export_with_tag_keys_equal_once_trimmed_loads_every_row(con, sample_config, tmp_path):
    # The AWS fixture with AWS's own quirk: tags holding both "org" and " org".
    rows = read_csv(AWS)
    for i, r in enumerate(rows):
        r["Tags"] = json.dumps({"org": "acme", " org": f"acme-{i}", "team": "vision"})
    p = write_csv(tmp_path / "aws_dup_tags.csv", rows, list(rows[0]))
    r = ingest_file(con, p, sample_config)
    assert (r.rows_read, r.rows_loaded, r.rows_rejected, r.rows_noted) == (10, 10, 0, 10)
    assert stored(con) == (10, total(rows))
    assert set(team_lines(con, sample_config, "Tags->>'org', team")) == {("acme", "vision")}


# --------------------------------------------------------------------------- dates


def dated_rows(starts: list[str]) -> list[dict[str, str]]:
    rows = focus_rows("111111111111", len(starts))
    for r, s in zip(rows, starts):
        r["ChargePeriodStart"] = s
        r["ChargePeriodEnd"] = "2026-11-01T00:00:00Z"
    return rows


def test_day_first_dates_are_read_day_first_on_every_row(con, sample_config, tmp_path):
    rows = dated_rows(["01/10/2026", "13/10/2026", "02/10/2026"])
    ingest_file(con, write_csv(tmp_path / "dmy2.csv", rows), sample_config)
    got = [d.strftime("%Y-%m-%d") for (d,) in con.execute(
        "SELECT ChargePeriodStart FROM billing_line_items ORDER BY x_source_row").fetchall()]
    assert got == ["2026-10-01", "2026-10-13", "2026-10-02"]  # 01/10 is 1 October, like 13/10 beside it


def test_a_column_ambiguous_throughout_asks_for_the_order(con, sample_config, tmp_path):
    rows = dated_rows(["01/10/2026", "02/10/2026"])
    p = write_csv(tmp_path / "amb.csv", rows)
    with pytest.raises(UsageError, match=r"column ChargePeriodStart has slash dates such as '01/10/2026' .*--date-order"):
        ingest_file(con, p, sample_config)
    assert stored(con) == (0, 0)
    # The per-source setting in spendwatch.toml answers it.
    cfg = Config.model_validate({"teams": [{"name": "vision"}], "exports": {"date_order": {str(tmp_path): "mdy"}}})
    ingest_paths(con, [p], cfg)
    got = [d.strftime("%Y-%m-%d") for (d,) in con.execute(
        "SELECT ChargePeriodStart FROM billing_line_items ORDER BY x_source_row").fetchall()]
    assert got == ["2026-01-10", "2026-02-10"]


def test_a_column_with_both_orders_is_refused(con, sample_config, tmp_path):
    rows = dated_rows(["13/10/2026", "10/13/2026"])
    with pytest.raises(UsageError, match="day-first dates .*13/10/2026.* and month-first dates .*10/13/2026"):
        ingest_file(con, write_csv(tmp_path / "both.csv", rows), sample_config)
