"""Ingest stores no team: the attribution model gives every stored line its team.

The ingest used to write an ingest-time team (x_team, x_attribution_rule); migration 014
drops those columns, and the team of a line is the one stg_line_attribution (through
stg_line_items) gives it from the rules of spendwatch.toml at each model build.  The other
ingest tests read teams with ``team_lines`` below.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from spendwatch.core.config import UNALLOCATED, Config, load_config
from warehouse.config_sync import sync_config
from warehouse.ingest import STAGE_COLUMNS, ingest_file
from warehouse.ingest.contract import FRAMEWORK_COLUMNS
from warehouse.models import build, load_project
from tests.warehouse.test_ingest_framework import (  # noqa: F401  (with_fake_loaders: a fixture)
    AWS, STAGES, fake_module, org, with_fake_loaders, write_lines,
)

FOCUS = Path(__file__).resolve().parents[1] / "fixtures" / "focus"
D = Decimal


def team_lines(con, cfg: Config, cols: str) -> list[tuple]:
    """``cols`` of every stored line in file order, where ``team`` and ``attribution_rule`` are the attribution
    model's (the config synced and stg_line_items built first)."""
    sync_config(con, cfg)
    assert all(r.status == "ok" for r in build(con, load_project(), select=["stg_line_items"]))
    return con.execute(
        f"SELECT {cols} FROM (SELECT b.*, t.team, t.attribution_rule FROM billing_line_items b "
        "JOIN stg_line_items t ON t.line_id = b.x_line_id) ORDER BY x_source_format, x_source_row").fetchall()


def test_lines_carry_no_team_and_the_model_attributes_them(con, sample_config, tmp_path):
    columns = {c for (c,) in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name IN ('billing_line_items', 'billing_line_items_archive')"
    ).fetchall()}
    assert not columns & {"x_team", "x_attribution_rule"}
    assert not {"x_team", "x_attribution_rule"} & {*STAGE_COLUMNS, *FRAMEWORK_COLUMNS}
    ingest_file(con, FOCUS / "azure_focus_1.0_2026-10.csv", sample_config)
    # The four Azure rows: tags team=research, team=assistant, team=research, none
    # (the sample config's tag rule: the tag's value names a declared team).
    assert team_lines(con, sample_config, "BilledCost, team") == [
        (D("81.5136"), "research"), (D("42.9186"), "assistant"), (D("4.1728"), "research"), (D("3.9672"), "unallocated")]
    # Rules edited after the ingest re-attribute the stored lines at the next build: one account rule for
    # the subscription of rows 1 and 3 (81.5136 + 4.1728), nothing else matches.
    toml = tmp_path / "spendwatch.toml"
    toml.write_text('[[teams]]\nname = "vision"\n\n[[attribution]]\nmatch = "account"\n'
                    'value = "/subscriptions/6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"\nteam = "vision"\n', encoding="utf-8")
    assert team_lines(con, load_config(toml), "BilledCost, team, attribution_rule") == [
        (D("81.5136"), "vision", "attribution[0]"), (D("42.9186"), "unallocated", None),
        (D("4.1728"), "vision", "attribution[0]"), (D("3.9672"), "unallocated", None)]


# --------------------------------------------------------------------------- attribution


def attributed(con, cfg: Config) -> list[tuple]:
    return team_lines(con, cfg, "x_natural_key, team, attribution_rule")


