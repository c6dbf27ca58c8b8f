"""spendwatch.toml validation: every kind of error names the file, the key path and the reason."""

import shutil
from decimal import Decimal

import pytest

from spendwatch.core.config import load_config, resolve_config_path
from spendwatch.core.errors import ConfigError
from spendwatch.core.paths import EXAMPLE_CONFIG

BASE = """
reporting_currency = "GBP"
[[teams]]
name = "alpha"
[[teams]]
name = "beta"
monthly_threshold = 900
"""


def _cfg(tmp_path, text):
    p = tmp_path / "spendwatch.toml"
    p.write_text(text)
    return p


def test_sample_config_loads():
    cfg = load_config(EXAMPLE_CONFIG)
    assert cfg.reporting_currency == "GBP"
    assert len(cfg.teams) >= 5
    assert cfg.threshold("vision") == Decimal("1500")
    assert cfg.threshold("research") == Decimal("2500")
    assert cfg.webhook_env("vision") == "SLACK_WEBHOOK_VISION"
    assert cfg.webhook_env("search") == "SLACK_WEBHOOK_URL"
    assert cfg.dedicated_servers[0].monthly_price == Decimal("249.00")


def test_defaults(tmp_path):
    cfg = load_config(_cfg(tmp_path, BASE))
    assert cfg.threshold("alpha") == Decimal("1500")
    assert cfg.threshold("beta") == Decimal("900")


@pytest.mark.parametrize(
    "extra, where, why",
    [
        ("colour = 'blue'\n", "colour", "unknown key"),
        ("[defaults]\nmonthly_treshold = 10\n", "defaults.monthly_treshold", "unknown key"),
        ("[defaults]\nmonthly_threshold = 'lots'\n", "defaults.monthly_threshold", "decimal"),
        ("[[attribution]]\nmatch = 'project'\nvalue = 'p1'\nteam = 'gamma'\n", "attribution[0].team", "'gamma' is not declared"),
        ("[[attribution]]\nmatch = 'planet'\nvalue = 'p1'\nteam = 'alpha'\n", "attribution.0.match", "Input should be"),
        ("[[dedicated_servers]]\nid='s'\nprovider='x'\nteam='zeta'\ngpu='A100-80GB'\nmonthly_price=1\ncurrency='GBP'\n", "dedicated_servers[0].team", "not declared"),
        ("[[dedicated_servers]]\nid='s'\nprovider='x'\nteam='alpha'\ngpu='A100-80GB'\nmonthly_price=1\ncurrency='pounds'\n", "dedicated_servers.0.currency", "ISO 4217"),
    ],
)
def test_errors_name_file_key_and_reason(tmp_path, extra, where, why):
    text = extra + BASE if extra.startswith("colour") else BASE + extra  # top-level keys before any table
    p = _cfg(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        load_config(p)
    msg = str(e.value)
    assert str(p) in msg
    assert why in msg
    # the key path, in either form pydantic or our own validators give it
    assert where.replace(".0.", "[0].") in msg.replace(".0.", "[0].")


def test_wrong_type_and_missing_teams(tmp_path):
    with pytest.raises(ConfigError, match=r"teams: Field required"):
        load_config(_cfg(tmp_path, 'reporting_currency = "GBP"\n'))
    with pytest.raises(ConfigError, match=r"teams\[0\]\.name"):
        load_config(_cfg(tmp_path, "[[teams]]\nname = 42\n"))


def test_invalid_toml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(_cfg(tmp_path, "teams = [\n"))
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")


def test_resolution_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_config_path() == EXAMPLE_CONFIG
    shutil.copy(EXAMPLE_CONFIG, tmp_path / "spendwatch.toml")
    assert resolve_config_path() == tmp_path / "spendwatch.toml"
    monkeypatch.setenv("SPENDWATCH_CONFIG", "/x/env.toml")
    assert str(resolve_config_path()) == "/x/env.toml"
    assert str(resolve_config_path("/y/flag.toml")) == "/y/flag.toml"


def test_cli_bad_config_exits_2_with_one_line(tmp_path, capsys):
    from spendwatch.cli import main

    p = _cfg(tmp_path, BASE + "unknown_thing = 1\n")
    assert main(["config", "check", "--config", str(p)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "unknown_thing" in err and "unknown key" in err
