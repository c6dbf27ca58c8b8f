"""Hetzner GEX dedicated GPU servers: the monthly price, the hourly rate and the one-off setup fee.

Hetzner's GPU matrix page (``/dedicated-rootserver/matrix-gpu/``) prints no prices in its
HTML: each row carries a ``product-key`` (``ROBOT_1768`` for the GEX45) and the browser
fills the price in from the website's price feed.  This source reads that feed directly:
``https://www.hetzner.com/_resources/app/data/app/live_data_prices.json`` (the per-product
form is ``https://website-price-api.hetzner.com/api/v1/products/<product-key>``).  One entry
per datacenter, in EUR and USD, excluding VAT::

    {"products": {"ROBOT_1768": {"locations": [{"datacenter": "FSN1", "countryCode": "de",
      "active": true, "prices": {"hourly": {"EUR": "0.3402", ...},
      "monthly": {"EUR": "212.3000", ...}, "setup": {"EUR": "209.0000", ...}}}, ...]}}}

The feed has no product names, so ``PRODUCTS`` maps the GPU servers' product keys (read off
the matrix page) to the server and its GPU.  A mapped key missing from the feed is a
ParseError: the product was withdrawn or renamed and the table needs updating.

Records per product and active datacenter (``region`` = ``fsn1``, ``nbg1``, ``hel1``), all
EUR, component ``instance`` with ``gpu_count`` 1 (one GPU per GEX server), tier ``on_demand``:

* unit ``month``: the monthly price (also the cap on hourly billing);
* unit ``hour``: the hourly rate billed for part of a month;
* component ``setup_fee``, unit ``month``: the **one-off** setup fee.  No allowed unit means
  "once", so it carries unit ``month`` (the billing period it is charged in, the first) and
  its note says "one-off"; anything summing monthly costs must filter on
  ``component = 'instance'``, never on the unit alone.

What each commits you to: the monthly price is billed monthly and the hourly rate hourly, with
no minimum term (``term_months`` 0: the feed states none) and one GEX server (one GPU,
``min_units`` 1); the setup fee is ``billing`` upfront with ``upfront_amount`` = the fee, paid
once at order, so renting a GEX45 for its first month costs the monthly price plus the fee.

Every note says the price excludes VAT, which depends on the customer's country, and
excludes the primary IPv4 address the order page adds (``ROBOT_1266``).  The location
entries' ``setup`` key is not confirmed by a public capture (the monthly and hourly ones
are); if it is absent the parse fails and says which keys were there.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, NamedTuple

from scrapers.base import PriceRecord, Request, Source, to_decimal
from scrapers.gpus import normalise_gpu

PRICES_URL = "https://www.hetzner.com/_resources/app/data/app/live_data_prices.json"
IPV4_KEY = "ROBOT_1266"


class GpuServer(NamedTuple):
    """One GEX server model as the matrix page lists it."""

    sku: str
    gpu: str


# Product keys from the matrix page's ``product-key`` attributes (checked 2026-10).  The
# older GEX44 (RTX 4000 SFF Ada) and GEX130 (RTX 6000 Ada) are no longer listed.
PRODUCTS: dict[str, GpuServer] = {
    "ROBOT_1768": GpuServer("GEX45", "NVIDIA RTX PRO 4000 Blackwell SFF 24GB"),
    "ROBOT_1767": GpuServer("GEX63", "NVIDIA RTX PRO 6000 Blackwell Max-Q 96GB"),
    "ROBOT_1747": GpuServer("GEX131", "NVIDIA RTX PRO 6000 Blackwell Max-Q 96GB"),
}
_GPU_MODELS = {key: normalise_gpu(server.gpu) for key, server in PRODUCTS.items()}
VAT_NOTE = "excl. VAT (VAT depends on the customer's country)"


class HetznerSource(Source):
    """Hetzner GEX dedicated GPU server prices (monthly, hourly, setup fee) in EUR from the website price feed."""

    source_id = "hetzner"
    provider = "hetzner"
    kind = "dedicated_gpu"
    extension = "json"
    expected_gpu_models = ("RTXPRO4000-24GB", "RTXPRO6000-96GB")

    def requests(self) -> list[Request]:
        return [Request(url=PRICES_URL, headers={"Accept": "application/json"})]

    def parse(self, payload: bytes) -> list[PriceRecord]:
        products = self._products(payload)
        ipv4 = self._ipv4_monthly(products)
        ip_note = f"excl. the primary IPv4 ({IPV4_KEY}, EUR {ipv4}/month)" if ipv4 is not None else "excl. the primary IPv4"
        records: list[PriceRecord] = []
        for key, server in PRODUCTS.items():
            product = products.get(key)
            if product is None:
                raise self.fail(f"{key} ({server.sku}) is not in the price feed: withdrawn or renamed, update PRODUCTS")
            locations = product.get("locations") if isinstance(product, dict) else None
            if not isinstance(locations, list) or not locations:
                raise self.fail(f"{key} ({server.sku}) has no locations list")
            for i, loc in enumerate(locations):
                if not isinstance(loc, dict):
                    raise self.fail(f"{key} ({server.sku}) locations[{i}] is not an object")
                if loc.get("active") is not True:
                    continue  # listed but not orderable in that datacenter
                records.extend(self._location_records(key, server, loc, i, ip_note))
        if not records:
            raise self.fail("no GPU server is orderable in any datacenter (every location inactive)")
        return records

    # --- helpers -----------------------------------------------------------
    def _products(self, payload: bytes) -> dict[str, Any]:
        if not payload.strip():
            raise self.fail("empty payload")
        doc = self.load_json(payload, "price feed", exact=True)
        products = doc.get("products") if isinstance(doc, dict) else None
        if not isinstance(products, dict):
            raise self.fail("price feed has no 'products' object")
        if not products:
            raise self.fail("price feed 'products' is empty")
        return products

    def _location_records(
        self, key: str, server: GpuServer, loc: dict[str, Any], i: int, ip_note: str
    ) -> list[PriceRecord]:
        dc = loc.get("datacenter")
        if not isinstance(dc, str) or not dc.strip():
            raise self.fail(f"{key} ({server.sku}) locations[{i}] has no datacenter")
        where = f"{key} ({server.sku}) {dc}"
        prices = loc.get("prices")
        if not isinstance(prices, dict):
            raise self.fail(f"{where}: no prices object")
        note = f"{VAT_NOTE}; {ip_note}"
        common = dict(
            sku=server.sku, currency="EUR", gpu_model=_GPU_MODELS[key], gpu_count=1, region=dc.strip().lower(),
            term_months=Decimal(0), min_units=1,
        )
        setup = self._eur(prices, "setup", where)
        return [
            self.record(
                component="instance", unit="month", tier="on_demand", note=f"{note}; caps hourly billing",
                amount=self._eur(prices, "monthly", where), billing="monthly", **common,
            ),
            self.record(
                component="instance", unit="hour", tier="on_demand", note=f"{note}; billed up to the monthly price",
                amount=self._eur(prices, "hourly", where), billing="hourly", **common,
            ),
            self.record(
                component="setup_fee", unit="month", tier=None,
                note=f"one-off setup fee, charged once with the first month (not recurring); {note}",
                amount=setup, billing="upfront", upfront_amount=setup, **common,
            ),
        ]

    def _eur(self, prices: dict[str, Any], period: str, where: str) -> Decimal:
        entry = prices.get(period)
        if not isinstance(entry, dict):
            raise self.fail(f"{where}: prices has no {period!r} entry (keys: {', '.join(sorted(prices)) or 'none'})")
        value = entry.get("EUR")
        if value is None or isinstance(value, bool):
            raise self.fail(f"{where}: prices.{period} has no EUR amount")
        return to_decimal(self.source_id, str(value), f"{where} {period} EUR")

    def _ipv4_monthly(self, products: dict[str, Any]) -> Decimal | None:
        """The primary IPv4's monthly EUR price, for the notes; None if the feed no longer has it."""
        product = products.get(IPV4_KEY)
        locations = product.get("locations") if isinstance(product, dict) else None
        for loc in locations if isinstance(locations, list) else []:
            monthly = (loc.get("prices") or {}).get("monthly") if isinstance(loc, dict) else None
            value = monthly.get("EUR") if isinstance(monthly, dict) else None
            if value is not None and not isinstance(value, bool):
                amount = to_decimal(self.source_id, str(value), f"{IPV4_KEY} monthly EUR")
                return amount.quantize(Decimal("0.01"))
        return None


SOURCE = HetznerSource()
