"""GigaGPU: what a dedicated GPU server costs per month at this UK host, in GBP.

GigaGPU publishes monthly GBP prices for single-tenant GPU servers on its website (its own
articles quote e.g. "The RTX 3090 at £159/mo ... the RTX 4090 at £289/mo").  No capture of
its pricing page's markup is public, so this parser assumes as little as possible about it:

* a *product* is the smallest element whose text names exactly one GPU (``RTX 4090 24GB``,
  ``2x RTX 5090``) and exactly one monthly GBP price (``£289/mo``, ``£289 per month``);
* its SKU is the product's heading if it has one, else the GPU text;
* "from £159/mo" teasers are not prices of a product and are ignored.

It degrades loudly: a page with no monthly GBP price, a monthly price that sits in no
product (an unattributable price means a partial parse), a product naming two different
GPUs, or one SKU at two prices is a ParseError that says which of these it was.

Records: component ``instance`` (the whole server), unit ``month``, GBP, tier ``monthly``,
``gpu_count`` from an ``Nx`` prefix (default 1).  What it commits you to: billed monthly, the
whole server (``min_units`` = its GPUs), and no minimum term found on the page (``term_months`` 0).  The note says what the page says about
VAT ("ex VAT" / "inc VAT"), or that it says nothing.

The pricing page's address is not confirmed either; ``GIGAGPU_PRICING_URL`` overrides it.
"""

from __future__ import annotations

import os
import re
from decimal import Decimal

from bs4 import BeautifulSoup, Tag

from scrapers.base import PriceRecord, Request, Source, to_decimal
from scrapers.gpus import try_normalise_gpu

PRICING_URL = "https://gigagpu.com/pricing/"
URL_ENV = "GIGAGPU_PRICING_URL"

_MONTHLY_GBP = re.compile(
    r"(?P<lead>\b(?:from|starting\s+(?:at|from)|as\s+low\s+as)\s+(?:just\s+|only\s+)?)?"
    r"£\s*(?P<amount>\d[\d,]*(?:\.\d{1,2})?)\s*"
    r"(?:/\s*(?:mo|mth|month)\b|per\s+month\b|a\s+month\b|monthly\b|p\s*/?\s*m\b)",
    re.I,
)
_GPU = re.compile(
    r"\b(?:(?P<count>\d+)\s*[x×]\s*)?"
    r"(?P<name>(?:NVIDIA\s+)?(?:GeForce\s+)?"
    r"(?:RTX\s*PRO\s*\d{4}(?:\s+Blackwell)?|RTX\s*\d{4}(?:\s*(?:Ti|SUPER|Ada|Pro))?|RTX\s*A\d{4}|Quadro\s+RTX\s*\d{4}"
    r"|A100|H100|H200|B200|GH200|L40S|L40|L4|A40|A30|A16|A10|T4|V100|MI300X))"
    r"(?:\s*(?P<vram>\d{2,3})\s*GB)?(?![\w])",
    re.I,
)
_EX_VAT = re.compile(r"\b(?:ex\.?|excl\.?|exclud(?:e|es|ed|ing))\s*VAT\b|\+\s*VAT\b|\bplus\s+VAT\b", re.I)
_INC_VAT = re.compile(r"\b(?:inc\.?|incl\.?|includ(?:e|es|ed|ing))\s*VAT\b", re.I)
_SKIP = ("script", "style", "noscript", "template", "svg")
_BLOCKS = ("article", "section", "div", "li", "tr", "td", "p", "span", "a", "dd", "dl", "ul")


def _text(el: Tag) -> str:
    return " ".join(el.get_text(" ", strip=True).split())


def _real_prices(text: str) -> list[re.Match[str]]:
    """Monthly GBP prices in ``text`` that are a product's price, not a "from £N" teaser."""
    return [m for m in _MONTHLY_GBP.finditer(text) if not m.group("lead")]


