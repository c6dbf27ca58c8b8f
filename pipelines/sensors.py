"""Sensors: new export files dropped in the inbox trigger ingestion."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import dagster as dg

from pipelines.jobs import ingest_exports_job
from pipelines.partitions import daily_partitions
from pipelines.resources import SpendwatchSettings


def _hash(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def scan_inbox(inbox: Path, cursor: str | None) -> tuple[list[tuple[Path, str]], str]:
    """New or changed files since the cursor (path -> size:mtime:hash), and the new cursor."""
    seen: dict[str, str] = json.loads(cursor) if cursor else {}
    new: list[tuple[Path, str]] = []
    if inbox.is_dir():
        for p in sorted(inbox.rglob("*")):
            if not p.is_file() or p.name.startswith(".") or p.name.lower().startswith("readme"):
                continue
            st = p.stat()
            sig = f"{st.st_size}:{st.st_mtime_ns}"
            prev = seen.get(str(p))
            if prev and prev.startswith(sig + ":"):
                continue
            digest = _hash(p)
            if prev and prev.endswith(":" + digest):
                seen[str(p)] = f"{sig}:{digest}"
                continue
            seen[str(p)] = f"{sig}:{digest}"
            new.append((p, digest))
    return new, json.dumps(seen, sort_keys=True)


@dg.sensor(job=ingest_exports_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.STOPPED)
def exports_inbox_sensor(context: dg.SensorEvaluationContext, settings: SpendwatchSettings):
    """Ingest each new file that lands in exports/inbox/, once per content hash."""
    inbox = settings.load().inbox()
    new, cursor = scan_inbox(inbox, context.cursor)
    partition = daily_partitions.get_last_partition_key()
    for path, digest in new:
        yield dg.RunRequest(
            run_key=digest,
            partition_key=partition,
            run_config={"ops": {"billing_line_items": {"config": {"paths": [str(path)]}}}},
            tags={"spendwatch/file": path.name},
        )
    context.update_cursor(cursor)
    if not new:
        yield dg.SkipReason(f"no new files in {inbox}")
