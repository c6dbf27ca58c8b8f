"""The contract every price source implements.

A source turns the bytes a provider publishes into normalised ``PriceRecord``s.
It knows how to fetch those bytes (URL, method, headers) and how to parse them,
and nothing about Dagster or the warehouse.  Parsers are strict: a page whose
layout changed raises ``ParseError`` naming the source and what was missing; it
never returns partial or zero prices.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal, get_args

ProductKind = Literal["serverless_gpu", "dedicated_gpu", "hosted_api", "fx", "catalog"]
Component = Literal[
    "gpu",
    "cpu",
    "memory",
    "instance",
    "input_token",
    "output_token",
    "cached_input_token",
    "cache_write_token",
    "request",
    "setup_fee",
]
Unit = Literal["second", "hour", "month", "token", "1M_tokens"]

PRODUCT_KINDS = ("serverless_gpu", "dedicated_gpu", "hosted_api")
COMPONENTS: tuple[str, ...] = get_args(Component)
UNITS: tuple[str, ...] = get_args(Unit)
# What a dedicated offer commits you to (``PriceRecord.billing``): metered by the hour, charged per
# month, or paid up front (``upfront_amount``: the smallest commitment, ``min_units`` over ``term_months``).
BILLINGS = ("hourly", "monthly", "upfront")
HOURS_PER_MONTH = Decimal("730.5")  # the average month (365.25 x 24 / 12), as prices_normalised uses


class ParseError(ValueError):
    """A source's payload did not have the structure its parser expects."""

    def __init__(self, source_id: str, reason: str):
        self.source_id = source_id
        self.reason = reason
        super().__init__(f"{source_id}: {reason}")


class SourceSkipped(Exception):
    """The source cannot run in this mode (e.g. it needs an API key that is not set)."""


@dataclass(frozen=True)
class PriceRecord:
    """One price, normalised.  ``amount`` is always a Decimal and always has a currency.

    ``component = "gpu"`` is the price of ONE GPU (``gpu_count`` says how many the SKU
    bundles, for information); ``"instance"`` is the price of the whole machine with
    ``gpu_count`` GPUs, so its per-GPU price is ``amount / gpu_count``.
    """

    provider: str  # lower-case provider id: runpod, modal, openai, ...
    source_id: str  # the stable id of the source that observed it
    product_kind: str  # serverless_gpu | dedicated_gpu | hosted_api
    sku: str  # the SKU or model id, as the provider names it
    component: str  # see COMPONENTS
    amount: Decimal
    currency: str  # ISO 4217, upper case
    unit: str  # see UNITS
    gpu_model: str | None = None  # normalised, e.g. H100-80GB-SXM (scrapers.gpus.normalise_gpu)
    gpu_count: int | None = None
    region: str | None = None
    tier: str | None = None  # on_demand, secure, community, spot, flex, active, batch, reserved_1m, ...
    note: str | None = None  # e.g. "excl. VAT"
    # What the offer commits you to (every dedicated_gpu price carries them; NULL elsewhere):
    term_months: Decimal | None = None  # minimum term in months, 0 for none (2 weeks = 0.46)
    billing: str | None = None  # see BILLINGS
    upfront_amount: Decimal | None = None  # paid before use, in ``currency``: the whole term, or a one-off fee
    min_units: int | None = None  # the smallest rentable unit in GPUs: 8 for an 8-GPU node, 1 for one GPU
    # Provenance, filled in by the fetcher (``with_provenance``), not by parsers.
    fetched_at: datetime | None = None
    source_url: str | None = None
    payload_sha256: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError(f"{self.source_id}/{self.sku}: amount must be Decimal, got {type(self.amount).__name__}")
        if self.component not in COMPONENTS:
            raise ValueError(f"{self.source_id}/{self.sku}: unknown component {self.component!r}")
        if self.unit not in UNITS:
            raise ValueError(f"{self.source_id}/{self.sku}: unknown unit {self.unit!r}")
        if len(self.currency) != 3 or not self.currency.isupper():
            raise ValueError(f"{self.source_id}/{self.sku}: currency must be ISO 4217 upper case, got {self.currency!r}")
        self._check_commitment()

    def _check_commitment(self) -> None:
        where = f"{self.source_id}/{self.sku}"
        if self.billing is not None and self.billing not in BILLINGS:
            raise ValueError(f"{where}: unknown billing {self.billing!r} (one of {', '.join(BILLINGS)})")
        if (self.billing == "upfront") != (self.upfront_amount is not None):
            raise ValueError(f"{where}: an upfront amount goes with billing 'upfront' and only with it")
        # The upfront amount follows the price (a negative price is the plausibility gates' to refuse).
        for name, least in (("term_months", Decimal(0)), ("upfront_amount", None)):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, Decimal) or not value.is_finite() or (least is not None and value < least)):
                raise ValueError(f"{where}: {name} must be a {'non-negative ' if least is not None else ''}Decimal, got {value!r}")
        if self.min_units is not None and (isinstance(self.min_units, bool) or not isinstance(self.min_units, int) or self.min_units < 1):
            raise ValueError(f"{where}: min_units must be a whole number of GPUs >= 1, got {self.min_units!r}")

    def with_provenance(self, fetched_at: datetime, source_url: str, payload_sha256: str) -> "PriceRecord":
        return dataclasses.replace(self, fetched_at=fetched_at, source_url=source_url, payload_sha256=payload_sha256)


@dataclass(frozen=True)
class Request:
    """One HTTP request a source needs.  Secrets go in headers and are never logged."""

    url: str
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict, repr=False)  # may hold API keys: never in repr
    json: dict | None = None


