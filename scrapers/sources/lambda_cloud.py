"""Lambda On-Demand Cloud: what one GPU costs per hour on an on-demand Lambda instance.

Two payloads, one parser that sniffs which it was given:

* With ``LAMBDA_API_KEY`` set: ``GET https://cloud.lambda.ai/api/v1/instance-types``
  (Lambda's current API host; ``cloud.lambdalabs.com`` is the legacy name of the same API),
  key in an ``Authorization: Bearer`` header as Lambda's API docs recommend.  The answer maps
  each instance type to its price in **US cents per instance-hour for the whole instance**::

      {"data": {"gpu_8x_h100_sxm5": {"instance_type": {"name": "gpu_8x_h100_sxm5",
        "gpu_description": "H100 (80 GB SXM5)", "price_cents_per_hour": 3192,
        "specs": {"vcpus": 208, "memory_gib": 1800, "storage_gib": 22528, "gpus": 8}},
        "regions_with_capacity_available": [...]}}}

* Without a key: the public pricing page ``https://lambda.ai/pricing``, whose on-demand
  tables (one per tab: 8x, 4x, 2x, 1x) list rows such as
  ``On-demand 8x NVIDIA H100 SXM | 80 GB | 208 | 1800 GiB | 22 TiB SSD | $3.99 / GPU / hr``
  with the price already per GPU-hour.  ``CONTACT SALES`` rows carry no price and are skipped.

Both paths record the same thing, chosen for the break-even: component ``gpu``, USD per
**GPU**-hour, with ``gpu_count`` = the GPUs in the instance.  An instance's price is
``amount × gpu_count``.  From the API, ``amount = price_cents_per_hour / 100 / gpus``
(2490 cents for 8 GPUs is $3.1125 per GPU-hour).  Instance types without GPUs are skipped:
this source prices GPUs.  Prices are the same in every region, so ``region`` stays empty.
Lambda's prices are before sales tax, which its billing adds by location; the note says so.

What each price commits you to (issue 12; DOMAIN.md section 7):

* On-demand instances are billed by the hour (in one-minute increments) with no term, but an
  ``8x`` instance is rented whole: ``min_units`` is the instance's GPU count (8 for an 8-GPU node),
  so a team needing 1.6 GPUs cannot rent 1.6 of an 8x node.
* Reserved instances are priced on request: the page's ``Reserved 8x ...`` rows read
  ``CONTACT SALES`` and carry no price.  A Reserved row that ever shows a price without a stated
  term is a ParseError, never a guess.
* 1-Click Clusters are reservations: Lambda's billing docs (``docs.lambda.ai/public-cloud/billing``,
  read 2026-12-06) say they are "priced per GPU per hour and billed in weekly increments according
  to the terms of your reservation", invoiced when the reservation is approved and payable within
  ten days, i.e. up front.  Their table on the pricing page (``Cluster | Term | Price/GPU/hr``,
  e.g. ``NVIDIA HGX B200, 16 GPUs | 2 weeks to 1 year | $9.86``) gives tier ``reserved_1cc``,
  ``min_units`` = the cluster's GPUs, ``term_months`` = the shortest term (2 weeks = 0.46) and
  ``upfront_amount`` = rate x GPUs x the shortest term's hours.  The markup and the figures of
  that table are not confirmed by a public capture (see tests/fixtures/prices/README.md).
"""

from __future__ import annotations

import os
import re
from decimal import Decimal
from typing import Any

from bs4 import BeautifulSoup, Tag

from scrapers.base import HOURS_PER_MONTH, PriceRecord, Request, Source, to_decimal
from scrapers.gpus import try_normalise_gpu

PRICING_URL = "https://lambda.ai/pricing"
API_URL = "https://cloud.lambda.ai/api/v1/instance-types"
API_KEY_ENV = "LAMBDA_API_KEY"

