"""``spendwatch breakeven``: u* and break-even GPU-hours for any pair of prices, checked against hand-worked values."""

from __future__ import annotations

import csv
import json
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from spendwatch import cli
from spendwatch.cli import breakeven as breakeven_cli

D = Decimal


@pytest.fixture
def main():
    return cli.main


def _json(main, capsys, *argv: str) -> dict:
    code = main(["breakeven", *argv, "--format", "json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def _pair(serverless: str, s_ccy: str, dedicated: str, d_ccy: str, month: str, *more: str) -> list[str]:
    return ["--serverless", serverless, "--serverless-currency", s_ccy, "--dedicated", dedicated,
            "--dedicated-currency", d_ccy, "--month", month, *more]


def test_domain_worked_example_through_a_given_rate(main, capsys, tmp_path):
    """s = $0.0005/s at 1 USD = 0.8 GBP is £0.0004/s; D = £800; November 2026 has 30 days."""
    wh = tmp_path / "w.duckdb"
    out = _json(main, capsys, *_pair("0.0005", "USD", "800", "GBP", "2026-11", "--rate", "USD/GBP=0.8", "--warehouse", str(wh)))
    assert out["serverless_per_second_converted"] == "0.000400000000"   # 0.0005 x 0.8
    assert out["seconds_in_month"] == 2_592_000                          # 30 x 86,400
    assert out["serverless_full_month"] == "1036.80"                     # 0.0004 x 2,592,000
    assert out["breakeven_utilisation"] == "0.771605"                    # 800 / 1,036.80 = 0.7716049...
    assert out["breakeven_utilisation_pct"] == "77.16"
    assert out["breakeven_gpu_hours_per_month"] == "555.56"              # 800 / (0.0004 x 3600) = 555.5556
    assert out["breakeven_gpu_hours_per_day"] == "18.52"                 # 555.5556 / 30 = 18.5185
    assert (out["rate_used"], out["rate_source"], out["rate_date"]) == ("0.8", "given", None)
    assert (out["currency"], out["month"], out["days_in_month"]) == ("GBP", "2026-11", 30)
    assert not wh.exists()  # a given rate needs no warehouse

    assert main(["breakeven", *_pair("0.0005", "USD", "800", "GBP", "2026-11", "--rate", "USD/GBP=0.8")]) == 0
    text = capsys.readouterr().out
    for needle in ("77.16 %", "555.56 per month", "18.52 per day", "£1,036.80", "1 USD = 0.8 GBP (given with --rate)"):
        assert needle in text, text


def test_february_against_a_31_day_month(main, capsys):
    """D = £800, s = £0.0004/s: u* moves with the month's seconds, break-even GPU-hours a month do not."""
    feb = _json(main, capsys, *_pair("0.0004", "GBP", "800", "GBP", "2027-02"))
    # T = 28 x 86,400 = 2,419,200; s x T = 967.68; u* = 800 / 967.68 = 0.8267196; per day 555.5556 / 28 = 19.8413
    assert (feb["seconds_in_month"], feb["serverless_full_month"], feb["breakeven_utilisation"]) == (2_419_200, "967.68", "0.826720")
    assert (feb["breakeven_gpu_hours_per_month"], feb["breakeven_gpu_hours_per_day"]) == ("555.56", "19.84")
    assert (feb["rate_used"], feb["rate_source"]) == ("1", "none")
    jan = _json(main, capsys, *_pair("0.0004", "GBP", "800", "GBP", "2027-01"))
    # T = 31 x 86,400 = 2,678,400; s x T = 1,071.36; u* = 800 / 1,071.36 = 0.7467145; per day 555.5556 / 31 = 17.9211
    assert (jan["seconds_in_month"], jan["serverless_full_month"], jan["breakeven_utilisation"]) == (2_678_400, "1071.36", "0.746714")
    assert (jan["breakeven_gpu_hours_per_month"], jan["breakeven_gpu_hours_per_day"]) == ("555.56", "17.92")
    leap = _json(main, capsys, *_pair("0.0004", "GBP", "800", "GBP", "2028-02"))
    # T = 29 x 86,400 = 2,505,600; u* = 800 / 1,002.24 = 0.7982120
    assert (leap["seconds_in_month"], leap["breakeven_utilisation"]) == (2_505_600, "0.798212")


def test_usd_serverless_against_gbp_dedicated_at_a_given_rate(main, capsys):
    """RunPod H100 flex $0.00116/s against GigaGPU-style £1,400/month, 1 USD = 0.7756 GBP, November 2026."""
    out = _json(main, capsys, *_pair("0.00116", "USD", "1400", "GBP", "2026-11", "--rate", "USD/GBP=0.7756"))
    # s = 0.00116 x 0.7756 = 0.000899696 GBP/s
    assert out["serverless_per_second_converted"] == "0.000899696000"
    # s x T = 0.000899696 x 2,592,000 = 2,332.012032
    assert out["serverless_full_month"] == "2332.01"
    # u* = 1,400 / 2,332.012032 = 0.6003400 (2,332.012032 x 0.60034 = 1,400.0001, a hair over 1,400)
    assert (out["breakeven_utilisation"], out["breakeven_utilisation_pct"]) == ("0.600340", "60.03")
    # 1,400 / (0.000899696 x 3,600) = 1,400 / 3.2389056 = 432.2448 GPU-hours; / 30 = 14.4082 a day
    assert (out["breakeven_gpu_hours_per_month"], out["breakeven_gpu_hours_per_day"]) == ("432.24", "14.41")
    assert (out["rate_used"], out["serverless_currency"], out["currency"]) == ("0.7756", "USD", "GBP")

    # The same rate written the other way round: 1 GBP = 1.25 USD means 1 USD = 0.8 GBP.
    rev = _json(main, capsys, *_pair("0.00116", "usd", "1400", "gbp", "2026-11", "--rate", "GBP/USD=1.25"))
    # s = 0.00116 x 0.8 = 0.000928; s x T = 2,405.376; u* = 1,400 / 2,405.376 = 0.5820296; 1,400 / 3.3408 = 419.0613 h
    assert (rev["rate_used"], rev["serverless_full_month"], rev["breakeven_utilisation"], rev["breakeven_gpu_hours_per_month"]) == (
        "0.8", "2405.38", "0.582030", "419.06")


def _fx_warehouse(path: Path) -> None:
    from warehouse.db import connect

    con = connect(path)
    con.executemany(
        "INSERT INTO fx_rates VALUES (?, ?, ?, 'ecb')",
        [[day, ccy, D(rate)] for day, rates in (
            (date(2026, 11, 27), {"EUR": "1", "USD": "1.16", "GBP": "0.87"}),   # GBP per USD = 0.87 / 1.16 = 0.75
            (date(2026, 12, 1), {"EUR": "1", "USD": "1.00", "GBP": "0.80"}),    # 0.80, after November
        ) for ccy, rate in rates.items()],
    )
    con.close()


def test_ecb_rate_of_the_months_last_day_from_the_warehouse(main, capsys, tmp_path):
    wh = tmp_path / "w.duckdb"
    _fx_warehouse(wh)
    # November 2026 ends on Monday 30th, which has no rate here: the latest before it, Friday 27th (0.75), is used.
    out = _json(main, capsys, *_pair("0.00116", "USD", "1400", "GBP", "2026-11", "--warehouse", str(wh)))
    assert (out["rate_used"], out["rate_source"], out["rate_date"]) == ("0.75", "ecb", "2026-11-27")
    # s = 0.00116 x 0.75 = 0.00087; s x T = 2,255.04; u* = 1,400 / 2,255.04 = 0.6208316
    assert (out["serverless_full_month"], out["breakeven_utilisation"]) == ("2255.04", "0.620832")
    # 1,400 / (0.00087 x 3600 = 3.132) = 446.9987 h; / 30 = 14.90 a day
    assert (out["breakeven_gpu_hours_per_month"], out["breakeven_gpu_hours_per_day"]) == ("447.00", "14.90")
    assert main(["breakeven", *_pair("0.00116", "USD", "1400", "GBP", "2026-11", "--warehouse", str(wh))]) == 0
    assert "1 USD = 0.75 GBP (ECB reference rate of 2026-11-27)" in capsys.readouterr().out
    # A month older than every stored rate: the latest rate there is, with its date.
    old = _json(main, capsys, *_pair("0.00116", "USD", "1400", "GBP", "2020-01", "--warehouse", str(wh)))
    assert (old["rate_used"], old["rate_source"], old["rate_date"]) == ("0.8", "ecb_latest", "2026-12-01")


def test_empty_warehouse_loads_the_bundled_ecb_history(main, capsys, tmp_path):
    from scrapers.fx import bundled_history_csv_path

    # The expected rate, read from the ECB history file itself: the last day on or before 31 March 2024.
    with open(bundled_history_csv_path(), encoding="utf-8-sig", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["Date"] <= "2024-03-31" and r["GBP"] not in ("N/A", "")]
    last = max(rows, key=lambda r: r["Date"])
    expected = (D(last["GBP"]) / D(last["USD"])).quantize(D("1e-10"), rounding=ROUND_HALF_UP).normalize()
    out = _json(main, capsys, *_pair("0.00116", "USD", "1400", "GBP", "2024-03", "--warehouse", str(tmp_path / "w.duckdb")))
    assert (out["rate_used"], out["rate_date"], out["rate_source"]) == (format(expected, "f"), last["Date"], "ecb")


def _tracked_warehouse(tmp_path: Path) -> tuple[Path, Path]:
    """H100 prices in force from 1 Nov 2026, and 1 USD = 0.75 GBP (2 Nov)."""
    from warehouse.db import connect

    toml = tmp_path / "spendwatch.toml"
    toml.write_text('reporting_currency = "GBP"\n\n[[teams]]\nname = "research"\n', encoding="utf-8")
    path = tmp_path / "w.duckdb"
    con = connect(path)
    con.executemany("INSERT INTO fx_rates VALUES (?, ?, ?, 'ecb')",
                    [[date(2026, 11, 2), c, D(r)] for c, r in (("EUR", "1"), ("USD", "1.16"), ("GBP", "0.87"))])
    now = datetime(2026, 11, 1)
    prices = [
        # source, provider, kind, sku, unit, tier, amount, currency
        ("gigagpu", "gigagpu", "dedicated_gpu", "H100 80GB", "month", None, "1400.00", "GBP"),
        ("runpod_pods", "runpod", "dedicated_gpu", "NVIDIA H100 80GB HBM3", "hour", "secure", "2.69", "USD"),  # 2.69 x 24 x 30 x 0.75 = £1,452.60
        ("runpod_serverless", "runpod", "serverless_gpu", "H100 PRO", "second", "flex", "0.00116", "USD"),    # x 3600 x 0.75 = £3.132/h
        ("modal", "modal", "serverless_gpu", "Nvidia H100", "second", None, "0.001097", "USD"),             # x 3600 x 0.75 = £2.9619/h
    ]
    for i, (src, prov, kind, sku, unit, tier, amount, ccy) in enumerate(prices):
        con.execute("INSERT INTO price_sources (source_id, provider, product_kind, is_catalog, discontinued, url) VALUES (?, ?, ?, false, false, NULL)", [src, prov, kind])
        con.execute(
            """INSERT INTO price_history (price_key, source_id, provider, product_kind, sku, component, unit, tier, gpu_model,
                                          gpu_count, amount, currency, valid_from, fetched_at)
               VALUES (?, ?, ?, ?, ?, 'gpu', ?, ?, 'H100-80GB-SXM', 1, ?, ?, ?, ?)""",
            [f"key-{i}", src, prov, kind, sku, unit, tier, D(amount), ccy, now, now])
    con.close()
    return path, toml


def test_gpu_class_uses_the_tracked_prices(main, capsys, tmp_path):
    wh, toml = _tracked_warehouse(tmp_path)
    common = ["--warehouse", str(wh), "--config", str(toml)]
    out = _json(main, capsys, "--gpu", "H100", *common)  # breakeven_table is built on first use
    assert (out["gpu_class"], out["serverless_provider"], out["dedicated_provider"]) == ("H100-80GB-SXM", "modal", "gigagpu")
    # s = 2.9619 / 3600 = £0.00082275/s; D = £1,400; November: T = 2,592,000
    assert (out["serverless_per_second"], out["dedicated_monthly"], out["month"]) == ("0.000822750000", "1400.00", "2026-11")
    # s x T = 2,132.568; u* = 1,400 / 2,132.568 = 0.6564855; 1,400 / 2.9619 = 472.6696 h; / 30 = 15.7557 a day
    assert (out["serverless_full_month"], out["breakeven_utilisation"]) == ("2132.57", "0.656486")
    assert (out["breakeven_gpu_hours_per_month"], out["breakeven_gpu_hours_per_day"]) == ("472.67", "15.76")
    assert (out["rate_source"], out["rate_date"]) == ("tracked", "2026-11-02")
    # The spendwatch name of the class works too, in any case; --month changes T only.
    feb = _json(main, capsys, "--gpu", "h100-80gb-sxm", "--month", "2027-02", *common)
    assert (feb["seconds_in_month"], feb["breakeven_gpu_hours_per_month"]) == (2_419_200, "472.67")
    # 1,400 / (0.00082275 x 2,419,200 = 1,990.3968) = 0.7033773
    assert feb["breakeven_utilisation"] == "0.703377"

    rows = json.loads((main(["breakeven", "--table", "--format", "json", *common]), capsys.readouterr().out)[1])
    assert [(r["gpu_class"], r["breakeven_utilisation"]) for r in rows] == [("H100-80GB-SXM", "0.656486")]
    assert main(["breakeven", "--table", *common]) == 0
    text = capsys.readouterr().out
    assert "H100-80GB-SXM" in text and "65.65 %" in text and "ECB rate of 2026-11-02" in text

    assert main(["breakeven", "--gpu", "V100", *common]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "V100" in err and "tracked: H100-80GB-SXM" in err


def test_no_tracked_prices_says_so_and_exits_0(main, capsys, tmp_path):
    toml = tmp_path / "spendwatch.toml"
    toml.write_text('[[teams]]\nname = "research"\n', encoding="utf-8")
    wh = str(tmp_path / "w.duckdb")
    # no warehouse at all: bad input (exit 2), one line naming what to run
    assert main(["breakeven", "--table", "--warehouse", wh, "--config", str(toml)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "warehouse not found (run `spendwatch run` first)" in err
    # a warehouse without prices: an empty result, said so (exit 0)
    __import__("warehouse.db", fromlist=["connect"]).connect(wh).close()
    assert main(["breakeven", "--table", "--warehouse", wh, "--config", str(toml)]) == 0
    assert "no GPU class has both a serverless and a dedicated price tracked: run `spendwatch prices refresh` first" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, needle",
    [
        ([], "give a price pair"),
        (["--serverless", "0.0004", "--serverless-currency", "GBP"], "also needs --dedicated, --dedicated-currency"),
        (_pair("0.0004", "GBP", "800", "GBP", "2026-11", "--gpu", "H100"), "cannot be combined"),
        (["--table", "--rate", "USD/GBP=0.8"], "price pair only"),
        (_pair("0.0005", "USD", "800", "GBP", "2026-11", "--rate", "USD-GBP=0.8"), "expected A/B=X"),
        (_pair("0.0005", "USD", "800", "GBP", "2026-11", "--rate", "USD/GBP=abc"), "not a number"),
        (_pair("0.0005", "USD", "800", "GBP", "2026-11", "--rate", "USD/GBP=-0.8"), "positive"),
        (_pair("0.0005", "USD", "800", "GBP", "2026-11", "--rate", "EUR/GBP=0.87"), "does not convert between"),
        (_pair("0.0004", "GBP", "800", "GBP", "2026-11", "--rate", "USD/GBP=0.8"), "no rate is needed"),
        (_pair("0.0005", "XYZ", "800", "GBP", "2026-11"), "unknown currency"),
        (_pair("0.0005", "USD", "800", "POUNDS", "2026-11"), "not a currency code"),
        (_pair("-0.0005", "USD", "800", "GBP", "2026-11"), "positive amount"),
        (_pair("0.0005", "USD", "-800", "GBP", "2026-11"), "positive amount"),
        (_pair("0.0005", "USD", "0", "GBP", "2026-11"), "positive amount"),
        (_pair("cheap", "USD", "800", "GBP", "2026-11"), "not an amount"),
        (_pair("0.0005", "USD", "800", "GBP", "2026-13"), "not a month"),
    ],
)
def test_bad_input_exits_2_with_one_line(main, capsys, tmp_path, argv, needle):
    code = main(["breakeven", *argv, "--warehouse", str(tmp_path / "w.duckdb")])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and needle in err and "Traceback" not in err, err


def test_gpu_month_uses_its_own_days_on_both_sides(main, capsys, tmp_path):
    """An hourly dedicated offer priced for the month asked for: February 2027 has 28 days on both sides."""
    import duckdb

    wh, toml = _tracked_warehouse(tmp_path)
    con = duckdb.connect(str(wh))
    con.execute("DELETE FROM price_history WHERE source_id = 'gigagpu'")   # the hourly RunPod pod is now the cheapest
    con.close()
    common = ["--warehouse", str(wh), "--config", str(toml)]
    feb = _json(main, capsys, "--gpu", "H100", "--month", "2027-02", *common)
    # D = $2.69 x 0.75 = £2.0175 an hour x 24 x 28 days = £1,355.76 (not the 30-day £1,452.60 of November);
    # s x T = 0.00082275 x 2,419,200 = 1,990.3968; u* = 1,355.76 / 1,990.3968 = 0.6811506
    assert (feb["dedicated_monthly"], feb["seconds_in_month"]) == ("1355.76", 2_419_200)
    assert feb["breakeven_utilisation"] == "0.681151"
    # 1,355.76 / 2.9619 = 457.73 GPU-hours; / 28 = 16.35 a day
    assert (feb["breakeven_gpu_hours_per_month"], feb["breakeven_gpu_hours_per_day"]) == ("457.73", "16.35")
    assert feb["breakeven_note"] is None


def test_never_cheaper_when_u_star_is_100_percent_or_more(main, capsys):
    # D = £1,200, s = £0.0004/s, 30 days: s x T = £1,036.80; u* = 1,200 / 1,036.80 = 1.157407 -> never cheaper
    out = _json(main, capsys, *_pair("0.0004", "GBP", "1200", "GBP", "2026-11"))
    assert (out["breakeven_utilisation"], out["breakeven_note"]) == ("1.157407", "never cheaper")
    assert main(["breakeven", *_pair("0.0004", "GBP", "1200", "GBP", "2026-11")]) == 0
    assert "never cheaper" in capsys.readouterr().out
