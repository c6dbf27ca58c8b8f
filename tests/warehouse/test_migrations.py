"""Schema migrations carry every stored row forward."""

from __future__ import annotations

import csv
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from warehouse import db
from warehouse.ingest import ingest_file

FOCUS = Path(__file__).resolve().parents[1] / "fixtures" / "focus"


def ingest_into_old_schema(con, tmp_path, files, cfg, monkeypatch, every) -> None:
    """Lines and file records as an older warehouse held them: ingested into a current
    warehouse, then copied (the columns the old schema has) into ``con``'s tables."""
    with monkeypatch.context() as m:
        m.setattr(db, "migrations", every)
        fresh = db.connect(tmp_path / "fresh.duckdb")
    for f in files:
        ingest_file(fresh, f, cfg)
    fresh.close()
    con.execute(f"ATTACH '{tmp_path / 'fresh.duckdb'}' AS fresh (READ_ONLY)")
    for table in ("billing_line_items", "ingested_files", "ingest_rejects"):
        cols = [c for (c,) in con.execute("SELECT column_name FROM duckdb_columns() WHERE database_name = "
                                          "current_database() AND table_name = ? ORDER BY column_index", [table]).fetchall()]
        names = ", ".join(f'"{c}"' for c in cols)
        # Columns a later migration dropped: the ingest-time team (before 014), as no rule matched.
        gone = {"x_team": "'unallocated'", "x_attribution_rule": "NULL"}
        values = ", ".join(gone.get(c, f'"{c}"') for c in cols)
        con.execute(f"INSERT INTO main.{table} ({names}) SELECT {values} FROM fresh.main.{table}")
    con.execute("DETACH fresh")


def test_006_drops_the_line_id_index_and_keeps_every_line(tmp_path, monkeypatch, sample_config):
    path = tmp_path / "w.duckdb"
    every = db.migrations
    monkeypatch.setattr(db, "migrations", lambda: [m for m in every() if m.version < 6])
    con = db.connect(path)  # a warehouse as it was before 006: x_line_id was the primary key
    ingest_into_old_schema(con, tmp_path, [FOCUS / "aws_focus_1.2_2026-10.csv"], sample_config,
                           monkeypatch, every)
    con.execute("CREATE VIEW lines_by_team AS SELECT x_provider, count(*) AS n FROM billing_line_items GROUP BY 1")
    before = con.execute("SELECT * EXCLUDE (x_team, x_attribution_rule) FROM billing_line_items ORDER BY x_line_id").fetchall()
    columns = con.execute("SELECT column_name, data_type, is_nullable FROM duckdb_columns() "
                          "WHERE table_name = 'billing_line_items' ORDER BY column_index").fetchall()
    assert ("PRIMARY KEY",) in con.execute(
        "SELECT constraint_type FROM duckdb_constraints() WHERE table_name = 'billing_line_items'").fetchall()
    con.close()

    monkeypatch.setattr(db, "migrations", every)
    con = db.connect(path)
    assert con.execute("SELECT max(version) FROM schema_migrations").fetchone() == (max(m.version for m in every()),)
    after = con.execute("SELECT * EXCLUDE (x_delivery_id) FROM billing_line_items ORDER BY x_line_id").fetchall()
    assert after == before  # every line, every value (costs now DECIMAL(38, 18): 009)
    with (FOCUS / "aws_focus_1.2_2026-10.csv").open(newline="", encoding="utf-8-sig") as f:
        assert len(before) == len(list(csv.DictReader(f)))  # every data row of the fixture
    now = con.execute("SELECT column_name, data_type, is_nullable FROM duckdb_columns() "
                      "WHERE table_name = 'billing_line_items' ORDER BY column_index").fetchall()
    # 008 adds the delivery, 014 drops the ingest-time team
    assert [c[0] for c in now] == [c[0] for c in columns if c[0] not in ("x_team", "x_attribution_rule")] + ["x_delivery_id"]
    assert [c for c in now if "DECIMAL" in c[1] and c[0] in ("BilledCost", "ListUnitPrice")] == [
        ("BilledCost", "DECIMAL(38,18)", False), ("ListUnitPrice", "DECIMAL(38,18)", True)]
    kinds = {k for (k,) in con.execute(
        "SELECT constraint_type FROM duckdb_constraints() WHERE table_name = 'billing_line_items'").fetchall()}
    assert kinds == {"NOT NULL"}
    assert con.execute("SELECT sum(n) FROM lines_by_team").fetchone() == (len(before),)  # views still bind
    r = ingest_file(con, FOCUS / "azure_focus_1.0_2026-10.csv", sample_config)  # and ingest goes on
    assert r.rows_loaded > 0
    con.close()


