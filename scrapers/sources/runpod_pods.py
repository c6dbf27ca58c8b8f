"""RunPod Pods: what one dedicated GPU costs per hour, on demand, on spot and on savings plans.

RunPod's GraphQL API (``POST https://api.runpod.io/graphql``) answers a ``gpuTypes`` query
with one entry per GPU type, keyed by the GPU type id that pods and billing records carry
(``"NVIDIA H100 80GB HBM3"``).  Every price is USD per GPU per hour::

    {"data": {"gpuTypes": [{"id": "NVIDIA H100 80GB HBM3", "displayName": "H100 SXM",
      "secureCloud": true, "communityCloud": true, "securePrice": 2.99, "communityPrice": 2.69,
      "secureSpotPrice": 1.75, "communitySpotPrice": 1.5, "oneMonthPrice": null,
      "threeMonthPrice": 2.811, "sixMonthPrice": 2.601, ...}]}}

Tiers recorded: ``secure`` and ``community`` (on demand), ``spot_secure`` and
``spot_community`` (interruptible), ``reserved_1m`` / ``reserved_3m`` / ``reserved_6m``
(savings plans, per GPU-hour over the term).

What each commits you to (DOMAIN.md section 7; RunPod's docs, ``docs.runpod.io/pods/pricing``:
"You commit to a usage term (3 months or 6 months) by making an upfront payment"): on-demand
and spot pods bill by the hour with no term (``billing`` hourly, ``term_months`` 0); a savings
plan is paid up front for the whole term, so its record carries ``billing`` upfront,
``term_months`` N and ``upfront_amount`` = the effective hourly rate x 730.5 h x N for one GPU
(RunPod's checkout shows the exact figure; the API gives only the rate).  One GPU is the
smallest unit everywhere (``min_units`` 1).

Two traps in the real payload:

* ``null`` means "not offered" and is skipped, not an error.
* A cloud the GPU is not sold in still carries a price field, holding a placeholder:
  ``securePrice: 0`` for consumer cards with ``secureCloud: false``, or
  ``communityPrice: 0.5`` for the MI300X and B200 with ``communityCloud: false``.  So a
  tier is recorded only when its cloud flag is true.  Savings plans exist for Secure Cloud
  only, so the reserved tiers follow ``secureCloud`` (an assumption from RunPod's pricing
  pages; the API does not say it).

``lowestPrice(input: {gpuCount: 1})`` is deliberately not queried: it is the cheapest offer
in stock right now, not the tariff, so it would make the price history flap with availability
and it duplicates the per-cloud prices above.

The public API answers this query without a key.  When ``RUNPOD_API_KEY`` is set it goes in
an ``Authorization: Bearer`` header (RunPod's GraphQL spec 1.1.0), never in the URL, so it
cannot leak into a record's ``source_url``.
"""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

from scrapers.base import PriceRecord, Request, Source, term_upfront, to_decimal
from scrapers.gpus import try_normalise_gpu

GRAPHQL_URL = "https://api.runpod.io/graphql"
API_KEY_ENV = "RUNPOD_API_KEY"

GPU_TYPES_QUERY = """query GpuTypes {
  gpuTypes {
    id
    displayName
    memoryInGb
    secureCloud
    communityCloud
    securePrice
    communityPrice
    secureSpotPrice
    communitySpotPrice
    oneMonthPrice
    threeMonthPrice
    sixMonthPrice
  }
}"""

# (price field, tier, the cloud flag that must be true for the price to be real, savings-plan term in months)
_TIERS: tuple[tuple[str, str, str, int], ...] = (
    ("securePrice", "secure", "secureCloud", 0),
    ("communityPrice", "community", "communityCloud", 0),
    ("secureSpotPrice", "spot_secure", "secureCloud", 0),
    ("communitySpotPrice", "spot_community", "communityCloud", 0),
    ("oneMonthPrice", "reserved_1m", "secureCloud", 1),
    ("threeMonthPrice", "reserved_3m", "secureCloud", 3),
    ("sixMonthPrice", "reserved_6m", "secureCloud", 6),
)
_REQUIRED = ("id", "secureCloud", "communityCloud", "securePrice", "communityPrice")


