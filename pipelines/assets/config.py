"""The organisation's config as data."""

import dagster as dg

from pipelines.partitions import POOL, daily_partitions
from pipelines.resources import SpendwatchSettings, WarehouseResource
from spendwatch import operations
from spendwatch.render import markdown_table


@dg.asset(group_name="config", kinds={"duckdb"}, partitions_def=daily_partitions, pool=POOL)
def org_config(context: dg.AssetExecutionContext, warehouse: WarehouseResource, settings: SpendwatchSettings) -> dg.MaterializeResult:
    """The teams, thresholds, attribution rules, dedicated servers and throughput assumptions of spendwatch.toml, mirrored into the config schema."""
    cfg = settings.load()
    with warehouse.open() as con:
        counts = operations.sync(con, cfg)
    rows = [(t.name, cfg.threshold(t.name), cfg.reporting_currency) for t in cfg.teams]
    return dg.MaterializeResult(
        metadata={
            "config_path": str(cfg.path),
            "teams": counts["teams"],
            "attribution_rules": counts["attribution_rules"],
            "dedicated_servers": counts["dedicated_servers"],
            "thresholds": dg.MetadataValue.md(markdown_table(["team", "monthly threshold", "currency"], rows)),
        }
    )
