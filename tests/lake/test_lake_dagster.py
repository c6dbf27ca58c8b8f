"""Dagster on a DuckLake: the daily job's per-source ingest steps run at once (a process each, outside the one-writer
pool), and the warehouse ends with the DuckDB file's figures for the same sources."""

from __future__ import annotations

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