@pytest.mark.parametrize("staging", ["staged", "direct"])  # both insert paths, then the model
def test_each_match_kind_attributes_its_lines(con, tmp_path, with_fake_loaders, staging):
    with_fake_loaders(fake_module(stage=STAGES[staging]))
    cfg = org([
        {"match": "account", "value": "270614958332", "team": "platform"},          # 0
        {"match": "project", "value": "proj_assistant", "team": "assistant"},       # 1
        {"match": "workspace", "value": "wrkspc_search", "team": "search"},         # 2
        {"match": "api_key", "value": "key_research", "team": "research"},          # 3
        {"match": "endpoint", "value": "ep-vision-detector", "team": "vision"},     # 4
        {"match": "resource", "value": "gg-4090-01", "team": "platform"},           # 5
        {"match": "tag", "tag_key": "cost center", "value": "CV-42", "team": "vision"},  # 6
        {"match": "tag", "tag_key": "team"},                                        # 7
    ])
    p = write_lines(tmp_path, "lines", [
        {"SubAccountId": "270614958332"},
        {"BillingAccountId": "270614958332"},
        {"x_project_id": "proj_assistant"},
        {"x_workspace_id": "wrkspc_search"},
        {"x_api_key_id": "key_research"},
        {"x_endpoint_id": "ep-vision-detector"},
        {"ResourceId": "gg-4090-01"},
        {"Tags": {"cost center": "CV-42"}},
        {"Tags": {"team": "research"}},
        {"Tags": {"team": "Search "}},         # trimmed, lower-cased -> search
        {"Tags": {"team": "marketing"}},       # not a declared team: rule 7 does not match
        {"x_project_id": "proj_unknown"},
    ])
    ingest_file(con, p, cfg, fmt="fake_lines")
    assert attributed(con, cfg) == [
        ("lines-1", "platform", "attribution[0]"),
        ("lines-2", "platform", "attribution[0]"),
        ("lines-3", "assistant", "attribution[1]"),
        ("lines-4", "search", "attribution[2]"),
        ("lines-5", "research", "attribution[3]"),
        ("lines-6", "vision", "attribution[4]"),
        ("lines-7", "platform", "attribution[5]"),
        ("lines-8", "vision", "attribution[6]"),
        ("lines-9", "research", "attribution[7]"),
        ("lines-10", "search", "attribution[7]"),
        ("lines-11", UNALLOCATED, None),
        ("lines-12", UNALLOCATED, None),
    ]


@pytest.mark.parametrize("staging", ["staged", "direct"])  # both insert paths, then the model
def test_first_matching_rule_wins_and_provider_restricts(con, tmp_path, with_fake_loaders, staging):
    with_fake_loaders(fake_module(stage=STAGES[staging]))
    cfg = org([
        {"match": "project", "provider": "anthropic", "value": "proj_x", "team": "search"},  # 0
        {"match": "tag", "tag_key": "team", "provider": "openai"},                           # 1
        {"match": "project", "value": "proj_x", "team": "research"},                         # 2
        {"match": "resource", "value": "i-1", "team": "platform"},                           # 3
    ])
    p = write_lines(tmp_path, "lines", [
        {"x_provider": "openai", "x_project_id": "proj_x"},                                # not anthropic -> rule 2
        {"x_provider": "anthropic", "x_project_id": "proj_x"},                             # rule 0
        {"x_provider": "openai", "x_project_id": "proj_x", "Tags": {"team": "vision"}},    # rule 1 before rule 2
        {"x_provider": "aws", "Tags": {"team": "vision"}, "ResourceId": "i-1"},            # rule 1 is openai-only
    ])
    ingest_file(con, p, cfg, fmt="fake_lines")
    assert attributed(con, cfg) == [
        ("lines-1", "research", "attribution[2]"),
        ("lines-2", "search", "attribution[0]"),
        ("lines-3", "vision", "attribution[1]"),
        ("lines-4", "platform", "attribution[3]"),
    ]


@pytest.mark.parametrize("staging", ["staged", "direct"])  # both insert paths, then the model
def test_no_rules_leaves_every_line_unallocated_and_loaded(con, tmp_path, with_fake_loaders, staging):
    with_fake_loaders(fake_module(stage=STAGES[staging]))
    r = ingest_file(con, write_lines(tmp_path, "lines", [{}, {"Tags": {"team": "vision"}}]), org([]), fmt="fake_lines")
    assert r.rows_loaded == 2
    assert [t for _, t, _ in attributed(con, org([]))] == [UNALLOCATED, UNALLOCATED]


def test_sample_org_attributes_focus_lines_by_team_tag(con, sample_config):
    ingest_file(con, AWS, sample_config)
    teams: dict[tuple, list] = {}
    for team, rule, cost in team_lines(con, sample_config, "team, attribution_rule, BilledCost"):
        n, s = teams.get((team, rule), (0, Decimal(0)))
        teams[(team, rule)] = (n + 1, s + cost)
    teams = sorted((team, rule, n, s) for (team, rule), (n, s) in teams.items())
    # By hand from the fixture: vision rows 1, 2, 8 (24.144 + 20.623 + 10.116); research row 3
    # ("Research" -> research); platform rows 4, 5; marketing (undeclared), S3 and credit unallocated;
    # the tax line (27.58), which no rule attributes, belongs to the organisation (stg_line_items).
    assert teams == [
        ("(organisation)", None, 1, Decimal("27.58")),
        ("platform", "attribution[6]", 2, Decimal("9.216000")),
        ("research", "attribution[6]", 1, Decimal("68.064000")),
        ("unallocated", None, 3, Decimal("-44.2566533")),  # 1.1353467 - 50 + 4.608, exactly
        ("vision", "attribution[6]", 3, Decimal("54.883000")),
    ]
