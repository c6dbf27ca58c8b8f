"""Running the Dagster daily job in-process, as ``spendwatch run`` and ``make run`` do."""

from __future__ import annotations

import logging
import os
from datetime import date
from pathlib import Path

from spendwatch.core.paths import PROJECT_ROOT


def _instance():
    import dagster as dg

    home = os.environ.get("DAGSTER_HOME")
    if home:
        Path(home).mkdir(parents=True, exist_ok=True)
        src = PROJECT_ROOT / "dagster.yaml"
        dst = Path(home) / "dagster.yaml"
        if src.exists() and not dst.exists():
            dst.write_bytes(src.read_bytes())
        return dg.DagsterInstance.get()
    # An in-memory instance keeps no metadata for the UI: skip drawing metadata charts.
    os.environ.setdefault("SPENDWATCH_METADATA_CHARTS", "0")
    return dg.DagsterInstance.ephemeral()


class _SafeFormatter(logging.Formatter):
    """What reaches the terminal from Dagster's log: secrets redacted, control characters and bidi overrides removed."""

    def format(self, record: logging.LogRecord) -> str:
        from spendwatch.core.redact import redact
        from spendwatch.render import one_line

        return one_line(redact(super().format(record)))


def safe_console_logger():
    """Dagster's console logger, each line made safe for a terminal (a file name or an error body can carry escapes)."""
    import sys

    import dagster as dg

    @dg.logger(
        {"log_level": dg.Field(str, is_required=False, default_value="INFO"),
         "name": dg.Field(str, is_required=False, default_value="dagster")},
        description="The console log, redacted and stripped of control characters.",
    )
    def console(init_context):
        logger = logging.Logger(init_context.logger_config["name"], level=init_context.logger_config["log_level"])
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_SafeFormatter("%(asctime)s - %(name)s - %(levelname)s - %(message)s"))
        logger.addHandler(handler)
        return logger

    return console


def run_daily(day: date, instance=None) -> tuple[bool, list[str]]:
    """Execute daily_spend_job for one day's partition; return success and a short report."""
    import dagster as dg

    from pipelines.definitions import build_definitions
    from pipelines.partitions import daily_partitions

    key = day.isoformat()
    keys = daily_partitions.get_partition_keys()
    if key not in keys:
        first = keys[0] if keys else "?"
        from spendwatch.core.errors import UsageError

        raise UsageError(f"--date {key}: outside the daily partitions ({first} .. {keys[-1] if keys else '?'})")
    job = build_definitions().resolve_job_def("daily_spend_job").with_logger_defs({"console": safe_console_logger()})
    logging.getLogger("dagster").setLevel(logging.WARNING)
    inst = instance or _instance()
    result = job.execute_in_process(
        partition_key=key,
        instance=inst,
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
    )
    lines = [f"daily_spend_job {key}: {'succeeded' if result.success else 'FAILED'} (run {result.run_id[:8]})"]
    for ev in result.all_events:
        if ev.event_type_value == "ASSET_MATERIALIZATION":
            mat = ev.event_specific_data.materialization
            meta = mat.metadata
            name = mat.asset_key.to_user_string()
            if name == "price_history" and "summary" in meta:
                lines.append(f"  prices: {meta['summary'].value}")
            if name == "billing_line_items":
                lines.append(f"  ingest: {meta['files_ingested'].value} new file(s), {meta['rows_loaded'].value} rows loaded, {meta['rows_rejected'].value} rejected")
        if ev.event_type_value == "STEP_FAILURE":
            err = ev.event_specific_data.error
            lines.append(f"  step {ev.step_key} failed: {err.message.strip().splitlines()[0] if err else ''}")
    from spendwatch.core.redact import redact
    from spendwatch.render import one_line

    return result.success, [one_line(redact(line)) for line in lines]  # step errors quote untrusted text
