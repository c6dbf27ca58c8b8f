"""Bench: deliver 1,000 alerts to a local Slack stand-in that fails, rate-limits, answers too late, and kills the sender.

For each path (the bot's chat.postMessage and an incoming webhook) the alerts are raised by the real
evaluation (200 teams x 5 months over their threshold) and delivered by send passes run in a child
process, until none is pending.  The stand-in picks each answer with a seeded RNG: 10 % 500, 5 % 429
with Retry-After, 2 % a success slower than the sender's timeout (posted, but the answer comes too
late), else 200; with the bot, 10 % of conversations.history reads answer 500 (an unknown outcome must
stay unknown until the history is read).  Each time another 1/(kills+1) of the alerts is posted it kills
the sender with SIGKILL in the middle of its batch (6 kills by default), and a new sender takes over.  It counts what reached the channel per alert (from the message
metadata or text).  Prints, per path, delivered, duplicated and lost (the bot's target is 0 and 0;
a webhook cannot read the channel, so the slow successes and the batch in flight at the kill may be
posted twice: README, "Alerts"), the passes, the kills and wall time.
Usage: python bench/alerts.py [--alerts 1000] [--kills 6] [--concurrency 8] [--retry-after 0.05] [--seed 20261201] [--path bot|webhook|both]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ALERT_ID = re.compile(r"spendwatch alert #(\d+)")
MONTHS = ("2026-07-01", "2026-08-01", "2026-09-01", "2026-10-01", "2026-11-01")
HOOK = "/services/TBENCH/BBENCH/bench"
TIMEOUT = 1.0  # the sender's; a slow success answers after SLOW seconds
SLOW = 1.6


class FlakySlack:
    """Webhook, chat.postMessage and conversations.history with seeded faults; counts posts per alert id."""

    def __init__(self, seed: int, retry_after: float, kill_at: set[int], p500=0.10, p429=0.05, pslow=0.02, phist=0.10) -> None:
        self.rng = random.Random(seed)
        self.retry_after, self.p500, self.p429, self.pslow, self.phist = retry_after, p500, p429, pslow, phist
        self.lock = threading.Lock()
        self.deliveries: Counter[int] = Counter()
        self.answers: Counter[str] = Counter()
        self.messages: list[dict] = []
        self.kill_at, self.child_pid, self.kills = kill_at, None, 0

    def _pick(self) -> str:
        r = self.rng.random()
        return "500" if r < self.p500 else "429" if r < self.p500 + self.p429 else "slow" if r < self.p500 + self.p429 + self.pslow else "200"

    def _posted(self, alert_id: int) -> None:
        self.deliveries[alert_id] += 1
        if sum(self.deliveries.values()) in self.kill_at and self.child_pid:
            os.kill(self.child_pid, signal.SIGKILL)  # Slack has it; the sender dies before it hears so
            self.kills += 1

    def webhook(self, request):
        from werkzeug import Response

        payload = json.loads(request.get_data())
        alert_id = int(ALERT_ID.search(payload["blocks"][-1]["elements"][0]["text"]).group(1))
        with self.lock:
            answer = self._pick()
            self.answers[answer] += 1
            if answer in ("200", "slow"):
                self._posted(alert_id)
        if answer == "500":
            return Response("rollup_error", status=500)
        if answer == "429":
            return Response("rate_limited", status=429, headers={"Retry-After": f"{self.retry_after:g}"})
        if answer == "slow":
            time.sleep(SLOW)
        return Response("ok", status=200)

    def post(self, request):
        from werkzeug import Response

        payload = json.loads(request.get_data())
        alert_id = int(payload["metadata"]["event_payload"]["key"].split(":")[0])
        with self.lock:
            answer = self._pick()
            self.answers[answer] += 1
            if answer in ("200", "slow"):
                ts = f"{time.time():.6f}"
                self.messages.append({"ts": ts, "text": payload["text"], "metadata": payload["metadata"], "channel": payload["channel"]})
                self._posted(alert_id)
        if answer == "500":
            return Response("<html>bad gateway</html>", status=500)
        if answer == "429":
            return Response(json.dumps({"ok": False, "error": "ratelimited"}), status=429,
                            headers={"Retry-After": f"{self.retry_after:g}"}, content_type="application/json")
        if answer == "slow":
            time.sleep(SLOW)
        return Response(json.dumps({"ok": True, "channel": payload["channel"], "ts": ts}), content_type="application/json")

    def history(self, request):
        from werkzeug import Response

        args = request.values
        oldest = float(args.get("oldest") or 0)
        with self.lock:
            if self.rng.random() < self.phist:
                self.answers["history 500"] += 1
                return Response("<html>bad gateway</html>", status=500)
            self.answers["history"] += 1
            msgs = [m for m in reversed(self.messages) if float(m["ts"]) >= oldest and m["channel"] == args.get("channel")]
        return Response(json.dumps({"ok": True, "messages": msgs, "has_more": False}), content_type="application/json")


def build_warehouse(path: Path, n_alerts: int) -> tuple[float, int]:
    """A warehouse with n_alerts threshold_crossed conditions, evaluated once; returns (seconds, alerts)."""
    from warehouse import alerts as wa
    from warehouse.db import connect

    con = connect(path)
    con.execute(
        """CREATE TABLE threshold_flags (month DATE, team VARCHAR, currency VARCHAR, variable_spend DECIMAL(18,2),
           projected_variable DECIMAL(18,2), projection_days_used INTEGER, threshold DECIMAL(18,2), threshold_currency VARCHAR,
           status VARCHAR, crossed_on DATE, projected_cross_date DATE, is_unallocated BOOLEAN,
           projected_low DECIMAL(18,2), projected_high DECIMAL(18,2), band_method VARCHAR, band_cross_date DATE)"""
    )
    con.execute(
        """CREATE TABLE team_monthly_spend (month DATE, team VARCHAR, serverless_gpu DECIMAL(18,2), hosted_api DECIMAL(18,2),
           total_spend DECIMAL(18,2), days_with_data INTEGER, days_in_month INTEGER, last_data_date DATE)"""
    )
    # what else alert_threshold reads (drivers, stale FX, recommendations): empty here
    con.execute("""CREATE TABLE stg_line_items_fx (charge_date DATE, team VARCHAR, provider VARCHAR, product_kind VARCHAR,
                   model VARCHAR, gpu_class VARCHAR, amount_reporting DECIMAL(18, 6), currency VARCHAR, reporting_currency VARCHAR,
                   fx_rate_date DATE, fx_rate_age_business_days INTEGER, fx_stale BOOLEAN)""")
    con.execute("""CREATE TABLE recommendations (month DATE, team VARCHAR, gpu_class VARCHAR, window_start DATE, window_end DATE,
                   currency VARCHAR, action VARCHAR, saving DECIMAL(18, 2))""")
    teams = -(-n_alerts // len(MONTHS))
    con.execute(
        """INSERT INTO threshold_flags
           SELECT CAST(m.month AS DATE), 'team-' || lpad(CAST(t.i AS VARCHAR), 4, '0'), 'GBP',
                  CAST(1500 + t.i AS DECIMAL(18,2)), CAST(1600 + t.i AS DECIMAL(18,2)), 28, 1500.00, 'GBP', 'over',
                  CAST(m.month AS DATE) + 20, NULL, false, NULL, NULL, NULL, NULL
           FROM range(?) t(i), unnest(?) m(month)
           LIMIT ?""",
        [teams, list(MONTHS), n_alerts],
    )
    t = time.perf_counter()
    ev = wa.evaluate(con, as_of=date(2026, 11, 27), months_back=4)
    con.close()
    return time.perf_counter() - t, len(ev.raised)


def child(db: str, path: str, url: str, concurrency: int, max_passes: int) -> int:
    """One sender process: send passes until nothing is pending; prints one JSON line per pass."""
    from spendwatch.delivery import Routing, SlackSender, send_pending
    from warehouse.db import connect

    con = connect(db)
    if path == "bot":
        class EveryTeam(dict):  # every team's alerts to one bot channel
            def get(self, key, default=None):
                return "C0BENCH"

        routing = Routing(team_env={}, team_channel=EveryTeam(), urls={}, bot_token="xoxb-0000000000-bench")
    else:
        routing = Routing.from_config(None, environ={"SLACK_WEBHOOK_URL": url + HOOK})
    with SlackSender(routing, concurrency=concurrency, timeout=TIMEOUT, max_retry_after=1.0, api_url=url + "/api/") as sender:
        for _ in range(max_passes):
            t = time.perf_counter()
            res = send_pending(con, sender)
            print(json.dumps({"attempted": res.attempted, "sent": res.sent, "retry": res.retry, "unknown": res.unknown,
                              "deferred": res.deferred, "failed": res.failed, "pending": res.pending,
                              "seconds": round(time.perf_counter() - t, 2)}), flush=True)
            if res.pending == 0:
                break
    con.close()
    return 0


def run_path(path: str, args) -> bool:
    from pytest_httpserver import HTTPServer

    step = args.alerts // (args.kills + 1)
    slack = FlakySlack(args.seed, args.retry_after, kill_at={step * k for k in range(1, args.kills + 1)} if step else set())
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.expect_request(HOOK, method="POST").respond_with_handler(slack.webhook)
    server.expect_request("/api/chat.postMessage").respond_with_handler(slack.post)
    server.expect_request("/api/conversations.history").respond_with_handler(slack.history)
    server.start()
    tmp = tempfile.TemporaryDirectory(prefix="spendwatch-bench-alerts-")
    passes: list[dict] = []
    try:
        db = str(Path(tmp.name) / "warehouse.duckdb")
        eval_s, raised = build_warehouse(Path(db), args.alerts)
        url = server.url_for("").rstrip("/")
        t0 = time.perf_counter()
        for _ in range(args.kills + 5):  # a new sender after each kill
            proc = subprocess.Popen([sys.executable, __file__, "--child", db, "--path", path, "--url", url,
                                     "--concurrency", str(args.concurrency), "--max-passes", str(args.max_passes)],
                                    stdout=subprocess.PIPE, text=True)
            slack.child_pid = proc.pid
            out, _ = proc.communicate()
            passes += [json.loads(line) for line in out.splitlines() if line.startswith("{")]
            if proc.returncode == 0:
                break
        wall = time.perf_counter() - t0
        import duckdb

        con = duckdb.connect(db, read_only=True)
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
    print(f"[{path}] alerts raised: {raised} (evaluation {eval_s:.2f} s)")
    for i, p in enumerate(passes, 1):
        print(f"  pass {i}: {p['attempted']} tried, {p['sent']} sent, {p['retry']} retry, {p['unknown']} no answer, "
              f"{p['deferred']} deferred, {p['failed']} failed, {p['pending']} still pending ({p['seconds']:.2f} s)")
    print(f"  requests: {sum(slack.answers.values())} ({', '.join(f'{k}: {v}' for k, v in sorted(slack.answers.items()))}),"
          f" sender killed with SIGKILL {slack.kills} time(s)")
    print(f"  delivered: {len(delivered)}  duplicated: {duplicated}  lost: {lost}")
    print(f"  wall time: {wall:.2f} s ({len(delivered) / wall:.0f} alerts/s, concurrency {args.concurrency})")
    return lost == 0 and (path != "bot" or duplicated == 0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--alerts", type=int, default=1000)
    ap.add_argument("--kills", type=int, default=6, help="SIGKILLs of the sender, evenly spread over the deliveries")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--retry-after", type=float, default=0.05, help="seconds the server asks for on a 429")
    ap.add_argument("--seed", type=int, default=20261201)
    ap.add_argument("--max-passes", type=int, default=20)
    ap.add_argument("--path", choices=["bot", "webhook", "both"], default="both")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args.child, args.path, args.url, args.concurrency, args.max_passes)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    ok = all([run_path(p, args) for p in (("bot", "webhook") if args.path == "both" else (args.path,))])
    if not ok:
        print("FAIL: an alert was lost, or the bot path posted one twice", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
