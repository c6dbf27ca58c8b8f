"""``spendwatch run`` on a DuckDB file runs the daily job in this process, one step at a time, on a throwaway
in-memory instance.  On a DuckLake it runs a process per step: tests/lake/test_lake_dagster.py."""

from __future__ import annotations

import os

import dagster as dg

from spendwatch import daily
from tests.pipelines.test_ingest_fanout import EXPECTED_LINES, LINES, PARTITION, fanout_sources
from warehouse.db import connect


def test_spendwatch_run_on_a_duckdb_file_runs_the_daily_job_in_this_process(tmp_path, monkeypatch, capsys):
    from spendwatch import cli

    def no_execute_job(*args, **kwargs):
        raise AssertionError("dg.execute_job on a DuckDB file: the daily job must run in process")

    monkeypatch.setattr(dg, "execute_job", no_execute_job)
    seen = {}
    report = daily._report

    def spy(key, result):
        seen["result"] = result
        return report(key, result)

    monkeypatch.setattr(daily, "_report", spy)
    cfg = fanout_sources(tmp_path / "sources")
    wh = tmp_path / "warehouse.duckdb"
    argv = ["run", "--date", PARTITION, "--offline", "--no-review", "--warehouse", str(wh), "--config", str(cfg)]
    assert cli.main(argv) == 0

    assert daily.daily_job().executor_def.name == "in_process"  # what build_definitions gives a DuckDB file
    result = seen["result"]
    steps = [e for e in result.all_events if e.event_type_value == "STEP_START"]
    assert len([e for e in steps if "ingest_source[" in e.step_key]) == 4
    assert {e.pid for e in result.all_events} == {os.getpid()}  # every step in this process
    assert os.environ["SPENDWATCH_METADATA_CHARTS"] == "0"  # an in-memory instance: no charts drawn

    out = capsys.readouterr().out.splitlines()
    assert f"daily_spend_job {PARTITION}: succeeded (run {result.run_id[:8]})" in out  # after the alerts (no Slack)
    # modal 169 + invoices 3 + openai 180 + 177 = 529 rows from 4 new files; the inbox's copy of modal adds none
    assert "  ingest: 4 new file(s), 529 rows loaded, 0 rejected" in out
    assert any(line.startswith("  prices: ") for line in out)
    con = connect(wh, read_only=True)
    try:
        assert con.execute(LINES).fetchall() == EXPECTED_LINES
    finally:
        con.close()
