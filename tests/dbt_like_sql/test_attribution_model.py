"""Attribution is a model: the [[attribution]] rules, synced to config.attribution_rules, give every stored line its team.

* Every rule kind and its matching, on hand-made lines whose expected team is worked out in the comments.
* A rule change re-attributes the three sample months (September-November 2026): through config sync + model
  build, and through `spendwatch run` (the Dagster daily job).  The expected per-month, per-team sums are read
  straight from the sample export files with json/csv and Decimal, the rules re-stated by hand.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from spendwatch import operations
from spendwatch.core.config import load_config
from spendwatch.core.paths import EXAMPLE_CONFIG, PROJECT_ROOT
from warehouse.db import connect
from warehouse.models import build, load_project

D = Decimal
EXPORTS = PROJECT_ROOT / "examples" / "exports"
MONTHS = ("2026-09", "2026-10", "2026-11")


def _config(folder: Path, rules: str, teams: tuple[str, ...] = ("a", "b", "c", "d")) -> Path:
    toml = folder / "spendwatch.toml"
    toml.write_text("".join(f'[[teams]]\nname = "{t}"\n\n' for t in teams) + rules, encoding="utf-8")
    return toml


def _line(con, n: int, provider: str, **keys) -> None:
    """One billed line of £1 (every NOT NULL column filled) with the given key columns."""
    start = datetime(2026, 11, 1) + timedelta(hours=n)
    row = {"x_line_id": f"line-{n:03d}", "BillingCurrency": "GBP", "BilledCost": D("1"), "ChargeCategory": "Usage",
           "ChargePeriodStart": start, "ChargePeriodEnd": start + timedelta(hours=1), "x_provider": provider,
           "x_product_kind": "other", "x_natural_key": f"k{n}", "x_source_format": "test",
           "x_source_file": "hand.csv", "x_source_hash": "0" * 64, "x_source_row": n, "x_ingested_at": start, **keys}
    con.execute(f"INSERT INTO billing_line_items ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})", list(row.values()))


RULES = """
[[attribution]]
match = "account"
value = "acct-sub"
team = "a"

[[attribution]]
match = "account"
provider = "aws"
value = "acct-bill"
team = "b"

[[attribution]]
match = "project"
provider = "openai"
value = "p1"
team = "c"

[[attribution]]
match = "workspace"
value = "w1"
team = "d"

[[attribution]]
match = "api_key"
value = "k1"
team = "a"

[[attribution]]
match = "endpoint"
value = "e1"
team = "b"

[[attribution]]
match = "resource"
value = "r1"
team = "c"

[[attribution]]
match = "tag"
tag_key = "cost/center~"
value = "X 1"
team = "d"

[[attribution]]
match = "tag"
tag_key = "team"

