"""Ingesting usage and invoice exports into the canonical line-item table."""

from pathlib import Path

import dagster as dg

from pipelines.partitions import HTTP_RETRY, POOL, daily_partitions, partition_day
from pipelines.resources import ProviderKeys, SpendwatchSettings, WarehouseResource
from spendwatch import operations
from spendwatch.render import markdown_table


class IngestConfig(dg.Config):
    """Files to ingest; empty means the configured export folders and the inbox."""

    paths: list[str] = []


def _ingest_sources_at_once(context: dg.AssetExecutionContext, warehouse: WarehouseResource, cfg, paths: list[Path]) -> list:
    """On a lake: each source (an export folder, the inbox) ingested by its own writer, all at once.

    Each has its own connection; a commit that loses to another's is run again (warehouse/lake.py).
    """
    from concurrent.futures import ThreadPoolExecutor

    def one(path: Path) -> list:
        with warehouse.open() as con:
            return operations.ingest(con, cfg, [path])

    context.log.info(f"ingesting {len(paths)} sources at once (the warehouse allows concurrent writers)")
    with ThreadPoolExecutor(max_workers=len(paths), thread_name_prefix="ingest") as pool:
        return [r for rs in pool.map(one, paths) for r in rs]


@dg.asset(group_name="ingest", kinds={"duckdb"}, partitions_def=daily_partitions, pool=POOL, deps=["org_config"], retry_policy=HTTP_RETRY)
def billing_line_items(
    context: dg.AssetExecutionContext,
    config: IngestConfig,
    warehouse: WarehouseResource,
    settings: SpendwatchSettings,
    provider_keys: ProviderKeys,
) -> dg.MaterializeResult:
    """Every billed and usage line from every export, exactly once.

    Teams are not decided here: the attribution model (stg_line_attribution, read by
    stg_line_items) applies the current rules to every stored line, and the stg_line_items
    asset reports the unallocated lines.
    """
    cfg = settings.load()
    paths = [Path(p) for p in config.paths] or [p for p in [*cfg.export_paths(), cfg.inbox()] if p.exists()]
    live = []
    if not config.paths:
        day = partition_day(context)
        keys = {"openai": provider_keys.openai_admin_key, "anthropic": provider_keys.anthropic_admin_key, "runpod": provider_keys.runpod_api_key}
        live_dir = warehouse.data_dir() / "exports_live" / day.isoformat()
        live = operations.pull_live_exports(keys, day, live_dir)
    results = []
    if warehouse.concurrent_writers and len(paths) > 1:
        results = _ingest_sources_at_once(context, warehouse, cfg, paths)
        paths = []
    with warehouse.open() as con:
        results += operations.ingest(con, cfg, paths) + operations.ingest_live(con, cfg, live)
        total = con.execute("SELECT count(*) FROM billing_line_items").fetchone()[0]
    failed = [r for r in results if r.error]
    for r in failed:
        context.log.error(f"could not ingest {r.path}: {r.error}")
    for pull in live:
        if pull.error:
            context.log.warning(f"live pull from {pull.provider} failed: {pull.error}")
    new = [r for r in results if not r.skipped_duplicate and not r.error]
    rejected = sum(r.rows_rejected for r in results)
    for r in new:
        context.log.info(f"ingested {r.path.name}: {r.format}, {r.rows_loaded} loaded, {r.rows_rejected} rejected, "
                         f"{r.rows_noted} noted, {r.rows_replaced} replaced, {r.rows_restored} restored")
    rows = [
        (r.path.name, r.format, r.rows_read, r.rows_loaded, r.rows_rejected, r.rows_noted, r.rows_replaced,
         r.rows_restored, "yes" if r.skipped_duplicate else "", r.error or "")
        for r in results
    ]
    return dg.MaterializeResult(
        metadata={
            "files_seen": len(results),
            "files_ingested": len(new),
            "rows_loaded": sum(r.rows_loaded for r in new),
            "rows_rejected": rejected,
            "rows_noted": sum(r.rows_noted for r in new),
            "files_failed": len(failed),
            "live_pulls": ", ".join(f"{p.provider}: {'failed' if p.error else f'{len(p.files)} page(s)'}" for p in live) or "no API keys set",
            "line_items_total": total,
            "files": dg.MetadataValue.md(
                markdown_table(["file", "format", "read", "loaded", "rejected", "noted", "replaced", "restored",
                                "already ingested", "error"], rows, limit=None)
            ),
        }
    )
