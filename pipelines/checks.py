"""Asset checks on price_history, two per price source (built from the source registry), evaluated in one step."""

import dagster as dg

from pipelines.partitions import POOL
from pipelines.resources import WarehouseResource
from scrapers.sources import all_sources
from spendwatch.render import markdown_table
from warehouse import price_checks

_SOURCES = [s for s in all_sources() if not s.discontinued]


def _result(check_name: str, outcome: price_checks.CheckOutcome, severity: dg.AssetCheckSeverity) -> dg.AssetCheckResult:
    meta = dict(outcome.metadata)
    if outcome.problems:
        meta["problems"] = dg.MetadataValue.md(markdown_table(["problem"], [(p,) for p in outcome.problems], limit=50))
    return dg.AssetCheckResult(asset_key="price_history", check_name=check_name, passed=outcome.passed, severity=severity, metadata=meta)


def price_source_checks() -> list[dg.AssetChecksDefinition]:
    specs = []
    for s in _SOURCES:
        specs.append(dg.AssetCheckSpec(f"{s.source_id}_integrity", asset="price_history",
                                       description=f"{s.source_id}: every price above zero, expected SKUs present."))
        specs.append(dg.AssetCheckSpec(f"{s.source_id}_review", asset="price_history",
                                       description=f"{s.source_id}: probable unit errors and changes over 50 %, flagged for review."))

    @dg.multi_asset_check(specs=specs, name="price_source_checks", can_subset=True, pool=POOL)
    def _checks(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource):
        wanted = {k.name for k in context.selected_asset_check_keys}
        with warehouse.open() as con:
            for s in _SOURCES:
                if f"{s.source_id}_integrity" in wanted:
                    yield _result(f"{s.source_id}_integrity", price_checks.integrity(con, s), dg.AssetCheckSeverity.ERROR)
                if f"{s.source_id}_review" in wanted:
                    yield _result(f"{s.source_id}_review", price_checks.review(con, s), dg.AssetCheckSeverity.WARN)

    return [_checks]