@dataclass
class FetchOutcome:
    """What one source's fetch gave (scrapers.fetch makes it; warehouse.prices stores it): plain data, no HTTP."""

    source_id: str
    status: str  # ok | failed | skipped | deferred
    mode: str  # live | local | snapshot | offline (| backfill, set by the caller)
    url: str | None = None
    payload: bytes | None = None
    payload_sha256: str | None = None
    extension: str = "json"
    records: list[PriceRecord] = field(default_factory=list)  # the records that passed the gates
    error: str | None = None
    attempts: int = 0
    seconds: float = 0.0
    zeros: int = 0  # prices of zero ("not offered", "free"): skipped, counted
    implausible: int = 0  # catalog entries outside the bounds (or negative): dropped, counted
    implausible_examples: list[str] = field(default_factory=list)
    captured_at: datetime | None = None  # when the payload was captured (see the scrapers.fetch docstring)
    capture_basis: str | None = None  # how captured_at is known
    catalog: bool = False  # the source is a cross-check catalog (gates drop entries; no suspect holds)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def dropped(self) -> int:
        return self.zeros + self.implausible


class Source:
    """Base class of a price source.

    Subclasses set ``source_id``, ``provider``, ``kind``, ``extension`` (of the
    recorded snapshot file, e.g. ``"html"``) and ``expected_skus`` and implement
    ``requests()`` and ``parse()``.  Sources with several requests receive the
    payloads in the same order; a snapshot holds one payload, so multi-request
    sources override ``combine()`` / ``split()``.
    """

    source_id: ClassVar[str]
    provider: ClassVar[str]
    kind: ClassVar[str]
    extension: ClassVar[str] = "json"
    # SKUs (or gpu_models) that must be present, or the parse is implausible.
    expected_gpu_models: ClassVar[tuple[str, ...]] = ()
    expected_skus: ClassVar[tuple[str, ...]] = ()
    discontinued: ClassVar[bool] = False
    # A cross-check catalog (OpenRouter, genai-prices): its records are compared with the
    # providers' own prices, never used to price usage.  ``provider`` on its records is the
    # model's vendor, and ``sku`` the vendor's own model id.
    catalog: ClassVar[bool] = False

    def requests(self) -> list[Request]:
        """The HTTP request(s) to fetch the payload.  A single request for most sources."""
        raise NotImplementedError

    def local_payload(self) -> bytes | None:
        """For offline sources (a catalog bundled in a package): the payload, with no HTTP."""
        return None

    def parse(self, payload: bytes) -> list[PriceRecord]:
        raise NotImplementedError

    # A source whose payload takes several requests (AWS's price list: an index, then one file per
    # region) defines ``async def assemble(self, get, url) -> bytes``: it builds the payload with
    # ``await get(url)`` (one GET with the fetch layer's retries, the body as bytes), starting at
    # ``url`` (its request's URL, or the override).  Sources without it are fetched with one request.
    assemble = None

    # --- helpers -----------------------------------------------------------
    def primary_url(self) -> str:
        return self.requests()[0].url

    def record(self, **kwargs) -> PriceRecord:
        kwargs.setdefault("provider", self.provider)
        kwargs.setdefault("source_id", self.source_id)
        kwargs.setdefault("product_kind", self.kind)
        return PriceRecord(**kwargs)

    def fail(self, reason: str) -> ParseError:
        return ParseError(self.source_id, reason)

    def load_html(self, payload: bytes, what: str = "the pricing page") -> Any:
        """The payload parsed as HTML (a BeautifulSoup tree), or a ParseError when it is empty."""
        if not payload.strip():
            raise self.fail(f"{what} is empty")
        from bs4 import BeautifulSoup

        return BeautifulSoup(payload, "lxml")

    def load_json(self, payload: bytes, what: str = "payload", exact: bool = False) -> Any:
        """The payload as JSON (numbers with a fraction as ``Decimal`` when ``exact``), or a ParseError naming it."""
        try:
            return json.loads(payload, parse_float=Decimal) if exact else json.loads(payload)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            raise self.fail(f"{what} is not JSON ({reason})") from None


def first_repeat(records: list[PriceRecord]) -> PriceRecord | None:
    """The first record whose (sku, component, tier) an earlier record already priced, or None."""
    seen: set[tuple[str, str, str | None]] = set()
    for r in records:
        key = (r.sku, r.component, r.tier)
        if key in seen:
            return r
        seen.add(key)
    return None


def term_upfront(hourly: Decimal, term_months: Decimal, units: int) -> Decimal:
    """What a term paid up front costs at an effective hourly rate: rate x 730.5 h x months x units, to the cent."""
    from decimal import ROUND_HALF_UP

    return (hourly * HOURS_PER_MONTH * term_months * units).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def sha256(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def to_decimal(source_id: str, text: str | int | float, what: str) -> Decimal:
    """Parse a price string such as ``"$0.00031"``, ``"1,234.50"`` or ``"€ 184.00"`` into a Decimal.

    Floats are converted through ``repr`` so ``0.1`` stays ``0.1``.
    """
    from decimal import InvalidOperation

    if isinstance(text, float):
        text = repr(text)
    cleaned = str(text).strip().replace(",", "")
    for sym in ("$", "£", "€", "US", "USD", "GBP", "EUR"):
        cleaned = cleaned.replace(sym, "")
    cleaned = cleaned.strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ParseError(source_id, f"{what}: {text!r} is not a number") from None
    if not value.is_finite():
        raise ParseError(source_id, f"{what}: {text!r} is not a finite number")
    return value
