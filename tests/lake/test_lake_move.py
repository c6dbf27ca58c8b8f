"""Moving a DuckDB file warehouse into a lake: `spendwatch warehouse move-to-lake --from FILE` copies every stored
table in one DuckDB pass, checks rows and money totals, and refuses a lake that holds anything already."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pytest

from spendwatch.cli import main
from spendwatch.core.paths import EXAMPLE_CONFIG
from tests.lake.test_lake_sample import ALERTS, TOTALS, figures
from warehouse import lake as lakes
from warehouse.alerts import lifecycle
from warehouse.db import connect
from warehouse.lake_move import move_into_lake

ROOT = Path(__file__).resolve().parents[2]
EMBEDDED = ROOT / ".venv" / "bin"  # `make install`'s venv: DuckDB 2.x, the embedded default

# Every table the sample organisation fills, compared row for row after the move (the raw data, not only totals).
RAW = ("billing_line_items", "billing_line_items_archive", "deliveries", "delivery_scopes", "ingested_files",
       "ingest_notes", "ingest_rejects", "price_history", "price_fetches", "price_sources", "price_holds", "fx_rates",
       "alerts", "alert_attempts", "alert_deliveries", "changed_months", "writer_turns", "config.settings",
       "config.teams", "config.dedicated_servers", "config.throughput", "config.attribution_rules")


def rows(con, table: str) -> list[tuple]:
    return con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()


def review(capsys) -> dict:
    """`spendwatch review --format json` for November, less when it was generated and which serverless offer
    stands for a GPU class when several cost exactly the same (a tie either backend may break its own way)."""
    assert main(["review", "--month", "2026-11", "--format", "json"]) == 0
    got = json.loads(capsys.readouterr().out)
    got.pop("generated_at")
    for row in got["breakeven_table"]:  # its price per hour stays compared
        for key in ("serverless_offer", "serverless_provider", "serverless_sku", "serverless_tier"):
            row.pop(key)
    return got


def test_the_sample_org_moved_from_its_file_into_a_lake_gives_the_same_review_and_a_second_move_is_refused(
        lake, sample_warehouse, tmp_path, monkeypatch, capsys):
    # The sample organisation's file (built once per run by tests/conftest.py), with its alerts raised.
    source = tmp_path / "warehouse.duckdb"
    shutil.copyfile(sample_warehouse, source)
    ref = connect(source)
    try:
        lifecycle.evaluate(ref, as_of=date(2026, 12, 1), now=datetime(2026, 12, 1, 7, 0))
        on_file = figures(ref)
        file_alerts = ref.execute(ALERTS).fetchall()
        file_rows = {t: rows(ref, t) for t in RAW}
    finally:
        ref.close()
    assert file_alerts and all(file_rows[t] for t in ("billing_line_items", "deliveries", "price_history", "alerts"))

    monkeypatch.setenv("SPENDWATCH_WAREHOUSE", lake.location)
    monkeypatch.setenv("SPENDWATCH_CONFIG", str(EXAMPLE_CONFIG))
    assert main(["warehouse", "move-to-lake", "--from", str(source)]) == 0
    said = capsys.readouterr().out
    assert "checked: every table's row count and money totals per currency are equal" in said
    assert "billing_line_items" in said and "BilledCost" in said and "spendwatch models build --full" in said

    con = connect(lake.location)
    try:
        assert lakes.attached(con)
        for t in RAW:  # every stored row arrived, unchanged
            assert rows(con, t) == file_rows[t], t
        for state in ("model_builds", "model_build_months"):  # models left to be rebuilt, fully
            assert con.execute(f"SELECT count(*) FROM {state}").fetchone() == (0,), state
        first = lakes.snapshot_id(con)
    finally:
        con.close()

    # The models rebuilt on the lake, then the review's figures and the alerts equal the file's.
    assert main(["models", "build", "--full"]) == 0
    capsys.readouterr()
    con = connect(lake.location)
    try:
        on_lake = figures(con)
        assert con.execute(ALERTS).fetchall() == file_alerts
        assert lakes.snapshot_id(con) > first
    finally:
        con.close()
    for name in TOTALS:
        assert on_lake[name] == on_file[name], name
    lake_review = review(capsys)
    monkeypatch.setenv("SPENDWATCH_WAREHOUSE", str(source))
    file_review = review(capsys)
    assert file_review["teams"] and lake_review == file_review

    # A second move into the same lake is refused, whole: exit 2, and the lake has no new snapshot.
    monkeypatch.setenv("SPENDWATCH_WAREHOUSE", lake.location)
    con = connect(lake.location)
    try:
        before = lakes.snapshot_id(con)
    finally:
        con.close()
    assert main(["warehouse", "move-to-lake", "--from", str(source)]) == 2
    err = capsys.readouterr().err
    assert "the lake is not empty" in err and "nothing was changed" in err
    con = connect(lake.location)
    try:
        assert lakes.snapshot_id(con) == before
        assert con.execute(TOTALS["lines"]).fetchall() == on_file["lines"]
    finally:
        con.close()


def test_a_file_of_another_schema_or_not_a_warehouse_is_refused_naming_it(lake, tmp_path):
    import duckdb

    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).close()
    con = connect(lake.location)
    try:
        from spendwatch.core.errors import UsageError

        with pytest.raises(UsageError, match="not a spendwatch warehouse"):
            move_into_lake(con, other)
        old = tmp_path / "old.duckdb"
        made = connect(old)
        made.execute("DELETE FROM schema_migrations WHERE version = 17")
        made.close()
        with pytest.raises(UsageError, match=r"migrations missing: \[17\].*to migrate it"):
            move_into_lake(con, old)
        assert con.execute("SELECT count(*) FROM writer_turns WHERE turn = 0").fetchone() == (2,)
    finally:
        con.close()


def test_a_file_written_by_the_embedded_duckdb_2_moves_through_copy_for_lake(lake, tmp_path, monkeypatch, capsys):
    """The embedded default's DuckDB (2.x) writes files the lake's 1.5.5 cannot read: move-to-lake says so, and
    `spendwatch warehouse copy-for-lake`, run with the embedded install, writes one it reads."""
    if not (EMBEDDED / "spendwatch").exists():
        why = "this test needs make install's .venv (DuckDB 2.x); make test-lake builds it"
        if os.environ.get("SPENDWATCH_REQUIRE_LAKE") == "1":
            pytest.fail(why)
        pytest.skip(why)
    modal = ROOT / "examples" / "exports" / "modal_billing_2026-09_2026-11.csv"
    source, copy = tmp_path / "embedded.duckdb", tmp_path / "for_lake.duckdb"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPENDWATCH_", "VIRTUAL_ENV"))}
    env.update(SPENDWATCH_WAREHOUSE=str(source), SPENDWATCH_CONFIG=str(EXAMPLE_CONFIG))
    for args in (["ingest", str(modal)], ["warehouse", "copy-for-lake", "--to", str(copy)]):
        done = subprocess.run([str(EMBEDDED / "spendwatch"), *args], env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
    assert "every table's rows and totals are equal" in done.stdout
    version = subprocess.run([str(EMBEDDED / "python"), "-c", "import duckdb; print(duckdb.__version__)"],
                             capture_output=True, text=True).stdout.strip()
    assert version.split(".")[0] != "1" and sys.modules["duckdb"].__version__ == "1.5.5"

    monkeypatch.setenv("SPENDWATCH_WAREHOUSE", lake.location)
    assert main(["warehouse", "move-to-lake", "--from", str(source)]) == 2
    assert "written by a newer DuckDB" in capsys.readouterr().err  # the 2.x file itself: refused, clearly
    assert main(["warehouse", "move-to-lake", "--from", str(copy)]) == 0
    capsys.readouterr()
    con = connect(lake.location)
    try:
        # modal_billing_2026-09_2026-11.csv has 169 lines (tests/lake/test_lake_sample.py reads the same count)
        assert con.execute("SELECT count(*), count(DISTINCT x_delivery_id) FROM billing_line_items").fetchone() == (169, 1)
    finally:
        con.close()
