"""Price tracking: every provider's current prices, kept as effective-dated history."""

from pathlib import Path

import dagster as dg

from pipelines.model_metadata import fx_rates_metadata
from pipelines.partitions import HTTP_RETRY, POOL, daily_partitions
from pipelines.resources import SpendwatchSettings, WarehouseResource
from spendwatch import operations
from spendwatch.render import markdown_table
from warehouse import price_checks


@dg.asset(group_name="prices", kinds={"duckdb"}, partitions_def=daily_partitions, pool=POOL, retry_policy=HTTP_RETRY)
def fx_rates(context: dg.AssetExecutionContext, warehouse: WarehouseResource, settings: SpendwatchSettings) -> dg.MaterializeResult:
    """ECB euro reference rates, the basis of every currency conversion (bundled history plus today's file when reachable)."""
    with warehouse.open() as con:
        status = operations.refresh_fx(
            con, mode=settings.price_mode, snapshot_dir=Path(settings.snapshot_dir) if settings.snapshot_dir else None
        )
        key = fx_rates_metadata(con)
    context.log.info(f"fx_rates: latest ECB date {status['latest_rate_date']}, daily file {status['daily']}")
    return dg.MaterializeResult(metadata={**{k: dg.MetadataValue.text(str(v)) for k, v in status.items()}, **key})


@dg.asset(group_name="prices", kinds={"duckdb"}, partitions_def=daily_partitions, pool=POOL, retry_policy=HTTP_RETRY)
def price_history(context: dg.AssetExecutionContext, warehouse: WarehouseResource, settings: SpendwatchSettings) -> dg.MaterializeResult:
    """Every provider's prices, effective-dated: a changed price closes the old row and opens a new one; a failed source keeps its last good prices."""
    cfg = settings.load()
    with warehouse.open() as con:
        refresh = operations.refresh_prices(
            con,
            mode=settings.price_mode,
            backfills=cfg.price_backfills(),
            snapshot_dir=Path(settings.snapshot_dir) if settings.snapshot_dir else None,
            archive_dir=warehouse.data_dir() / "raw",
            max_age_days=cfg.prices.max_age,
        )
        open_rows = con.execute("SELECT count(*) FROM price_history WHERE valid_to IS NULL").fetchone()[0]
        fresh = {r["source_id"]: price_checks.describe(r) for r in price_checks.freshness(con) if not r["discontinued"]}
    context.log.info(f"prices: {refresh.summary()}")
    rows = []
    for r in refresh.results:
        f = fresh.get(r.source_id, {})
        rows.append((r.source_id, r.status, r.mode, r.records, r.zeros, r.implausible, len(r.held), r.inserted, r.closed,
                     f.get("last_live_fetch", ""), f.get("prices_from", ""), f.get("age_days", ""),
                     "yes" if f.get("stale") else "", r.error or ""))
    cols = ["source", "status", "mode", "records", "zeros", "implausible", "held", "inserted", "closed",
            "last live fetch", "prices in force from", "age (days)", "stale", "error"]
    meta = {
        "summary": refresh.summary(),
        "sources_failed": len(refresh.failed),
        "sources_stale": sum(1 for f in fresh.values() if f["stale"]),
        "prices_held": sum(len(r.held) for r in refresh.results),
        "open_prices": open_rows,
        "sources": dg.MetadataValue.md(markdown_table(cols, rows, limit=None)),
    }
    note = refresh.recorded_note()
    if note:
        meta["recorded_captures"] = note
    return dg.MaterializeResult(metadata=meta)
