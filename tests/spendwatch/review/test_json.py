"""The JSON renderer: the data as it is, money as exact decimal strings beside their currency."""

from __future__ import annotations

import json
from datetime import date

from spendwatch.review import render


def test_hand_worked_document(tiny):
    doc = json.loads(render(tiny, "json"))
    (alpha,) = doc["teams"]
    assert alpha["spend"] == {"currency": "GBP", "serverless_gpu": "1234.50", "dedicated_gpu": "0.00",
                              "hosted_api": "100.25", "other": "0.00", "variable_spend": "1334.75", "total_spend": "1334.75"}
    (change,) = alpha["price_changes"]
    # Decimals exactly as stored (twelve places), dates and times ISO 8601
    assert (change["old_amount"], change["changed_at"]) == ("0.000310000000", "2026-11-05T06:00:00")
    assert alpha["threshold"]["crossed_on"] is None and alpha["threshold"]["projected_cross_date"] == "2026-11-24"
    assert doc["month_start"] == "2026-11-01" and doc["unallocated"]["total"] == "12.34"


def test_untrusted_text_is_carried_as_is(evil_sample, review_of):
    doc = json.loads(render(review_of(evil_sample, date(2026, 11, 1)), "json"))
    assert "<script>alert(1)</script>" in {t["team"] for t in doc["teams"]}
    (assistant,) = [t for t in doc["teams"] if t["team"] == "assistant"]
    assert any(r["model"].startswith('=HYPERLINK("http://x")') for r in assistant["api_vs_selfhost"])
