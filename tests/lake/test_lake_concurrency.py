"""Concurrency in separate processes: two ingests at once on a lake, a reader while a writer holds its
transaction, and on a DuckDB file the single-writer rule with a clear message."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from spendwatch.core.paths import EXAMPLE_CONFIG
from spendwatch.core.errors import SpendwatchError
from warehouse.db import connect
from warehouse.ingest import deliveries, ingest_file

ROOT = Path(__file__).resolve().parents[2]
EXPORTS = ROOT / "examples" / "exports"
MODAL = EXPORTS / "modal_billing_2026-09_2026-11.csv"
OPENAI = EXPORTS / "openai_costs_2026-09.json"
SPENDWATCH = str(Path(sys.executable).parent / "spendwatch")


def cli(env: dict[str, str], *args: str) -> subprocess.Popen:
    full = {**os.environ, **env, "SPENDWATCH_CONFIG": str(EXAMPLE_CONFIG)}
    return subprocess.Popen([SPENDWATCH, *args], env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def lines_by_delivery(con) -> dict[str, int]:
    return dict(con.execute("SELECT d.path, count(l.x_line_id) FROM deliveries d LEFT JOIN billing_line_items l "
                            "ON l.x_delivery_id = d.delivery_id GROUP BY 1").fetchall())


def test_two_spendwatch_ingest_processes_at_once_both_succeed(lake, sample_config, tmp_path):
    connect(lake.location).close()  # migrated once; the two processes below only ingest
    procs = [cli(lake.env, "ingest", str(p)) for p in (MODAL, OPENAI)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    con = connect(lake.location)
    try:
        ids = con.execute("SELECT delivery_id FROM deliveries WHERE status = 'loaded' ORDER BY 1").fetchall()
        got = lines_by_delivery(con)
    finally:
        con.close()
    assert ids == [(1,), (2,)]  # distinct ids although both allocated max + 1: the ingest turn made one retry
    # The same lines as each file ingested alone into a DuckDB file.
    alone = connect(tmp_path / "alone.duckdb")
    try:
        for p in (MODAL, OPENAI):
            ingest_file(alone, p, sample_config)
        expected = lines_by_delivery(alone)
    finally:
        alone.close()
    assert got == expected and all(expected.values())


def test_an_ingest_whose_commit_loses_to_another_runs_again_with_fresh_ids(lake, sample_config, monkeypatch):
    """Deterministic: while ingest B is inside its transaction, A ingests another file and commits first."""
    a, b = connect(lake.location), connect(lake.location)
    real = deliveries.open_delivery
    calls: list[int] = []

    def open_delivery(con, *args, **kwargs):
        if con is b:
            calls.append(1)
            if len(calls) == 1:  # B has begun: A commits a whole ingest now
                ingest_file(a, MODAL, sample_config)
        return real(con, *args, **kwargs)

    monkeypatch.setattr(deliveries, "open_delivery", open_delivery)
    try:
        r = ingest_file(b, OPENAI, sample_config)
        rows = b.execute("SELECT delivery_id, path FROM deliveries ORDER BY 1").fetchall()
        turns = b.execute("SELECT turn FROM writer_turns WHERE name = 'ingest'").fetchone()[0]
    finally:
        a.close()
        b.close()
    assert len(calls) == 2  # B's first commit conflicted with A's; its second attempt committed
    assert r.delivery_id == 2 and [p for _, p in rows] == [str(MODAL.resolve()), str(OPENAI.resolve())]
    assert turns == 2  # one turn per committed ingest


def test_a_reader_runs_while_a_writer_holds_its_transaction(lake, sample_config):
    con = connect(lake.location)
    ingest_file(con, MODAL, sample_config)
    con.execute("BEGIN TRANSACTION")
    con.execute("DELETE FROM billing_line_items")  # a big write, not committed yet
    try:
        reader = cli(lake.env, "files", "list", "--format", "json")
        out, err = reader.communicate(timeout=300)
        assert reader.returncode == 0, err
        # The reader sees the last committed snapshot: the delivery and its lines, not the writer's delete.
        listed = json.loads(out)
        assert [(d["path"], d["current_lines"]) for d in listed] == [(str(MODAL.resolve()), 169)]
    finally:
        con.execute("ROLLBACK")
        con.close()


def test_on_a_duckdb_file_a_second_writer_gets_a_clear_message(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    connect(path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time, duckdb; c = duckdb.connect(sys.argv[1]); print('held', flush=True); "
                               "time.sleep(120)", str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(SpendwatchError, match="in use by another process.*one writer at a time.*DuckLake"):
            connect(path)
        ingest = cli({"SPENDWATCH_WAREHOUSE": str(path)}, "ingest", str(MODAL))
        _, err = ingest.communicate(timeout=300)
        assert ingest.returncode != 0 and "in use by another process" in err
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.1)
    connect(path).close()  # free again once the other process is gone

