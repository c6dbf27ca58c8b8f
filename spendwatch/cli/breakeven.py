"""``spendwatch breakeven``: when one dedicated GPU beats serverless, for any pair of prices.

u* = D / (s x T) and break-even GPU-hours = D / (s x 3600), where D is the dedicated price per
GPU per month, s the serverless price per GPU-second (both in one currency) and T the seconds
in that calendar month (DOMAIN.md §1).  Three ways to ask:

* a price pair: ``--serverless AMOUNT --serverless-currency C --dedicated AMOUNT --dedicated-currency C``
  with ``--month`` (default this month) and ``--rate A/B=X`` (1 A = X B); without ``--rate`` the
  ECB rate of the month's last day is read from the warehouse (the latest one if none is that old);
* ``--gpu CLASS``: the cheapest serverless and dedicated prices tracked now (model ``breakeven_table``);
* ``--table``: every GPU class of ``breakeven_table``.

The calculator works in Decimal.  Serverless is converted into the dedicated price's currency,
and the rate used is always shown with where it came from and its date.

No tracked pair (or no recommendation for a team) says so and exits 0; an unknown --gpu or --team exits 2
and lists the valid ones.
"""

from __future__ import annotations

import argparse
import calendar
import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from spendwatch.cli import common
from spendwatch.core.errors import UsageError
from spendwatch.render import Col, money, number, plain, render_table, unit_price

NAME = "breakeven"

SECONDS_PER_DAY = 86_400
_RATE = re.compile(r"^\s*([A-Za-z]{3})\s*/\s*([A-Za-z]{3})\s*=\s*(\S+)\s*$")
_PAIR_OPTIONS = (("serverless", "--serverless"), ("serverless_currency", "--serverless-currency"),
                 ("dedicated", "--dedicated"), ("dedicated_currency", "--dedicated-currency"))


@dataclass(frozen=True)
class Rate:
    """How one unit of the serverless price's currency turns into the dedicated price's currency."""

    base: str                # the serverless price's currency
    quote: str               # the dedicated price's currency (the result's currency)
    factor: Decimal          # 1 base = factor quote
    source: str              # given | ecb | ecb_latest | none | tracked
    rate_date: date | None   # the ECB day of the rate (None when given or not needed)

    def describe(self) -> str:
        if self.source == "none":
            return f"none needed (both prices in {self.quote})"
        if self.source == "tracked":
            when = f" of {self.rate_date.isoformat()}" if self.rate_date else ""
            return f"tracked prices converted to {self.quote} at the latest ECB rate{when}"
        text = f"1 {self.base} = {_plain(self.factor)} {self.quote}"
        if self.source == "given":
            return f"{text} (given with --rate)"
        suffix = " (the latest ECB rate: none is that old)" if self.source == "ecb_latest" else ""
        return f"{text} (ECB reference rate of {self.rate_date.isoformat()}){suffix}"