[[attribution]]
match = "project"
value = "p1"
team = "d"
"""


def test_every_rule_kind_first_match_wins(tmp_path):
    con = connect(tmp_path / "w.duckdb")
    operations.sync(con, load_config(_config(tmp_path, RULES)))
    tag = json.dumps
    cases = [  # (provider, key columns, expected team, expected rule)
        ("aws", {"SubAccountId": "acct-sub"}, "a", 0),                       # account = SubAccountId
        ("aws", {"BillingAccountId": "acct-bill"}, "b", 1),                  # account = BillingAccountId
        ("aws", {"SubAccountId": "acct-bill"}, "b", 1),                      # ... or SubAccountId, same rule
        ("azure", {"BillingAccountId": "acct-bill"}, "unallocated", None),   # rule 1 is for aws only
        ("openai", {"x_project_id": "p1"}, "c", 2),                          # rules 2 and 9 match: 2 first
        ("anthropic", {"x_project_id": "p1"}, "d", 9),                       # rule 2 is openai's: 9
        ("modal", {"x_workspace_id": "w1", "x_api_key_id": "k1"}, "d", 3),   # 3 before 4
        ("openai", {"x_api_key_id": "k1"}, "a", 4),
        ("runpod", {"x_endpoint_id": "e1", "SubAccountId": "acct-sub"}, "a", 0),  # 0 before 5
        ("runpod", {"x_endpoint_id": "e1"}, "b", 5),
        ("gigagpu", {"ResourceId": "r1"}, "c", 6),
        ("aws", {"Tags": tag({"cost/center~": "X 1"})}, "d", 7),             # a key with / and ~ (JSON pointer escapes)
        ("aws", {"Tags": tag({"cost/center~": "x 1"})}, "unallocated", None),  # a tag value is compared exactly
        ("aws", {"Tags": tag({"team": "  B "})}, "b", 8),                    # the tag names the team: trimmed, lower-cased
        ("aws", {"Tags": tag({"team": "marketing"})}, "unallocated", None),  # not a declared team
        ("aws", {"Tags": tag({"team": "c", "cost/center~": "X 1"})}, "d", 7),  # 7 before 8
        ("aws", {"Tags": tag({"Team": "c"})}, "unallocated", None),          # tag keys are case-sensitive
        ("aws", {"Tags": tag({})}, "unallocated", None),
        ("aws", {}, "unallocated", None),                                    # no key at all
        ("openai", {"x_project_id": "P1"}, "unallocated", None),            # values are compared exactly
    ]
    for n, (provider, keys, _, _) in enumerate(cases, start=1):
        _line(con, n, provider, **keys)
    _line(con, 100, "openai", x_project_id="p1")  # a second line of the same key combination as line 5
    assert all(r.status == "ok" for r in build(con, load_project(), select=["stg_line_items"]))
    got = dict(((r[0], (r[1], r[2])) for r in con.execute("SELECT line_id, team, attribution_rule FROM stg_line_items").fetchall()))
    want = {f"line-{n:03d}": (team, None if rule is None else f"attribution[{rule}]")
            for n, (_, _, team, rule) in enumerate(cases, start=1)}
    want["line-100"] = ("c", "attribution[2]")
    assert got == want  # one row per line: no line doubled by several matching rules, none dropped


def test_no_rules_leave_every_line_unallocated(tmp_path):
    con = connect(tmp_path / "w.duckdb")
    operations.sync(con, load_config(_config(tmp_path, RULES)))
    _line(con, 1, "openai", x_project_id="p1")
    operations.sync(con, load_config(_config(tmp_path, "")))  # the rules removed from the file
    assert all(r.status == "ok" for r in build(con, load_project(), select=["stg_line_items"]))
    assert con.execute("SELECT team, attribution_rule FROM stg_line_items").fetchall() == [("unallocated", None)]
    assert con.execute("SELECT count(*) FROM config.attribution_rules").fetchone() == (0,)


# --------------------------------------------------------------------------- a rule change over three months

# The sample's rules with two edits: the platform team's AWS account takes every line billed to it, tagged or
# not (a new first rule), and the OpenAI project proj_assistant moves to the search team.
PLATFORM_ACCOUNT = "270614958332"
CHANGED_RULES = f"""
[[attribution]]
match = "account"
provider = "aws"
value = "{PLATFORM_ACCOUNT}"
team = "platform"
"""


def _changed_config(folder: Path) -> Path:
    """examples/spendwatch.toml with the two edits, its relative paths made absolute, the inbox under ``folder``."""
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    edits = [
        ('paths = ["exports"]', f"paths = [{json.dumps(str(EXPORTS))}]"),
        ('inbox = "../exports/inbox"', f"inbox = {json.dumps(str(folder / 'inbox'))}"),
        ('snapshot_dir = "../scrapers/snapshots"', f"snapshot_dir = {json.dumps(str(PROJECT_ROOT / 'scrapers' / 'snapshots'))}"),
        ('value = "proj_assistant"\nteam = "assistant"', 'value = "proj_assistant"\nteam = "search"'),
        ("[[attribution]]", CHANGED_RULES.strip() + "\n\n[[attribution]]"),  # only the first: a new rule 0
    ]
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    toml = folder / "spendwatch.toml"
    toml.write_text(text, encoding="utf-8")
    return toml


def _expected(changed: bool) -> dict[tuple[str, str, str], Decimal]:
    """(month, provider, team) -> billed amount in USD of the OpenAI and AWS lines, straight from the files."""
    out: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    projects = {"proj_assistant": "search" if changed else "assistant", "proj_search_rerank": "search"}
    for f in sorted(EXPORTS.glob("openai_costs_*.json")):
        for bucket in json.loads(f.read_text(encoding="utf-8"))["data"]:
            month = f"{datetime.fromtimestamp(bucket['start_time'], timezone.utc):%Y-%m}"
            for r in bucket["results"]:
                out[(month, "openai", projects.get(r["project_id"], "unallocated"))] += Decimal(repr(r["amount"]["value"]))
    declared = {"vision", "research", "assistant", "search", "platform"}
    with (EXPORTS / "focus_aws_2026-09_2026-11.csv").open(newline="", encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            assert row["BillingCurrency"] == "USD"
            tagged = (json.loads(row["Tags"]) if row["Tags"] else {}).get("team")
            team = tagged if tagged in declared else "unallocated"
            if changed and row["SubAccountId"] == PLATFORM_ACCOUNT:
                team = "platform"
            elif team == "unallocated" and row["ChargeCategory"] == "Tax":
                team = "(organisation)"  # a tax line no rule attributes belongs to the organisation (stg_line_items)
            out[(row["ChargePeriodStart"][:7], "aws", team)] += Decimal(row["BilledCost"])
    return {k: v for k, v in out.items() if v}


def _attributed(con) -> dict[tuple[str, str, str], Decimal]:
    rows = con.execute(
        "SELECT strftime(charge_month, '%Y-%m'), provider, team, sum(billed_cost) FROM stg_line_items "
        "WHERE provider IN ('openai', 'aws') GROUP BY ALL HAVING sum(billed_cost) <> 0").fetchall()
    return {(m, p, t): Decimal(v) for m, p, t, v in rows}


def _spend(con) -> dict[tuple[str, str], Decimal]:
    return {(f"{m:%Y-%m}", t): v for m, t, v in con.execute("SELECT month, team, total_spend FROM team_monthly_spend").fetchall()}


def _month_totals(con) -> list[tuple]:
    """Each month's spend in the reporting currency, summed before any rounding."""
    return con.execute("SELECT charge_month, sum(amount_reporting) FROM stg_line_items_fx GROUP BY 1 ORDER BY 1").fetchall()


