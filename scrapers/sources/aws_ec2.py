"""AWS EC2 accelerated instances: on-demand prices per instance-hour (and so per accelerator), every region.

The source is AWS's public price list (no key).  ``GET https://pricing.us-east-1.amazonaws.com/offers/v1.0/
aws/AmazonEC2/current/region_index.json`` lists every region's current file::

    {"formatVersion": "v1.0", "publicationDate": "...", "regions": {"us-east-1": {"regionCode": "us-east-1",
      "currentVersionUrl": "/offers/v1.0/aws/AmazonEC2/20251201000000/us-east-1/index.json"}, ...}}

and each region's ``.../index.csv`` (the same path with ``.csv``) is one CSV of every EC2 price in that
region: 5 disclaimer lines (``"FormatVersion","v1.0"``, ``"Disclaimer",...``, ``"Publication Date",...``,
``"Version",...``, ``"OfferCode","AmazonEC2"``), then the header and one row per SKU and term.

Columns and filter (confirmed from public evidence, 2026-12-06): gpuhunt's
``src/gpuhunt/providers/aws.py`` (dstackai/gpuhunt at 0641ff4c) skips the 5 disclaimer lines, keeps rows
with ``TermType`` OnDemand, ``Tenancy`` Shared, ``Operating System`` Linux, ``CapacityStatus`` Used,
``Unit`` Hrs, ``Currency`` USD, ``Pre Installed S/W`` empty or NA and ``MarketOption`` OnDemand, and
reads ``Instance Type``, ``Region Code``, ``PricePerUnit``, ``vCPU``, ``Memory`` and ``GPU`` (a count);
the full header of a 2025-09-12 file (``"SKU","OfferTermCode","RateCode","TermType",...,"GPU","GPU
Memory",...,"MarketOption",...,"Region Code",...``) is quoted in a public how-to on downloading EC2
prices (see tests/fixtures/prices/README.md).  The same filter is applied here, with pyarrow's CSV reader and compute
functions (the scrapers layer does not use DuckDB).

Records, one per accelerated instance type and region: component ``instance`` (the whole machine),
USD per hour, ``gpu_count`` = its accelerators, so the per-accelerator price is ``amount / gpu_count``
(``stg_gpu_prices.amount_per_gpu``); tier ``on_demand``; billed hourly, no term, the whole instance
(``min_units`` = its accelerators).  The price list does not name the accelerator: ``FAMILIES`` maps the
instance family to it (g5 -> A10G, p5 -> H100, inf2 -> Inferentia2 ...).  GPU counts come from the
``GPU`` column; Inferentia and Trainium chips are not in it, so ``NEURON_CHIPS`` gives them per
instance type (AWS's instance specs, matching SkyPilot's catalog).

A live fetch downloads every region's file (hundreds of MB for the big regions) one after another,
keeps the rows the parser reads (accelerated families, the filter above) and joins them into one CSV
in the real layout: that small file is the payload that is archived and parsed, and the recorded
capture (``scrapers/snapshots/aws_ec2.csv``) has the same shape.
"""

from __future__ import annotations

import csv
import re
from decimal import Decimal
from typing import Any, Awaitable, Callable, NamedTuple
from urllib.parse import urljoin

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from scrapers.base import PriceRecord, Request, Source, to_decimal
from scrapers.gpus import normalise_gpu

REGION_INDEX_URL = "https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/AmazonEC2/current/region_index.json"
DISCLAIMER_LINES = 5
# gpuhunt's filter: column -> accepted values (None stands for an empty cell).
FILTER: dict[str, tuple[str | None, ...]] = {
    "TermType": ("OnDemand",),
    "Tenancy": ("Shared",),
    "Operating System": ("Linux",),
    "CapacityStatus": ("Used",),
    "Unit": ("Hrs",),
    "Currency": ("USD",),
    "Pre Installed S/W": (None, "NA"),
    "MarketOption": ("OnDemand",),
}
READ = ("Instance Type", "Region Code", "PricePerUnit", "vCPU", "Memory", "GPU")


class Accelerator(NamedTuple):
    gpu_model: str  # normalised class (scrapers.gpus form)
    label: str  # what the note calls it


def _gpu(name: str) -> Accelerator:
    return Accelerator(normalise_gpu(name), f"NVIDIA {name}")