class GigaGpuSource(Source):
    """GigaGPU (UK) dedicated GPU server monthly prices in GBP, from its website's pricing page."""

    source_id = "gigagpu"
    provider = "gigagpu"
    kind = "dedicated_gpu"
    extension = "html"
    expected_gpu_models = ("RTX4090-24GB",)

    def requests(self) -> list[Request]:
        url = os.environ.get(URL_ENV, "").strip() or PRICING_URL
        return [Request(url=url, headers={"Accept": "text/html"})]

    def parse(self, payload: bytes) -> list[PriceRecord]:
        if not payload.strip():
            raise self.fail("empty payload")
        if payload.lstrip().removeprefix(b"\xef\xbb\xbf").lstrip()[:1] != b"<":
            raise self.fail("payload is not HTML")
        soup = BeautifulSoup(payload, "lxml")
        for el in soup.find_all(_SKIP):
            el.decompose()
        body = soup.body or soup
        page_text = _text(body)
        prices = _real_prices(page_text)
        if not prices:
            raise self.fail(
                "no monthly GBP price ('£N/mo', '£N per month') anywhere on the page: the layout, the currency "
                "or the URL changed (the page structure was never confirmed; see tests/fixtures/prices/README.md)"
            )
        products = self._products(body)
        if not products:
            raise self.fail(
                f"found {len(prices)} monthly GBP price(s) but none inside an element that names a GPU: layout changed"
            )
        attributed = sum(len(_real_prices(_text(p))) for p in products)
        if attributed != len(prices):
            stray = self._stray_price(body, products)
            raise self.fail(
                f"{len(prices) - attributed} monthly GBP price(s) belong to no GPU product"
                + (f" (e.g. {stray!r})" if stray else "")
                + ": layout changed, refusing a partial parse"
            )
        page_vat = self._vat(page_text)
        records: dict[str, PriceRecord] = {}
        for product in products:
            rec = self._record(product, page_vat)
            seen = records.get(rec.sku)
            if seen is not None and seen.amount != rec.amount:
                raise self.fail(f"{rec.sku} is listed at two prices (£{seen.amount} and £{rec.amount})")
            records[rec.sku] = rec
        found = {r.gpu_model for r in records.values()}
        missing = [g for g in self.expected_gpu_models if g not in found]
        if missing:
            raise self.fail(f"expected GPU models missing: {', '.join(missing)}")
        return list(records.values())

    # --- helpers -----------------------------------------------------------
    def _products(self, body: Tag) -> list[Tag]:
        """The smallest elements holding exactly one GPU name and one monthly GBP price."""
        qualifying: list[Tag] = []
        for el in body.find_all(_BLOCKS):
            text = _text(el)
            if len(_real_prices(text)) == 1 and _GPU.search(text):
                qualifying.append(el)
        ids = {id(el) for el in qualifying}
        return [el for el in qualifying if not any(id(d) in ids for d in el.find_all(_BLOCKS))]

    def _stray_price(self, body: Tag, products: list[Tag]) -> str | None:
        inside = {id(el) for p in products for el in [p, *p.find_all(True)]}
        for node in body.find_all(string=re.compile("£")):
            parent = node.parent
            if parent is not None and id(parent) not in inside:
                m = _real_prices(_text(parent))
                if m:
                    return _text(parent)[:80]
        return None

    def _record(self, product: Tag, page_vat: str | None) -> PriceRecord:
        text = _text(product)
        price = _real_prices(text)[0]
        gpus = list(_GPU.finditer(text))
        heading = product.find(["h1", "h2", "h3", "h4", "h5", "h6"])
        named = _text(heading) if heading is not None else ""
        head_gpu = _GPU.search(named) if named else None
        match = head_gpu or gpus[0]
        models = {try_normalise_gpu(self._gpu_name(g)) or g.group("name").lower() for g in gpus}
        if head_gpu is None and len(models) > 1:
            raise self.fail(f"product {text[:80]!r} names {len(models)} different GPUs and has no heading")
        gpu_name = self._gpu_name(match)
        count = int(match.group("count")) if match.group("count") else 1
        if count < 1:
            raise self.fail(f"product {text[:80]!r}: GPU count {count}")
        vat = self._vat(text) or page_vat
        note = {"ex": "excl. VAT", "inc": "incl. VAT"}.get(vat or "", "VAT treatment not stated on the page")
        gpu_model = try_normalise_gpu(gpu_name)
        if gpu_model is None:
            note += "; GPU name not recognised by scrapers.gpus"
        return self.record(
            sku=named or match.group(0).strip(),
            component="instance",
            amount=to_decimal(self.source_id, price.group("amount"), f"{named or gpu_name} monthly price"),
            currency="GBP",
            unit="month",
            gpu_model=gpu_model,
            gpu_count=count,
            tier="monthly",
            note=note,
            term_months=Decimal(0),
            billing="monthly",
            min_units=count,
        )

    @staticmethod
    def _gpu_name(m: re.Match[str]) -> str:
        return f"{m.group('name')} {m.group('vram')}GB" if m.group("vram") else m.group("name")

    @staticmethod
    def _vat(text: str) -> str | None:
        ex, inc = bool(_EX_VAT.search(text)), bool(_INC_VAT.search(text))
        if ex and not inc:
            return "ex"
        if inc and not ex:
            return "inc"
        return None


SOURCE = GigaGpuSource()
