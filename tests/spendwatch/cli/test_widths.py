"""Every command's table at 80 and 120 columns: no line wider than the terminal, and no money figure cut.

The sample organisation's warehouse (tests/conftest.py) is copied once for this module.  Each command is run
with ``COLUMNS`` set; the money figures are parsed out of what it printed (``£1,234.56``, ``$0.000003``,
``470.32 GBP``) and each must be a whole figure of the warehouse: a value of the rows the command shows,
read with the same ``warehouse`` query functions (rounded to the penny for money, as stored for unit prices).
A cut figure (``£2`` for ``£287.62``) is no such value.  The figures of the columns a table always keeps
(priority 0) must all be there.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from spendwatch.cli import main
from spendwatch.render import money

D = Decimal
FIGURE = re.compile(r"(-?)[£$€](-?[\d,]+(?:\.\d+)?)|(-?\d[\d,]*\.\d+) [A-Z]{3}\b")
WIDTHS = (80, 120)
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture(scope="module")
def wh(sample_warehouse, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("widths") / "warehouse.duckdb"
    shutil.copy(sample_warehouse, path)
    return path


@pytest.fixture
def con(wh):
    from warehouse.db import connect

    c = connect(wh)  # read-write like the CLI: one process may not mix the two on a file
    yield c
    c.close()


def figures(text: str) -> list[Decimal]:
    out = []
    for sign, symbol_amount, coded in FIGURE.findall(text):
        out.append(D(sign + (symbol_amount or coded).replace(",", "")))
    return out


def whole(values) -> set[Decimal]:
    """Each value as printed: to the penny (money) and with its significant digits (unit prices)."""
    out = set()
    for v in values:
        if isinstance(v, Decimal):
            out |= {v.quantize(D("0.01")).normalize(), v.normalize()}
    return out


def decimals(obj) -> list[Decimal]:
    """Every Decimal inside rows, dicts and lists."""
    if isinstance(obj, Decimal):
        return [obj]
    if isinstance(obj, dict):
        return [d for v in obj.values() for d in decimals(v)]
    if isinstance(obj, (list, tuple)):
        return [d for v in obj for d in decimals(v)]
    return []


def run(monkeypatch, capsys, width: int, *argv: str) -> str:
    monkeypatch.setenv("COLUMNS", str(width))
    code = main(list(argv))
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def check(text: str, width: int, values, required=()) -> None:
    wide = [line for line in text.splitlines() if len(line) > width]
    assert not wide, f"wider than {width}: {wide[:3]}"
    allowed = whole(values)
    cut = [f for f in figures(text) if f.normalize() not in allowed]
    assert not cut, f"figures that are no value of the warehouse (cut?): {cut[:10]}"
    missing = [r for r in required if r not in text]
    assert not missing, f"money figures missing: {missing[:10]}"


def _cols(cols_rows):
    cols, rows = cols_rows
    return [dict(zip(cols, r)) for r in rows]


@pytest.mark.parametrize("width", WIDTHS)
def test_prices(wh, con, monkeypatch, capsys, width):
    from warehouse import queries

    w = ["--warehouse", str(wh)]
    shown = _cols(queries.prices_show(con))
    text = run(monkeypatch, capsys, width, "prices", "show", *w)
    check(text, width, decimals(shown),
          required=[money(r["per_gpu_hour_reporting"], r["reporting_currency"]) for r in shown if r["per_gpu_hour_reporting"]])
    hist = _cols(queries.price_history_rows(con, "runpod"))
    check(run(monkeypatch, capsys, width, "prices", "history", "--provider", "runpod", *w), width, decimals(hist))
    changes = _cols(queries.price_changes(con, date(2026, 11, 1)))
    check(run(monkeypatch, capsys, width, "prices", "changes", "--since", "2026-11-01", *w), width, decimals(changes))
    disc = _cols(queries.price_discrepancies(con))
    check(run(monkeypatch, capsys, width, "prices", "discrepancies", *w), width, decimals(disc))
    check(run(monkeypatch, capsys, width, "prices", "sources", *w), width, [])


@pytest.mark.parametrize("width", WIDTHS)
def test_breakeven(wh, con, monkeypatch, capsys, width):
    from warehouse import queries

    w = ["--warehouse", str(wh)]
    rows = _cols(queries.breakeven_rows(con))
    assert rows
    text = run(monkeypatch, capsys, width, "breakeven", "--table", *w)
    check(text, width, decimals(rows), required=[money(r["dedicated_monthly"], r["currency"]) for r in rows]
          + [money(r["serverless_per_hour"], r["currency"]) for r in rows])
    month, cols, recs = queries.team_recommendations(con, "vision")
    recs = [dict(zip(cols, r)) for r in recs]
    check(run(monkeypatch, capsys, width, "breakeven", "--team", "vision", *w), width, decimals(recs))
    [h100] = [r for r in rows if r["gpu_class"] == "H100-80GB-SXM"]
    text = run(monkeypatch, capsys, width, "breakeven", "--gpu", "H100", *w)
    # the calculator's own figures: D as tracked, s per GPU-second, and s x T over the month's seconds
    full = (h100["serverless_per_second"] * h100["seconds_in_month"])
    check(text, width, decimals(h100) + [full], required=[money(h100["dedicated_monthly"], "GBP")])


@pytest.mark.parametrize("width", WIDTHS)
def test_whatif(wh, monkeypatch, capsys, width):
    argv = ["whatif", "--requests-per-day", "100000", "--input-tokens", "512", "--output-tokens", "256",
            "--model-class", "7b", "--month", "2026-11", "--warehouse", str(wh)]
    options = json.loads(run(monkeypatch, capsys, width, *argv, "--format", "json"))["options"]
    costs = [D(o["monthly_cost"]) for o in options]
    assert costs
    text = run(monkeypatch, capsys, width, *argv)
    table = text.split("assumptions:")[0]  # the arithmetic column quotes prices per GPU-second, not money figures
    check(table, width, costs + [D(x.replace(",", "")) for x in re.findall(r"\d[\d,]*\.\d+", table)],
          required=[money(c, "GBP") for c in costs])
    assert all(len(line) <= width for line in text.splitlines())


@pytest.mark.parametrize("width", WIDTHS)
def test_anomalies(wh, con, monkeypatch, capsys, width):
    from warehouse.anomalies import anomalies

    rows = anomalies(con)
    assert rows
    values = [v for r in rows for v in (r.expected, r.actual, r.excess, r.price_effect, r.volume_effect)]
    values += [D(str(t.get("amount"))) for r in rows for t in r.top_lines if t.get("amount") is not None]
    text = run(monkeypatch, capsys, width, "anomalies", "--warehouse", str(wh))
    check(text, width, values, required=[money(r.actual, r.currency) for r in rows] + [money(r.expected, r.currency) for r in rows])


@pytest.mark.parametrize("width", WIDTHS)
def test_review(wh, con, monkeypatch, capsys, width):
    from spendwatch.review.data import build_review

    data = build_review(con, month=date(2026, 11, 1))
    text = run(monkeypatch, capsys, width, "review", "--month", "2026-11", "--warehouse", str(wh))
    check(text, width, decimals(data))


@pytest.mark.parametrize("width", WIDTHS)
def test_lists(wh, monkeypatch, capsys, width):
    from warehouse import alerts as wa
    from warehouse.db import connect

    w = ["--warehouse", str(wh)]
    for argv in (["files", "list"], ["alerts", "list", "--state", "all"], ["models", "list"]):
        check(run(monkeypatch, capsys, width, *argv, *w), width, [])
    c = connect(wh, read_only=True)
    try:  # a threshold condition's subject is its threshold, e.g. 1500.00 GBP: printed whole
        subjects = [f for kind, team, period, subject, _ in wa.current_conditions(c) for f in figures(str(subject))]
    finally:
        c.close()
    assert subjects
    check(run(monkeypatch, capsys, width, "alerts", "conditions", *w), width, subjects)


@pytest.mark.parametrize("width", WIDTHS)
def test_ingest(tmp_path, monkeypatch, capsys, width):
    export = FIXTURES / "exports" / "openai_costs_2026-11.json"
    results = json.loads(run(monkeypatch, capsys, width, "ingest", str(export), "--format-output", "json",
                             "--warehouse", str(tmp_path / "a.duckdb")))
    billed = [D(v) for r in results for v in r["billed"].values()]
    assert billed
    text = run(monkeypatch, capsys, width, "ingest", str(export), "--warehouse", str(tmp_path / "b.duckdb"))
    check(text, width, billed, required=[money(D(v), k) for r in results for k, v in r["billed"].items()])