# "On-demand 8x NVIDIA H100 SXM" (the page) -> tier word, GPU count, GPU name
_ROW_NAME = re.compile(r"^(?:(?P<tier>on-demand|reserved)\s+)?(?P<count>\d+)\s*x\s+(?P<gpu>\S.*)$", re.I)
_INSTANCE_ROW = re.compile(r"^(?:on-demand|reserved)\s+\d+\s*x\s", re.I)
_DOLLARS = re.compile(r"\$\s*(\d[\d,]*(?:\.\d+)?)")
_NO_PRICE = re.compile(r"contact\s+sales|coming\s+soon|sold\s+out", re.I)
_VRAM = re.compile(r"(\d+(?:\.\d+)?)\s*GB", re.I)
_PER_HOUR = re.compile(r"\b(hr|hour)\b", re.I)
_PER_GPU = re.compile(r"\bGPU\b", re.I)
TAX_NOTE = "excl. sales tax (Lambda adds it by billing location)"
# 1-Click Clusters: "NVIDIA HGX B200, 16 GPUs" and the shortest term of "2 weeks to 1 year".
_CLUSTER = re.compile(r"^(?P<gpu>.+?),\s*(?P<count>\d+)\s*GPUs?\b", re.I)
_TERM = re.compile(r"(?P<n>\d+)\s*(?P<unit>week|month|year)s?\b", re.I)
_TERM_HOURS = {"week": Decimal(168), "month": HOURS_PER_MONTH, "year": HOURS_PER_MONTH * 12}


