"""`spendwatch ingest`: per-file format, row counts, period and billed totals; rejects and bad files reported.

Expected figures come from the fixture files (Python's csv + Decimal) or are read off them by hand.
"""

from __future__ import annotations

import csv
import json
import shutil
from decimal import Decimal
from pathlib import Path

from spendwatch.cli import main

FOCUS = Path(__file__).resolve().parents[2] / "fixtures" / "focus"
AWS = FOCUS / "aws_focus_1.2_2026-10.csv"
REJECTS = FOCUS / "rejects_focus_2026-09.csv"


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def run_json(capsys, warehouse: Path, *paths: Path) -> tuple[int, list[dict]]:
    code = main(["ingest", *map(str, paths), "--format-output", "json", "--warehouse", str(warehouse)])
    return code, json.loads(capsys.readouterr().out)


def test_json_output_reports_each_file(capsys, tmp_path):
    code, out = run_json(capsys, tmp_path / "w.duckdb", AWS)
    rows = csv_rows(AWS)
    assert code == 0 and len(out) == 1
    r = out[0]
    assert (r["format"], r["rows_read"], r["rows_loaded"], r["rows_rejected"], r["rows_replaced"]) == (
        "focus", len(rows), len(rows), 0, 0)
    assert r["already_ingested"] is False and r["error"] is None and r["first_rejects"] == []
    # Billed: the file's own exact sum of BilledCost (stored as DECIMAL(38, 18)); period: its
    # earliest start and latest end.
    assert {k: Decimal(v) for k, v in r["billed"].items()} == {"USD": sum(Decimal(x["BilledCost"]) for x in rows)}
    assert r["period_start"] == min(x["ChargePeriodStart"] for x in rows).replace("Z", "")
    assert r["period_end"] == max(x["ChargePeriodEnd"] for x in rows).replace("Z", "")


def test_second_run_says_already_ingested_and_changes_nothing(capsys, tmp_path):
    warehouse = tmp_path / "w.duckdb"
    run_json(capsys, warehouse, AWS)
    code, out = run_json(capsys, warehouse, AWS)
    assert code == 0 and out[0]["already_ingested"] is True
    assert (out[0]["rows_read"], out[0]["rows_loaded"], out[0]["billed"]) == (0, 0, {})


def test_table_output_lists_the_first_rejects_with_their_reasons(capsys, tmp_path):
    code = main(["ingest", str(REJECTS), "--warehouse", str(tmp_path / "w.duckdb")])
    out = capsys.readouterr().out
    assert code == 0
    line = next(x for x in out.splitlines() if "rejects_focus_2026-09.csv" in x and "focus" in x.split("│")[2])
    cells = [c.strip() for c in line.split("│")[1:-1]]
    # 14 data rows: rows 1 and 14 are good, rows 5, 9 and 10 load with a note (a ChargeCategory FOCUS does not
    # define, tag dirt), the nine others each fail a check (see test_ingest_focus): 5 loaded, 9 rejected, 3 noted.
    assert cells[:7] == ["rejects_focus_2026-09.csv", "focus", "14", "5", "9", "3", "0"]
    assert "rejects_focus_2026-09.csv: 9 rejected row(s), not loaded:" in out
    assert "rejects_focus_2026-09.csv: 3 row(s) loaded with a data-quality note: SELECT * FROM ingest_notes" in out
    assert "  row 2, BilledCost: BilledCost is not a number (was 'n/a')" in out
    assert "  row 3, BillingCurrency: unknown currency code (not ISO 4217) (was 'XYZ')" in out
    assert "  row 6, ChargePeriodStart: ChargePeriodStart is not a date/time (was '2026-09-31T00:00:00Z')" in out
    assert "row 8," not in out  # five rows listed (2, 3, 4, 6, 7), the other four pointed to
    assert "  ... and 4 more: SELECT * FROM ingest_rejects WHERE file_hash = '" in out


def test_every_failed_check_of_a_listed_row_is_shown(capsys, tmp_path):
    # Row 13 of the fixture fails three checks: a non-numeric cost, an unknown currency and
    # an end before its start.  Listing it shows all three, in the order they were checked.
    rows = csv_rows(REJECTS)
    one = tmp_path / "one_bad_row.csv"
    with one.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows([rows[0], rows[12]])
    code, out = run_json(capsys, tmp_path / "w.duckdb", one)
    assert code == 0 and (out[0]["rows_read"], out[0]["rows_loaded"], out[0]["rows_rejected"]) == (2, 1, 1)
    assert [(r["row_number"], r["column"], r["raw"]) for r in out[0]["first_rejects"]] == [
        (2, "BilledCost", rows[12]["BilledCost"]), (2, "BillingCurrency", rows[12]["BillingCurrency"]),
        (2, "ChargePeriodEnd", rows[12]["ChargePeriodEnd"])]


def test_untrusted_text_cannot_drive_the_terminal(capsys, tmp_path):
    # A file name and a cell carrying ANSI escapes and a line break print as one clean line each.
    rows = csv_rows(REJECTS)
    evil = tmp_path / "evil\x1b[2J\nname.csv"
    bad = dict(rows[0], BillingCurrency="\x1b[31mUS\nD")
    with evil.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerow(bad)
    code = main(["ingest", str(evil), "--warehouse", str(tmp_path / "w.duckdb")])
    out, err = capsys.readouterr()
    # Its only row is rejected: nothing of the file loaded, which is bad input (exit 2), with the count.
    assert code == 2 and "\x1b" not in out + err
    assert "evil[2J name.csv: every row was rejected (1 of 1); nothing of it was loaded" in err
    assert "evil[2J name.csv: 1 rejected row(s), not loaded:" in out
    # The cell is shown as its Python repr: the escape and the line break as visible text.
    assert "  row 1, BillingCurrency: unknown currency code (not ISO 4217) (was '\\x1b[31mUS\\nD')" in out


def test_a_bad_file_is_an_error_and_the_others_still_load(capsys, tmp_path):
    bad = tmp_path / "garbage.bin"
    bad.write_bytes(b"\x00\x01\x02 not an export")
    good = tmp_path / "aws.csv"
    shutil.copy(AWS, good)
    code = main(["ingest", str(bad), str(good), "--warehouse", str(tmp_path / "w.duckdb")])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.strip() == (f"error: {bad}: unrecognised export format (known formats: anthropic_cost, "
                                    "anthropic_usage, dedicated_invoice, fireworks_billing, focus, modal_billing, "
                                    "openai_costs, openai_usage, runpod_billing, together_billing)")
    assert "aws.csv" in captured.out and "garbage.bin" not in captured.out


def test_only_bad_files_print_no_empty_table(capsys, tmp_path):
    bad = tmp_path / "other.json"
    bad.write_text('{"hello": 1}', encoding="utf-8")
    code = main(["ingest", str(bad), "--warehouse", str(tmp_path / "w.duckdb")])
    captured = capsys.readouterr()
    assert code == 2 and "ingest" not in captured.out and "unrecognised export format" in captured.err


def test_an_empty_folder_says_so(capsys, tmp_path):
    empty = tmp_path / "inbox"
    empty.mkdir()
    (empty / "README.md").write_text("drop exports here", encoding="utf-8")
    code = main(["ingest", str(empty), "--warehouse", str(tmp_path / "w.duckdb")])
    assert code == 2
    assert capsys.readouterr().err.strip() == f"error: no export files under {empty} (dotfiles and README* are skipped)"
