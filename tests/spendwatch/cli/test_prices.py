"""spendwatch prices show / history / changes: cheapest first, the full history, and what changed."""

import json
from datetime import datetime
from pathlib import Path

from spendwatch.cli import main

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "prices"


def _refresh(wh, snapshot_dir, as_of):
    cfg = wh.parent / "spendwatch.toml"
    # no price backfill: history starts with these captures; USD reporting, so ordering needs no FX rates
    cfg.write_text('reporting_currency = "USD"\n[[teams]]\nname = "alpha"\n')
    assert main(["prices", "refresh", "--warehouse", str(wh), "--config", str(cfg), "--snapshot-dir", str(snapshot_dir), "--as-of", as_of, "--source", "runpod_serverless"]) == 0


def test_show_history_changes(tmp_path, capsys):
    wh = tmp_path / "w.duckdb"
    day1 = tmp_path / "d1"
    day1.mkdir()
    capture = (FIX / "runpod_serverless.md").read_text()
    (day1 / "runpod_serverless.md").write_text(capture)
    _refresh(wh, day1, "2026-11-01")
    # a day later the H100 PRO flex price changes from $0.00116 to $0.00099 per second
    day2 = tmp_path / "d2"
    day2.mkdir()
    assert "0.00116" in capture
    (day2 / "runpod_serverless.md").write_text(capture.replace("0.00116", "0.00099", 1))
    _refresh(wh, day2, "2026-11-02")
    capsys.readouterr()

    assert main(["prices", "show", "--warehouse", str(wh), "--gpu", "H100-80GB-SXM", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(r["class"] == "H100-80GB-SXM" for r in rows)
    per_second = [float(r["amount"]) for r in rows if r["unit"] == "second"]
    assert per_second == sorted(per_second)  # cheapest first
    assert {"age_hours", "price_since", "checked_at"} <= set(rows[0])

    assert main(["prices", "history", "--warehouse", str(wh), "--provider", "runpod", "--sku", "H100 PRO", "--format", "json"]) == 0
    hist = [r for r in json.loads(capsys.readouterr().out) if r["tier"] == "flex"]
    assert [(r["amount"], r["valid_from"][:10], (r["valid_to"] or "")[:10]) for r in hist] == [
        ("0.001160000000", "2026-11-01", "2026-11-02"), ("0.000990000000", "2026-11-02", "")]

    assert main(["prices", "changes", "--warehouse", str(wh), "--since", "2026-11-02", "--format", "json"]) == 0
    changes = json.loads(capsys.readouterr().out)
    changed = [c for c in changes if c["change"] == "changed"]
    assert [(c["sku"], c["tier"], c["old_amount"], c["new_amount"]) for c in changed] == [
        ("H100 PRO", "flex", "0.001160000000", "0.000990000000")]
    assert not [c for c in changes if c["change"] == "added"]