class LambdaCloudSource(Source):
    """Lambda On-Demand Cloud per-GPU hourly prices, from the instance-types API or the public pricing page."""

    source_id = "lambda"
    provider = "lambda"
    kind = "dedicated_gpu"
    extension = "html"  # the offline snapshot is the public page; the API answer is sniffed and parsed too
    expected_gpu_models = ("H100-80GB-SXM",)

    def requests(self) -> list[Request]:
        key = os.environ.get(API_KEY_ENV, "").strip()
        if key:
            return [Request(url=API_URL, headers={"Authorization": f"Bearer {key}", "Accept": "application/json"})]
        return [Request(url=PRICING_URL, headers={"Accept": "text/html"})]

    def parse(self, payload: bytes) -> list[PriceRecord]:
        head = payload.lstrip().removeprefix(b"\xef\xbb\xbf").lstrip()[:1]
        if not head:
            raise self.fail("empty payload")
        if head in (b"{", b"["):
            records = self._parse_api(payload)
        elif head == b"<":
            records = self._parse_page(payload)
        else:
            raise self.fail("payload is neither the instance-types JSON nor the pricing page HTML")
        found = {r.gpu_model for r in records}
        missing = [g for g in self.expected_gpu_models if g not in found]
        if missing:
            raise self.fail(f"expected GPU models missing: {', '.join(missing)}")
        return records

    # --- the API --------------------------------------------------------------
    def _parse_api(self, payload: bytes) -> list[PriceRecord]:
        doc = self.load_json(payload, "instance-types payload", exact=True)
        if not isinstance(doc, dict):
            raise self.fail("instance-types payload is not a JSON object")
        if "error" in doc:
            err = doc["error"] if isinstance(doc["error"], dict) else {"message": doc["error"]}
            raise self.fail(f"API error {err.get('code', '?')}: {str(err.get('message', ''))[:200]}")
        data = doc.get("data")
        if not isinstance(data, dict):
            raise self.fail("instance-types payload has no 'data' object")
        if not data:
            raise self.fail("instance-types 'data' is empty")
        records: list[PriceRecord] = []
        for key, entry in data.items():
            itype = entry.get("instance_type") if isinstance(entry, dict) else None
            if not isinstance(itype, dict):
                raise self.fail(f"data[{key!r}] has no 'instance_type' object")
            name = itype.get("name") or key
            cents = itype.get("price_cents_per_hour")
            specs = itype.get("specs")
            if cents is None or isinstance(cents, bool):
                raise self.fail(f"{name}: no price_cents_per_hour")
            if not isinstance(specs, dict) or "gpus" not in specs:
                raise self.fail(f"{name}: no specs.gpus")
            gpus = specs["gpus"]
            if isinstance(gpus, bool) or not isinstance(gpus, int) or gpus < 0:
                raise self.fail(f"{name}: specs.gpus is {gpus!r}, not a GPU count")
            if gpus == 0:
                continue  # a CPU-only instance type: not a GPU price
            per_instance = to_decimal(self.source_id, str(cents), f"{name} price_cents_per_hour") / 100
            described = str(itype.get("gpu_description") or itype.get("description") or name)
            records.append(
                self.record(
                    sku=str(name),
                    component="gpu",
                    amount=per_instance / gpus,
                    currency="USD",
                    unit="hour",
                    gpu_model=try_normalise_gpu(described),
                    gpu_count=gpus,
                    tier="on_demand",
                    note=TAX_NOTE,
                    **_on_demand(gpus),
                )
            )
        if not records:
            raise self.fail("no instance type with GPUs in the instance-types payload")
        return records

    # --- the public pricing page ----------------------------------------------
    def _parse_page(self, payload: bytes) -> list[PriceRecord]:
        soup = BeautifulSoup(payload, "lxml")
        tables = soup.find_all("table")
        if not tables:
            raise self.fail("the pricing page has no <table>: layout changed")
        by_sku: dict[str, PriceRecord] = {}
        priced_tables = 0
        for table in tables:
            rows = [r for r in table.find_all("tr") if r.find_parent("table") is table]
            header_at, columns = self._header(rows)
            if header_at is None:
                for rec in self._cluster_records(rows):
                    by_sku[rec.sku] = rec
                instance_rows = [_text(r) for r in rows if _INSTANCE_ROW.match(_text(r))]
                if instance_rows:
                    raise self.fail(
                        f"a table lists instances ({instance_rows[0][:60]!r}) but has no VRAM and price header: "
                        "layout changed, refusing a partial parse"
                    )
                continue  # not an instance price table (e.g. 1-Click Clusters, storage)
            priced_tables += 1
            for row in rows[header_at + 1 :]:
                rec = self._row_record(row, columns)
                if rec is None:
                    continue
                seen = by_sku.get(rec.sku)
                if seen is not None and seen.amount != rec.amount:
                    raise self.fail(f"{rec.sku} is listed twice with different prices ({seen.amount} and {rec.amount})")
                by_sku[rec.sku] = rec
        if not priced_tables:
            raise self.fail("no table has both a VRAM and a per-GPU-hour price column: layout changed")
        if not by_sku:
            raise self.fail("the instance price tables have no priced on-demand row")
        return list(by_sku.values())

    def _header(self, rows: list[Tag]) -> tuple[int | None, dict[str, int]]:
        """Find the header row (the one naming VRAM and price) and the columns it names."""
        for i, row in enumerate(rows[:3]):
            cells = [_text(c) for c in row.find_all(["th", "td"])]
            vram = [j for j, c in enumerate(cells) if "vram" in c.lower()]
            price = [j for j, c in enumerate(cells) if "price" in c.lower()]
            if not (vram and price):
                continue
            label = cells[price[0]]
            if not _PER_HOUR.search(label):
                raise self.fail(f"price column is {label!r}: no longer a price per hour")
            per_gpu = 1 if _PER_GPU.search(label) else 0
            return i, {"name": 0, "vram": vram[0], "price": price[0], "per_gpu_label": per_gpu}
        return None, {}

    def _row_record(self, row: Tag, columns: dict[str, int]) -> PriceRecord | None:
        cells = [_text(c) for c in row.find_all(["th", "td"])]
        if not any(cells):
            return None
        if len(cells) <= max(columns["name"], columns["vram"], columns["price"]):
            raise self.fail(f"row {' | '.join(cells)!r} has {len(cells)} cells, the header has more")
        name, vram, price = cells[columns["name"]], cells[columns["vram"]], cells[columns["price"]]
        m = _ROW_NAME.match(name)
        if not m:
            raise self.fail(f"row name {name!r} is not '<On-demand|Reserved> <N>x <GPU>'")
        if _NO_PRICE.search(price):
            return None  # e.g. "Reserved 8x NVIDIA H100 SXM ... CONTACT SALES"
        dollars = _DOLLARS.search(price)
        if not dollars:
            raise self.fail(f"{name}: price cell {price!r} has no dollar amount")
        if not columns["per_gpu_label"] and not _PER_GPU.search(price):
            raise self.fail(f"{name}: neither the price column nor {price!r} says the price is per GPU")
        count = int(m.group("count"))
        if count < 1:
            raise self.fail(f"{name}: GPU count {count}")
        gpu = m.group("gpu").strip()
        vram_m = _VRAM.search(vram)
        vram_gb = f"{vram_m.group(1)} GB" if vram_m else ""
        if (m.group("tier") or "").lower() == "reserved":
            raise self.fail(f"{name}: a Reserved row shows a price ({price!r}) but no term: update the parser")
        tier = "on_demand"
        sku = f"{count}x {gpu}" + (f" ({vram_gb})" if vram_gb else "")
        return self.record(
            sku=sku,
            component="gpu",
            amount=to_decimal(self.source_id, dollars.group(1), f"{name} price"),
            currency="USD",
            unit="hour",
            gpu_model=try_normalise_gpu(f"{gpu} {vram_gb}"),
            gpu_count=count,
            tier=tier,
            note=TAX_NOTE,
            **_on_demand(count),
        )

    # --- 1-Click Clusters (reservations) ------------------------------------------
    def _cluster_records(self, rows: list[Tag]) -> list[PriceRecord]:
        """Records of a ``Cluster | Term | Price/GPU/hr`` table; [] for any other table."""
        head = [_text(c).lower() for c in rows[0].find_all(["th", "td"])] if rows else []
        if not (head and "cluster" in head[0] and any("term" in c for c in head) and any("price" in c for c in head)):
            return []
        term_at = next(i for i, c in enumerate(head) if "term" in c)
        price_at = next(i for i, c in enumerate(head) if "price" in c)
        if not (_PER_HOUR.search(head[price_at]) and _PER_GPU.search(head[price_at])):
            raise self.fail(f"1-Click Clusters price column is {head[price_at]!r}: no longer per GPU-hour")
        out = []
        for row in rows[1:]:
            cells = [_text(c) for c in row.find_all(["th", "td"])]
            if not any(cells) or _NO_PRICE.search(" ".join(cells)):
                continue
            if len(cells) <= max(term_at, price_at):
                raise self.fail(f"1-Click Clusters row {' | '.join(cells)!r} has {len(cells)} cells, the header has more")
            cluster, term, dollars = _CLUSTER.match(cells[0]), _TERM.search(cells[term_at]), _DOLLARS.search(cells[price_at])
            if not (cluster and term and dollars):
                raise self.fail(f"1-Click Clusters row {' | '.join(cells)!r} is not '<GPU>, <N> GPUs | <term> | $<price>'")
            gpus, gpu = int(cluster.group("count")), cluster.group("gpu").strip()
            hours = int(term.group("n")) * _TERM_HOURS[term.group("unit").lower()]
            rate = to_decimal(self.source_id, dollars.group(1), f"1-Click Cluster {gpu} price")
            out.append(self.record(
                sku=f"1-Click Cluster {gpu} ({gpus} GPUs)", component="gpu", amount=rate, currency="USD", unit="hour",
                gpu_model=try_normalise_gpu(gpu), gpu_count=gpus, tier="reserved_1cc",
                note=f"reservation, term {cells[term_at]}, invoiced on approval; {TAX_NOTE}",
                term_months=(hours / HOURS_PER_MONTH).quantize(Decimal("0.01")), billing="upfront",
                upfront_amount=(rate * gpus * hours).quantize(Decimal("0.01")), min_units=gpus,
            ))
        return out


def _on_demand(gpus: int) -> dict[str, Any]:
    """On demand: billed by the hour, no term, the whole instance (all its GPUs) rented at once."""
    return {"term_months": Decimal(0), "billing": "hourly", "min_units": gpus}


def _text(cell: Any) -> str:
    return " ".join(cell.get_text(" ", strip=True).split())


SOURCE = LambdaCloudSource()
