"""The daily job and its schedule."""

import dagster as dg

from pipelines.partitions import daily_partitions

daily_spend_job = dg.define_asset_job(
    "daily_spend_job",
    selection=dg.AssetSelection.all(),
    partitions_def=daily_partitions,
    executor_def=dg.in_process_executor,
    description="Refresh prices and FX, ingest every export, rebuild the models and summarise each team's spend.",
)

ingest_exports_job = dg.define_asset_job(
    "ingest_exports_job",
    selection=dg.AssetSelection.assets("billing_line_items").downstream(),
    partitions_def=daily_partitions,
    executor_def=dg.in_process_executor,
    description="Ingest newly delivered export files and rebuild what depends on them.",
)

# 06:00 Europe/London every day, for the previous (complete) day's partition.
daily_spend_schedule = dg.build_schedule_from_partitioned_job(
    daily_spend_job, name="daily_spend_schedule", hour_of_day=6, minute_of_hour=0
)
