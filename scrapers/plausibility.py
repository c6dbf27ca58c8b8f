"""Plausibility gates: what a price may be before anything is stored.

``BOUNDS`` is the one table of plausible prices per component and unit (documented in
docs/sources.md, which a test keeps in step).  A GPU or instance price is judged per GPU
when the SKU says how many GPUs it bundles (``gpu_count >= 1``), else per instance; a ``gpu``
component is per GPU by definition (``PriceRecord``), whatever its ``gpu_count``.
Amounts are in the record's currency: the bounds are wide (a factor of ~1000 around real
prices) so USD, EUR and GBP share them; a record in any other currency has no bounds and
is implausible.  What they catch are unit and scale errors: a price per hour read as per
second, cents read as dollars, a ×1000 page, 1e15.

``screen(source, records)`` applies them:

* an amount of exactly zero means "not offered" or "free" (a GPU not sold in one cloud, a
  free model): skipped and counted, never stored, never a failure;
* on a provider's own page or API, one negative or out-of-bounds price fails the whole
  capture (``ParseError`` naming the price): nothing of it is applied;
* in a catalog (``Source.catalog``: thousands of models from many vendors), a negative
  (OpenRouter's ``-1`` sentinel) or out-of-bounds entry is dropped alone and counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from scrapers.base import ParseError, PriceRecord, Source

D = Decimal

# (component, unit) -> (lowest, highest) plausible amount, inclusive; per GPU where the record has a gpu_count.
BOUNDS: dict[tuple[str, str], tuple[Decimal, Decimal]] = {
    ("gpu", "second"): (D("0.000005"), D("0.015")),
    ("gpu", "hour"): (D("0.02"), D("50")),
    ("gpu", "month"): (D("10"), D("36500")),
    ("instance", "second"): (D("0.0000015"), D("0.015")),
    ("instance", "hour"): (D("0.005"), D("50")),
    ("instance", "month"): (D("3"), D("36500")),
    ("cpu", "second"): (D("0.0000003"), D("0.0006")),
    ("cpu", "hour"): (D("0.001"), D("2")),
    ("memory", "second"): (D("0.00000003"), D("0.00015")),
    ("memory", "hour"): (D("0.0001"), D("0.5")),
    ("input_token", "1M_tokens"): (D("0.0005"), D("2000")),
    ("output_token", "1M_tokens"): (D("0.0005"), D("2000")),
    ("cached_input_token", "1M_tokens"): (D("0.0005"), D("2000")),
    ("cache_write_token", "1M_tokens"): (D("0.0005"), D("2000")),
    ("input_token", "token"): (D("0.0000000005"), D("0.002")),
    ("output_token", "token"): (D("0.0000000005"), D("0.002")),
    ("cached_input_token", "token"): (D("0.0000000005"), D("0.002")),
    ("cache_write_token", "token"): (D("0.0000000005"), D("0.002")),
    ("setup_fee", "month"): (D("1"), D("20000")),  # one-off, stored with unit month
}
# An instance without a GPU count (a CPU machine, or a multi-GPU node priced whole) may cost up to this many
# times the per-GPU ceiling: a 16-accelerator node at the top of the range.
WHOLE_INSTANCE_FACTOR = 16
CURRENCIES = ("USD", "EUR", "GBP")


def check(r: PriceRecord) -> str | None:
    """Why ``r`` is implausible, or None.  Zero is not judged here (see ``screen``)."""
    where = f"{r.sku} {r.component}{f' {r.tier}' if r.tier else ''}{f' {r.region}' if r.region else ''}"
    if not r.amount.is_finite():
        return f"{where}: {r.amount} is not a finite price"
    if r.amount < 0:
        return f"{where}: negative price {r.amount} {r.currency}/{r.unit}"
    if r.currency not in CURRENCIES:
        return f"{where}: no plausibility bounds for currency {r.currency}"
    bounds = BOUNDS.get((r.component, r.unit))
    if bounds is None:
        return f"{where}: no plausibility bounds for {r.component} per {r.unit}"
    lo, hi = bounds
    amount, per = r.amount, ""
    if r.component == "instance" and r.gpu_count and r.gpu_count >= 1:  # a "gpu" price is already per GPU
        amount, per = r.amount / r.gpu_count, " per GPU"
    elif r.component == "instance":
        hi = hi * WHOLE_INSTANCE_FACTOR
    if not lo <= amount <= hi:
        shown = f"{amount.normalize():f}" if abs(amount) < 10**9 else f"{amount.normalize():E}"
        return f"{where}: {shown} {r.currency}/{r.unit}{per} is outside the plausible {lo:f}..{hi:f}"
    return None


@dataclass
class Screened:
    keep: list[PriceRecord] = field(default_factory=list)
    zeros: int = 0  # "not offered" / "free", skipped
    implausible: list[str] = field(default_factory=list)  # catalogs only: dropped entries, with the reason


def screen(source: Source, records: list[PriceRecord]) -> Screened:
    """Apply the gates.  Raises ParseError (naming the price) for a provider's implausible capture."""
    out = Screened()
    bad: list[str] = []
    for r in records:
        if r.amount == 0:
            out.zeros += 1
            continue
        reason = check(r)
        if reason is None:
            out.keep.append(r)
        elif source.catalog:
            out.implausible.append(reason)
        else:
            bad.append(reason)
    if bad:
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise ParseError(source.source_id, f"implausible price, capture refused: {bad[0]}{more}")
    return out
