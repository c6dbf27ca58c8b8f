"""Serverless GPU exports of the sample organisation: RunPod (hourly endpoint billing, JSON) and Modal (billing report CSV)."""

from __future__ import annotations

import csv
import io
import json
import random
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from sample_org.common import (
    BASE62, Ledger, MODAL_CPU_CORES_PER_GPU, MODAL_CPU_CORE_PER_S, MODAL_H100_PER_S, MODAL_MEM_GIB_PER_GPU,
    MODAL_MEM_GIB_PER_S, PERIOD_END, PERIOD_START, RUNPOD_4090_FLEX_PER_S, RUNPOD_A5000_FLEX_PER_S,
    RUNPOD_DOUBLE_BILLED_DAY, RUNPOD_DOUBLE_BILLED_HOURS, UNALLOCATED, days, json_money, opaque_id, plain, q,
    rfc3339, weekday_factor,
)


# =======================================================================================
# RunPod Serverless: GET https://rest.runpod.io/v1/billing/endpoints?bucketSize=hour
# =======================================================================================

# Share of the day's traffic per UTC hour for the vision detector (EU/US office hours).
VISION_HOURLY_PROFILE = (
    0.40, 0.32, 0.28, 0.26, 0.28, 0.36, 0.55, 0.85, 1.20, 1.45, 1.60, 1.70,
    1.72, 1.78, 1.80, 1.80, 1.72, 1.55, 1.30, 1.10, 0.92, 0.75, 0.60, 0.48,
)  # fmt: skip
VISION_MEAN_SECONDS_PER_HOUR = 2950  # ~19 GPU-hours a day


def runpod_records(rng: random.Random, ledger: Ledger) -> list[dict[str, Any]]:
    """Hourly serverless billing of ep-vision-detector (team vision) plus an unmapped endpoint."""
    profile_mean = sum(VISION_HOURLY_PROFILE) / len(VISION_HOURLY_PROFILE)
    records: list[dict[str, Any]] = []
    for d in days():
        for hour in range(24):
            share = VISION_HOURLY_PROFILE[hour] / profile_mean
            busy = 1.2 if d == RUNPOD_DOUBLE_BILLED_DAY else 1.0  # a release day with extra traffic
            seconds = round(VISION_MEAN_SECONDS_PER_HOUR * share * busy * weekday_factor(d, 0.85) * rng.uniform(0.9, 1.1))
            seconds = max(60, min(seconds, 7200))  # at most two workers busy for the hour
            charge = Decimal(seconds) * RUNPOD_4090_FLEX_PER_S
            if d == RUNPOD_DOUBLE_BILLED_DAY and hour in RUNPOD_DOUBLE_BILLED_HOURS:
                charge *= 2  # the overcharge: billed twice for the same worker time
            ledger.add(d, "vision", "runpod", "variable", charge)
            records.append(_runpod_record(charge, "ep-vision-detector", "NVIDIA GeForce RTX 4090", d, hour, seconds))
    # A playground endpoint nobody mapped to a team: a handful of short sessions.
    playground_days = sorted(rng.sample(list(days(date(2026, 9, 1), date(2026, 11, 1))), 9))
    for d in playground_days:
        hour = rng.randrange(9, 19)
        seconds = rng.randrange(600, 2400)
        charge = Decimal(seconds) * RUNPOD_A5000_FLEX_PER_S
        ledger.add(d, UNALLOCATED, "runpod", "variable", charge)
        records.append(_runpod_record(charge, "ep-sd-playground", "NVIDIA RTX A5000", d, hour, seconds))
    records.sort(key=lambda r: (r["time"], r["endpointId"]))
    return records


def _runpod_record(charge: Decimal, endpoint: str, gpu: str, d: date, hour: int, seconds: int) -> dict[str, Any]:
    """One billing record in the shape of the RunPod REST API (keys in its documented order)."""
    return {
        "amount": json_money(charge),
        "diskSpaceBilledGb": 0,
        "endpointId": endpoint,
        "gpuTypeId": gpu,
        "podId": None,
        "time": rfc3339(d, hour),
        "timeBilledMs": seconds * 1000,
    }


def write_runpod(path: Path, records: list[dict[str, Any]]) -> None:
    """Write the JSON array the API returns, one record per line for readable diffs."""
    lines = ",\n".join("  " + json.dumps(r, separators=(", ", ": ")) for r in records)
    path.write_text("[\n" + lines + "\n]\n", encoding="utf-8")


# =======================================================================================
# Modal: modal billing report --start 2026-09-01 --end 2026-12-01 -r h --csv -t team,project,gpu
# =======================================================================================

MODAL_APPS = {
    "lora-finetune": {"project": "lora-sweeps"},
    "batch-eval": {"project": "evals"},
}


def modal_rows(rng: random.Random, ledger: Ledger) -> tuple[list[list[str]], Decimal]:
    """Bursty H100 jobs of team research: a few multi-hour bursts a week, hourly rows."""
    gpu_seconds: dict[tuple[str, date, int], int] = defaultdict(int)
    week_start = PERIOD_START - timedelta(days=PERIOD_START.weekday())
    while week_start < PERIOD_END:
        for _ in range(rng.choice((2, 2, 3, 3, 4))):
            d = week_start + timedelta(days=rng.randrange(0, 5))
            if not PERIOD_START <= d < PERIOD_END:
                continue
            app = rng.choice(("lora-finetune", "lora-finetune", "batch-eval"))
            gpus = 2 if rng.random() < 0.25 else 1
            start = datetime(d.year, d.month, d.day, rng.randrange(8, 17), rng.randrange(0, 60), tzinfo=timezone.utc)
            end = start + timedelta(minutes=rng.randrange(120, 420))
            _spread_hours(gpu_seconds, app, start, end, gpus)
        week_start += timedelta(days=7)

    rows: list[list[str]] = []
    total_gpu_seconds = Decimal(0)
    per_gpu_second = MODAL_H100_PER_S + MODAL_CPU_CORES_PER_GPU * MODAL_CPU_CORE_PER_S + MODAL_MEM_GIB_PER_GPU * MODAL_MEM_GIB_PER_S
    for (app, d, hour), seconds in sorted(gpu_seconds.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[0][0])):
        cost = q(Decimal(seconds) * per_gpu_second)
        total_gpu_seconds += seconds
        ledger.add(d, "research", "modal", "variable", cost)
        tags = {"team": "research", "project": MODAL_APPS[app]["project"], "gpu": "H100"}
        rows.append([
            opaque_id("ap-", f"modal-app-{app}", 22, BASE62),
            app,
            "research",
            f"{d.isoformat()}T{hour:02d}:00:00",
            plain(cost),
            json.dumps(tags),
        ])
    return rows, total_gpu_seconds


def _spread_hours(acc: dict[tuple[str, date, int], int], app: str, start: datetime, end: datetime, gpus: int) -> None:
    """Split a GPU burst into the hourly intervals the billing report is cut into."""
    cursor = start
    while cursor < end:
        hour_end = cursor.replace(minute=0, second=0) + timedelta(hours=1)
        chunk_end = min(hour_end, end)
        key = (app, cursor.date(), cursor.hour)
        if PERIOD_START <= cursor.date() < PERIOD_END:
            acc[key] += int((chunk_end - cursor).total_seconds()) * gpus
        cursor = chunk_end


def write_modal(path: Path, rows: list[list[str]]) -> None:
    """Write the CSV the Modal CLI prints (its display column names, then one row per app-hour)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["Object ID", "Description", "Environment", "Interval Start", "Cost", "Tags"])
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
