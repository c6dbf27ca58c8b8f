"""Modal: what a serverless container costs per second, GPU, CPU and memory billed separately.

``https://modal.com/pricing`` is server-rendered.  Each price is a "line item": a label
("Nvidia H100", "Physical core (2 vCPU equivalent)", "Memory") beside a price that the
page shows per second by default ("$0.001097 / sec", "$0.0000131 / core / sec",
"$0.00000222 / GiB / sec"; a toggle switches the view to per hour).  A container's bill is
the sum of its GPU, its CPU cores and its memory, each metered per second.

The listed rates are base rates: Modal multiplies them when a Function pins a region (and
for non-preemptible or Sandbox work).  If the page states such multipliers, the sentence is
copied into each record's ``note``; rates listed under a Sandbox / Notebook heading are
kept apart with ``tier="sandbox"``.
"""

from __future__ import annotations

import re
from decimal import Decimal

from bs4 import BeautifulSoup, Tag

from scrapers.base import PriceRecord, Request, Source, to_decimal
from scrapers.gpus import normalise_gpu

PRICING_URL = "https://modal.com/pricing"

_PRICE = re.compile(r"^\$\s*(?P<amount>-?[0-9][0-9,]*(?:\.[0-9]+)?)\s*/\s*(?P<per>.+)$")
_PER_SECOND = {"sec", "second", "s"}
_PER_HOUR = {"h", "hr", "hour"}
_PER_MONTH = {"mo", "month"}  # storage, not a compute rate
_COMPONENT = {"": "gpu", "core": "cpu", "gib": "memory"}
_MULTIPLIER = re.compile(r"\d+(?:\.\d+)?\s*[x×]", re.IGNORECASE)
# Upper bounds of a plausible per-second rate; above them the page shows another unit.
_MAX = {"gpu": Decimal("0.05"), "cpu": Decimal("0.001"), "memory": Decimal("0.001")}
_SKU = {"cpu": "cpu-core", "memory": "memory-gib"}


class ModalSource(Source):
    """Modal per-second GPU, CPU-core and memory prices from its server-rendered pricing page."""

    source_id = "modal"
    provider = "modal"
    kind = "serverless_gpu"
    extension = "html"
    expected_gpu_models = (
        "H100-80GB-SXM",
        "H200-141GB",
        "B200-180GB",
        "A100-80GB",
        "L40S-48GB",
        "L4-24GB",
    )

    def requests(self) -> list[Request]:
        return [Request(PRICING_URL, headers={"Accept": "text/html"})]

    def parse(self, payload: bytes) -> list[PriceRecord]:
        soup = self.load_html(payload)
        items = soup.select("div.line-item")
        if not items:
            raise self.fail("no 'line-item' price rows found (page layout changed?)")
        note = self._multiplier_note(soup)

        records: list[PriceRecord] = []
        seen: set[tuple[str, str]] = set()
        for n, item in enumerate(items, start=1):
            label_el = next((p for p in item.find_all("p") if "price" not in (p.get("class") or [])), None)
            price_el = item.find("p", class_="price")
            if label_el is None or price_el is None:
                continue  # a line item without a price (a heading row, a footnote)
            label = " ".join(label_el.get_text(" ", strip=True).split())
            price_text = " ".join(price_el.get_text(" ", strip=True).split())
            m = _PRICE.match(price_text)
            parts = [p.strip().lower() for p in m.group("per").split("/")] if m else []
            if m is None or not 1 <= len(parts) <= 2 or parts[-1] not in _PER_SECOND | _PER_HOUR | _PER_MONTH:
                raise self.fail(
                    f"line item {n} ({label!r}): price {price_text!r} is not "
                    "'$X / sec', '$X / core / sec' or '$X / GiB / sec'"
                )
            if parts[-1] in _PER_HOUR:
                raise self.fail(f"line item {n} ({label!r}) is priced per hour ({price_text!r}); expected the per-second view")
            if parts[-1] in _PER_MONTH:
                continue  # storage and other monthly items are not compute rates
            component = _COMPONENT.get(parts[0] if len(parts) == 2 else "")
            if component is None:
                raise self.fail(f"line item {n} ({label!r}): unknown metered unit {parts[0]!r} in {price_text!r}")
            amount = to_decimal(self.source_id, m.group("amount"), f"line item {n} ({label!r}) price")
            if amount > _MAX[component]:
                raise self.fail(f"line item {n} ({label!r}): {price_text} is implausible per second for {component}")
            tier = self._tier(item)
            if component == "gpu":
                try:
                    gpu_model = normalise_gpu(label)
                except KeyError:
                    raise self.fail(
                        f"line item {n}: unknown GPU {label!r} priced per second; add a rule to scrapers/gpus.py"
                    ) from None
                sku, gpu_count = label, 1
            else:
                gpu_model, gpu_count, sku = None, None, _SKU[component]
            key = (sku, tier)
            if key in seen:
                raise self.fail(f"{sku!r} is priced twice for tier {tier!r} (line item {n})")
            seen.add(key)
            unit_note = {"gpu": "per GPU", "cpu": f"per physical core ({label})", "memory": "per GiB of memory"}[component]
            records.append(
                self.record(
                    sku=sku,
                    component=component,
                    amount=amount,
                    currency="USD",
                    unit="second",
                    gpu_model=gpu_model,
                    gpu_count=gpu_count,
                    tier=tier,
                    note=f"{unit_note}; {note}",
                )
            )

        base = [r for r in records if r.tier == "on_demand"]
        for component in ("gpu", "cpu", "memory"):
            if not any(r.component == component for r in base):
                raise self.fail(f"no per-second {component} price found among the line items")
        missing = [g for g in self.expected_gpu_models if g not in {r.gpu_model for r in base}]
        if missing:
            raise self.fail(f"expected GPU classes missing from the GPU line items: {', '.join(missing)}")
        return records

    @staticmethod
    def _tier(item: Tag) -> str:
        """The rate's tier from the nearest heading above it: Sandbox/Notebook rates differ."""
        heading = item.find_previous(["h2", "h3", "h4"])
        text = heading.get_text(" ", strip=True).lower() if heading else ""
        return "sandbox" if ("sandbox" in text or "notebook" in text) else "on_demand"

    @staticmethod
    def _multiplier_note(soup: BeautifulSoup) -> str:
        """Any region-multiplier sentence the page publishes, for the records' note."""
        text = " ".join(" ".join(soup.stripped_strings).split())
        sentences = re.split(r"(?<=[.!?])\s+", text)
        hits = [s for s in sentences if "region" in s.lower() and _MULTIPLIER.search(s)]
        if hits:
            return "base rate; page says: " + " ".join(hits)[:300]
        return "base rate before any region multiplier (none published on the page)"


SOURCE = ModalSource()
