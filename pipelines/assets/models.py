"""One Dagster asset per SQL model in dbt_like_sql/, with deps derived from ref() and source()."""

import dagster as dg

from pipelines.model_metadata import extra_metadata
from pipelines.partitions import POOL, daily_partitions
from pipelines.resources import WarehouseResource
from spendwatch.render import markdown_table
from warehouse import model_state
from warehouse import models as sqlmodels

# Which asset writes each raw table a model may read with source().
SOURCE_ASSETS = {
    ("raw", "billing_line_items"): "billing_line_items",
    ("raw", "ingested_files"): "billing_line_items",
    ("raw", "ingest_rejects"): "billing_line_items",
    ("raw", "price_history"): "price_history",
    ("raw", "price_fetches"): "price_history",
    ("raw", "price_sources"): "price_history",
    ("raw", "price_holds"): "price_history",
    ("raw", "fx_rates"): "fx_rates",
    ("config", "settings"): "org_config",
    ("config", "teams"): "org_config",
    ("config", "dedicated_servers"): "org_config",
    ("config", "throughput"): "org_config",
    ("config", "decision_settings"): "org_config",
    ("config", "team_decisions"): "org_config",
    ("config", "selfhost_equivalents"): "org_config",
    ("config", "open_weight_models"): "org_config",
    ("config", "attribution_rules"): "org_config",
    ("config", "anomaly_settings"): "org_config",
    ("raw", "alerts"): "alerts",
}


def _deps(model: sqlmodels.Model) -> list[dg.AssetKey]:
    deps = [dg.AssetKey(r) for r in model.refs]
    for src in model.sources:
        if src not in SOURCE_ASSETS:
            raise sqlmodels.ModelError(f"{model.path}: source{src} is not written by any asset (add it to SOURCE_ASSETS)")
        deps.append(dg.AssetKey(SOURCE_ASSETS[src]))
    return list(dict.fromkeys(deps))


def _metadata(con, model: sqlmodels.Model, res: sqlmodels.BuildResult) -> dict:
    cur = con.execute(f'SELECT * FROM "{model.name}" LIMIT 10')
    cols = [d[0] for d in cur.description]
    preview = cur.fetchall()
    meta = {
        "build_seconds": round(res.seconds, 3),
        **({"months_rebuilt": ", ".join(f"{m:%Y-%m}" for m in res.months) or "none"} if res.months is not None else {}),
        "preview": dg.MetadataValue.md(markdown_table(cols, preview)),
        **extra_metadata(model.name, con),
    }
    if res.rows is not None:
        meta["dagster/row_count"] = res.rows
    return meta


def model_assets() -> list[dg.AssetsDefinition]:
    """Every SQL model as its own asset (key, deps, description from the file), built by one step.

    One multi-asset keeps the daily run fast (one connection, one step instead of one per
    model) while each model stays a separate asset in the graph: materialising a subset
    builds just those models, in dependency order, each in its own transaction.
    """
    project = sqlmodels.load_project()
    specs = [
        dg.AssetSpec(
            key=name,
            description=project.models[name].description,
            deps=_deps(project.models[name]),
            group_name="models",
            kinds={"duckdb", "sql"},
            partitions_def=daily_partitions,
            metadata={
                "sql_file": str(project.models[name].path.relative_to(sqlmodels.PROJECT_ROOT)),
                "materialized": project.models[name].materialized,
            },
            skippable=True,
        )
        for name in project.order
    ]

    @dg.multi_asset(name="sql_models", specs=specs, can_subset=True, partitions_def=daily_partitions, pool=POOL)
    def sql_models(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
        selected = {k.to_user_string() for k in context.selected_asset_keys}
        failed: dict[str, str] = {}
        built: list[sqlmodels.BuildResult] = []
        with warehouse.open() as con:
            for name in project.order:
                if name not in selected:
                    continue
                model = project.models[name]
                bad = [r for r in model.refs if r in failed]
                if bad:
                    failed[name] = f"skipped: upstream {', '.join(bad)} failed"
                    continue
                # Incremental models rebuild only the months new deliveries touched (warehouse/incremental.py).
                res = sqlmodels.build_model(con, project, name, incremental=True)
                if res.status != "ok":
                    failed[name] = res.error or "failed"
                    context.log.error(f"model {name} failed, its previous version is kept: {res.error}")
                    continue
                built.append(res)
                yield dg.MaterializeResult(asset_key=name, metadata=_metadata(con, model, res))
            model_state.stamp(con, project, built)  # so the CLI's ensure_models_built knows they are current
        if failed:
            raise dg.Failure(
                description="; ".join(f"{k}: {v}" for k, v in failed.items()),
                metadata={"failed_models": ", ".join(failed)},
            )

    return [sql_models]
