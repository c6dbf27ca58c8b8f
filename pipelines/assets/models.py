"""One Dagster asset per SQL model in dbt_like_sql/, with deps derived from ref() and source()."""

import dagster as dg

from pipelines.model_metadata import extra_metadata
from pipelines.partitions import POOL, daily_partitions
from pipelines.resources import WarehouseResource
from spendwatch.render import markdown_table
from warehouse import models as sqlmodels

# Which asset writes each raw table a model may read with source().
SOURCE_ASSETS = {
    ("raw", "billing_line_items"): "billing_line_items",
    ("raw", "ingested_files"): "billing_line_items",
    ("raw", "ingest_rejects"): "billing_line_items",
    ("raw", "price_history"): "price_history",
    ("raw", "price_fetches"): "price_history",
    ("raw", "price_sources"): "price_history",
    ("raw", "fx_rates"): "fx_rates",
    ("config", "settings"): "org_config",
    ("config", "teams"): "org_config",
    ("config", "dedicated_servers"): "org_config",
    ("config", "throughput"): "org_config",
    ("raw", "alerts"): "alerts",
}


def _model_asset(project: sqlmodels.Project, model: sqlmodels.Model) -> dg.AssetsDefinition:
    deps = [dg.AssetKey(r) for r in model.refs]
    for src in model.sources:
        if src not in SOURCE_ASSETS:
            raise sqlmodels.ModelError(f"{model.path}: source{src} is not written by any asset (add it to SOURCE_ASSETS)")
        deps.append(dg.AssetKey(SOURCE_ASSETS[src]))

    @dg.asset(
        name=model.name,
        description=model.description,
        deps=list(dict.fromkeys(deps)),
        group_name="models",
        kinds={"duckdb", "sql"},
        partitions_def=daily_partitions,
        pool=POOL,
        metadata={"sql_file": str(model.path.relative_to(sqlmodels.PROJECT_ROOT)), "materialized": model.materialized},
    )
    def _build(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        with warehouse.open() as con:
            res = sqlmodels.build_model(con, project, model.name)
            if res.status != "ok":
                raise dg.Failure(description=res.error)
            cur = con.execute(f'SELECT * FROM "{model.name}" LIMIT 10')
            cols = [d[0] for d in cur.description]
            preview = cur.fetchall()
            key_result = extra_metadata(model.name, con)
        meta = {"build_seconds": round(res.seconds, 3), "preview": dg.MetadataValue.md(markdown_table(cols, preview)), **key_result}
        if res.rows is not None:
            meta["dagster/row_count"] = res.rows
        return dg.MaterializeResult(metadata=meta)

    return _build


def model_assets() -> list[dg.AssetsDefinition]:
    project = sqlmodels.load_project()
    return [_model_asset(project, project.models[n]) for n in project.order]
