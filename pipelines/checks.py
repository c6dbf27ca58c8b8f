"""Asset checks on price_history, three per price source (built from the source registry), evaluated in one step.

* ``<source>_integrity`` (ERROR): prices above zero, expected SKUs present;
* ``<source>_review`` (WARN): probable unit errors, big changes, prices held as suspect changes;
* ``<source>_fresh`` (WARN): not stale by the ``source_freshness`` model, last refresh not failed.

And the marts' invariants (``mart_checks``, warehouse/mart_checks.py): fct_spend_daily reconciles per currency
with the current line items (ERROR), no decision lacks its window (ERROR), no figure rests on a stale ECB rate
(WARN, naming the currency pair and the rate's age).
"""

import dagster as dg

from pipelines.partitions import POOL
from pipelines.resources import WarehouseResource
from scrapers.sources import all_sources
from spendwatch.render import markdown_table
from warehouse import mart_checks as mc
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
                                       description=f"{s.source_id}: probable unit errors, changes over 50 % and suspect changes held (> 3x), flagged for review."))
        specs.append(dg.AssetCheckSpec(f"{s.source_id}_fresh", asset="price_history",
                                       description=f"{s.source_id}: prices in force younger than the source's max_age_days (source_freshness), last refresh not failed."))

    @dg.multi_asset_check(specs=specs, name="price_source_checks", can_subset=True, pool=POOL)
    def _checks(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource):
        wanted = {k.name for k in context.selected_asset_check_keys}
        with warehouse.open() as con:
            rows = price_checks.freshness(con) if any(n.endswith("_fresh") for n in wanted) else []
            for s in _SOURCES:
                if f"{s.source_id}_integrity" in wanted:
                    yield _result(f"{s.source_id}_integrity", price_checks.integrity(con, s), dg.AssetCheckSeverity.ERROR)
                if f"{s.source_id}_review" in wanted:
                    yield _result(f"{s.source_id}_review", price_checks.review(con, s), dg.AssetCheckSeverity.WARN)
                if f"{s.source_id}_fresh" in wanted:
                    yield _result(f"{s.source_id}_fresh", price_checks.fresh(con, s, rows), dg.AssetCheckSeverity.WARN)

    return [_checks]


_MART_CHECKS = (
    ("fct_spend_daily", "reconciles_with_line_items", mc.spend_reconciles, dg.AssetCheckSeverity.ERROR,
     "Per native currency, fct_spend_daily sums exactly the current billed line items."),
    ("breakeven", "every_verdict_has_a_window", mc.decisions_have_windows, dg.AssetCheckSeverity.ERROR,
     "Every breakeven, hybrid_plan, recommendations and api_vs_selfhost row names its window (window_start <= window_end)."),
    ("fct_spend_daily", "fx_rates_fresh", mc.fx_rates_fresh, dg.AssetCheckSeverity.WARN,
     "No figure is converted at an ECB rate more than [decisions] fx_stale_business_days older than its charge date; "
     "names the currency pair and the rate's age."),
)


def mart_checks() -> list[dg.AssetChecksDefinition]:
    specs = [dg.AssetCheckSpec(name, asset=asset, description=desc) for asset, name, _, _, desc in _MART_CHECKS]

    @dg.multi_asset_check(specs=specs, name="mart_checks", can_subset=True, pool=POOL)
    def _checks(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource):
        wanted = {k.name for k in context.selected_asset_check_keys}
        with warehouse.open() as con:
            for asset, name, fn, severity, _ in _MART_CHECKS:
                if name in wanted:
                    outcome = fn(con)
                    meta = dict(outcome.metadata)
                    if outcome.problems:
                        meta["problems"] = dg.MetadataValue.md(markdown_table(["problem"], [(p,) for p in outcome.problems], limit=50))
                    yield dg.AssetCheckResult(asset_key=asset, check_name=name, passed=outcome.passed, severity=severity, metadata=meta)

    return [_checks]
