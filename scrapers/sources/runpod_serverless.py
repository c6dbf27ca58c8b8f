"""RunPod Serverless: what one GPU worker costs per second, for flex and active workers.

RunPod publishes its Serverless price list as Markdown (the docs site serves every page's
source at ``<page>.md``).  The "GPU pricing" table groups GPU types that share a price::

    | **GPU type(s)** | **Memory** | **Flex cost per second** | **Active cost per second** | ... |
    | A4000, A4500, RTX 4000 | 16 GB | \\$0.00016 | \\$0.00011 | ... |

Flex workers scale to zero and are billed at the standard rate; active workers run 24/7 at
a discount.  Billing rounds each worker's run up to the whole second.  Every GPU type named
in a row gets its own record per tier, all with the row's price.
"""

from __future__ import annotations

import re
from decimal import Decimal

from scrapers.base import PriceRecord, Request, Source, to_decimal
from scrapers.gpus import normalise_gpu

PRICING_MD_URL = "https://docs.runpod.io/serverless/pricing.md"

# RunPod's short names that the generic normaliser cannot place on their own.  The
# "RTX 4000" of the 16 GB Serverless pool is the RTX 4000 Ada Generation (RunPod's GPU
# type "NVIDIA RTX 4000 Ada Generation"), not the 2018 Quadro RTX 4000.
_ALIASES = {"rtx 4000": "RTX 4000 Ada"}

# A per-second GPU price above this is an hourly price in the wrong column.
_MAX_PER_SECOND = Decimal("0.05")

_SEPARATOR = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_HEADING = re.compile(r"^#{1,6}\s+(.*)$")


def _cells(line: str) -> list[str]:
    """The cells of one Markdown table row, with bold markers and escapes removed."""
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|"):
        body = body[:-1]
    return [c.strip().replace("**", "").replace("\\", "").strip() for c in body.split("|")]


def _tables(text: str) -> list[tuple[str, list[str]]]:
    """Every Markdown table in the page as (nearest heading above it, its lines)."""
    found: list[tuple[str, list[str]]] = []
    heading = ""
    current: list[str] = []
    for raw in text.splitlines() + [""]:
        line = raw.strip()
        if line.startswith("|"):
            current.append(line)
            continue
        if current:
            found.append((heading, current))
            current = []
        m = _HEADING.match(line)
        if m:
            heading = m.group(1).strip()
    return found


class RunPodServerlessSource(Source):
    """RunPod Serverless per-second GPU prices (flex and active workers), from the docs' Markdown."""

    source_id = "runpod_serverless"
    provider = "runpod"
    kind = "serverless_gpu"
    extension = "md"
    expected_gpu_models = (
        "H100-80GB-SXM",
        "H200-141GB",
        "A100-80GB",
        "L40S-48GB",
        "L4-24GB",
        "RTX4090-24GB",
    )

    def requests(self) -> list[Request]:
        return [Request(PRICING_MD_URL, headers={"Accept": "text/markdown, text/plain;q=0.9"})]

    def parse(self, payload: bytes) -> list[PriceRecord]:
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError as e:
            raise self.fail(f"the pricing page is not UTF-8 text ({e.reason} at byte {e.start})") from None
        if not text.strip():
            raise self.fail("the pricing page is empty")

        table = self._gpu_table(text)
        if table is None:
            raise self.fail(
                "no 'GPU pricing' table with 'GPU type', 'Flex' and 'Active' per-second columns was found"
            )
        header, rows = table
        i_gpu, i_mem, i_flex, i_active = header

        needed = max(i for i in (i_gpu, i_mem, i_flex, i_active) if i is not None)
        records: list[PriceRecord] = []
        seen: set[tuple[str, str]] = set()
        for line_no, line in rows:
            cells = _cells(line)
            if len(cells) <= needed:
                raise self.fail(f"GPU pricing row {line_no} has {len(cells)} cells, expected at least {needed + 1}: {line!r}")
            names = [n.strip() for n in cells[i_gpu].split(",") if n.strip()]
            if not names:
                raise self.fail(f"GPU pricing row {line_no} names no GPU type: {line!r}")
            memory = cells[i_mem] if i_mem is not None else ""
            prices = {
                "flex": self._price(cells[i_flex], f"row {line_no} flex price"),
                "active": self._price(cells[i_active], f"row {line_no} active price"),
            }
            group = ", ".join(names)
            note = f"RunPod price group '{group}'" + (f" ({memory} VRAM)" if memory else "") + "; billed per second, rounded up"
            for name in names:
                gpu_model = self._gpu_model(name, line_no)
                for tier, amount in prices.items():
                    key = (name.lower(), tier)
                    if key in seen:
                        raise self.fail(f"GPU type {name!r} is priced twice for {tier} workers (row {line_no})")
                    seen.add(key)
                    records.append(
                        self.record(
                            sku=name,
                            component="gpu",
                            amount=amount,
                            currency="USD",
                            unit="second",
                            gpu_model=gpu_model,
                            gpu_count=1,
                            tier=tier,
                            note=note,
                        )
                    )
        if not records:
            raise self.fail("the GPU pricing table has no rows")
        present = {r.gpu_model for r in records}
        missing = [g for g in self.expected_gpu_models if g not in present]
        if missing:
            raise self.fail(f"GPU pricing table lacks expected GPU classes: {', '.join(missing)}")
        return records

    # --- helpers -------------------------------------------------------------
    def _gpu_table(self, text: str) -> tuple[tuple[int, int | None, int, int], list[tuple[int, str]]] | None:
        """Locate the GPU price table; return its column indexes and numbered data rows."""
        line_numbers = {}
        for n, raw in enumerate(text.splitlines(), start=1):
            line_numbers.setdefault(raw.strip(), n)
        for heading, lines in _tables(text):
            if len(lines) < 3 or not _SEPARATOR.match(lines[1]):
                continue
            cols = [c.lower() for c in _cells(lines[0])]
            i_gpu = next((i for i, c in enumerate(cols) if "gpu type" in c), None)
            i_flex = next((i for i, c in enumerate(cols) if c.startswith("flex")), None)
            i_active = next((i for i, c in enumerate(cols) if c.startswith("active")), None)
            if i_gpu is None or i_flex is None or i_active is None:
                continue
            # The unit must be stated: in the columns ("Flex cost per second") or the heading above.
            stated = " ".join([cols[i_flex], cols[i_active], heading.lower()])
            if "second" not in stated:
                raise self.fail(
                    f"the GPU pricing table under {heading!r} does not say its prices are per second "
                    f"(columns {cols[i_flex]!r}, {cols[i_active]!r})"
                )
            i_mem = next((i for i, c in enumerate(cols) if c.startswith("memory")), None)
            rows = [(line_numbers.get(line, 0), line) for line in lines[2:]]
            return (i_gpu, i_mem, i_flex, i_active), rows
        return None

    def _price(self, cell: str, what: str) -> Decimal:
        if "$" not in cell:
            raise self.fail(f"{what}: {cell!r} is not a dollar amount")
        amount = to_decimal(self.source_id, cell, what)
        if amount > _MAX_PER_SECOND:
            raise self.fail(f"{what}: {cell} is implausible per second (an hourly price in a per-second column?)")
        return amount

    def _gpu_model(self, name: str, line_no: int) -> str:
        try:
            return normalise_gpu(_ALIASES.get(name.lower(), name))
        except KeyError:
            raise self.fail(f"unknown GPU type {name!r} in GPU pricing row {line_no}; add a rule to scrapers/gpus.py") from None


SOURCE = RunPodServerlessSource()
