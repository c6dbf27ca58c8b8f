"""The ingest fans out in Dagster: one ``ingest_source`` step per source (each export folder, the inbox, the live
pulls).  On a DuckDB file those steps hold the one-writer pool and run one at a time, whatever the executor.

The same job on a DuckLake runs them at once: tests/lake/test_lake_dagster.py.
"""

from __future__ import annotations

import re
import shutil
from decimal import Decimal
from pathlib import Path

import dagster as dg
import pytest

from spendwatch.core.paths import EXAMPLE_CONFIG

ROOT = Path(__file__).resolve().parents[2]
EXPORTS = ROOT / "examples" / "exports"
PARTITION = "2026-11-30"
INGEST_STEP = re.compile(r"^billing_line_items\.ingest_source\[(\w+)\]$")

# The four sources' lines, worked out from the files:
#   invoices: dedicated_invoices_2026-09_2026-11.csv, 3 rows x 249.00 GBP           = 747.00 GBP
#   modal:    modal_billing_2026-09_2026-11.csv, 169 rows, sum of its Cost column    = 738.927605 USD
#   openai:   openai_costs_2026-11_p1.json 180 results (1634.560101 USD)
#           + openai_costs_2026-11_p2.json 177 results (1794.119500 USD)            = 357 lines, 3428.679601 USD
#   inbox:    modal_again.csv, the modal file again (same content): already ingested, adds nothing
# USD: 169 + 357 = 526 lines, 738.927605 + 3428.679601 = 4167.607206
EXPECTED_LINES = [("GBP", 3, Decimal("747.00")), ("USD", 526, Decimal("4167.607206"))]
LINES = "SELECT BillingCurrency, count(*), sum(BilledCost) FROM billing_line_items GROUP BY 1 ORDER BY 1"


def fanout_sources(root: Path) -> Path:
    """Three export folders and an inbox holding a copy of one of their files; returns a spendwatch.toml naming them
    (the sample organisation's config, with these folders)."""
    layout = {
        "modal": [("modal_billing_2026-09_2026-11.csv", None)],
        "invoices": [("dedicated_invoices_2026-09_2026-11.csv", None)],
        "openai": [("openai_costs_2026-11_p1.json", None), ("openai_costs_2026-11_p2.json", None)],
        "inbox": [("modal_billing_2026-09_2026-11.csv", "modal_again.csv")],
    }
    for folder, files in layout.items():
        (root / folder).mkdir(parents=True)
        for name, copy_as in files:
            shutil.copyfile(EXPORTS / name, root / folder / (copy_as or name))
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    folders = ", ".join(f'"{root / f}"' for f in ("modal", "invoices", "openai"))
    text, n = re.subn(r'(?m)^paths = \["exports"\]', f"paths = [{folders}]", text)
    text, m = re.subn(r'(?m)^inbox = "[^"]*"', f'inbox = "{root / "inbox"}"', text)
    text, k = re.subn(r'(?m)^snapshot_dir = "\.\./', f'snapshot_dir = "{EXAMPLE_CONFIG.parent.parent}/', text)
    assert (n, m) == (1, 1) and k >= 1, "the sample config's [exports] or backfill lines moved"
    cfg = root / "spendwatch.toml"
    cfg.write_text(text, encoding="utf-8")
    return cfg


def step_windows(instance: dg.DagsterInstance, run_id: str) -> dict[str, tuple[float, float]]:
    """Each ingest_source step's mapping key -> (its STEP_START, its STEP_SUCCESS/FAILURE) from the run's event log."""
    start: dict[str, float] = {}
    end: dict[str, float] = {}
    for entry in instance.all_logs(run_id):
        ev = entry.dagster_event
        match = ev and ev.step_key and INGEST_STEP.match(ev.step_key)
        if not match:
            continue
        if ev.event_type_value == "STEP_START":
            start[match.group(1)] = entry.timestamp
        elif ev.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
            end[match.group(1)] = entry.timestamp
    assert start.keys() == end.keys()
    return {k: (start[k], end[k]) for k in start}


def overlapping(windows: dict[str, tuple[float, float]]) -> list[tuple[str, str]]:
    """The pairs of steps that ran at the same time (one started before the other ended)."""
    items = sorted(windows.items(), key=lambda kv: kv[1][0])
    return [(a, b) for i, (a, (_, a_end)) in enumerate(items) for b, (b_start, _) in items[i + 1:] if b_start < a_end]


def ingest_metadata(instance: dg.DagsterInstance, run_id: str) -> dict:
    [mat] = [e.dagster_event.step_materialization_data.materialization for e in instance.all_logs(run_id)
             if e.dagster_event and e.dagster_event.event_type_value == "ASSET_MATERIALIZATION"
             and e.dagster_event.asset_key == dg.AssetKey("billing_line_items")]
    return {k: v.value for k, v in mat.metadata.items()}


