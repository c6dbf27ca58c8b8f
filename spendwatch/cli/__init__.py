"""The spendwatch command line.  Every subcommand calls the same functions as the Dagster assets.

One module per command group (``spendwatch/cli/<command>.py``, each with ``add_parser(sub)`` and
``run(args)``); what they share (parser, argument types, --warehouse/--config, the connection, the
console and tables) is in :mod:`spendwatch.cli.common`.  The command modules import only ``common``,
never each other (``run`` prints the review through :mod:`spendwatch.cli.review`, its one exception).

Exit codes: 0 success, 2 bad input or usage (one line, no traceback), 1 any other failure.
"""

from __future__ import annotations

import os
import sys

from spendwatch import __version__
from spendwatch.cli import alerts, anomalies, breakeven, common, config, files, ingest, models, prices, review, run, warehouse, whatif
from spendwatch.core.errors import SpendwatchError, UsageError
from spendwatch.core.redact import redact
from spendwatch.render import one_line

GROUPS = (run, prices, ingest, models, review, config, breakeven, whatif, alerts, files, anomalies, warehouse)
COMMANDS = {m.NAME: m.run for m in GROUPS}


def build_parser() -> common.Parser:
    parser = common.Parser(prog="spendwatch", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"spendwatch {__version__}")
    common.common_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=common.Parser)
    for group in GROUPS:
        group.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not args.command:
            parser.print_help()
            return 2
        common.apply_globals(args)
        return COMMANDS[args.command](args)
    except UsageError as e:  # messages may quote untrusted text (file names, cells): one clean line
        print(f"error: {one_line(redact(e))}", file=sys.stderr)
        return 2
    except SpendwatchError as e:
        print(f"error: {one_line(redact(e))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # unexpected: still one line, no traceback, exit 1
        msg = str(e).splitlines()[0] if str(e) else ""
        print(f"error: {type(e).__name__}: {one_line(redact(msg))}", file=sys.stderr)
        if os.environ.get("SPENDWATCH_DEBUG"):
            raise
        return 1