# Instance family (the part of the type before the dot) -> its accelerator.
FAMILIES: dict[str, Accelerator] = {
    "g4dn": _gpu("T4"),
    "g5": _gpu("A10G"),
    "g6": _gpu("L4"),
    "g6e": _gpu("L40S"),
    "p4d": _gpu("A100 40GB"),
    "p4de": _gpu("A100 80GB"),
    "p5": _gpu("H100"),
    "p5e": _gpu("H200"),
    "p5en": _gpu("H200"),
    "p6-b200": _gpu("B200"),
    # AWS's own accelerators (Neuron): per-chip memory, the scrapers.gpus naming scheme.
    "inf1": Accelerator("INFERENTIA1-8GB", "AWS Inferentia chips"),
    "inf2": Accelerator("INFERENTIA2-32GB", "AWS Inferentia2 chips"),
    "trn1": Accelerator("TRAINIUM1-32GB", "AWS Trainium chips"),
    "trn1n": Accelerator("TRAINIUM1-32GB", "AWS Trainium chips"),
    "trn2": Accelerator("TRAINIUM2-96GB", "AWS Trainium2 chips"),
}
# Neuron chips per instance type (AWS instance specs; SkyPilot's AcceleratorCount agrees where it has one).
NEURON_CHIPS: dict[str, int] = {
    "inf1.xlarge": 1, "inf1.2xlarge": 1, "inf1.6xlarge": 4, "inf1.24xlarge": 16,
    "inf2.xlarge": 1, "inf2.8xlarge": 1, "inf2.24xlarge": 6, "inf2.48xlarge": 12,
    "trn1.2xlarge": 1, "trn1.32xlarge": 16, "trn1n.32xlarge": 16,
    "trn2.3xlarge": 1, "trn2.48xlarge": 16,
}
_COUNT = re.compile(r"^\d+$")


def _csv_line(cells: list[str | None]) -> str:
    """One line as the price list writes it: every value quoted, empty cells bare (``"a",,"b"``)."""
    return ",".join("" if c is None or c == "" else '"' + c.replace('"', '""') + '"' for c in cells)


def family(instance_type: str) -> str:
    return instance_type.split(".", 1)[0]


