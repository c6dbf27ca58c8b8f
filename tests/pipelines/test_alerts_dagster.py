"""The alerts asset materialised with dg.materialize against a hand-built warehouse, and the run-failure sensor."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from pipelines.alert_sensors import slack_run_failure_sensor
from pipelines.assets.alerts import alerts
from pipelines.resources import SpendwatchSettings, WarehouseResource
from pipelines.resources_slack import SlackResource, build_slack_resource
from tests.spendwatch.delivery.alert_models import alert_inputs, november_flags
from warehouse import alerts as wa
from warehouse.db import connect

HOOK_PATH = "/services/T0001TEST/B0002TEST/dagst3rS3cr3tT0ken"


@pytest.fixture
def org(tmp_path: Path) -> Path:
    cfg = tmp_path / "spendwatch.toml"
    cfg.write_text('[[teams]]\nname = "search"\n[[teams]]\nname = "vision"\n[exports]\npaths = []\n')
    return cfg


@pytest.fixture
def warehouse_with_flags(warehouse_path: Path) -> Path:
    """search over its £1,500 threshold in November 2026; vision fine."""
    con = connect(warehouse_path)
    november_flags(con, ("search", "1612.40", "1791.56", "over", date(2026, 11, 21)),
                   ("vision", "400.00", "444.44", "ok", None))
    alert_inputs(con)
    con.close()
    return warehouse_path


def materialize(warehouse_path: Path, org: Path, url: str | None):
    return dg.materialize(
        [alerts],
        partition_key="2026-11-27",
        resources={
            "warehouse": WarehouseResource(database=str(warehouse_path)),
            "settings": SpendwatchSettings(config_path=str(org)),
            "slack": SlackResource(default_webhook_url=url, timeout_seconds=2.0),
        },
        instance=dg.DagsterInstance.ephemeral(),
    )


def meta(result) -> dict:
    [mat] = result.asset_materializations_for_node("alerts")
    return {k: v.value for k, v in mat.metadata.items()}


def test_materialising_twice_posts_once(warehouse_with_flags, org, httpserver):
    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_data("ok")
    url = httpserver.url_for(HOOK_PATH)
    first = materialize(warehouse_with_flags, org, url)
    assert first.success
    m = meta(first)
    assert (m["raised"], m["sent"], m["pending"], m["failed"], m["open"]) == (1, 1, 0, 0, 1)
    assert m["kinds_skipped"].startswith("invoice_discrepancy (model invoice_audit not built yet)")
    second = materialize(warehouse_with_flags, org, url)
    m2 = meta(second)
    assert (m2["raised"], m2["sent"], m2["open"]) == (0, 0, 1)
    [req] = [r for r, _ in httpserver.log]
    assert "search" in json.loads(req.get_data())["text"]


def test_a_slack_outage_does_not_fail_the_run_and_leaks_no_url(warehouse_with_flags, org, httpserver):
    httpserver.expect_request(HOOK_PATH).respond_with_data("rollup_error", status=500)
    url = httpserver.url_for(HOOK_PATH)
    result = materialize(warehouse_with_flags, org, url)
    assert result.success
    m = meta(result)
    assert (m["sent"], m["pending"], m["failed"]) == (0, 1, 0)
    assert r"HTTP 500: rollup\_error" in m["active_alerts"]  # markdown-escaped
    everything = json.dumps(m, default=str) + "".join(str(ev.message) for ev in result.all_events)
    assert "dagst3rS3cr3tT0ken" not in everything and HOOK_PATH not in everything
    con = connect(warehouse_with_flags)
    try:
        [a] = wa.pending_alerts(con)
        assert a.attempts == 1 and "dagst3rS3cr3tT0ken" not in (a.last_error or "")
    finally:
        con.close()


def test_run_failure_sensor_posts_a_failed_run_once(warehouse_path, org, httpserver, monkeypatch):
    httpserver.expect_request(HOOK_PATH).respond_with_data("ok")

    @dg.op
    def explode():
        raise RuntimeError("price refresh crashed")

    @dg.job(name="daily_spend_job", tags={"dagster/partition": "2026-11-27"})
    def failing_job():
        explode()

    instance = dg.DagsterInstance.ephemeral()
    run = failing_job.execute_in_process(instance=instance, raise_on_error=False)
    assert not run.success
    resources = {
        "warehouse": WarehouseResource(database=str(warehouse_path)),
        "settings": SpendwatchSettings(config_path=str(org)),
        "slack": SlackResource(default_webhook_url=httpserver.url_for(HOOK_PATH)),
    }
    for _ in range(2):  # a re-evaluated tick must not post twice
        ctx = dg.build_run_status_sensor_context(
            sensor_name="slack_run_failure_sensor", dagster_instance=instance, dagster_run=run.dagster_run,
            dagster_event=run.get_run_failure_event(), resources=resources,
        ).for_run_failure()
        slack_run_failure_sensor(ctx)
    [req] = [r for r, _ in httpserver.log]
    body = json.loads(req.get_data())
    assert body["blocks"][0]["text"]["text"] == "The daily spendwatch run failed"
    assert "2026-11-27" in body["text"] and "explode" in json.dumps(body)
    con = connect(warehouse_path)
    try:
        [a] = wa.list_alerts(con, "all")
        assert (a.kind, a.subject, a.period, a.delivery) == ("run_failure", run.run_id, "2026-11-27", "sent")
        assert "price refresh crashed" in a.details["error"]
    finally:
        con.close()


def test_asset_sensor_and_resource_fit_the_definitions():
    from pipelines.assets.config import org_config
    from pipelines.assets.ingest import billing_line_items
    from pipelines.assets.models import model_assets
    from pipelines.assets.prices import fx_rates, price_history
    from pipelines.jobs import daily_spend_job
    from pipelines.resources import build_resources

    defs = dg.Definitions(
        assets=[org_config, fx_rates, price_history, billing_line_items, *model_assets(), alerts],
        jobs=[daily_spend_job], sensors=[slack_run_failure_sensor],
        resources={**build_resources(), "slack": build_slack_resource()},
    )
    dg.Definitions.validate_loadable(defs)
    node = defs.resolve_asset_graph().get(dg.AssetKey("alerts"))
    assert {dg.AssetKey(k) for k in ("alert_conditions", "alert_threshold", "alert_dedicated", "alert_invoice",
                                     "alert_price_change", "alert_source_stale", "alert_ingest_rejects")} <= node.parent_keys
    assert node.pools == {"duckdb_writer"} and "duckdb" in node.kinds
    assert dg.AssetKey("alerts") in defs.resolve_job_def("daily_spend_job").asset_layer.selected_asset_keys
