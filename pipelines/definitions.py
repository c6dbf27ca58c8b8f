"""Everything spendwatch runs in Dagster: assets, checks, jobs, schedules, sensors and resources."""

import dagster as dg

from pipelines.alert_sensors import slack_run_failure_sensor
from pipelines.assets.alerts import alerts
from pipelines.assets.config import org_config
from pipelines.assets.ingest import ingest_asset
from pipelines.assets.models import model_assets
from pipelines.assets.prices import fx_rates, price_history
from pipelines.assets.review import team_spend_summary
from pipelines.checks import mart_checks, price_source_checks
from pipelines.jobs import daily_spend_job, daily_spend_schedule, executor_for, ingest_exports_job
from pipelines.resources import build_resources
from pipelines.resources_slack import build_slack_resource
from pipelines.sensors import exports_inbox_sensor
from warehouse.db import resolve_warehouse
from warehouse.lake import is_lake


def build_definitions(executor: dg.ExecutorDefinition | None = None) -> dg.Definitions:
    """The definitions, with resources chosen from the environment as it is now.

    ``spendwatch run`` builds them afresh for each run, so ``--offline``, ``--warehouse`` and ``--config`` hold
    even in a process that imported ``defs`` earlier (resources read the environment when they are built).
    On a DuckLake (concurrent writers) the ingest fans out: its per-source steps leave the one-writer pool and
    the jobs run a process per step; ``executor`` overrides that choice (tests).
    """
    concurrent = is_lake(resolve_warehouse())
    return dg.Definitions(
        assets=[org_config, fx_rates, price_history, ingest_asset(concurrent), *model_assets(), team_spend_summary, alerts],
        asset_checks=price_source_checks() + mart_checks(),
        jobs=[daily_spend_job, ingest_exports_job],
        schedules=[daily_spend_schedule],
        sensors=[exports_inbox_sensor, slack_run_failure_sensor],
        resources={**build_resources(), "slack": build_slack_resource()},
        executor=executor or executor_for(concurrent),
    )


defs = build_definitions()
