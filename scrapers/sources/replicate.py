"""Replicate: what each hardware SKU costs per second while a model runs on it.

``https://replicate.com/pricing`` has a "Hardware pricing" table: one row per SKU, the
first cell the display name over the SKU id ("Nvidia H100 GPU" / ``gpu-h100``), the second
the price twice, per second and per hour ("$0.001525/sec" / "$5.49/hr"), then the GPU, CPU,
GPU RAM and RAM of the SKU.  Rows under "Additional hardware" replace the spec columns with
an availability note.

Replicate prices the whole SKU: ``gpu-h100-2x`` is two H100s with their CPUs and RAM, so the
record's ``amount`` is for the SKU and ``gpu_count`` says how many GPUs it holds.  Public
models bill only the time a request is processed; private models also bill setup and idle
time.  The per-hour figure is only used to cross-check the per-second one: if they disagree
by more than 1 % the page's units or layout changed and the parse fails.
"""

from __future__ import annotations

import re
from decimal import Decimal

from bs4 import BeautifulSoup, Tag

from scrapers.base import PriceRecord, Request, Source, to_decimal
from scrapers.gpus import normalise_gpu

PRICING_URL = "https://replicate.com/pricing"

_SKU = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_PER_SEC = re.compile(r"^(-?\$?\s*-?[0-9][0-9,]*(?:\.[0-9]+)?)\s*/\s*(?:sec|s|second)$", re.IGNORECASE)
_PER_HR = re.compile(r"^(-?\$?\s*-?[0-9][0-9,]*(?:\.[0-9]+)?)\s*/\s*(?:hr|h|hour)$", re.IGNORECASE)
_COUNT = re.compile(r"^(\d+)\s*x\b", re.IGNORECASE)
_TOLERANCE = Decimal("0.01")
_MAX_PER_SECOND = Decimal("0.2")  # a whole 8-GPU SKU is ~$0.0122/s; above this it is not per second


