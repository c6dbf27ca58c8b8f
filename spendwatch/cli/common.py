"""What every ``spendwatch`` command shares: the parser class, argument types, the global options,
the warehouse connection, the config, the console, printing tables, and refusing unknown names.

Exit codes: 0 success (an empty result included, said so), 2 bad input or usage (one line, no
traceback; an unknown provider, team, model or selection lists the valid choices), 1 any other failure.
"""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from spendwatch.core.errors import UsageError


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def date_arg(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def month_arg(value: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m").date()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a month (YYYY-MM)") from None


def amount_arg(*, allow_zero: bool):
    """An argparse type for a finite decimal amount: above 0, or 0 and above with ``allow_zero``."""

    def parse(value: str) -> Decimal:
        try:
            d = Decimal(value.strip())
        except InvalidOperation:
            raise argparse.ArgumentTypeError(f"{value!r} is not an amount") from None
        if not d.is_finite() or d < 0 or (d == 0 and not allow_zero):
            raise argparse.ArgumentTypeError(f"{value!r} must be {'an amount of 0 or more' if allow_zero else 'a positive amount'}")
        return d

    return parse


def common_options(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """--warehouse and --config, accepted before or after the command."""
    p.add_argument("--warehouse", default=argparse.SUPPRESS, metavar="PATH",
                   help="DuckDB file, ducklake:postgres:<conninfo> (a DuckLake; data under $SPENDWATCH_DATA_PATH) or MotherDuck md: DSN (default: $SPENDWATCH_WAREHOUSE or data/warehouse.duckdb)")
    p.add_argument("--config", default=argparse.SUPPRESS, metavar="PATH",
                   help="spendwatch.toml (default: $SPENDWATCH_CONFIG, ./spendwatch.toml, or the bundled sample)")
    return p


def add_command(sub, name: str, **kwargs) -> argparse.ArgumentParser:
    """A subcommand (or action) with the common options."""
    return common_options(sub.add_parser(name, **kwargs))


def apply_globals(args: argparse.Namespace) -> None:
    """--warehouse / --config become the environment the assets read, so CLI and Dagster agree."""
    if getattr(args, "warehouse", None):
        os.environ["SPENDWATCH_WAREHOUSE"] = str(args.warehouse)
    if getattr(args, "config", None):
        os.environ["SPENDWATCH_CONFIG"] = str(Path(args.config).resolve())


def load_config():
    from spendwatch.core.config import load_config as load

    return load(os.environ.get("SPENDWATCH_CONFIG"))


@contextmanager
def connection(read_only: bool = False, *, existing: bool = False) -> Iterator[Any]:
    """The warehouse, closed afterwards.  ``existing``: refuse (exit 2) to create a warehouse that is not there."""
    from warehouse.db import connect, is_motherduck, resolve_warehouse

    if existing and not read_only:
        loc = resolve_warehouse()
        if not is_motherduck(loc) and loc != ":memory:" and not Path(loc).expanduser().exists():
            connect(loc, read_only=True)  # raises the usual "warehouse not found (run `spendwatch run` first)"
    con = connect(os.environ.get("SPENDWATCH_WAREHOUSE"), read_only=read_only)
    try:
        yield con
    finally:
        con.close()


@contextmanager
def built(select: list[str] | None = None) -> Iterator[Any]:
    """An existing warehouse whose models ``select`` (default all) are current: the stale ones rebuilt first.

    A model that cannot be built is an error (exit 1) naming it, never a silent old table.
    """
    from spendwatch.core.errors import SpendwatchError
    from warehouse.model_state import ensure_models_built

    with connection(existing=True) as con:
        failed = [r for r in ensure_models_built(con, load_config(), select) if r.status != "ok"]
        if failed:
            raise SpendwatchError(f"model {failed[0].model} could not be built: {failed[0].error}")
        yield con


def console(width: int | None = None):
    from rich.console import Console

    from spendwatch.render import terminal_width

    return Console(highlight=False, width=width or terminal_width(), soft_wrap=False)


def out(text: str) -> None:
    """Text to stdout, ending with exactly one line break.  Whatever untrusted text it quotes (a source's error, a
    file name), no control character or bidi override reaches the terminal (:func:`spendwatch.render.plain`)."""
    from spendwatch.render import plain

    sys.stdout.write(plain(text).rstrip("\n") + "\n")


def out_lines(text: str) -> None:
    """Plain lines to stdout, each longer than the terminal wrapped at spaces (:func:`spendwatch.render.wrap`)."""
    from spendwatch.render import wrap

    out(wrap(text))


def print_rows(columns: Sequence, rows: Iterable[Sequence[Any]], fmt: str = "table", title: str | None = None,
               empty: str | None = None) -> int:
    """Rows as a table, JSON or CSV; with none and ``empty`` given, that sentence instead of an empty table.  Exit 0."""
    from spendwatch.render import render_rows

    rows = list(rows)
    if not rows and empty and fmt == "table":
        out(empty)
        return 0
    out(render_rows(columns, rows, fmt, title))
    return 0


def check_choice(option: str, value: str | None, valid: Iterable[str], what: str) -> None:
    """Exit 2 naming the valid choices when ``value`` (not None) is not one of them."""
    from spendwatch.render import one_line

    if value is None:
        return
    valid = sorted({v for v in valid if v is not None})
    if value not in valid:
        raise UsageError(f"{option} {one_line(value)!r}: unknown {what} (valid: {', '.join(valid) or 'none yet'})")
