"""What the commands share (spendwatch/cli/common.py): consistent exits.

An empty result says so and exits 0; an unknown provider, team, model or selection exits 2 with one line that
lists the valid choices.  Run on a copy of the sample organisation's warehouse (tests/conftest.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from spendwatch.cli import main


@pytest.fixture(scope="module")
def wh(sample_warehouse, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("exits") / "warehouse.duckdb"
    shutil.copy(sample_warehouse, path)
    return path


@pytest.mark.parametrize("argv, valid", [
    (["prices", "history", "--provider", "nosuch"], ["runpod", "lambda", "openai"]),
    (["prices", "show", "--provider", "nosuch"], ["runpod", "lambda", "openai"]),
    (["anomalies", "--team", "nobody"], ["vision", "search", "research", "unallocated"]),
    (["alerts", "list", "--team", "nobody"], ["vision", "search"]),
    (["breakeven", "--team", "nobody"], ["vision", "search"]),
    (["review", "--team", "nobody"], ["vision", "search"]),
    (["models", "build", "--select", "nosuch_model"], ["team_monthly_spend", "breakeven_table"]),
    (["breakeven", "--gpu", "V100"], ["H100-80GB-SXM", "L40S-48GB"]),
    (["prices", "show", "--gpu", "Z999"], ["H100-80GB-SXM", "V100-32GB", "RTX4090-24GB"]),
    (["prices", "show", "--model", "gpt-4oo"], ["gpt-4o"]),  # the closest of the many hosted models
    (["whatif", "--requests-per-day", "10", "--output-tokens", "5", "--model-class", "999b"], ["7b"]),
    (["prices", "accept", "nosuch"], ["runpod_pods", "openai"]),
    (["prices", "refresh", "--offline", "--source", "nosuch"], ["runpod_pods", "openai"]),
])
def test_an_unknown_name_exits_2_listing_the_valid_ones(wh, capsys, argv, valid):
    assert main([*argv, "--warehouse", str(wh)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and "Traceback" not in err, err
    assert "nosuch" in err or "nobody" in err or "V100" in err or "999" in err or "gpt-4oo" in err
    assert all(v in err for v in valid), err


@pytest.mark.parametrize("argv, said", [
    (["prices", "changes", "--since", "2030-01-01"], "no price changes since 2030-01-01"),
    (["prices", "show", "--provider", "runpod", "--kind", "hosted_api"], "no prices in force match"),
    (["prices", "history", "--provider", "runpod", "--sku", "no-such-sku"], "no prices of runpod match --sku no-such-sku"),
    (["alerts", "list"], "no alerts (active)"),
    (["anomalies", "--month", "2026-09", "--team", "vision"], "no spend anomalies in 2026-09 for team vision"),
    (["breakeven", "--team", "platform"], "platform: no serverless GPU use to decide on"),
    (["prices", "accept", "runpod_pods"], "runpod_pods: no prices held"),
])
def test_an_empty_result_says_so_and_exits_0(wh, capsys, argv, said):
    assert main([*argv, "--warehouse", str(wh)]) == 0
    assert said in capsys.readouterr().out


def test_files_list_of_an_empty_warehouse(tmp_path, capsys):
    assert main(["files", "list", "--warehouse", str(tmp_path / "w.duckdb")]) == 0
    assert "no deliveries ingested yet" in capsys.readouterr().out


def test_printed_lines_carry_no_control_characters(capsys):
    from spendwatch.cli.common import out

    out("fx: failed: bad \x1b[2Jpayload \u202eevil\nsecond line\n\n")
    assert capsys.readouterr().out == "fx: failed: bad [2Jpayload evil\nsecond line\n"
