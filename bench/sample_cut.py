"""The sample organisation's exports as a user would hold them on a given day: every file cut at that day.

``cut_exports(dst, cut)`` copies ``examples/exports`` to ``dst`` keeping only what covers days up to ``cut``
(inclusive), each file in its own format (CSV rows, JSON buckets or records by their own date field); a
``lag`` of N days for a provider cuts that provider's files N days earlier, like an export that lags.
A monthly tax line arrives with the invoice, after its month: it is dropped until its billing period ends.
Used by the cut-off tests and by bench/projection.py.
"""

from __future__ import annotations

import csv
import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

SAMPLE = Path(__file__).resolve().parent.parent / "examples" / "exports"
# file name prefix -> provider (for lags)
_PROVIDER = {"anthropic": "anthropic", "openai": "openai", "runpod": "runpod", "modal": "modal", "focus_aws": "aws",
             "dedicated": "gigagpu"}


def _provider(name: str) -> str:
    return next(p for prefix, p in _PROVIDER.items() if name.startswith(prefix))


def _day(text: str) -> date:
    return date.fromisoformat(text[:10])


def _cut_csv(src: Path, dst: Path, keep) -> None:
    with src.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = [r for r in reader if keep(r)]
        fields = reader.fieldnames
    if not rows:
        return
    with dst.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def cut_exports(dst: Path, cut: date, lag: dict[str, int] | None = None, src: Path = SAMPLE) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for f in sorted(src.iterdir()):
        last = cut - timedelta(days=(lag or {}).get(_provider(f.name), 0))
        out = dst / f.name
        if f.name.startswith("focus_aws"):
            _cut_csv(f, out, lambda r: _day(r["ChargePeriodStart"]) <= last
                     and (r["ChargeCategory"] != "Tax" or _day(r["BillingPeriodEnd"]) <= last + timedelta(days=1)))
        elif f.name.startswith("modal"):
            _cut_csv(f, out, lambda r: _day(r["Interval Start"]) <= last)
        elif f.name.startswith("dedicated"):
            _cut_csv(f, out, lambda r: _day(r["period_start"]) <= last)
        elif f.name.startswith("runpod"):
            records = [r for r in json.loads(f.read_text()) if _day(r["time"]) <= last]
            if records:
                out.write_text(json.dumps(records))
        else:  # OpenAI (start_time, unix) and Anthropic (starting_at) pages
            page = json.loads(f.read_text())
            end = datetime(last.year, last.month, last.day, tzinfo=timezone.utc) + timedelta(days=1)

            def keep(b) -> bool:
                if "start_time" in b:
                    return b["start_time"] < end.timestamp()
                return _day(b["starting_at"]) <= last

            data = [b for b in page["data"] if keep(b)]
            if not data:
                continue
            if len(data) < len(page["data"]) or (page.get("has_more") and _next_page_empty(f, last)):
                page["has_more"], page["next_page"] = False, None
            page["data"] = data
            out.write_text(json.dumps(page))
    return dst


def _next_page_empty(f: Path, last: date) -> bool:
    """A paged file (``..._p1``) whose next page holds only days after the cut."""
    if "_p" not in f.stem:
        return False
    nxt = f.with_name(f.stem[:-1] + str(int(f.stem[-1]) + 1) + f.suffix)
    if not nxt.exists():
        return True
    first = json.loads(nxt.read_text())["data"][0]
    start = datetime.fromtimestamp(first["start_time"], timezone.utc).date() if "start_time" in first else _day(first["starting_at"])
    return start > last


def build_sample(work: Path, cut: date | None = None, lag: dict[str, int] | None = None) -> Path:
    """A warehouse of the sample organisation as of ``cut`` (None: every export), built as ``spendwatch run``
    builds it offline: config, recorded prices, the bundled ECB history, the (cut) exports, every model."""
    from spendwatch import operations
    from spendwatch.core.config import load_config
    from spendwatch.core.paths import EXAMPLE_CONFIG
    from warehouse.db import connect

    work.mkdir(parents=True, exist_ok=True)
    exports = cut_exports(work / "exports", cut, lag) if cut else SAMPLE
    cfg = load_config(EXAMPLE_CONFIG)
    con = connect(work / "warehouse.duckdb")
    try:
        operations.sync(con, cfg)
        operations.refresh_prices(con, mode="offline", as_of=datetime(2026, 12, 1, 6, 0), backfills=cfg.price_backfills())
        operations.refresh_fx(con, mode="offline")
        errors = [r.error for r in operations.ingest(con, cfg, [exports]) if r.error]
        if errors:
            raise RuntimeError(f"ingest failed: {errors}")
        failed = [r.model for r in operations.build_models(con) if r.status != "ok"]
        if failed:
            raise RuntimeError(f"models failed: {failed}")
    finally:
        con.close()
    return work / "warehouse.duckdb"
