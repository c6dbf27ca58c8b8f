"""The sample organisation's shared facts: period, seed, teams, list prices, the deliberate findings, and the ledger."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, ROUND_HALF_UP


SEED = 20260901
PERIOD_START = date(2026, 9, 1)
PERIOD_END = date(2026, 12, 1)  # exclusive
MONTHS: tuple[tuple[int, int], ...] = ((2026, 9), (2026, 10), (2026, 11))

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
