"""The daily job and its schedule, and the executor their runs use."""

import dagster as dg

from pipelines.partitions import daily_partitions

# No executor of their own: build_definitions() gives every job the executor for the warehouse (executor_for).
daily_spend_job = dg.define_asset_job(
    "daily_spend_job",
    selection=dg.AssetSelection.all(),
    partitions_def=daily_partitions,
    description="Refresh prices and FX, ingest every export, rebuild the models and summarise each team's spend.",
)

ingest_exports_job = dg.define_asset_job(
    "ingest_exports_job",
    selection=dg.AssetSelection.assets("billing_line_items").downstream(),
    partitions_def=daily_partitions,
    description="Ingest newly delivered export files and rebuild what depends on them.",
)

# 06:00 Europe/London every day, for the previous (complete) day's partition.
daily_spend_schedule = dg.build_schedule_from_partitioned_job(
    daily_spend_job, name="daily_spend_schedule", hour_of_day=6, minute_of_hour=0
)


def executor_for(concurrent_writers: bool) -> dg.ExecutorDefinition:
    """In process on a DuckDB file (one writer: its steps run one at a time anyway); on a DuckLake, a process per
    step, so the per-source ingest steps run at once (up to ``max_concurrent``, the number of CPUs by default,
    set per run under ``execution: config: max_concurrent``)."""
    return dg.multiprocess_executor if concurrent_writers else dg.in_process_executor
