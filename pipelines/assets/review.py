"""The daily spend summary: one line per team for the latest month of data."""

import dagster as dg

from pipelines.partitions import POOL, daily_partitions
from pipelines.resources import WarehouseResource
from spendwatch.render import markdown_table, money
from warehouse import queries


@dg.asset(
    group_name="reports",
    kinds={"duckdb"},
    partitions_def=daily_partitions,
    pool=POOL,
    deps=["team_monthly_spend", "threshold_flags", "alerts"],  # the job's last asset
)
def team_spend_summary(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Each team's spend, threshold and status for the latest month with data, logged one line per team."""
    with warehouse.open() as con:
        month = queries.latest_month(con)
        teams = queries.team_months(con, month) if month else []
    for t in teams:
        context.log.info(
            f"{month:%Y-%m} {t.team}: variable {money(t.variable_spend, t.currency)} of {money(t.threshold, t.currency)}"
            f" ({t.status}); total {money(t.total_spend, t.currency)}"
        )
    over = [t.team for t in teams if t.status == "over"]
    rows = [(t.team, money(t.total_spend, t.currency), money(t.variable_spend, t.currency), money(t.threshold, t.currency), t.status) for t in teams]
    return dg.MaterializeResult(
        metadata={
            "month": f"{month:%Y-%m}" if month else "no data",
            "teams_over_threshold": len(over),
            "over": ", ".join(over) or "none",
            "summary": dg.MetadataValue.md(markdown_table(["team", "total", "variable", "threshold", "status"], rows, limit=None)),
        }
    )
