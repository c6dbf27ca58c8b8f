"""Banana (banana.dev): a serverless GPU host that no longer sells compute.

Banana announced in early 2024 that it was shutting down its serverless GPU platform and
turned it off that spring, so there is no price list left to fetch.  The source stays
registered, marked ``discontinued``, so that historical Banana prices and usage already in
the warehouse keep a named source and the fetcher reports it as skipped rather than
failing every run.  It makes no requests and parses to nothing.
"""

from __future__ import annotations

from scrapers.base import PriceRecord, Request, Source

FORMER_SITE = "https://www.banana.dev/"


class BananaSource(Source):
    """Banana serverless GPUs: discontinued in 2024; no prices are fetched."""

    source_id = "banana"
    provider = "banana"
    kind = "serverless_gpu"
    extension = "json"
    discontinued = True

    def requests(self) -> list[Request]:
        return []

    def parse(self, payload: bytes) -> list[PriceRecord]:
        return []

    def primary_url(self) -> str:
        """The former site, for provenance: there is no request to take it from."""
        return FORMER_SITE


SOURCE = BananaSource()
