"""Dagster on a DuckLake: the daily job's per-source ingest steps run at once (a process each, outside the one-writer
pool), and the warehouse ends with the DuckDB file's figures for the same sources."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import dagster as dg

from tests.lake.test_lake_sample import TOTALS
from tests.pipelines.test_ingest_fanout import (
    EXPECTED_LINES, LINES, PARTITION, check_ingest_metadata, fanout_sources, ingest_metadata, overlapping, step_windows)
from warehouse.db import connect

ROOT = Path(__file__).resolve().parents[2]


def lake_daily_job() -> dg.JobDefinition:
    """The daily job as build_definitions() makes it for the environment's warehouse (rebuilt in each step process)."""
    from pipelines.definitions import build_definitions

    return build_definitions().resolve_job_def("daily_spend_job")


def figures(location: str) -> dict[str, list[tuple]]:
    con = connect(location)
    try:
        return {name: con.execute(sql).fetchall() for name, sql in TOTALS.items()}
    finally:
        con.close()


def test_the_daily_job_on_a_lake_ingests_the_sources_at_once_with_the_duckdb_files_totals(lake, tmp_path, monkeypatch):
    monkeypatch.setenv("SPENDWATCH_CONFIG", str(fanout_sources(tmp_path / "sources")))
    monkeypatch.setenv("SPENDWATCH_PRICE_MODE", "offline")

    # The DuckDB file: the same job, in process (tests/pipelines/test_ingest_fanout.py shows its steps one at a time).
    monkeypatch.setenv("SPENDWATCH_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    job = lake_daily_job()
    assert job.executor_def.name == "in_process"
    on_file_run = job.execute_in_process(partition_key=PARTITION, instance=dg.DagsterInstance.ephemeral(),
                                         raise_on_error=False)
    assert on_file_run.success, [e.message for e in on_file_run.all_events if e.is_failure]
    on_file = figures(str(tmp_path / "warehouse.duckdb"))

    # The lake: a process per step, on an instance with the project's dagster.yaml (the writer pool limited to 1).
    monkeypatch.setenv("SPENDWATCH_WAREHOUSE", lake.location)
    from pipelines.definitions import build_definitions

    defs = build_definitions()
    assert defs.resolve_job_def("daily_spend_job").executor_def.name == "multiprocess"
    ops = {n.name: n.definition for n in defs.resolve_assets_def("billing_line_items").node_def.nodes}
    assert ops["ingest_source"].pool is None and ops["ingest_summary"].pool == "duckdb_writer"
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(ROOT / "dagster.yaml", home / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        result = dg.execute_job(dg.reconstructable(lake_daily_job), instance=instance,
                                tags={"dagster/partition": PARTITION},
                                run_config={"execution": {"config": {"max_concurrent": 4}}})
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        windows = step_windows(instance, result.run_id)
        assert sorted(windows) == ["inbox", "invoices", "modal", "openai"]
        assert overlapping(windows), windows  # at least two sources ingested at the same time
        blocked = [e.dagster_event.step_key for e in instance.all_logs(result.run_id)
                   if e.dagster_event and "blocked by limit for pool" in (e.dagster_event.message or "")
                   and "ingest_source" in (e.dagster_event.step_key or "")]
        assert blocked == []  # the source steps never waited for the writer pool
        # The inbox's copy of the modal file, ingested at the same time as the original, is stored once.
        check_ingest_metadata(ingest_metadata(instance, result.run_id))

    on_lake = figures(lake.location)
    assert on_file["lines"] == EXPECTED_LINES
    for name in TOTALS:
        assert on_lake[name] == on_file[name], name
    con = connect(lake.location)
    try:
        assert con.execute(LINES).fetchall() == EXPECTED_LINES
    finally:
        con.close()


def test_spendwatch_run_on_a_lake_runs_the_source_steps_in_processes_at_once_with_the_duckdb_files_totals(
        lake, tmp_path, monkeypatch, capfd):
    """``spendwatch run`` (spendwatch/daily.py run_daily) as ``make run`` starts it (no DAGSTER_HOME): on the DuckDB
    file in this process; on the lake through dg.execute_job on a temporary instance with the project's dagster.yaml,
    a process per step, the four source steps at once, removed afterwards.  The same figures on both."""
    from spendwatch import cli

    cfg = fanout_sources(tmp_path / "sources")
    seen: dict = {}
    execute_job = dg.execute_job

    def spy(job, instance, **kwargs):  # the real execute_job; the event log read before the instance goes away
        result = execute_job(job, instance, **kwargs)
        seen.update(root=instance.root_directory, ephemeral=instance.is_ephemeral, run_id=result.run_id,
                    tags=kwargs.get("tags"), windows=step_windows(instance, result.run_id),
                    pools=instance.get_concurrency_config().pool_config.default_pool_limit,
                    blocked=[e.dagster_event.step_key for e in instance.all_logs(result.run_id)
                             if e.dagster_event and "blocked by limit for pool" in (e.dagster_event.message or "")
                             and "ingest_source" in (e.dagster_event.step_key or "")],
                    pids={e.step_key: e.pid for e in result.all_events
                          if e.event_type_value == "STEP_START" and "ingest_source[" in e.step_key},
                    meta=ingest_metadata(instance, result.run_id))
        return result

    monkeypatch.setattr(dg, "execute_job", spy)
    # Dagster's own knob for the process count (default: the CPUs, 2 on the CI machine, where the price steps take
    # one of the two and a step process takes seconds to start): as on a 4-CPU machine.
    monkeypatch.setenv("DAGSTER_MULTIPROCESS_EXECUTOR_MAX_CONCURRENT", "4")
    run = ["run", "--date", PARTITION, "--offline", "--no-review", "--config", str(cfg)]

    # The DuckDB file: in process (tests/spendwatch/test_daily.py), execute_job never called.
    assert cli.main([*run, "--warehouse", str(tmp_path / "warehouse.duckdb")]) == 0
    assert seen == {}
    on_file = figures(str(tmp_path / "warehouse.duckdb"))
    capfd.readouterr()

    assert cli.main([*run, "--warehouse", lake.location]) == 0
    out, err = capfd.readouterr()
    assert seen, "execute_job was not used on the lake"
    assert seen["tags"] == {"dagster/partition": PARTITION}
    assert not seen["ephemeral"] and not Path(seen["root"]).exists()  # a temporary instance, cleaned up
    assert seen["pools"] == 1  # the project's dagster.yaml: the one-writer pool still holds the other writing steps
    assert sorted(seen["windows"]) == ["inbox", "invoices", "modal", "openai"]
    assert overlapping(seen["windows"]), seen["windows"]  # at least two sources ingested at the same time
    assert seen["blocked"] == []  # the source steps never waited for the writer pool
    assert os.getpid() not in seen["pids"].values() and len(set(seen["pids"].values())) == 4  # a process each
    check_ingest_metadata(seen["meta"])
    # The report as on the file: modal 169 + invoices 3 + openai 180 + 177 = 529 rows from 4 new files.
    assert f"daily_spend_job {PARTITION}: succeeded (run {seen['run_id'][:8]})" in out.splitlines()
    assert "  ingest: 4 new file(s), 529 rows loaded, 0 rejected" in out.splitlines()
    assert " - INFO - " not in err and " - DEBUG - " not in err, err  # the step processes log at WARNING too

    on_lake = figures(lake.location)
    assert on_file["lines"] == EXPECTED_LINES
    for name in TOTALS:
        assert on_lake[name] == on_file[name], name
