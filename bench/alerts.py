"""Bench: deliver 1,000 pending alerts to a local Slack-like server that fails 10 % with 500 and 5 % with 429.

The alerts are raised by the real evaluation (200 teams x 5 months over their threshold), then
send passes run until none is pending (at most --max-passes).  The server picks each answer with a
seeded RNG, honours nothing itself, and counts deliveries per alert id (read from the message).
Prints delivered, duplicated (must be 0), lost (must be 0), passes and wall time.
Usage: python bench/alerts.py [--alerts 1000] [--concurrency 8] [--retry-after 0.05] [--seed 20261201]
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import date
from pathlib import Path

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from spendwatch.delivery import Routing, SlackSender, send_pending
from warehouse import alerts as wa
from warehouse.db import connect

ALERT_ID = re.compile(r"spendwatch alert #(\d+)")
MONTHS = ("2026-07-01", "2026-08-01", "2026-09-01", "2026-10-01", "2026-11-01")


class FlakySlack:
    """A webhook endpoint: 10 % 500, 5 % 429 with Retry-After, else 200 "ok" and one delivery counted."""

    def __init__(self, seed: int, retry_after: float, p500: float = 0.10, p429: float = 0.05) -> None:
        self.rng = random.Random(seed)
        self.retry_after, self.p500, self.p429 = retry_after, p500, p429
        self.lock = threading.Lock()
        self.deliveries: Counter[int] = Counter()
        self.answers: Counter[int] = Counter()

    def __call__(self, request: Request) -> Response:
        payload = json.loads(request.get_data())
        context = payload["blocks"][-1]["elements"][0]["text"]
        alert_id = int(ALERT_ID.search(context).group(1))
        with self.lock:
            r = self.rng.random()
            status = 500 if r < self.p500 else 429 if r < self.p500 + self.p429 else 200
            self.answers[status] += 1
            if status == 200:
                self.deliveries[alert_id] += 1
        if status == 500:
            return Response("rollup_error", status=500)
        if status == 429:
            return Response("rate_limited", status=429, headers={"Retry-After": f"{self.retry_after:g}"})
        return Response("ok", status=200)


def build_warehouse(path: Path, n_alerts: int) -> tuple[object, float, int]:
    """A warehouse with n_alerts threshold_crossed conditions, evaluated once; returns (con, seconds, alerts)."""
    con = connect(path)
    con.execute(
        """CREATE TABLE threshold_flags (month DATE, team VARCHAR, currency VARCHAR, variable_spend DECIMAL(18,2),
           projected_variable DECIMAL(18,2), projection_days_used INTEGER, threshold DECIMAL(18,2), threshold_currency VARCHAR,
           status VARCHAR, crossed_on DATE, projected_cross_date DATE, is_unallocated BOOLEAN)"""
    )
    con.execute(
        """CREATE TABLE team_monthly_spend (month DATE, team VARCHAR, serverless_gpu DECIMAL(18,2), hosted_api DECIMAL(18,2),
           total_spend DECIMAL(18,2), days_with_data INTEGER, days_in_month INTEGER, last_data_date DATE)"""
    )
    teams = -(-n_alerts // len(MONTHS))
    con.execute(
        """INSERT INTO threshold_flags
           SELECT CAST(m.month AS DATE), 'team-' || lpad(CAST(t.i AS VARCHAR), 4, '0'), 'GBP',
                  CAST(1500 + t.i AS DECIMAL(18,2)), CAST(1600 + t.i AS DECIMAL(18,2)), 28, 1500.00, 'GBP', 'over',
                  CAST(m.month AS DATE) + 20, NULL, false
           FROM range(?) t(i), unnest(?) m(month)
           LIMIT ?""",
        [teams, list(MONTHS), n_alerts],
    )
    t = time.perf_counter()
    ev = wa.evaluate(con, as_of=date(2026, 11, 27), months_back=4)
    return con, time.perf_counter() - t, len(ev.raised)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--alerts", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--retry-after", type=float, default=0.05, help="seconds the server asks for on a 429")
    ap.add_argument("--seed", type=int, default=20261201)
    ap.add_argument("--max-passes", type=int, default=20)
    args = ap.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    slack = FlakySlack(args.seed, args.retry_after)
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.expect_request("/services/TBENCH/BBENCH/bench", method="POST").respond_with_handler(slack)
    server.start()
    tmp = tempfile.TemporaryDirectory(prefix="spendwatch-bench-alerts-")
    try:
        con, eval_s, raised = build_warehouse(Path(tmp.name) / "warehouse.duckdb", args.alerts)
        routing = Routing.from_config(None, environ={"SLACK_WEBHOOK_URL": server.url_for("/services/TBENCH/BBENCH/bench")})
        passes = []
        t0 = time.perf_counter()
        with SlackSender(routing, concurrency=args.concurrency, max_retry_after=1.0) as sender:
            for _ in range(args.max_passes):
                t = time.perf_counter()
                res = send_pending(con, sender)
                passes.append((res, time.perf_counter() - t))
                if res.pending == 0:
                    break
        wall = time.perf_counter() - t0
        stored_sent = {r[0] for r in con.execute("SELECT alert_id FROM alerts WHERE delivery = 'sent'").fetchall()}
        all_ids = {r[0] for r in con.execute("SELECT alert_id FROM alerts").fetchall()}
        con.close()
    finally:
        server.clear()
        server.stop()
        tmp.cleanup()

    delivered = {i for i, n in slack.deliveries.items() if n >= 1}
    duplicated = sum(n - 1 for n in slack.deliveries.values() if n > 1)
    lost = len(all_ids - delivered) + len(delivered ^ stored_sent)
    requests = sum(slack.answers.values())
    print(f"alerts raised: {raised} (evaluation {eval_s:.2f} s)")
    for i, (res, secs) in enumerate(passes, 1):
        print(f"  pass {i}: {res.attempted} tried, {res.sent} sent, {res.retry} retry, {res.deferred} deferred, "
              f"{res.failed} failed, {res.pending} still pending ({secs:.2f} s)")
    print(f"requests: {requests} (200: {slack.answers[200]}, 500: {slack.answers[500]}, 429: {slack.answers[429]})")
    print(f"delivered: {len(delivered)}  duplicated: {duplicated}  lost: {lost}  passes: {len(passes)}")
    print(f"wall time: {wall:.2f} s ({len(delivered) / wall:.0f} alerts/s, concurrency {args.concurrency})")
    ok = duplicated == 0 and lost == 0 and len(delivered) == raised == args.alerts
    if not ok:
        print("FAIL: every alert must be delivered exactly once", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
