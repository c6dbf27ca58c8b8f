"""``spendwatch whatif``: what a workload would cost a month on serverless GPU, dedicated GPU and hosted APIs,
without any usage data.

Inputs: requests a day, input and output tokens a request, the model's size class (a ``[[throughput]]``
model_class of spendwatch.toml: its GPU class, tokens per second per GPU and utilisation), whether it needs
sub-second latency, and the cold-start minutes a day a serverless worker spends starting.  Prices are the
ones in force now (model ``prices_normalised``), in the reporting currency at the latest ECB rate.

* serverless: busy GPU-seconds a day = requests x (input + output tokens) / tokens per second, plus the
  cold starts, at the cheapest pay-per-use price of the class; with sub-second latency one worker is kept
  warm all day (86,400 s a day at the cheapest always-on or pay-per-use price), and there are no cold starts;
* dedicated: GPUs = requests x tokens / (tokens per second x utilisation x 86,400), rounded up to whole
  rentable units of the cheapest offer without commitment (plus ``--redundancy`` servers), for the month's days;
* hosted APIs: requests x (input x input price + output x output price) for the hosted models of the class
  (the class's model globs and the closed models [[selfhost_equivalents]] maps to it), standard tier.

Every assumption is printed; ``--format json`` gives the same figures as JSON.
"""

from __future__ import annotations

import argparse
import calendar
import json
import math
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from fnmatch import fnmatchcase
from zoneinfo import ZoneInfo

from spendwatch.cli import common
from spendwatch.core.errors import UsageError
from spendwatch.render import Col, money, plain, render_table, unit_price

NAME = "whatif"

D = Decimal


@dataclass
class Option:
    way: str            # serverless | dedicated | hosted_api
    offer: str
    monthly_cost: Decimal
    arithmetic: str


