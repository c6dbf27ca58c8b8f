"""Ingesting usage and invoice exports into the canonical line-item table, one Dagster step per source.

``billing_line_items`` is a graph-backed asset: ``ingest_sources`` lists the sources (each configured export
folder, the inbox, the provider APIs when a key is set) as dynamic outputs, ``ingest_source`` ingests one
source per step, and ``ingest_summary`` gathers their results into the asset's metadata.  On a DuckDB file
every step that opens the warehouse is in the one-writer pool (``POOL``), so the per-source steps run one at
a time; on a DuckLake the per-source steps are outside it and the executor runs them at once, each with its
own writer (a commit that loses to another's is run again, warehouse/lake.py).
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from pipelines.partitions import HTTP_RETRY, POOL, daily_partitions, partition_day
from pipelines.resources import ProviderKeys, SpendwatchSettings, WarehouseResource
from spendwatch import operations
from spendwatch.render import markdown_table

LIVE = "live"  # the source key of the provider API pulls


class IngestConfig(dg.Config):
    """Files to ingest; empty means the configured export folders, the inbox and the live pulls."""

    paths: list[str] = []


@dataclass(frozen=True)
class Source:
    """One ingest step's work: an export folder, the inbox, a given file, or (``path`` None) the live pulls."""

    key: str
    path: str | None = None


@dataclass
class SourceIngest:
    """What one source's step ingested (passed to ``ingest_summary``)."""

    source: Source
    results: list = field(default_factory=list)  # warehouse.ingest IngestResult, one per file
    live: list = field(default_factory=list)  # operations.LivePull, for the live source


def _mapping_keys(paths: list[Path]) -> list[str]:
    """A step key per path (``[A-Za-z0-9_]``, unique): the folder's or file's name."""
    keys: list[str] = []
    for p in paths:
        base = re.sub(r"[^A-Za-z0-9_]", "_", p.name) or "source"
        key, n = base, 2
        while key in keys or key == LIVE:
            key, n = f"{base}_{n}", n + 1
        keys.append(key)
    return keys


def sources_for(config: IngestConfig, settings: SpendwatchSettings, provider_keys: ProviderKeys) -> list[Source]:
    """The sources one run ingests: the given paths, else each export folder and inbox that exists, and the live
    pulls when a provider key is set."""
    if config.paths:
        paths = [Path(p) for p in config.paths]
    else:
        cfg = settings.load()
        paths = [p for p in dict.fromkeys([*cfg.export_paths(), cfg.inbox()]) if p.exists()]
    out = [Source(k, str(p)) for k, p in zip(_mapping_keys(paths), paths)]
    if not config.paths and any(_provider_keys(provider_keys).values()):
        out.append(Source(LIVE))
    return out


def _provider_keys(provider_keys: ProviderKeys) -> dict[str, str | None]:
    return {"openai": provider_keys.openai_admin_key, "anthropic": provider_keys.anthropic_admin_key,
            "runpod": provider_keys.runpod_api_key}


@dg.op(ins={"org_config": dg.In(dg.Nothing)}, out=dg.DynamicOut(Source))
def ingest_sources(context: dg.OpExecutionContext, config: IngestConfig, settings: SpendwatchSettings,
                   provider_keys: ProviderKeys):
    """One dynamic output per source; each becomes an ``ingest_source`` step of its own."""
    for source in sources_for(config, settings, provider_keys):
        yield dg.DynamicOutput(source, mapping_key=source.key)


def _ingest_one(context: dg.OpExecutionContext, source: Source, warehouse: WarehouseResource,
                settings: SpendwatchSettings, provider_keys: ProviderKeys) -> SourceIngest:
    cfg = settings.load()
    out = SourceIngest(source)
    if source.path is None:
        day = partition_day(context)
        live_dir = warehouse.data_dir() / "exports_live" / day.isoformat()
        out.live = operations.pull_live_exports(_provider_keys(provider_keys), day, live_dir)
    with warehouse.open() as con:
        if source.path is not None:
            out.results = operations.ingest(con, cfg, [Path(source.path)])
        else:
            out.results = operations.ingest_live(con, cfg, out.live)
    context.log.info(f"source {source.key}: {len(out.results)} file(s) seen")
    return out