@dataclass(frozen=True)
class Breakeven:
    """The break-even of one dedicated GPU against serverless in one calendar month."""

    month: date
    serverless_per_second: Decimal   # s, as given, in rate.base
    dedicated_monthly: Decimal       # D, in rate.quote
    rate: Rate

    @property
    def currency(self) -> str:
        return self.rate.quote

    @property
    def days_in_month(self) -> int:
        return calendar.monthrange(self.month.year, self.month.month)[1]

    @property
    def seconds_in_month(self) -> int:
        return self.days_in_month * SECONDS_PER_DAY

    @property
    def serverless_per_second_converted(self) -> Decimal:
        return self.serverless_per_second * self.rate.factor

    @property
    def serverless_full_month(self) -> Decimal:
        """s x T: one GPU kept busy on serverless for the whole month."""
        return self.serverless_per_second_converted * self.seconds_in_month

    @property
    def breakeven_utilisation(self) -> Decimal:
        """u* = D / (s x T), a fraction of the month."""
        return self.dedicated_monthly / self.serverless_full_month

    @property
    def breakeven_gpu_hours_per_month(self) -> Decimal:
        """D / (s x 3600): GPU-hours of serverless a month that cost as much as the dedicated GPU."""
        return self.dedicated_monthly / (self.serverless_per_second_converted * 3600)

    @property
    def breakeven_gpu_hours_per_day(self) -> Decimal:
        return self.breakeven_gpu_hours_per_month / self.days_in_month

    def as_json(self) -> dict[str, Any]:
        """The figures as JSON: Decimals as exact decimal strings (the spendwatch convention), counts as numbers."""
        return {
            "month": f"{self.month:%Y-%m}",
            "days_in_month": self.days_in_month,
            "seconds_in_month": self.seconds_in_month,
            "currency": self.currency,
            "serverless_per_second": _plain(self.serverless_per_second),
            "serverless_currency": self.rate.base,
            "serverless_per_second_converted": _plain(_q(self.serverless_per_second_converted, 12)),
            "serverless_full_month": _plain(_q(self.serverless_full_month, 2)),
            "dedicated_monthly": _plain(self.dedicated_monthly),
            "dedicated_currency": self.rate.quote,
            "breakeven_utilisation": _plain(_q(self.breakeven_utilisation, 6)),
            "breakeven_utilisation_pct": _plain(_q(self.breakeven_utilisation * 100, 2)),
            "breakeven_note": "never cheaper" if self.breakeven_utilisation >= 1 else None,
            "breakeven_gpu_hours_per_month": _plain(_q(self.breakeven_gpu_hours_per_month, 2)),
            "breakeven_gpu_hours_per_day": _plain(_q(self.breakeven_gpu_hours_per_day, 2)),
            "rate_used": _plain(self.rate.factor),
            "rate": self.rate.describe(),
            "rate_source": self.rate.source,
            "rate_date": self.rate.rate_date.isoformat() if self.rate.rate_date else None,
        }

    def lines(self) -> list[str]:
        """The figures as terminal lines."""
        c = self.currency
        return [
            f"break-even of one dedicated GPU against serverless, {self.month:%Y-%m} "
            f"({self.days_in_month} days, T = {self.seconds_in_month:,} s)",
            f"  serverless s:                {unit_price(self.serverless_per_second, self.rate.base)} per GPU-second"
            + (f" = {unit_price(_q(self.serverless_per_second_converted, 12), c)}" if self.rate.base != c else ""),
            f"  dedicated D:                 {money(self.dedicated_monthly, c)} per GPU per month",
            f"  rate:                        {self.rate.describe()}",
            f"  serverless all month s x T:  {money(self.serverless_full_month, c)}",
            f"  break-even utilisation u*:   {_plain(_q(self.breakeven_utilisation * 100, 2))} % "
            f"({_plain(_q(self.breakeven_utilisation, 6))} of the month)"
            + (": never cheaper (a dedicated GPU costs more than serverless all month)" if self.breakeven_utilisation >= 1 else ""),
            f"  break-even GPU-hours:        {number(self.breakeven_gpu_hours_per_month, 2)} per month, "
            f"{number(self.breakeven_gpu_hours_per_day, 2)} per day",
            f"  above u*, the dedicated GPU is cheaper; below it, serverless is.",
        ]


# --- parsing ------------------------------------------------------------------------------

