"""The Dagster definitions: asset keys, the daily job, the schedule's partition, the inbox sensor."""

from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg

from pipelines.definitions import defs
from warehouse.models import load_project


def test_asset_keys_cover_every_stage_and_model():
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"org_config", "fx_rates", "price_history", "billing_line_items", "team_spend_summary"} <= keys
    assert set(load_project().models) <= keys


def test_model_assets_carry_sql_deps_and_description():
    graph = defs.resolve_asset_graph()
    node = graph.get(dg.AssetKey("team_monthly_spend"))
    assert dg.AssetKey("fct_spend_daily") in node.parent_keys
    fct = graph.get(dg.AssetKey("fct_spend_daily"))
    assert {dg.AssetKey("stg_line_items_fx")} <= fct.parent_keys
    fx = graph.get(dg.AssetKey("stg_line_items_fx"))
    assert {dg.AssetKey("stg_line_items"), dg.AssetKey("stg_fx_days"), dg.AssetKey("org_config")} <= fx.parent_keys
    assert {dg.AssetKey("stg_line_items"), dg.AssetKey("stg_fx_rates")} <= graph.get(dg.AssetKey("stg_fx_days")).parent_keys
    stg = graph.get(dg.AssetKey("stg_line_items"))
    assert dg.AssetKey("billing_line_items") in stg.parent_keys
    assert graph.get(dg.AssetKey("threshold_flags")).description.startswith("Per month and team")


def test_daily_job_runs_everything_in_process():
    job = defs.resolve_job_def("daily_spend_job")
    assert job.executor_def.name == "in_process"
    assert job.partitions_def is not None
    all_keys = defs.resolve_asset_graph().get_all_asset_keys()
    assert set(job.asset_layer.selected_asset_keys) == set(all_keys)


def test_schedule_targets_the_previous_day_at_six_london():
    schedule = defs.resolve_schedule_def("daily_spend_schedule")
    assert schedule.cron_schedule == "0 6 * * *"
    assert schedule.execution_timezone == "Europe/London"
    with dg.build_schedule_context(scheduled_execution_time=datetime(2026, 11, 18, 6, 0, tzinfo=ZoneInfo("Europe/London"))) as ctx:
        result = schedule.evaluate_tick(ctx)
    [req] = result.run_requests
    assert req.partition_key == "2026-11-17"


def test_assets_share_the_writer_pool():
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.pools == {"duckdb_writer"}, key
        assert "duckdb" in node.kinds, key


def test_inbox_sensor_dedupes_by_cursor_and_run_key(tmp_path, monkeypatch):
    from pipelines.resources import SpendwatchSettings
    from pipelines.sensors import exports_inbox_sensor

    cfg = tmp_path / "spendwatch.toml"
    cfg.write_text('[[teams]]\nname = "alpha"\n[exports]\npaths = []\ninbox = "inbox"\n')
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.csv").write_text("x\n1\n")
    settings = SpendwatchSettings(config_path=str(cfg))

    ctx = dg.build_sensor_context(cursor=None, resources={"settings": settings})
    first = list(exports_inbox_sensor(ctx))
    reqs = [r for r in first if isinstance(r, dg.RunRequest)]
    import hashlib

    assert [r.run_key for r in reqs] == [hashlib.sha256(b"x\n1\n").hexdigest()]
    assert reqs[0].run_config["ops"]["billing_line_items"]["config"]["paths"] == [str(inbox / "a.csv")]

    ctx2 = dg.build_sensor_context(cursor=ctx.cursor, resources={"settings": settings})
    second = list(exports_inbox_sensor(ctx2))
    assert not [r for r in second if isinstance(r, dg.RunRequest)]

    (inbox / "b.csv").write_text("y\n2\n")
    ctx3 = dg.build_sensor_context(cursor=ctx2.cursor, resources={"settings": settings})
    third = [r for r in exports_inbox_sensor(ctx3) if isinstance(r, dg.RunRequest)]
    assert [r.tags["spendwatch/file"] for r in third] == ["b.csv"]


def test_a_subset_of_models_builds_only_those(tmp_path, monkeypatch):
    """Materialising one model from the UI builds that model alone (the rest of the multi-asset is skipped)."""
    from pipelines.assets.models import model_assets
    from pipelines.resources import WarehouseResource
    from spendwatch.core.config import load_config
    from spendwatch.core.paths import EXAMPLE_CONFIG
    from warehouse.config_sync import sync_config
    from warehouse.db import connect

    path = tmp_path / "w.duckdb"
    con = connect(path)
    sync_config(con, load_config(EXAMPLE_CONFIG))
    con.close()
    [sql_models] = model_assets()
    result = dg.materialize(
        [sql_models], selection=["stg_fx_rates"], partition_key="2026-11-30",
        resources={"warehouse": WarehouseResource(database=str(path))},
    )
    assert result.success
    assert [e.asset_key.to_user_string() for e in result.get_asset_materialization_events()] == ["stg_fx_rates"]


def test_the_summary_is_the_jobs_last_asset():
    """Every other step of the daily job is upstream of team_spend_summary (the SQL models run as one step)."""
    graph = defs.resolve_asset_graph()
    summary = dg.AssetKey("team_spend_summary")
    upstream, stack = set(), [summary]
    while stack:
        for parent in graph.get(stack.pop()).parent_keys:
            if parent not in upstream:
                upstream.add(parent)
                stack.append(parent)
    models = set(load_project().models)
    others = {k for k in graph.get_all_asset_keys() if k != summary and k.to_user_string() not in models}
    assert others <= upstream
    assert upstream & {dg.AssetKey(m) for m in models}  # the models' step runs before it
