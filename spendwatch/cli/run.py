"""``spendwatch run``: the daily job once (prices, FX, ingest, models, summary), then the review."""

from __future__ import annotations

import argparse
import os
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from spendwatch.cli import common
from spendwatch.cli import review as review_cmd

NAME = "run"


def add_parser(sub) -> argparse.ArgumentParser:
    p = common.add_command(sub, NAME, help="run the daily job once (prices, FX, ingest, models, summary) and print the review")
    p.add_argument("--date", type=common.date_arg, help="the day (partition) to run; default yesterday, Europe/London")
    p.add_argument("--offline", action="store_true", help="use the recorded price snapshots, no network")
    p.add_argument("--snapshot-dir", type=Path, metavar="DIR", help="replay price captures from DIR")
    p.add_argument("--no-review", action="store_true", help="do not print the review afterwards")
    return p


def run(args: argparse.Namespace) -> int:
    from spendwatch.daily import run_daily

    common.load_config()  # a bad config stops here, before the run starts
    if args.offline:
        os.environ["SPENDWATCH_PRICE_MODE"] = "offline"
    if args.snapshot_dir:
        os.environ["SPENDWATCH_PRICE_MODE"] = "snapshot"
        os.environ["SPENDWATCH_SNAPSHOT_DIR"] = str(args.snapshot_dir.resolve())
    day = args.date or (datetime.now(ZoneInfo("Europe/London")).date() - timedelta(days=1))
    ok, summary = run_daily(day)
    for line in summary:
        common.out(line)
    if not ok:
        return 1
    if not args.no_review:
        return review_cmd.run(argparse.Namespace(month=None, team=None, format="table", output=None))
    return 0