def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``breakeven`` to the spendwatch subcommands."""
    p = common.add_command(
        subparsers, NAME, help="when one dedicated GPU beats serverless: u* and break-even GPU-hours for any pair of prices",
        description="u* = D / (s x T) and break-even GPU-hours D / (s x 3600), for a price pair, a tracked GPU class, "
                    "or every class (--table).")
    p.add_argument("--serverless", type=common.amount_arg(allow_zero=False), metavar="AMOUNT", help="serverless price per GPU-second (s)")
    p.add_argument("--serverless-currency", metavar="C", help="currency of --serverless, e.g. USD")
    p.add_argument("--dedicated", type=common.amount_arg(allow_zero=False), metavar="AMOUNT", help="dedicated price per GPU per month (D)")
    p.add_argument("--dedicated-currency", metavar="C", help="currency of --dedicated, e.g. GBP (the result's currency)")
    p.add_argument("--month", type=common.month_arg, metavar="YYYY-MM", help="the calendar month (T = its days x 86,400 s); default this month")
    p.add_argument("--rate", metavar="A/B=X", help="exchange rate, 1 A = X B (e.g. USD/GBP=0.7756); default the ECB rate of the month's last day")
    p.add_argument("--gpu", metavar="CLASS", help="use the cheapest tracked serverless and dedicated prices of this GPU class now")
    p.add_argument("--table", action="store_true", help="print the break-even of every tracked GPU class (model breakeven_table)")
    p.add_argument("--team", metavar="NAME", help="the team's recommendation per GPU class (model recommendations), as the review and Slack give it")
    p.add_argument("--format", choices=["table", "json"], default="table")
    return p


def parse_rate(text: str) -> tuple[str, str, Decimal]:
    """``A/B=X`` -> (A, B, X): 1 A = X B.  Raises UsageError on bad syntax or a non-positive rate."""
    m = _RATE.match(text or "")
    if not m:
        raise UsageError(f"--rate {text!r}: expected A/B=X, e.g. USD/GBP=0.7756 (1 A = X B)")
    base, quote = m.group(1).upper(), m.group(2).upper()
    try:
        x = Decimal(m.group(3))
    except InvalidOperation:
        raise UsageError(f"--rate {text!r}: {m.group(3)!r} is not a number") from None
    if not x.is_finite() or x <= 0:
        raise UsageError(f"--rate {text!r}: the rate must be a positive number")
    if base == quote:
        raise UsageError(f"--rate {text!r}: the two currencies must differ")
    return _currency(base, "--rate"), _currency(quote, "--rate"), x


@lru_cache(maxsize=1)
def known_currencies() -> frozenset[str]:
    """The currencies the ECB has quoted (the columns of its history file), and the euro."""
    from scrapers.fx import bundled_history_csv_path

    with open(bundled_history_csv_path(), encoding="utf-8-sig") as f:
        header = f.readline()
    codes = {c.strip() for c in header.split(",")[1:] if re.fullmatch(r"[A-Z]{3}", c.strip())}
    return frozenset(codes | {"EUR"})


def _currency(value: str, option: str) -> str:
    code = (value or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise UsageError(f"{option} {value!r}: not a currency code (three letters, e.g. GBP)")
    if code not in known_currencies():
        raise UsageError(f"{option} {value!r}: unknown currency (not an ECB reference currency)")
    return code


# --- rates --------------------------------------------------------------------------------

def given_rate(serverless_ccy: str, dedicated_ccy: str, text: str) -> Rate:
    """The ``--rate`` as the factor from the serverless currency to the dedicated one."""
    base, quote, x = parse_rate(text)
    if serverless_ccy == dedicated_ccy:
        raise UsageError(f"--rate {text!r}: both prices are in {dedicated_ccy}, no rate is needed")
    if (base, quote) == (serverless_ccy, dedicated_ccy):
        factor = x
    elif (base, quote) == (dedicated_ccy, serverless_ccy):
        factor = (Decimal(1) / x).quantize(Decimal("1e-10"), rounding=ROUND_HALF_UP).normalize()
    else:
        raise UsageError(f"--rate {text!r} does not convert between the prices' currencies "
                         f"{serverless_ccy} and {dedicated_ccy}")
    return Rate(serverless_ccy, dedicated_ccy, factor, "given", None)


def ecb_rate(con, serverless_ccy: str, dedicated_ccy: str, month: date) -> Rate:
    """The ECB rate of the month's last day (or the latest before it; the latest there is if none is that old)."""
    from scrapers.fx import bundled_history_csv_path
    from warehouse import fx
    from warehouse.queries import has_fx_rates

    if not has_fx_rates(con):
        fx.load_history_csv(con, bundled_history_csv_path())
    month_end = date(month.year, month.month, calendar.monthrange(month.year, month.month)[1])
    source = "ecb"
    try:
        factor, on = fx.convert_rate(con, serverless_ccy, dedicated_ccy, month_end)
    except fx.FxRateNotFound:
        try:
            factor, on = fx.convert_rate(con, serverless_ccy, dedicated_ccy, date.max)
        except fx.FxRateNotFound:
            raise UsageError(f"no ECB rate for {serverless_ccy}->{dedicated_ccy} in the warehouse: give one with --rate") from None
        source = "ecb_latest"
    return Rate(serverless_ccy, dedicated_ccy, factor.quantize(Decimal("1e-10"), rounding=ROUND_HALF_UP).normalize(), source, on)


