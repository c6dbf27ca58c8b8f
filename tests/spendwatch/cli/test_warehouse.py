"""`spendwatch warehouse move-to-lake | copy-for-lake`: what runs without a lake (the moves themselves are tested
against a real PostgreSQL in tests/lake/test_lake_move.py)."""

from __future__ import annotations

import struct
from pathlib import Path

import duckdb
import pytest

from spendwatch.cli import main
from spendwatch.core.errors import UsageError
from warehouse.db import connect
from warehouse.ingest import ingest_file
from warehouse.lake_move import move_into_lake

MODAL = Path(__file__).resolve().parents[3] / "examples" / "exports" / "modal_billing_2026-09_2026-11.csv"


def storage_version(path: Path) -> int:
    """The storage version in a DuckDB file's main header (after its 8-byte checksum, the magic 'DUCK', then a
    little-endian uint64): what a DuckDB compares with the versions it reads (1.5.5 reads 64 to 68)."""
    head = path.read_bytes()[:20]
    assert head[8:12] == b"DUCK"
    return struct.unpack("<Q", head[12:20])[0]


def test_move_to_lake_needs_a_lake_target(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SPENDWATCH_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    assert main(["warehouse", "move-to-lake", "--from", str(tmp_path / "old.duckdb")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: move-to-lake needs a DuckLake target") and "ducklake:postgres:" in err
    assert not (tmp_path / "warehouse.duckdb").exists()  # nothing created


def test_move_to_lake_needs_from(capsys):
    assert main(["warehouse", "move-to-lake"]) == 2
    assert "--from" in capsys.readouterr().err


def test_moving_into_a_duckdb_file_connection_is_a_usage_error(con, tmp_path):
    with pytest.raises(UsageError, match="needs a DuckLake target"):
        move_into_lake(con, tmp_path / "old.duckdb")


def test_copy_for_lake_writes_a_file_the_lakes_duckdb_reads_with_every_row(tmp_path, monkeypatch, capsys, sample_config):
    source, copy = tmp_path / "warehouse.duckdb", tmp_path / "for_lake.duckdb"
    con = connect(source)
    try:
        ingest_file(con, MODAL, sample_config)
        want = con.execute("SELECT count(*), sum(BilledCost) FROM billing_line_items").fetchone()
    finally:
        con.close()
    monkeypatch.setenv("SPENDWATCH_WAREHOUSE", str(source))
    assert main(["warehouse", "copy-for-lake", "--to", str(copy)]) == 0
    out = capsys.readouterr().out
    assert "every table's rows and totals are equal" in out and "billing_line_items" in out and "BilledCost" in out
    assert 64 <= storage_version(copy) <= 68  # the storage format DuckDB 1.5.5 reads, whatever DuckDB wrote it
    made = duckdb.connect(str(copy), read_only=True)
    try:
        # modal_billing_2026-09_2026-11.csv: 169 lines, their total as in the original
        assert made.execute("SELECT count(*), sum(BilledCost) FROM billing_line_items").fetchone() == want
        assert want[0] == 169
    finally:
        made.close()

    # A second copy to the same file is refused; the first is untouched.
    before = copy.read_bytes()
    assert main(["warehouse", "copy-for-lake", "--to", str(copy)]) == 2
    assert "already exists" in capsys.readouterr().err and copy.read_bytes() == before


def test_copy_for_lake_refuses_a_lake_source_and_a_missing_file(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SPENDWATCH_WAREHOUSE", "ducklake:postgres:host=127.0.0.1 dbname=nowhere")
    assert main(["warehouse", "copy-for-lake", "--to", str(tmp_path / "c.duckdb")]) == 2
    assert "names a lake" in capsys.readouterr().err
    monkeypatch.setenv("SPENDWATCH_WAREHOUSE", str(tmp_path / "missing.duckdb"))
    assert main(["warehouse", "copy-for-lake", "--to", str(tmp_path / "c.duckdb")]) == 2
    assert "no such DuckDB file" in capsys.readouterr().err
    assert not (tmp_path / "c.duckdb").exists() and not (tmp_path / "missing.duckdb").exists()