class RunPodPodsSource(Source):
    """RunPod Pods per-GPU hourly prices (secure, community, spot and savings plans) from the GraphQL API."""

    source_id = "runpod_pods"
    provider = "runpod"
    kind = "dedicated_gpu"
    extension = "json"
    expected_gpu_models = ("H100-80GB-SXM", "A100-80GB", "RTX4090-24GB")

    def requests(self) -> list[Request]:
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(API_KEY_ENV, "").strip()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return [Request(url=GRAPHQL_URL, method="POST", headers=headers, json={"query": GPU_TYPES_QUERY})]

    def parse(self, payload: bytes) -> list[PriceRecord]:
        gpu_types = self._gpu_types(payload)
        records: list[PriceRecord] = []
        for index, gpu in enumerate(gpu_types):
            records.extend(self._records_for(index, gpu))
        if not records:
            raise self.fail(f"none of the {len(gpu_types)} GPU types has a published price in a cloud it is sold in")
        found = {r.gpu_model for r in records}
        missing = [g for g in self.expected_gpu_models if g not in found]
        if missing:
            raise self.fail(f"expected GPU models missing from gpuTypes: {', '.join(missing)}")
        return records

    # --- helpers -----------------------------------------------------------
    def _gpu_types(self, payload: bytes) -> list[dict[str, Any]]:
        """The ``data.gpuTypes`` list, or a ParseError saying what the payload was instead."""
        if not payload.strip():
            raise self.fail("empty payload")
        doc = self.load_json(payload, "payload", exact=True)
        if not isinstance(doc, dict):
            raise self.fail(f"payload is a JSON {type(doc).__name__}, expected an object with 'data'")
        errors = doc.get("errors")
        if errors:
            first = errors[0] if isinstance(errors, list) and errors else errors
            message = first.get("message") if isinstance(first, dict) else first
            raise self.fail(f"GraphQL error: {str(message)[:200]}")
        data = doc.get("data")
        gpu_types = data.get("gpuTypes") if isinstance(data, dict) else None
        if not isinstance(gpu_types, list):
            raise self.fail("no data.gpuTypes list in the response")
        if not gpu_types:
            raise self.fail("data.gpuTypes is empty")
        return gpu_types

    def _records_for(self, index: int, gpu: Any) -> list[PriceRecord]:
        if not isinstance(gpu, dict):
            raise self.fail(f"gpuTypes[{index}] is a {type(gpu).__name__}, not an object")
        missing = [f for f in _REQUIRED if f not in gpu]
        if missing:
            raise self.fail(f"gpuTypes[{index}] has no {', '.join(repr(m) for m in missing)}: the schema changed")
        gpu_id = gpu["id"]
        if not isinstance(gpu_id, str) or not gpu_id.strip():
            raise self.fail(f"gpuTypes[{index}] has no usable id: {gpu_id!r}")
        gpu_model = try_normalise_gpu(gpu_id)
        out: list[PriceRecord] = []
        for field_name, tier, flag, term in _TIERS:
            if gpu.get(flag) is not True:
                continue  # not sold in that cloud: whatever the price field holds is a placeholder
            value = gpu.get(field_name)
            if value is None:
                continue  # null: not offered
            amount = self._amount(value, f"{gpu_id} {field_name}")
            out.append(
                self.record(
                    sku=gpu_id,
                    component="gpu",
                    amount=amount,
                    currency="USD",
                    unit="hour",
                    gpu_model=gpu_model,
                    gpu_count=1,
                    tier=tier,
                    note=None if gpu_model else "GPU name not recognised by scrapers.gpus",
                    term_months=Decimal(term),
                    billing="upfront" if term else "hourly",
                    upfront_amount=term_upfront(amount, Decimal(term), 1) if term else None,
                    min_units=1,
                )
            )
        return out

    def _amount(self, value: Any, what: str) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
            raise self.fail(f"{what}: {value!r} is not a number")
        return to_decimal(self.source_id, str(value), what)


SOURCE = RunPodPodsSource()
