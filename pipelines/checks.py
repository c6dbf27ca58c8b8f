"""Asset checks on price_history, two per price source (built by a factory from the source registry)."""

import dagster as dg

from pipelines.partitions import POOL
from pipelines.resources import WarehouseResource
from scrapers.base import Source
from scrapers.sources import all_sources
from spendwatch.render import markdown_table
from warehouse import price_checks


def _result(outcome: price_checks.CheckOutcome, severity: dg.AssetCheckSeverity) -> dg.AssetCheckResult:
    meta = dict(outcome.metadata)
    if outcome.problems:
        meta["problems"] = dg.MetadataValue.md(markdown_table(["problem"], [(p,) for p in outcome.problems], limit=50))
    return dg.AssetCheckResult(passed=outcome.passed, severity=severity, metadata=meta)


def _checks_for(source: Source) -> list[dg.AssetChecksDefinition]:
    sid = source.source_id

    @dg.asset_check(asset="price_history", name=f"{sid}_integrity", pool=POOL, description=f"{sid}: every price above zero, expected SKUs present.")
    def _integrity(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with warehouse.open() as con:
            return _result(price_checks.integrity(con, source), dg.AssetCheckSeverity.ERROR)

    @dg.asset_check(asset="price_history", name=f"{sid}_review", pool=POOL, description=f"{sid}: probable unit errors and changes over 50 %, flagged for review.")
    def _review(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with warehouse.open() as con:
            return _result(price_checks.review(con, source), dg.AssetCheckSeverity.WARN)

    return [_integrity, _review]


def price_source_checks() -> list[dg.AssetChecksDefinition]:
    return [c for s in all_sources() if not s.discontinued for c in _checks_for(s)]