class ReplicateSource(Source):
    """Replicate per-second hardware prices (GPU SKUs and CPU), cross-checked against $/hr."""

    source_id = "replicate"
    provider = "replicate"
    kind = "serverless_gpu"
    extension = "html"
    expected_gpu_models = ("H100-80GB-SXM", "A100-80GB", "L40S-48GB")
    expected_skus = ("cpu", "gpu-h100", "gpu-a100-large", "gpu-l40s")

    def requests(self) -> list[Request]:
        return [Request(PRICING_URL, headers={"Accept": "text/html"})]

    def parse(self, payload: bytes) -> list[PriceRecord]:
        soup = self.load_html(payload)
        table, columns = self._hardware_table(soup)

        records: list[PriceRecord] = []
        seen: set[str] = set()
        section = ""
        for n, tr in enumerate(table.find_all("tr"), start=1):
            if tr.find("th") is not None:
                continue  # the header row
            tds = tr.find_all("td", recursive=False) or tr.find_all("td")
            if len(tds) == 1:
                section = tds[0].get_text(" ", strip=True)  # "Additional hardware"
                continue
            if len(tds) < 3:
                raise self.fail(f"hardware row {n} has {len(tds)} cells, expected the hardware, price and spec cells")
            record = self._row(n, tds, columns, section)
            if record.sku in seen:
                raise self.fail(f"hardware SKU {record.sku!r} is listed twice (row {n})")
            seen.add(record.sku)
            records.append(record)

        if not records:
            raise self.fail("the hardware table has no SKU rows")
        missing = [s for s in self.expected_skus if s not in seen]
        missing += [g for g in self.expected_gpu_models if g not in {r.gpu_model for r in records}]
        if missing:
            raise self.fail(f"the hardware table lacks expected SKUs / GPU classes: {', '.join(missing)}")
        return records

    # --- helpers -------------------------------------------------------------
    def _hardware_table(self, soup: BeautifulSoup) -> tuple[Tag, list[str]]:
        """The table whose header is Hardware | Price | GPU | CPU | GPU RAM | RAM."""
        for table in soup.find_all("table"):
            header = [th.get_text(" ", strip=True).lower() for th in table.find_all("th")]
            if "hardware" in header and "price" in header:
                if header.index("hardware") != 0 or header.index("price") != 1:
                    raise self.fail(f"hardware table columns are {header}; expected Hardware then Price first")
                return table, header
        raise self.fail("no hardware table with 'Hardware' and 'Price' columns found (page layout changed?)")

    def _row(self, n: int, tds: list[Tag], columns: list[str], section: str) -> PriceRecord:
        names = list(tds[0].stripped_strings)
        if len(names) < 2 or not _SKU.match(names[-1]):
            raise self.fail(f"hardware row {n}: first cell {names!r} should hold the display name and the SKU id")
        display, sku = " ".join(names[:-1]), names[-1]

        per_sec = per_hr = None
        for s in tds[1].stripped_strings:
            text = " ".join(s.split())
            if (m := _PER_SEC.match(text)) and per_sec is None:
                per_sec = to_decimal(self.source_id, m.group(1), f"{sku} price per second")
            elif (m := _PER_HR.match(text)) and per_hr is None:
                per_hr = to_decimal(self.source_id, m.group(1), f"{sku} price per hour")
        if per_sec is None or per_hr is None:
            raise self.fail(f"{sku} (row {n}): price cell {list(tds[1].stripped_strings)!r} lacks a '/sec' or '/hr' price")
        self._cross_check(sku, per_sec, per_hr)

        specs = {columns[i]: tds[i].get_text(" ", strip=True) for i in range(2, min(len(tds), len(columns)))}
        spanning = len(tds) == 3 and (tds[2].get("colspan") not in (None, "1"))
        if spanning:
            detail = tds[2].get_text(" ", strip=True)
        else:
            detail = ", ".join(f"{k} {v}" for k, v in specs.items() if v and v != "-")
        note = f"price of the whole SKU ({detail})" if detail else "price of the whole SKU"
        if section:
            note += f"; listed under '{section}'"

        if sku.startswith("cpu"):
            return self.record(sku=sku, component="cpu", amount=per_sec, currency="USD", unit="second", tier="on_demand", note=note)

        count = self._gpu_count(display, specs.get("gpu", ""))
        try:
            gpu_model = normalise_gpu(_COUNT.sub("", display).strip())
        except KeyError:
            raise self.fail(f"{sku} (row {n}): unknown GPU {display!r}; add a rule to scrapers/gpus.py") from None
        # component "gpu" is the price of one GPU; a multi-GPU machine's price is an "instance".
        return self.record(
            sku=sku,
            component="gpu" if count == 1 else "instance",
            amount=per_sec,
            currency="USD",
            unit="second",
            gpu_model=gpu_model,
            gpu_count=count,
            tier="on_demand",
            note=note,
        )

    def _cross_check(self, sku: str, per_sec: Decimal, per_hr: Decimal) -> None:
        """The $/sec and $/hr figures must agree within 1 %, or the units/layout changed."""
        if per_sec > _MAX_PER_SECOND:
            raise self.fail(f"{sku}: ${per_sec}/sec is implausible per second (per-hour value in the per-second slot?)")
        if per_sec <= 0 and per_hr <= 0:
            return  # a published zero / sentinel: passed through, the fetch layer counts it
        if per_hr <= 0 or per_sec <= 0:
            raise self.fail(f"{sku}: ${per_sec}/sec and ${per_hr}/hr disagree in sign")
        implied = per_sec * 3600
        if abs(implied - per_hr) / per_hr > _TOLERANCE:
            raise self.fail(
                f"{sku}: ${per_sec}/sec is ${implied}/hr but the page says ${per_hr}/hr "
                f"(off by more than 1 %: a unit or layout problem)"
            )

    def _gpu_count(self, display: str, gpu_cell: str) -> int:
        """GPUs in the SKU: the "2x" prefix of the name, else the GPU column, else one."""
        for text in (display, gpu_cell):
            m = _COUNT.match(text.strip())
            if m:
                return int(m.group(1))
        return 1


SOURCE = ReplicateSource()