# --- commands -----------------------------------------------------------------------------

def run(args: argparse.Namespace) -> int:
    """Run ``spendwatch breakeven``: print u* and the break-even GPU-hours (0), or exit 2 on bad input."""
    pair_given = [opt for attr, opt in _PAIR_OPTIONS if getattr(args, attr, None) is not None]
    modes = [m for m, on in (("a price pair", bool(pair_given)), ("--gpu", args.gpu is not None), ("--table", args.table),
                             ("--team", getattr(args, "team", None) is not None)) if on]
    if not modes:
        raise UsageError("spendwatch breakeven: give a price pair (--serverless AMOUNT --serverless-currency C "
                         "--dedicated AMOUNT --dedicated-currency C), --gpu CLASS or --table")
    if len(modes) > 1:
        raise UsageError(f"spendwatch breakeven: {' and '.join(modes)} cannot be combined: use one")
    if args.rate is not None and not pair_given:
        raise UsageError("spendwatch breakeven: --rate applies to a price pair only")
    if args.table:
        return _table(args)
    if getattr(args, "team", None) is not None:
        return _team(args)
    if args.gpu is not None:
        return _gpu(args)
    missing = [opt for attr, opt in _PAIR_OPTIONS if getattr(args, attr, None) is None]
    if missing:
        raise UsageError(f"spendwatch breakeven: a price pair also needs {', '.join(missing)}")
    s_ccy = _currency(args.serverless_currency, "--serverless-currency")
    d_ccy = _currency(args.dedicated_currency, "--dedicated-currency")
    month = _month_start(args.month)
    if args.rate is not None:
        rate = given_rate(s_ccy, d_ccy, args.rate)
    elif s_ccy == d_ccy:
        rate = Rate(s_ccy, d_ccy, Decimal(1), "none", None)
    else:
        with common.connection() as con:
            rate = ecb_rate(con, s_ccy, d_ccy, month)
    _print(Breakeven(month, args.serverless, args.dedicated, rate), args.format)
    return 0


def _month_start(month: date | None) -> date:
    if month is None:
        today = datetime.now(ZoneInfo("Europe/London")).date()
        return today.replace(day=1)
    return month.replace(day=1)


def _print(result: Breakeven, fmt: str, extra: dict[str, Any] | None = None, extra_lines: list[str] | None = None) -> None:
    if fmt == "json":
        common.out(json.dumps({**result.as_json(), **(extra or {})}, indent=2))
        return
    lines = result.lines()
    common.out_lines("\n".join(lines[:1] + (extra_lines or []) + lines[1:]))


NO_PAIR = "no GPU class has both a serverless and a dedicated price tracked: run `spendwatch prices refresh` first"


def _tracked() -> tuple[list[str], list[tuple]]:
    """breakeven_table, brought up to date first."""
    from warehouse.queries import breakeven_rows

    with common.built(["breakeven_table"]) as con:
        return breakeven_rows(con)


TABLE_COLUMNS = (Col("GPU class", priority=0), Col("serverless (cheapest)", priority=2), Col("per GPU-hour", "money", 0),
                 Col("dedicated (cheapest)", priority=2), Col("per month", "money", 0), Col("u*", "number", 0),
                 Col("GPU-hours / month", "number", 1), Col("hours / day", "number", 1))


def _table(args) -> int:
    cols, rows = _tracked()
    if args.format == "json" or not rows:
        return common.print_rows(cols, rows, args.format, empty=NO_PAIR)
    first = dict(zip(cols, rows[0]))
    rate = f", ECB rate of {first['fx_rate_date']}" if first.get("fx_rate_date") else ""
    title = f"break-even per GPU class, {first['month']:%Y-%m} (cheapest prices in force, in {first['currency']}{rate})"
    view = []
    for r in (dict(zip(cols, row)) for row in rows):
        tier = f" ({r['serverless_tier']})" if r.get("serverless_tier") else ""
        view.append((r["gpu_class"], f"{r['serverless_provider']} {r['serverless_sku']}{tier}",
                     money(r["serverless_per_hour"], r["currency"]), f"{r['dedicated_provider']} {r['dedicated_offer']}",
                     money(r["dedicated_monthly"], r["currency"]), f"{number(r['breakeven_utilisation'] * 100, 2)} %",
                     number(r["breakeven_gpu_hours_per_month"], 2), number(r["breakeven_hours_per_day"], 2)))
    common.out(render_table(TABLE_COLUMNS, view, title))
    return 0