def test_a_rule_change_re_attributes_three_months(sample_warehouse, tmp_path):
    path = tmp_path / "warehouse.duckdb"
    path.write_bytes(sample_warehouse.read_bytes())
    con = connect(path)
    before, spend_before, totals = _attributed(con), _spend(con), _month_totals(con)
    assert before == _expected(changed=False)
    lines = con.execute("SELECT count(*), sum(BilledCost) FROM billing_line_items").fetchone()

    operations.sync(con, load_config(_changed_config(tmp_path)))
    assert all(r.status == "ok" for r in operations.build_models(con))
    after = _attributed(con)
    assert after == _expected(changed=True)
    for month in MONTHS:  # every month moved: assistant's OpenAI spend to search, untagged platform-account AWS lines to platform
        assert before[(month, "openai", "assistant")] > 0 and (month, "openai", "assistant") not in after
        assert after[(month, "aws", "platform")] > before[(month, "aws", "platform")]
    assert con.execute("SELECT count(*), sum(billed_cost) FROM stg_line_items").fetchone() == lines  # nothing lost or doubled
    assert _month_totals(con) == totals  # each month is the same money, shared out differently
    spend_after = _spend(con)
    for month in MONTHS:
        assert spend_after.get((month, "assistant"), D(0)) < spend_before[(month, "assistant")]
        assert spend_after[(month, "platform")] > spend_before[(month, "platform")]
    con.close()


