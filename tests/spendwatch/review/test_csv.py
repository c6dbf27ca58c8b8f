"""The tidy CSV review: one table per section, a column per field, raw values, ready for a pivot table."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from spendwatch.core.errors import UsageError
from spendwatch.review import csv_tables, render, write_csv

OCT = date(2026, 10, 1)


def _blocks(text: str) -> dict[str, list[dict]]:
    """The full CSV output split into its tables: '# name', a header row, rows, a blank line."""
    out: dict[str, list[dict]] = {}
    for block in text.strip("\n").split("\n\n"):
        name, body = block.split("\n", 1)
        assert name.startswith("# ")
        out[name[2:]] = list(csv.DictReader(io.StringIO(body)))
    return out


def test_hand_worked_tables(tiny):
    tables = _blocks(render(tiny, "csv"))
    (spend,) = tables["spend"]
    # one row per team and month; money raw (no symbol, no separator) beside its currency column
    assert spend == {"team": "alpha", "month": "2026-11", "serverless_gpu": "1234.50", "currency": "GBP",
                     "dedicated_gpu": "0.00", "hosted_api": "100.25", "other": "0.00", "total_spend": "1334.75"}
    (th,) = tables["threshold"]
    assert (th["threshold"], th["threshold_currency"], th["status"], th["crossed_on"], th["projected_cross_date"]) == \
        ("1500.00", "GBP", "projected_over", "", "2026-11-24")
    (audit,) = tables["audit"]
    # native amounts unrounded in USD, the reporting amount in GBP: two currency columns
    assert (audit["amount_at_stake"], audit["currency"], audit["amount_at_stake_reporting"], audit["reporting_currency"],
            audit["above_tolerance"]) == ("65.545200", "USD", "51.78", "GBP", "true")
    (change,) = tables["price_changes"]
    assert (Decimal(change["old_amount"]), Decimal(change["new_amount"]), change["new_currency"], change["change_pct"]) == \
        (Decimal("0.00031"), Decimal("0.00029"), "USD", "-6.45")
    assert change["changed_at"] == "2026-11-05 06:00:00"
    (cov,) = tables["attribution_coverage"]
    assert list(cov) == ["month", "total_spend", "currency", "attributed_spend", "unattributed_spend", "coverage",
                         "lines", "attributed_lines"]  # the row's own month, no second month column
    assert tables["summary"] == [{"month": "2026-11", "team_filter": "", "reporting_currency": "GBP",
                                  "unallocated_total": "12.34", "generated_at": "2026-12-02 12:00:00"}]
    # an empty section still has its header, so every table always has the same columns
    assert tables["breakeven"] == [] and "# breakeven\nteam,month,gpu_class," in render(tiny, "csv")


def test_one_table_alone_and_one_file_per_table(tiny, tmp_path):
    text = render(tiny, "csv", table="spend")
    assert text.splitlines()[0] == "team,month,serverless_gpu,currency,dedicated_gpu,hosted_api,other,total_spend"
    assert len(text.splitlines()) == 2
    with pytest.raises(UsageError, match="CSV table nope: no such table"):
        render(tiny, "csv", table="nope")
    files = write_csv(tiny, tmp_path / "review")
    assert [p.name for p in files] == [f"{t.name}.csv" for t in csv_tables(tiny)]
    assert (tmp_path / "review" / "spend.csv").read_text(encoding="utf-8") == text


def test_sample_october(review_sample, review_of):
    tables = _blocks(render(review_of(review_sample, OCT), "csv"))
    assert {"spend", "threshold", "breakeven", "hybrid_plan", "api_vs_selfhost", "audit", "unallocated",
            "breakeven_table", "price_sources", "exports"} <= set(tables)
    assert {r["month"] for r in tables["spend"]} == {"2026-10"}
    # README: FOCUS line of 2026-10-08: 6 h x $32.7726 = $196.6356 expected, $262.1808 billed, $65.5452 over
    (stake,) = [(Decimal(r["amount_at_stake"]), r["currency"]) for r in tables["audit"] if r["team"] == "research"]
    assert stake == (Decimal("65.5452"), "USD")
    assert [r["crossed_on"] for r in tables["threshold"] if r["team"] == "assistant"] == ["2026-10-23"]
    assert [(r["threshold"], r["threshold_currency"]) for r in tables["threshold"] if r["team"] == "research"] == \
        [("2500.00", "GBP")]  # spendwatch.toml: research has its own 2,500 threshold


def test_no_spreadsheet_formula(evil_sample, review_of):
    tables = _blocks(render(review_of(evil_sample, date(2026, 11, 1)), "csv"))
    models = [r["model"] for r in tables["api_vs_selfhost"] if "HYPERLINK" in r["model"]]
    assert models and all(m.startswith("'=") and "\x1b" not in m for m in models)
    assert any(r["team"] == "<script>alert(1)</script>" for r in tables["spend"])


def test_docs_list_every_table_with_its_columns(tiny):
    """docs/review.md's CSV table is the layout the renderer writes, table by table and column by column."""
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[3] / "docs" / "review.md").read_text(encoding="utf-8")
    documented = {}
    for line in doc.split("## CSV layout", 1)[1].splitlines():
        if line.startswith("| `"):
            name, cols = [c.strip() for c in line.strip("|").split("|")]
            documented[name.strip("`")] = tuple(c.strip() for c in cols.split(","))
    assert documented == {t.name: t.columns for t in csv_tables(tiny)}


def test_the_command_writes_one_table_or_one_file_per_table(review_sample, tmp_path, capsys, monkeypatch):
    import shutil

    from spendwatch.cli import main

    warehouse = shutil.copy(review_sample, tmp_path / "warehouse.duckdb")  # the CLI opens it for writing
    monkeypatch.setenv("SPENDWATCH_WAREHOUSE", str(warehouse))  # main() exports --warehouse: restored afterwards
    common = ["--warehouse", str(warehouse), "--month", "2026-11"]
    assert main(["review", *common, "--format", "csv", "--table", "threshold"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    # README: search crosses £1,500 on 20 Nov, assistant on 23 Nov; one row per team, ready for a pivot table
    assert {(r["team"], r["status"], r["crossed_on"]) for r in rows if r["status"] == "over"} == \
        {("search", "over", "2026-11-20"), ("assistant", "over", "2026-11-23")}
    out = tmp_path / "review"
    out.mkdir()
    assert main(["review", *common, "--format", "csv", "--output", str(out)]) == 0
    assert (out / "threshold.csv").read_text(encoding="utf-8").splitlines()[0].startswith("team,month,variable_spend,currency")
    assert len(list(out.glob("*.csv"))) == 23  # the 23 tables docs/review.md lists
    assert main(["review", *common, "--table", "threshold"]) == 2
    assert "--table threshold: only with --format csv" in capsys.readouterr().err