def test_007_drops_the_bucket_from_runpod_and_modal_keys(tmp_path, monkeypatch, sample_config):
    path = tmp_path / "w.duckdb"
    every = db.migrations
    monkeypatch.setattr(db, "migrations", lambda: [m for m in every() if m.version < 7])
    con = db.connect(path)
    exports = Path(__file__).resolve().parents[1] / "fixtures" / "exports"
    ingest_into_old_schema(con, tmp_path, [exports / "runpod_billing_endpoints_2026-11.json",
                                           exports / "modal_billing_report_2026-11.csv"], sample_config,
                           monkeypatch, every)
    # Keys as the loaders wrote them before 007: the bucket after the start (and any #n after it).
    con.execute("UPDATE billing_line_items SET x_natural_key = CASE WHEN x_natural_key LIKE '%#%' "
                "THEN replace(x_natural_key, '#', '|hour#') ELSE x_natural_key || '|day' END")
    before = con.execute("SELECT count(*), sum(BilledCost) FROM billing_line_items").fetchone()
    con.close()

    monkeypatch.setattr(db, "migrations", every)
    con = db.connect(path)
    assert con.execute("SELECT count(*) FROM billing_line_items WHERE regexp_matches(x_natural_key, "
                       "'[|](hour|day)(#[0-9]+)?$')").fetchone() == (0,)
    # The same exports again (re-saved, so a new hash) restate every stored line one for one.
    for name in ("runpod_billing_endpoints_2026-11.json", "modal_billing_report_2026-11.csv"):
        again = tmp_path / name
        again.write_bytes((exports / name).read_bytes() + b"\n")
        r = ingest_file(con, again, sample_config)
        assert r.rows_replaced == r.rows_loaded > 0
    assert con.execute("SELECT count(*), sum(BilledCost) FROM billing_line_items").fetchone() == before
    con.close()


def test_008_makes_each_earlier_file_a_delivery_scoped_at_the_next_ingest(tmp_path, monkeypatch, sample_config):
    path = tmp_path / "w.duckdb"
    every = db.migrations
    monkeypatch.setattr(db, "migrations", lambda: [m for m in every() if m.version < 8])
    con = db.connect(path)  # a warehouse as it was before 008: files, no deliveries
    aws = FOCUS / "aws_focus_1.2_2026-10.csv"
    ingest_into_old_schema(con, tmp_path, [aws, FOCUS / "azure_focus_1.0_2026-10.csv"], sample_config,
                           monkeypatch, every)
    before = con.execute("SELECT count(*), sum(BilledCost) FROM billing_line_items").fetchone()
    con.close()

    monkeypatch.setattr(db, "migrations", every)
    con = db.connect(path)
    assert con.execute("SELECT count(*), count(*) FILTER (WHERE NOT scoped) FROM deliveries").fetchone() == (2, 2)
    assert con.execute("SELECT count(*) FROM billing_line_items WHERE x_delivery_id IS NULL").fetchone() == (0,)
    assert con.execute("SELECT count(*), sum(BilledCost) FROM billing_line_items").fetchone() == before
    # The next ingest scopes them first; a correction of the AWS account's October then replaces
    # its ten lines, and the Azure lines stay.
    rows = aws.read_text(encoding="utf-8").splitlines()
    fix = tmp_path / "aws_fix.csv"
    fix.write_text(rows[0] + "\n" + rows[1] + "\n", encoding="utf-8")
    r = ingest_file(con, fix, sample_config)
    assert (r.rows_loaded, r.rows_replaced) == (1, 10)
    assert con.execute("SELECT count(*) FILTER (WHERE NOT scoped) FROM deliveries").fetchone() == (0,)
    with aws.open(newline="", encoding="utf-8-sig") as f:
        aws_rows = list(csv.DictReader(f))
    # Before 009 the AWS lines were stored to 6 decimals (rounded half up): that is what goes.
    stored_aws = sum(Decimal(x["BilledCost"]).quantize(Decimal("0.000001"), ROUND_HALF_UP) for x in aws_rows)
    assert con.execute("SELECT count(*), sum(BilledCost) FROM billing_line_items").fetchone() == (
        before[0] - 10 + 1, before[1] - stored_aws + Decimal(aws_rows[0]["BilledCost"]))
    con.close()


def test_014_drops_the_ingest_time_team_and_keeps_every_line(tmp_path, monkeypatch, sample_config):
    path = tmp_path / "w.duckdb"
    every = db.migrations
    monkeypatch.setattr(db, "migrations", lambda: [m for m in every() if m.version < 14])
    con = db.connect(path)  # a warehouse as it was before 014: lines (and archived ones) with x_team
    ingest_into_old_schema(con, tmp_path, [FOCUS / "aws_focus_1.2_2026-10.csv"], sample_config, monkeypatch, every)
    con.execute("INSERT INTO billing_line_items_archive SELECT * FROM billing_line_items LIMIT 3")
    live = con.execute("SELECT * EXCLUDE (x_team, x_attribution_rule) FROM billing_line_items ORDER BY x_line_id").fetchall()
    archived = con.execute("SELECT * EXCLUDE (x_team, x_attribution_rule) FROM billing_line_items_archive "
                           "ORDER BY x_line_id").fetchall()
    con.close()

    monkeypatch.setattr(db, "migrations", every)
    con = db.connect(path)
    for table in ("billing_line_items", "billing_line_items_archive"):
        names = {c for (c,) in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = ?",
                                           [table]).fetchall()}
        assert not names & {"x_team", "x_attribution_rule"}, table
    assert con.execute("SELECT * FROM billing_line_items ORDER BY x_line_id").fetchall() == live
    assert con.execute("SELECT * FROM billing_line_items_archive ORDER BY x_line_id").fetchall() == archived
    assert len(live) == 10 and len(archived) == 3  # the fixture's ten rows; three of them copied to the archive
    con.close()