def _team(args) -> int:
    """The team's one recommendation per GPU class (model recommendations) for the month (default the latest)."""
    from spendwatch.recommend import recommendation_text
    from warehouse.queries import team_names, team_recommendations

    with common.built(["recommendations"]) as con:
        common.check_choice("--team", args.team, team_names(con), "team")
        month, cols, rows = team_recommendations(con, args.team, args.month.replace(day=1) if args.month else None)
    if args.format == "json":
        return common.print_rows(cols, rows, "json")
    if not rows:
        common.out(f"{plain(args.team)}: no serverless GPU use to decide on" + (f" in {month:%Y-%m}" if month else ""))
        return 0
    view = [(r["gpu_class"], recommendation_text(r), f"{r['window_start']} - {r['window_end']}", r["breakeven_text"])
            for r in (dict(zip(cols, row)) for row in rows)]
    columns = (Col("GPU class", priority=0), Col("recommendation", priority=0), Col("window", priority=2),
               Col("break-even u*", priority=1))
    common.out(render_table(columns, view, f"{args.team}: what to do, {month:%Y-%m} (over the window shown)"))
    return 0


def _gpu(args) -> int:
    cols, rows = _tracked()
    tracked = [dict(zip(cols, r)) for r in rows]
    row = _match_class(args.gpu, tracked)
    month = _month_start(args.month) if args.month else row["month"]
    rate = Rate(row["currency"], row["currency"], Decimal(1), "tracked", row.get("fx_rate_date"))
    dedicated = row["dedicated_monthly"]
    if row.get("dedicated_unit") == "hour" and row.get("dedicated_per_gpu_hour") is not None:
        # an hourly offer costs the month's own hours: the same days as T on the serverless side
        dedicated = _q(row["dedicated_per_gpu_hour"] * 24 * calendar.monthrange(month.year, month.month)[1], 2)
    result = Breakeven(month, row["serverless_per_second"], dedicated, rate)
    tier = f" ({row['serverless_tier']})" if row.get("serverless_tier") else ""
    extra = {
        "gpu_class": row["gpu_class"],
        "serverless_provider": row["serverless_provider"], "serverless_sku": row["serverless_sku"],
        "serverless_tier": row.get("serverless_tier"),
        "dedicated_provider": row["dedicated_provider"], "dedicated_offer": row["dedicated_offer"],
    }
    extra_lines = [
        f"  GPU class:                   {plain(row['gpu_class'])}",
        f"  cheapest serverless:         {plain(row['serverless_provider'])} {plain(row['serverless_sku'])}{plain(tier)}",
        f"  cheapest dedicated:          {plain(row['dedicated_provider'])} {plain(row['dedicated_offer'])}",
    ]
    _print(result, args.format, extra, extra_lines)
    return 0


def _match_class(wanted: str, tracked: list[dict[str, Any]]) -> dict[str, Any]:
    """The tracked row of a GPU class, named as spendwatch does (H100-80GB-SXM) or as a provider does (H100 SXM)."""
    from scrapers.gpus import normalise_gpu

    by_class = {r["gpu_class"].upper(): r for r in tracked}
    key = wanted.strip().upper()
    if key in by_class:
        return by_class[key]
    try:
        key = normalise_gpu(wanted).upper()
    except KeyError:
        key = ""
    if key in by_class:
        return by_class[key]
    known = ", ".join(sorted(r["gpu_class"] for r in tracked))
    raise UsageError(f"--gpu {wanted!r}: no GPU class with both a serverless and a dedicated price tracked (tracked: {known})")


# --- formatting ---------------------------------------------------------------------------

def _q(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _plain(value: Decimal) -> str:
    """A Decimal without exponent and without trailing zeros beyond its quantum."""
    return format(value, "f")
