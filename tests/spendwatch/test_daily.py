"""``spendwatch run`` on a DuckDB file runs the daily job in this process, one step at a time, on a throwaway
in-memory instance.  On a DuckLake it runs a process per step: tests/lake/test_lake_dagster.py."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from spendwatch import daily
from spendwatch.core.paths import PROJECT_ROOT
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


def test_the_instance_run_daily_chooses(tmp_path, monkeypatch):
    """No DAGSTER_HOME: in memory for a run in this process; for a process per step (a lake) a temporary folder with
    the project's dagster.yaml (the one-writer pool limited to 1), logging at WARNING, removed afterwards.
    DAGSTER_HOME: that instance, with the project's dagster.yaml copied in when it has none."""
    with daily._instance(persistent=False) as inst:
        assert inst.is_ephemeral
    with daily._instance(persistent=True) as inst:
        root = Path(inst.root_directory)
        assert not inst.is_ephemeral and (root / "dagster.yaml").exists()
        assert inst.get_concurrency_config().pool_config.default_pool_limit == 1
        assert inst.python_log_level == "WARNING"
    assert not root.exists()

    home = tmp_path / "dagster_home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with daily._instance(persistent=True) as inst:
        assert not inst.is_ephemeral and Path(inst.root_directory) == home
        assert (home / "dagster.yaml").read_bytes() == (PROJECT_ROOT / "dagster.yaml").read_bytes()
        assert inst.get_concurrency_config().pool_config.default_pool_limit == 1
