"""Running the Dagster daily job, as ``spendwatch run`` and ``make run`` do.

On a DuckDB file (the default) the job runs in this process, one step at a time: the file has one writer.
On a DuckLake the job has the multiprocess executor (pipelines/jobs.py ``executor_for``) and runs with
``dg.execute_job``: a process per step, so the per-source ingest steps run at once (as many as the machine has
CPUs, or Dagster's DAGSTER_MULTIPROCESS_EXECUTOR_MAX_CONCURRENT).  Each step process rebuilds
the job from ``daily_job`` and inherits this process's environment, where ``--offline``, ``--warehouse`` and
``--config`` already are (spendwatch/cli/common.py, spendwatch/cli/run.py).
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import date
from pathlib import Path

from spendwatch.core.paths import PROJECT_ROOT


def _copy_settings(home: Path) -> None:
    """The project's dagster.yaml (the one-writer pool's limit) into an instance folder that has none."""
    src = PROJECT_ROOT / "dagster.yaml"
    dst = home / "dagster.yaml"
    if src.exists() and not dst.exists():
        dst.write_bytes(src.read_bytes())


@contextmanager
def _instance(persistent: bool) -> Iterator:
    """DAGSTER_HOME's instance (with the project's dagster.yaml copied in), else a throwaway one: in memory when
    the job runs in this process, in a temporary folder (removed afterwards) when its steps run in processes of
    their own, which must reach the same instance."""
    import dagster as dg

    home = os.environ.get("DAGSTER_HOME")
    if home:
        Path(home).mkdir(parents=True, exist_ok=True)
        _copy_settings(Path(home))
        yield dg.DagsterInstance.get()
        return
    # A throwaway instance keeps no metadata for the UI: skip drawing metadata charts (step processes inherit it).
    os.environ.setdefault("SPENDWATCH_METADATA_CHARTS", "0")
    if not persistent:
        yield dg.DagsterInstance.ephemeral()
        return
    with tempfile.TemporaryDirectory(prefix="spendwatch-dagster-") as tmp:
        _copy_settings(Path(tmp))
        # Each step process logs its start through Dagster's default console logger, at the instance's
        # python_log_level (DEBUG unless set): WARNING, as the run's own console log.  Below that, messages that
        # are not Dagster events are not stored either: nobody reads this instance's log afterwards.
        with dg.DagsterInstance.local_temp(tmp, overrides={"python_logs": {"python_log_level": "WARNING"}}) as inst:
            yield inst


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


def daily_job():
    """daily_spend_job as build_definitions() makes it for the environment's warehouse, with the safe console log.

    Module level, so that ``dg.reconstructable`` can rebuild it in each step process on a lake.
    """
    from pipelines.definitions import build_definitions

    return build_definitions().resolve_job_def("daily_spend_job").with_logger_defs({"console": safe_console_logger()})


RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def run_daily(day: date, instance=None) -> tuple[bool, list[str]]:
    """Execute daily_spend_job for one day's partition; return success and a short report.

    In this process on a DuckDB file; a process per step on a DuckLake (then ``instance``, if given, must be a
    persistent one).
    """
    import dagster as dg

    from pipelines.partitions import daily_partitions

    key = day.isoformat()
    keys = daily_partitions.get_partition_keys()
    if key not in keys:
        first = keys[0] if keys else "?"
        from spendwatch.core.errors import UsageError

        raise UsageError(f"--date {key}: outside the daily partitions ({first} .. {keys[-1] if keys else '?'})")
    job = daily_job()
    # build_definitions chose the executor from the warehouse (executor_for): in process unless it is a DuckLake.
    in_process = job.executor_def.name == dg.in_process_executor.name
    logging.getLogger("dagster").setLevel(logging.WARNING)
    # A given instance is the caller's to close.
    with _instance(persistent=not in_process) if instance is None else nullcontext(instance) as inst:
        if in_process:
            result = job.execute_in_process(partition_key=key, instance=inst, raise_on_error=False,
                                            run_config=RUN_CONFIG)
        else:
            result = dg.execute_job(dg.reconstructable(daily_job), instance=inst, raise_on_error=False,
                                    tags={"dagster/partition": key}, run_config=RUN_CONFIG)
        return result.success, _report(key, result)


def _report(key: str, result) -> list[str]:
    """The run's outcome, the prices and ingest summaries and each failed step, one safe line each."""
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

    return [one_line(redact(line)) for line in lines]  # step errors quote untrusted text