def _ingest_op(pool: str | None) -> dg.OpDefinition:
    @dg.op(name="ingest_source", pool=pool, retry_policy=HTTP_RETRY)
    def ingest_source(context: dg.OpExecutionContext, source: Source, warehouse: WarehouseResource,
                      settings: SpendwatchSettings, provider_keys: ProviderKeys) -> SourceIngest:
        """Ingest one source (an export folder, the inbox, a file, or the provider API pulls) with its own writer."""
        return _ingest_one(context, source, warehouse, settings, provider_keys)

    return ingest_source


@dg.op(pool=POOL, out=dg.Out(dg.Nothing))
def ingest_summary(context: dg.OpExecutionContext, ingested: list[SourceIngest], warehouse: WarehouseResource) -> None:
    """The asset's metadata from every source's step: files seen, ingested and failed, rows, live pulls."""
    with warehouse.open() as con:
        total = con.execute("SELECT count(*) FROM billing_line_items").fetchone()[0]
    results = [r for s in ingested for r in s.results]
    live = [p for s in ingested for p in s.live]
    failed = [r for r in results if r.error]
    for r in failed:
        context.log.error(f"could not ingest {r.path}: {r.error}")
    for pull in live:
        if pull.error:
            context.log.warning(f"live pull from {pull.provider} failed: {pull.error}")
    new = [r for r in results if not r.skipped_duplicate and not r.error]
    for r in new:
        context.log.info(f"ingested {r.path.name}: {r.format}, {r.rows_loaded} loaded, {r.rows_rejected} rejected, "
                         f"{r.rows_noted} noted, {r.rows_replaced} replaced, {r.rows_restored} restored")
    rows = [
        (r.path.name, r.format, r.rows_read, r.rows_loaded, r.rows_rejected, r.rows_noted, r.rows_replaced,
         r.rows_restored, "yes" if r.skipped_duplicate else "", r.error or "")
        for r in results
    ]
    context.add_output_metadata({
        "files_seen": len(results),
        "files_ingested": len(new),
        "rows_loaded": sum(r.rows_loaded for r in new),
        "rows_rejected": sum(r.rows_rejected for r in results),
        "rows_noted": sum(r.rows_noted for r in new),
        "files_failed": len(failed),
        "live_pulls": ", ".join(f"{p.provider}: {'failed' if p.error else f'{len(p.files)} page(s)'}" for p in live)
        or "no API keys set",
        "line_items_total": total,
        "sources": ", ".join(s.source.key for s in ingested) or "none",
        "files": dg.MetadataValue.md(
            markdown_table(["file", "format", "read", "loaded", "rejected", "noted", "replaced", "restored",
                            "already ingested", "error"], rows, limit=None)
        ),
    })


def ingest_asset(concurrent_writers: bool = False) -> dg.AssetsDefinition:
    """``billing_line_items``: one ``ingest_source`` step per source.

    With ``concurrent_writers`` (a DuckLake) those steps are outside the one-writer pool, so the executor runs
    them at once; otherwise (a DuckDB file, MotherDuck) they are in it and run one at a time.
    """
    ingest_source = _ingest_op(None if concurrent_writers else POOL)

    @dg.graph_asset(
        name="billing_line_items",
        group_name="ingest",
        kinds={"duckdb"},
        partitions_def=daily_partitions,
        ins={"org_config": dg.AssetIn(dagster_type=dg.Nothing)},
        config=dg.ConfigMapping(config_fn=lambda c: {"ingest_sources": {"config": c}},
                                config_schema=IngestConfig.to_config_schema()),
    )
    def billing_line_items(org_config):
        """Every billed and usage line from every export, exactly once.

        Teams are not decided here: the attribution model (stg_line_attribution, read by
        stg_line_items) applies the current rules to every stored line, and the stg_line_items
        asset reports the unallocated lines.
        """
        return ingest_summary(ingest_sources(org_config).map(ingest_source).collect())

    return billing_line_items


billing_line_items = ingest_asset()
