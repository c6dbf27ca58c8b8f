"""Cerebrium: what a serverless container costs per second, GPU, vCPU and memory billed apart.

Cerebrium bills GPU time per second for each GPU type, CPU per vCPU-second and memory per
GB-second, only while code runs (cold starts are not billed); persistent storage is per
GB-month.  ``https://www.cerebrium.ai/pricing`` (a Framer site) lists each rate as a label
followed by a price token: "H100" then "$0.000944 /s", "CPU Only" then "$0.00000655 /vCPU/s",
"Memory" then "$0.00000222 /GB/s".  Framer markup (class names, nesting, and duplicated
breakpoint variants) changes freely, so the parser reads only the order of the page's text:
a price token, and the label before it.  The amount and its unit may sit in separate
elements ("$0.000944" <span>/s</span>).
"""

from __future__ import annotations

import re
from decimal import Decimal

from bs4 import BeautifulSoup

from scrapers.base import PriceRecord, Request, Source, to_decimal
from scrapers.gpus import try_normalise_gpu

PRICING_URL = "https://www.cerebrium.ai/pricing"

_AMOUNT = r"\$\s*(?P<amount>-?[0-9]*\.?[0-9]+)"
_UNIT = r"/\s*(?P<unit>s|sec|second|hr|h|hour|vCPU\s*/\s*s|GB\s*/\s*s|GB\s*/\s*mo)"
_PRICE = re.compile(rf"^{_AMOUNT}\s*{_UNIT}$", re.IGNORECASE)
_AMOUNT_ONLY = re.compile(rf"^{_AMOUNT}$")
_UNIT_ONLY = re.compile(rf"^{_UNIT}$", re.IGNORECASE)
_LABEL_WINDOW = 3
_MAX = {"gpu": Decimal("0.05"), "cpu": Decimal("0.001"), "memory": Decimal("0.001")}


def _tokens(soup: BeautifulSoup) -> list[str]:
    """The page's visible text in document order, an amount and its split-off unit joined."""
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    raw = [" ".join(s.split()) for s in soup.stripped_strings]
    out: list[str] = []
    for s in raw:
        if out and _UNIT_ONLY.match(s) and _AMOUNT_ONLY.match(out[-1]):
            out[-1] = f"{out[-1]} {s}"
        else:
            out.append(s)
    return out


class CerebriumSource(Source):
    """Cerebrium per-second GPU, per-vCPU-second and per-GB-second memory prices."""

    source_id = "cerebrium"
    provider = "cerebrium"
    kind = "serverless_gpu"
    extension = "html"
    expected_gpu_models = ("H100-80GB-SXM", "H200-141GB", "A100-80GB", "L40S-48GB", "A10-24GB")

    def requests(self) -> list[Request]:
        return [Request(PRICING_URL, headers={"Accept": "text/html"})]

    def parse(self, payload: bytes) -> list[PriceRecord]:
        tokens = _tokens(self.load_html(payload))
        if not tokens:
            raise self.fail("the pricing page has no text")

        found: dict[tuple[str, str], PriceRecord] = {}
        last_price = -1
        for i, token in enumerate(tokens):
            m = _PRICE.match(token)
            if not m:
                continue
            window = tokens[last_price + 1 : i]
            last_price = i
            unit = re.sub(r"\s+", "", m.group("unit")).lower()
            if unit in ("hr", "h", "hour"):
                raise self.fail(f"{token!r} is an hourly price; the page should list per-second rates")
            if unit == "gb/mo":
                continue  # persistent storage, not a compute rate
            component = {"vcpu/s": "cpu", "gb/s": "memory"}.get(unit, "gpu")
            amount = to_decimal(self.source_id, m.group("amount"), f"price {token!r}")
            if amount > _MAX[component]:
                raise self.fail(f"{token!r} is implausible per second for {component}")
            record = self._record(component, amount, window, token)
            key = (record.component, record.sku)
            if key in found:
                if found[key].amount != record.amount:
                    raise self.fail(f"{record.sku!r} is listed at two prices: {found[key].amount} and {record.amount} per second")
                continue  # Framer repeats content for each breakpoint
            found[key] = record

        records = list(found.values())
        for component in ("gpu", "cpu", "memory"):
            if not any(r.component == component for r in records):
                raise self.fail(f"no per-second {component} price found (page layout changed?)")
        missing = [g for g in self.expected_gpu_models if g not in {r.gpu_model for r in records}]
        if missing:
            raise self.fail(f"expected GPU classes missing from the compute prices: {', '.join(missing)}")
        return records

    def _record(self, component: str, amount: Decimal, window: list[str], token: str) -> PriceRecord:
        """Build the record for one price token from the label text just before it."""
        if component == "gpu":
            # Only the few short texts right before the price can be its label: loose text
            # further up ("Get 4 GPUs") could otherwise pass for a GPU name.
            near = [t for t in window[-_LABEL_WINDOW:] if len(t) <= 40]
            label = next((t for t in reversed(near) if try_normalise_gpu(t)), None)
            if label is None:
                raise self.fail(f"price {token!r} has no recognisable GPU label before it (saw {window[-3:]!r})")
            return self.record(
                sku=label,
                component="gpu",
                amount=amount,
                currency="USD",
                unit="second",
                gpu_model=try_normalise_gpu(label),
                gpu_count=1,
                tier="on_demand",
                note="per GPU-second while code runs; cold starts not billed",
            )
        if component == "cpu":
            return self.record(
                sku="vcpu", component="cpu", amount=amount, currency="USD", unit="second",
                tier="on_demand", note="per vCPU-second",
            )
        return self.record(
            sku="memory-gb", component="memory", amount=amount, currency="USD", unit="second",
            tier="on_demand", note="per GB of memory per second",
        )


SOURCE = CerebriumSource()
