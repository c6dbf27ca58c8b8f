"""``spendwatch config check``: validate spendwatch.toml and print a summary."""

from __future__ import annotations

import argparse
import sys

from spendwatch.cli import common

NAME = "config"


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(NAME, help="spendwatch.toml")
    csub = p.add_subparsers(dest="config_command", metavar="ACTION", parser_class=common.Parser, required=True)
    common.add_command(csub, "check", help="validate the config and print a summary")
    return p


def run(args: argparse.Namespace) -> int:
    from spendwatch.delivery import unset_webhooks
    from spendwatch.render import one_line

    cfg = common.load_config()
    common.out(f"{one_line(cfg.path)}: ok — {len(cfg.teams)} teams, {len(cfg.attribution)} attribution rules, "
               f"{len(cfg.dedicated_servers)} dedicated servers, reporting currency {cfg.reporting_currency}")
    for warning in unset_webhooks(cfg):
        print(f"warning: {one_line(warning)}", file=sys.stderr)
    return 0
