"""The spendwatch CLI: help for every subcommand, --version, and exit codes with one-line errors."""

import subprocess
import sys

import pytest

from spendwatch import __version__
from spendwatch.cli import build_parser, main

SUBCOMMANDS = [
    ["run"], ["prices"], ["prices", "refresh"], ["prices", "sources"], ["prices", "show"], ["prices", "history"],
    ["prices", "changes"], ["prices", "discrepancies"], ["ingest"], ["models"], ["models", "build"], ["models", "list"],
    ["review"], ["config"], ["config", "check"],
    ["breakeven"], ["alerts"], ["alerts", "list"], ["alerts", "show"], ["alerts", "ack"], ["alerts", "snooze"], ["alerts", "send"],
]


def test_top_level_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for name in ("run", "prices", "ingest", "models", "review", "config", "breakeven", "alerts"):
        assert name in out


@pytest.mark.parametrize("cmd", SUBCOMMANDS, ids=" ".join)
def test_every_subcommand_has_help(cmd, capsys):
    with pytest.raises(SystemExit) as e:
        main([*cmd, "--help"])
    assert e.value.code == 0
    assert "usage: spendwatch" in capsys.readouterr().out


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == f"spendwatch {__version__}"


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["frobnicate"], "invalid choice"),
        (["review", "--month", "2026-13"], "not a month"),
        (["run", "--date", "yesterday"], "not a date"),
        (["prices", "history"], "--provider"),
        (["ingest", "/nonexistent/file.csv"], "no such file"),
    ],
)
def test_bad_usage_exits_2_with_one_line(argv, needle, capsys, tmp_path):
    code = main([*argv, "--warehouse", str(tmp_path / "w.duckdb")] if argv[0] == "ingest" else argv)
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert needle in err and "Traceback" not in err


def test_review_on_missing_warehouse_is_a_usage_error(tmp_path, capsys):
    assert main(["review", "--warehouse", str(tmp_path / "none.duckdb")]) == 2
    assert "run `spendwatch run` first" in capsys.readouterr().err


def test_console_script_is_installed():
    out = subprocess.run([sys.executable, "-m", "spendwatch.cli", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("spendwatch ")


def test_parser_builds():
    assert build_parser().prog == "spendwatch"