class AwsEc2Source(Source):
    """AWS EC2 accelerated instances (GPU, Inferentia, Trainium), on demand, every region, from the public price list."""

    source_id = "aws_ec2"
    provider = "aws"
    kind = "dedicated_gpu"
    extension = "csv"
    expected_gpu_models = ("H100-80GB-SXM", "A10G-24GB", "INFERENTIA2-32GB")

    def requests(self) -> list[Request]:
        """The region index; ``assemble`` follows it to every region's file."""
        return [Request(url=REGION_INDEX_URL, headers={"Accept": "application/json"})]

    async def assemble(self, get: Callable[[str], Awaitable[bytes]], url: str) -> bytes:
        """Download every region's price file listed by the index at ``url``, keep the accelerated rows,
        and join them into one CSV in the price list's own layout.  If ``url`` serves a price list CSV
        itself (the all-regions ``current/index.csv``, a mirror, a recorded capture), that one file is used."""
        first = await get(url)
        if first[:64].lstrip().startswith(b'"FormatVersion"'):
            files, bodies = [("all regions", url)], {url: first}
        else:
            files, bodies = self.region_files(first, url), {}
        preamble: list[str] | None = None
        header: list[str] | None = None
        out: list[str] = []
        for region, csv_url in files:
            body = bodies.pop(csv_url, None) or await get(csv_url)
            lines, columns, rows = self._filtered(body, f"{region} ({csv_url})")
            if header is None:
                preamble, header = lines, columns
                out += [*preamble, _csv_line(header)]
            at = {c: i for i, c in enumerate(columns)}
            for row in rows:  # the regions' files may order their columns differently: the first file's order
                out.append(_csv_line([None if c not in at else row[at[c]] for c in header]))
        if header is None:
            raise self.fail("the region index lists no region")
        return ("\n".join(out) + "\n").encode("utf-8")

    def region_files(self, payload: bytes, index_url: str) -> list[tuple[str, str]]:
        """(region code, absolute URL of its index.csv) for every region the index lists."""
        doc = self.load_json(payload, "region index")
        regions = doc.get("regions") if isinstance(doc, dict) else None
        entries = list(regions.values()) if isinstance(regions, dict) else regions
        if not isinstance(entries, list) or not entries:
            raise self.fail("region index has no 'regions'")
        out = []
        for i, entry in enumerate(entries):
            code = entry.get("regionCode") if isinstance(entry, dict) else None
            path = entry.get("currentVersionUrl") if isinstance(entry, dict) else None
            if not (isinstance(code, str) and isinstance(path, str) and path.endswith("/index.json")):
                raise self.fail(f"region index entry #{i} has no regionCode and currentVersionUrl ending in /index.json")
            out.append((code, urljoin(index_url, path[: -len("json")] + "csv")))
        return out

    def parse(self, payload: bytes) -> list[PriceRecord]:
        """One record per accelerated instance type and region that passes the filter."""
        _, columns, rows = self._filtered(payload, "the price list")
        at = {c: columns.index(c) for c in READ}
        records: dict[tuple[str, str], PriceRecord] = {}
        for row in rows:
            rec = self._record({c: row[i] for c, i in at.items()})
            seen = records.get((rec.sku, rec.region or ""))
            if seen is not None and seen.amount != rec.amount:
                raise self.fail(f"{rec.sku} in {rec.region} has two on-demand Linux prices ({seen.amount} and {rec.amount})")
            records[(rec.sku, rec.region or "")] = rec
        if not records:
            raise self.fail("no on-demand Linux row of an accelerated instance family: the filter or the layout changed")
        return list(records.values())

    # --- helpers -----------------------------------------------------------
    def _filtered(self, payload: bytes, what: str) -> tuple[list[str], list[str], list[tuple]]:
        """(the disclaimer lines, the header, the rows of accelerated families passing FILTER), read by pyarrow's CSV reader."""
        head = payload[:65536]  # the disclaimer lines and the header; slicing, never copying a region's file
        if not head.strip() and not payload.strip():
            raise self.fail(f"{what}: empty payload")
        lines = head.split(b"\n", DISCLAIMER_LINES + 1)[: DISCLAIMER_LINES + 1]
        if len(lines) <= DISCLAIMER_LINES or not lines[0].startswith(b'"FormatVersion"'):
            raise self.fail(f"{what}: not an AWS price list CSV (no FormatVersion line and {DISCLAIMER_LINES} disclaimer lines)")
        # The header is read here and given to the reader, so a ragged row is an error, never a re-sniffed layout.
        columns = next(csv.reader([lines[DISCLAIMER_LINES].decode("utf-8", "replace").rstrip("\r")]), [])
        if len(set(columns)) != len(columns) or "" in columns:
            raise self.fail(f"{what}: the header line (line {DISCLAIMER_LINES + 1}) has empty or repeated column names")
        missing = [c for c in (*FILTER, *READ) if c not in columns]
        if missing:
            raise self.fail(f"{what}: columns missing from the price list: {', '.join(missing)}")
        try:
            table = pacsv.read_csv(
                pa.py_buffer(payload),
                read_options=pacsv.ReadOptions(skip_rows=DISCLAIMER_LINES + 1, column_names=columns),
                parse_options=pacsv.ParseOptions(delimiter=",", quote_char='"', double_quote=True, newlines_in_values=True),
                convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in columns}, null_values=[""],
                                                     strings_can_be_null=True, quoted_strings_can_be_null=True),
            )
        except pa.ArrowException as e:
            raise self.fail(f"{what}: unreadable CSV: {str(e).splitlines()[0][:300]}") from None
        keep = pc.is_in(pc.list_element(pc.split_pattern(pc.fill_null(table["Instance Type"], ""), ".", max_splits=1), 0),
                        value_set=pa.array(list(FAMILIES), pa.string()))
        for column, values in FILTER.items():
            keep = pc.and_(keep, pc.is_in(pc.fill_null(table[column], ""), value_set=pa.array([v or "" for v in values], pa.string())))
        kept = table.filter(keep)
        rows = list(zip(*(kept.column(i).to_pylist() for i in range(kept.num_columns))))
        return [ln.decode("utf-8", "replace").rstrip("\r") for ln in lines[:DISCLAIMER_LINES]], columns, rows

    def _record(self, row: dict[str, Any]) -> PriceRecord:
        itype, region = row["Instance Type"], row["Region Code"]
        where = f"{itype} in {region}"
        if not region:
            raise self.fail(f"{itype}: no Region Code")
        accel = FAMILIES[family(itype)]
        count = self._count(itype, row["GPU"], where)
        price = to_decimal(self.source_id, row["PricePerUnit"] or "", f"{where} PricePerUnit")
        specs = ", ".join(s for s in (f"{row['vCPU']} vCPU" if row["vCPU"] else "", row["Memory"] or "") if s)
        return self.record(
            sku=itype, component="instance", amount=price, currency="USD", unit="hour",
            gpu_model=accel.gpu_model, gpu_count=count, region=region, tier="on_demand",
            note=f"{count} x {accel.label}" + (f"; {specs}" if specs else "") + "; Linux, shared tenancy; per accelerator = amount / gpu_count",
            term_months=Decimal(0), billing="hourly", min_units=count,
        )

    def _count(self, itype: str, gpu_cell: str | None, where: str) -> int:
        if family(itype) in ("inf1", "inf2", "trn1", "trn1n", "trn2"):
            if itype not in NEURON_CHIPS:
                raise self.fail(f"{where}: chips per instance unknown for {itype}: add it to NEURON_CHIPS")
            return NEURON_CHIPS[itype]
        cell = (gpu_cell or "").strip()
        if not _COUNT.match(cell) or int(cell) < 1:
            raise self.fail(f"{where}: GPU column is {gpu_cell!r}, not a GPU count")
        return int(cell)


SOURCE = AwsEc2Source()
