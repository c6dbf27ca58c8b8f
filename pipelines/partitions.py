"""The daily partitions every spendwatch asset shares: one per UK calendar day."""

import dagster as dg

DAILY_START = "2026-09-01"
TIMEZONE = "Europe/London"
POOL = "duckdb_writer"  # one writer at a time (dagster.yaml sets the pool limit to 1)

daily_partitions = dg.DailyPartitionsDefinition(start_date=DAILY_START, timezone=TIMEZONE)

HTTP_RETRY = dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)


def partition_day(context: dg.AssetExecutionContext):
    """The partition's day, from its time window (context.partition_key raises in single-run backfills)."""
    window = context.partition_time_window
    return window.start.date()