def check_ingest_metadata(meta: dict) -> None:
    # 5 files seen: modal, invoices, 2 OpenAI pages, the inbox's copy; 4 ingested (the copy is already ingested).
    assert (meta["files_seen"], meta["files_ingested"], meta["files_failed"]) == (5, 4, 0)
    assert meta["rows_loaded"] == 3 + 169 + 357 and meta["line_items_total"] == 529
    assert meta["live_pulls"] == "no API keys set"
    assert sorted(meta["sources"].split(", ")) == ["inbox", "invoices", "modal", "openai"]


@pytest.fixture
def file_env(tmp_path, monkeypatch) -> Path:
    """The fan-out sources and a DuckDB file, chosen through the environment as ``spendwatch run`` does."""
    monkeypatch.setenv("SPENDWATCH_CONFIG", str(fanout_sources(tmp_path / "sources")))
    monkeypatch.setenv("SPENDWATCH_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("SPENDWATCH_PRICE_MODE", "offline")
    return tmp_path / "warehouse.duckdb"


def test_on_a_duckdb_file_the_daily_job_ingests_each_source_in_a_step_of_its_own_one_at_a_time(file_env, tmp_path):
    from pipelines.definitions import build_definitions
    from spendwatch import operations
    from spendwatch.core.config import load_config
    from warehouse.db import connect

    defs = build_definitions()
    job = defs.resolve_job_def("daily_spend_job")
    assert job.executor_def.name == "in_process"  # a DuckDB file: one process, one step at a time
    graph = defs.resolve_asset_graph()
    assert graph.get(dg.AssetKey("billing_line_items")).pools == {"duckdb_writer"}

    instance = dg.DagsterInstance.ephemeral()
    result = job.execute_in_process(partition_key=PARTITION, instance=instance, raise_on_error=False)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    windows = step_windows(instance, result.run_id)
    assert sorted(windows) == ["inbox", "invoices", "modal", "openai"]
    assert overlapping(windows) == []
    check_ingest_metadata(ingest_metadata(instance, result.run_id))

    # The totals are those of the files (worked out above), and those of one ingest of every source at once.
    con = connect(file_env)
    try:
        fanned_out = con.execute(LINES).fetchall()
        deliveries = con.execute("SELECT count(*) FROM deliveries").fetchone()[0]
    finally:
        con.close()
    assert fanned_out == EXPECTED_LINES
    one_go = connect(tmp_path / "one_go.duckdb")
    try:
        cfg = load_config(tmp_path / "sources" / "spendwatch.toml")
        assert not [r.error for r in operations.ingest(one_go, cfg, [*cfg.export_paths(), cfg.inbox()]) if r.error]
        assert one_go.execute(LINES).fetchall() == fanned_out
        assert one_go.execute("SELECT count(*) FROM deliveries").fetchone()[0] == deliveries
    finally:
        one_go.close()


def file_job_multiprocess() -> dg.JobDefinition:
    """The ingest job for the environment's warehouse, but with a process per step (as a UI launch with the
    multiprocess executor would): the pool alone must keep the per-source steps apart on a DuckDB file."""
    from pipelines.definitions import build_definitions

    return build_definitions(executor=dg.multiprocess_executor).resolve_job_def("ingest_exports_job")


# Each step still runs in a process of its own, forked from a server that has imported Dagster and the project once
# (instead of spawning a fresh interpreter that imports them again for each of the six steps).
FORKSERVER = {"execution": {"config": {"start_method": {"forkserver": {
    "preload_modules": ["dagster._core.executor.multiprocess", __name__, "pipelines.definitions"]}}}}}


@pytest.fixture
def own_forkserver():
    """The forkserver started for this test and stopped after it: its processes have this test's environment
    (the warehouse and config named in it), never an earlier test's."""
    from multiprocessing import forkserver

    forkserver._forkserver._stop()  # ("used by unit tests to stop the server")
    yield
    forkserver._forkserver._stop()


def test_on_a_duckdb_file_the_writer_pool_keeps_the_source_steps_apart_even_with_a_process_each(file_env, tmp_path,
                                                                                                 own_forkserver):
    from warehouse.db import connect

    home = tmp_path / "dagster_home"  # an instance with the project's dagster.yaml (the pool limited to 1)
    home.mkdir()
    shutil.copyfile(ROOT / "dagster.yaml", home / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        result = dg.execute_job(dg.reconstructable(file_job_multiprocess), instance=instance,
                                asset_selection=[dg.AssetKey("billing_line_items")],
                                tags={"dagster/partition": PARTITION}, run_config=FORKSERVER)
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        windows = step_windows(instance, result.run_id)
        assert sorted(windows) == ["inbox", "invoices", "modal", "openai"]
        assert overlapping(windows) == []  # never two writers on the file at once
        blocked = {e.dagster_event.step_key for e in instance.all_logs(result.run_id)
                   if e.dagster_event and e.dagster_event.event_type_value == "ENGINE_EVENT"
                   and (e.dagster_event.message or "").startswith("Step blocked by limit for pool duckdb_writer")}
        assert blocked and all(INGEST_STEP.match(k) for k in blocked), blocked  # the pool held them back
        check_ingest_metadata(ingest_metadata(instance, result.run_id))
    con = connect(file_env)
    try:
        assert con.execute(LINES).fetchall() == EXPECTED_LINES
    finally:
        con.close()


def test_no_source_still_materialises_the_asset(tmp_path, monkeypatch):
    """No export folder, no inbox, no API key: no ingest step, and the asset still records that nothing came."""
    from pipelines.assets.ingest import billing_line_items
    from pipelines.resources import ProviderKeys, SpendwatchSettings, WarehouseResource

    cfg = tmp_path / "spendwatch.toml"
    cfg.write_text('[[teams]]\nname = "alpha"\n[exports]\npaths = ["missing"]\ninbox = "inbox"\n')
    result = dg.materialize(
        [billing_line_items], partition_key=PARTITION,
        resources={"warehouse": WarehouseResource(database=str(tmp_path / "w.duckdb")),
                   "settings": SpendwatchSettings(config_path=str(cfg)), "provider_keys": ProviderKeys()},
    )
    assert result.success
    meta = result.asset_materializations_for_node("billing_line_items")[0].metadata
    assert (meta["files_seen"].value, meta["line_items_total"].value, meta["sources"].value) == (0, 0, "none")
    assert not [e for e in result.all_events if e.step_key and INGEST_STEP.match(e.step_key)]


def test_sources_are_the_folders_the_inbox_and_the_live_pulls(tmp_path):
    from pipelines.assets.ingest import IngestConfig, Source, sources_for
    from pipelines.resources import ProviderKeys, SpendwatchSettings

    cfg = fanout_sources(tmp_path)
    settings = SpendwatchSettings(config_path=str(cfg))
    keyed = ProviderKeys(openai_admin_key="sk-admin-test")
    assert sources_for(IngestConfig(), settings, ProviderKeys()) == [
        Source("modal", str(tmp_path / "modal")), Source("invoices", str(tmp_path / "invoices")),
        Source("openai", str(tmp_path / "openai")), Source("inbox", str(tmp_path / "inbox"))]
    assert sources_for(IngestConfig(), settings, keyed)[-1] == Source("live")
    # The inbox sensor's run names one file: that file is the one source, and nothing is pulled.
    one = str(tmp_path / "inbox" / "modal_again.csv")
    assert sources_for(IngestConfig(paths=[one]), settings, keyed) == [Source("modal_again_csv", one)]
    # Two folders of the same name get distinct step keys.
    two = [str(tmp_path / "a" / "x"), str(tmp_path / "b" / "x")]
    assert [s.key for s in sources_for(IngestConfig(paths=two), settings, keyed)] == ["x", "x_2"]


def test_the_inbox_sensors_run_config_ingests_just_that_file(tmp_path):
    """The sensor's run config (``ops: billing_line_items: config: paths``) reaches the source listing through the
    graph's config mapping: one step for the one file, no live pull."""
    from pipelines.assets.ingest import billing_line_items
    from pipelines.resources import ProviderKeys, SpendwatchSettings, WarehouseResource

    cfg = fanout_sources(tmp_path / "sources")
    one = tmp_path / "sources" / "inbox" / "modal_again.csv"
    result = dg.materialize(
        [billing_line_items], partition_key=PARTITION,
        resources={"warehouse": WarehouseResource(database=str(tmp_path / "w.duckdb")),
                   "settings": SpendwatchSettings(config_path=str(cfg)),
                   "provider_keys": ProviderKeys(openai_admin_key="sk-admin-never-used")},
        run_config={"ops": {"billing_line_items": {"config": {"paths": [str(one)]}}}},
    )
    assert result.success
    steps = {e.step_key for e in result.all_events if e.event_type_value == "STEP_SUCCESS"}
    assert {k for k in steps if INGEST_STEP.match(k)} == {"billing_line_items.ingest_source[modal_again_csv]"}
    meta = result.asset_materializations_for_node("billing_line_items")[0].metadata
    # the modal file's 169 rows, under the inbox copy's name
    assert (meta["files_ingested"].value, meta["rows_loaded"].value, meta["line_items_total"].value) == (1, 169, 169)
    assert meta["live_pulls"].value == "no API keys set"


def test_the_source_steps_keep_the_ingests_retry_policy_and_the_writer_pool_on_a_file():
    from pipelines.assets.ingest import ingest_asset
    from pipelines.partitions import HTTP_RETRY

    for concurrent, pool in ((False, "duckdb_writer"), (True, None)):
        ops = {n.name: n.definition for n in ingest_asset(concurrent).node_def.nodes}
        assert set(ops) == {"ingest_sources", "ingest_source", "ingest_summary"}
        assert ops["ingest_source"].retry_policy == HTTP_RETRY and ops["ingest_source"].pool == pool
        assert ops["ingest_summary"].pool == "duckdb_writer"  # it opens the warehouse (migrations on a file)