def test_spendwatch_run_re_attributes_stored_lines(sample_warehouse, tmp_path):
    """`spendwatch run` (the Dagster daily job, in a child process) after a rule edit: the stored months follow the rules."""
    path = tmp_path / "warehouse.duckdb"
    path.write_bytes(sample_warehouse.read_bytes())
    env = {**os.environ, "SPENDWATCH_WAREHOUSE": str(path), "SPENDWATCH_CONFIG": str(_changed_config(tmp_path)),
           "PYTHONPATH": str(PROJECT_ROOT)}
    env.pop("DAGSTER_HOME", None)
    done = subprocess.run([sys.executable, "-m", "spendwatch.cli", "run", "--offline", "--date", "2026-11-30", "--no-review"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 new file(s)" in done.stdout  # nothing re-ingested: the stored lines were re-attributed
    con = connect(path, read_only=True)
    try:
        assert _attributed(con) == _expected(changed=True)
        assert con.execute("SELECT count(*) FROM team_monthly_spend WHERE team = 'assistant' AND total_spend <> 0").fetchone() == (0,)
    finally:
        con.close()


# --------------------------------------------------------------------------- coverage in the review

def test_review_shows_attribution_coverage_each_month_in_every_format(tmp_path):
    """GBP lines (no conversion), rule: project p1 -> team a.  Worked by hand, per month:
    Sep: p1 £100, no key £50            -> spend £150.00, attributed £100.00, no rule £50.00, 100/150 = 66.6667 %
    Oct: p1 £30 and a -£10 credit, no key £20 -> £40.00, £20.00, £20.00, 50 %
    Nov: p1 £80                          -> £80.00, £80.00, £0.00, 100 %
    Dec: p1 £10, a no-key credit of -£10 -> £0.00, £10.00, -£10.00, no share (the month nets to zero)."""
    import csv as csvlib
    import io

    from spendwatch.review import build_review, render, render_review

    con = connect(tmp_path / "w.duckdb")
    operations.sync(con, load_config(_config(tmp_path, '[[attribution]]\nmatch = "project"\nvalue = "p1"\nteam = "a"\n')))
    lines = [(date(2026, 9, 3), "100", "p1"), (date(2026, 9, 4), "50", None), (date(2026, 10, 1), "30", "p1"),
             (date(2026, 10, 2), "-10", "p1"), (date(2026, 10, 3), "20", None), (date(2026, 11, 5), "80", "p1"),
             (date(2026, 12, 1), "10", "p1"), (date(2026, 12, 2), "-10", None)]
    for n, (day, cost, project) in enumerate(lines, start=1):
        start = datetime(day.year, day.month, day.day)
        con.execute(
            "INSERT INTO billing_line_items (x_line_id, BillingCurrency, BilledCost, ChargeCategory, ChargePeriodStart, "
            "ChargePeriodEnd, x_provider, x_product_kind, x_natural_key, x_source_format, x_source_file, "
            "x_source_hash, x_source_row, x_ingested_at, x_project_id) VALUES (?, 'GBP', ?, 'Usage', ?, ?, 'openai', "
            "'hosted_api', ?, 'test', 'hand.csv', ?, ?, ?, ?)",
            [f"line-{n}", D(cost), start, start + timedelta(days=1), f"k{n}", "0" * 64, n, start, project])
    assert all(r.status == "ok" for r in operations.build_models(con))
    now = datetime(2026, 12, 5, 6, 0)
    want = [
        {"month": "2026-09", "currency": "GBP", "total_spend": D("150.00"), "attributed_spend": D("100.00"),
         "unattributed_spend": D("50.00"), "coverage": D("0.666667"), "lines": 2, "attributed_lines": 1},
        {"month": "2026-10", "currency": "GBP", "total_spend": D("40.00"), "attributed_spend": D("20.00"),
         "unattributed_spend": D("20.00"), "coverage": D("0.500000"), "lines": 3, "attributed_lines": 2},
        {"month": "2026-11", "currency": "GBP", "total_spend": D("80.00"), "attributed_spend": D("80.00"),
         "unattributed_spend": D("0.00"), "coverage": D("1.000000"), "lines": 1, "attributed_lines": 1},
        {"month": "2026-12", "currency": "GBP", "total_spend": D("0.00"), "attributed_spend": D("10.00"),
         "unattributed_spend": D("-10.00"), "coverage": None, "lines": 2, "attributed_lines": 1},
    ]
    assert build_review(con, date(2026, 12, 1), now=now)["attribution_coverage"] == want
    assert build_review(con, date(2026, 10, 1), now=now)["attribution_coverage"] == want[:2]  # months up to the reviewed one

    doc = json.loads(render_review(con, date(2026, 12, 1), None, "json"))
    assert doc["attribution_coverage"][0] == {**{k: str(v) for k, v in want[0].items()}, "lines": 2, "attributed_lines": 1}
    # the tidy CSV table of the section: a row per month, a column per field, money beside its currency
    text = render(build_review(con, date(2026, 12, 1), now=now), "csv", table="attribution_coverage")
    rows = list(csvlib.DictReader(io.StringIO(text)))
    assert [r["month"] for r in rows] == ["2026-09", "2026-10", "2026-11", "2026-12"]
    assert rows[0] == {"month": "2026-09", "total_spend": "150.00", "currency": "GBP", "attributed_spend": "100.00",
                       "unattributed_spend": "50.00", "coverage": "0.666667", "lines": "2", "attributed_lines": "1"}
    md = render_review(con, date(2026, 12, 1), None, "markdown")
    assert "| 2026-09 | £150.00 | £100.00 | £50.00 | 66.7 % | 2 | 1 |" in md
    assert "| 2026-12 | £0.00 | £10.00 | -£10.00 | — | 2 | 1 |" in md
    table = render_review(con, date(2026, 12, 1), None, "table")
    assert "Attribution coverage" in table and "66.7 %" in table and "50.0 %" in table
    html = render_review(con, date(2026, 12, 1), None, "html")
    assert "Attribution coverage" in html and "66.7 %" in html and "100.0 %" in html

    # Without the rule nothing is attributed: the same months, coverage 0 (the review follows the rules of the day).
    operations.sync(con, load_config(_config(tmp_path, "")))
    assert all(r.status == "ok" for r in operations.build_models(con))
    assert [(r["month"], r["attributed_spend"], r["coverage"]) for r in build_review(con, date(2026, 11, 1), now=now)["attribution_coverage"]] == [
        ("2026-09", D("0.00"), D("0.000000")), ("2026-10", D("0.00"), D("0.000000")), ("2026-11", D("0.00"), D("0.000000"))]
    con.close()
