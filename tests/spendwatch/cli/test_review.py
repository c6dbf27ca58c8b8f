"""``spendwatch review`` reads models brought up to date first: an ingest followed by a review shows the new data."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

from spendwatch.cli import main

D = Decimal
HEADER = ["BillingAccountId", "BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd",
          "BilledCost", "BillingCurrency", "ChargeCategory", "ChargeDescription", "ServiceProviderName", "ResourceId", "Tags"]
CONFIG = """reporting_currency = "GBP"

[[teams]]
name = "vision"

[[attribution]]
match = "tag"
tag_key = "team"
"""


def focus(path: Path, account: str, costs: list[str]) -> Path:
    """One FOCUS line per cost, on consecutive days of November 2026 from the 2nd, in GBP, tagged team=vision."""
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=HEADER)
        w.writeheader()
        for day, cost in enumerate(costs, start=2):
            w.writerow({"BillingAccountId": account, "BillingPeriodStart": "2026-11-01T00:00:00Z",
                        "BillingPeriodEnd": "2026-12-01T00:00:00Z", "ChargePeriodStart": f"2026-11-{day:02d}T00:00:00Z",
                        "ChargePeriodEnd": f"2026-11-{day + 1:02d}T00:00:00Z", "BilledCost": cost, "BillingCurrency": "GBP",
                        "ChargeCategory": "Usage", "ChargeDescription": "storage", "ServiceProviderName": "Acme Cloud",
                        "ResourceId": f"r-{account}-{day}", "Tags": '{"team": "vision"}'})
    return path


def _vision_total(capsys, common: list[str]) -> Decimal:
    assert main(["review", "--month", "2026-11", "--team", "vision", "--format", "json", *common]) == 0
    data = json.loads(capsys.readouterr().out)
    [team] = [t for t in data["teams"] if t["team"] == "vision"]
    return D(team["spend"]["total_spend"])


def test_ingest_then_review_shows_the_new_data(tmp_path, capsys):
    toml = tmp_path / "spendwatch.toml"
    toml.write_text(CONFIG, encoding="utf-8")
    common = ["--warehouse", str(tmp_path / "w.duckdb"), "--config", str(toml)]
    # A fresh warehouse: no model was ever built; the review builds them (it used to say "no spend models yet").
    assert main(["ingest", str(focus(tmp_path / "a.csv", "111", ["10.00", "20.00", "30.50"])), *common]) == 0
    capsys.readouterr()
    assert _vision_total(capsys, common) == D("60.50")            # 10.00 + 20.00 + 30.50
    # A second export: the models are stale (their sources changed) and are rebuilt before the review reads them.
    assert main(["ingest", str(focus(tmp_path / "b.csv", "222", ["100.00", "0.25"])), *common]) == 0
    capsys.readouterr()
    assert _vision_total(capsys, common) == D("160.75")           # 60.50 + 100.00 + 0.25
    # Nothing new: the review reads the same figures again.
    assert _vision_total(capsys, common) == D("160.75")
    # An unknown team or month: exit 2, one line listing the valid ones.
    assert main(["review", "--team", "nobody", *common]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "nobody" in err and "vision" in err
    assert main(["review", "--month", "2025-01", *common]) == 2
    assert "2026-11" in capsys.readouterr().err


def test_review_of_a_missing_warehouse_is_a_usage_error(tmp_path, capsys):
    assert main(["review", "--warehouse", str(tmp_path / "none.duckdb")]) == 2
    assert "run `spendwatch run` first" in capsys.readouterr().err
    assert not (tmp_path / "none.duckdb").exists()