def _positive_int(value: str) -> int:
    try:
        n = int(value.replace(",", "").replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if n <= 0:
        raise argparse.ArgumentTypeError(f"{value!r} must be more than 0")
    return n


def _count(value: str) -> int:
    if value.strip() == "0":
        return 0
    return _positive_int(value)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = common.add_command(
        subparsers, NAME, help="what a workload would cost a month on serverless GPU, dedicated GPU and hosted APIs (no usage data)",
        description="Prices a workload per month in the reporting currency: serverless GPU (per second), dedicated GPU "
                    "(whole units, cheapest offer without commitment) and hosted APIs (per token).")
    p.add_argument("--requests-per-day", type=_positive_int, required=True, metavar="N")
    p.add_argument("--input-tokens", type=_count, default=0, metavar="N", help="input tokens a request (default 0)")
    p.add_argument("--output-tokens", type=_positive_int, required=True, metavar="N", help="output tokens a request")
    p.add_argument("--model-class", required=True, metavar="CLASS", help="a [[throughput]] model_class of spendwatch.toml, e.g. 7b")
    p.add_argument("--sub-second", action="store_true", help="needs sub-second latency: no cold starts, a serverless worker kept warm")
    p.add_argument("--cold-start-minutes", type=common.amount_arg(allow_zero=True), default=D(0), metavar="M",
                   help="minutes a day serverless workers spend starting, billed (default 0)")
    p.add_argument("--tokens-per-second", type=common.amount_arg(allow_zero=True), metavar="N", help="override the class's tokens per second per GPU")
    p.add_argument("--redundancy", type=_count, default=0, metavar="N", help="extra dedicated servers (1 = N+1; default 0)")
    p.add_argument("--month", type=common.month_arg, metavar="YYYY-MM", help="the month priced (its days); default this month")
    p.add_argument("--format", choices=["table", "json"], default="table")
    return p


def run(args: argparse.Namespace) -> int:
    cfg = common.load_config()
    classes = {t.model_class: t for t in cfg.throughput}
    if args.model_class not in classes:
        raise UsageError(f"--model-class {args.model_class!r}: not a [[throughput]] model_class of {cfg.path} "
                         f"(known: {', '.join(sorted(classes)) or 'none'})")
    t = classes[args.model_class]
    tps = args.tokens_per_second if args.tokens_per_second is not None else t.tokens_per_second
    if tps <= 0:
        raise UsageError("--tokens-per-second must be more than 0")
    month = (args.month or datetime.now(ZoneInfo("Europe/London")).date()).replace(day=1)
    days = calendar.monthrange(month.year, month.month)[1]
    patterns = list(t.models) + [m for m, cls, _ in cfg.equivalents() if cls == args.model_class]
    prices = _prices(t.gpu, patterns)
    result = whatif(args.requests_per_day, args.input_tokens, args.output_tokens, t.gpu, tps, t.utilisation,
                    args.sub_second, args.cold_start_minutes, args.redundancy, days, prices, cfg.reporting_currency)
    result["inputs"] = {"requests_per_day": args.requests_per_day, "input_tokens": args.input_tokens,
                        "output_tokens": args.output_tokens, "model_class": args.model_class, "sub_second": args.sub_second,
                        "cold_start_minutes": str(args.cold_start_minutes), "redundancy": args.redundancy,
                        "month": f"{month:%Y-%m}", "currency": cfg.reporting_currency}
    _print(result, args.format, cfg.reporting_currency)
    return 0


def whatif(requests: int, input_tokens: int, output_tokens: int, gpu: str, tps: Decimal, utilisation: Decimal,
           sub_second: bool, cold_start_minutes: Decimal, redundancy: int, days: int, prices: dict,
           currency: str | None = None) -> dict:
    """The three ways of serving the workload, cheapest first, with every assumption (pure: prices given, in
    ``currency``, which the arithmetic shows them with)."""
    price = lambda v: unit_price(v, currency) if currency else _n(v)  # noqa: E731
    tokens_a_day = requests * (input_tokens + output_tokens)
    busy = D(tokens_a_day) / tps                                   # GPU-seconds a day, at full speed
    assumptions = [
        f"work: {requests:,} requests x ({input_tokens:,} input + {output_tokens:,} output) tokens = {tokens_a_day:,} tokens a day",
        f"throughput: {_n(tps)} tokens/s per {gpu} GPU (input and output tokens alike), at {_n(utilisation * 100)} % utilisation on dedicated GPUs",
        f"month: {days} days",
        f"serverless busy time: {tokens_a_day:,} / {_n(tps)} = {_n(_q(busy, 1))} GPU-seconds a day",
    ]
    options: list[Option] = []
    s = prices.get("serverless")
    if s:
        if sub_second:
            warm = prices.get("serverless_warm") or s
            billed, rate, offer = max(busy, D(86400)), warm["per_second"], warm["offer"]
            assumptions.append("sub-second latency: one serverless worker kept warm all day (no cold starts)")
        else:
            billed, rate, offer = busy + cold_start_minutes * 60, s["per_second"], s["offer"]
            assumptions.append(f"cold starts: {_n(cold_start_minutes)} minutes a day, billed")
        cost = billed * rate * days
        options.append(Option("serverless", offer, _q(cost, 2),
                              f"{_n(_q(billed, 1))} s/day x {price(rate)} per GPU-second x {days} days"))
    else:
        assumptions.append(f"serverless: no pay-per-use price tracked for {gpu}")
    per_gpu_day = D(tps) * utilisation * 86400
    gpus = max(1, math.ceil(D(tokens_a_day) / per_gpu_day))
    assumptions.append(f"dedicated GPUs needed: {tokens_a_day:,} / ({_n(tps)} x {_n(utilisation)} x 86,400) = "
                       f"{_n(_q(D(tokens_a_day) / per_gpu_day, 3))}, so {gpus}" + (f", plus {redundancy} for redundancy" if redundancy else ""))
    best = None
    for o in prices.get("dedicated", []):
        units = math.ceil(gpus / o["min_units"]) * o["min_units"] + redundancy * o["min_units"]
        monthly = o["per_gpu_month"](days)
        cost = units * monthly
        if best is None or cost < best[0]:
            best = (cost, o, units, monthly)
    if best:
        cost, o, units, monthly = best
        options.append(Option("dedicated", o["offer"], _q(cost, 2), f"{units} GPU(s) x {price(_q(monthly, 2))} a GPU for the month"
                              + (f" (rented in units of {o['min_units']})" if o["min_units"] > 1 else "")))
    else:
        assumptions.append(f"dedicated: no offer without commitment tracked for {gpu}")
    for m in prices.get("api", []):
        cost = D(requests) * days * (input_tokens * m["input"] + output_tokens * m["output"]) / 1_000_000
        options.append(Option("hosted_api", m["offer"], _q(cost, 2),
                              f"{requests:,} x {days} x ({input_tokens:,} x {price(m['input'])} + {output_tokens:,} x {price(m['output'])}) / 1M"))
    if not prices.get("api"):
        assumptions.append("hosted APIs: no tracked model matches the class")
    assumptions.append("prices: in force now, in the reporting currency at the latest ECB rate"
                       + (f" ({prices['fx_rate_date']})" if prices.get("fx_rate_date") else ""))
    options.sort(key=lambda o: o.monthly_cost)
    return {"options": [asdict(o) for o in options], "assumptions": assumptions}


def _prices(gpu: str, patterns: list[str]) -> dict:
    """The cheapest serverless prices (pay-per-use and always-on), every dedicated offer without commitment and
    the hosted models matching ``patterns``, from the prices in force (model prices_normalised, brought up to date)."""
    from warehouse.queries import whatif_prices

    with common.built(["prices_normalised"]) as con:
        rows = whatif_prices(con, gpu)
    out: dict = {"dedicated": [], "api": []}
    fx_dates = set()
    api: dict[tuple[str, str], dict] = {}
    for (prov, sku, tier, kind, comp, unit, amount, fx, count, per_hour, per_1m, term, min_units, fx_date) in rows:
        offer = f"{prov} {sku}" + (f" ({tier})" if tier else "")
        if kind == "serverless_gpu" and unit in ("second", "hour"):
            key = "serverless_warm" if tier == "active" else "serverless"
            per_second = D(per_hour) / 3600
            if key not in out or per_second < out[key]["per_second"]:
                out[key] = {"offer": offer, "per_second": _q(per_second, 10)}
                fx_dates.add(fx_date)
        elif kind == "dedicated_gpu" and unit in ("hour", "month") and not term:
            if unit == "month":
                per_month = D(amount) * D(fx) / (count or 1 if comp == "instance" else 1)
                fn = lambda days, pm=per_month: pm  # noqa: E731  (a monthly price is the month's)
            else:
                fn = lambda days, ph=D(per_hour): ph * 24 * days  # noqa: E731
            out["dedicated"].append({"offer": offer, "min_units": int(min_units or 1), "per_gpu_month": fn})
            fx_dates.add(fx_date)
        elif kind == "hosted_api" and any(fnmatchcase(sku.lower(), p.lower()) for p in patterns):
            api.setdefault((prov, sku), {"offer": f"{prov} {sku}"})[comp.split("_")[0]] = D(per_1m)   # per 1M tokens
    out["api"] = [m for m in api.values() if "input" in m and "output" in m]
    dates = sorted(d for d in fx_dates if d)
    out["fx_rate_date"] = dates[-1] if dates else None
    return out


def _print(result: dict, fmt: str, currency: str) -> None:
    if fmt == "json":
        common.out(json.dumps(result, indent=2, default=str))
        return
    i = result["inputs"]
    title = (f"what-if: {i['requests_per_day']:,} requests a day, {i['input_tokens']:,} in + {i['output_tokens']:,} out tokens, "
             f"class {i['model_class']}{', sub-second' if i['sub_second'] else ''}, {i['month']} ({currency} a month)")
    rows = [(o["way"], o["offer"], money(o["monthly_cost"], currency), o["arithmetic"]) for o in result["options"]]
    columns = (Col("way", priority=0), Col("offer", priority=0), Col("per month", "money", 0), Col("arithmetic", priority=1))
    if rows:
        common.out(render_table(columns, rows, title))
    else:
        common.out(f"{title}: no tracked price can serve it")
    common.out_lines("assumptions:\n" + "".join(f"  - {plain(a)}\n" for a in result["assumptions"]))


def _q(value: Decimal, places: int) -> Decimal:
    return D(value).quantize(D(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _n(value: Decimal) -> str:
    return format(D(value).normalize(), ",f") if D(value) == D(value).to_integral() else format(D(value).normalize(), "f")
