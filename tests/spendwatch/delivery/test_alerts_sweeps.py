"""Sweeps: no piece of a secret, and no control character, gets out.

The secrets sweep sends each secret through every error path it can take (a Slack webhook and the
Web API echoing it back in their error bodies, past the 200-character excerpt; a billing API doing
the same; a MotherDuck DSN that cannot be opened), then searches stdout, stderr, the log, Dagster's
event log and every text column of every warehouse table for any 6-character piece of it.

The terminal sweep runs `spendwatch run` (the Dagster console log included) and `spendwatch alerts`
with a file name and a Slack error body full of escape sequences, and looks for any control
character or bidi override in what reached the terminal.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import httpx
import pytest
from werkzeug import Response

from spendwatch import cli
from tests.spendwatch.delivery.alert_models import alert_inputs, november_flags
from warehouse.db import connect

ROOT = Path(__file__).resolve().parents[3]
WEBHOOK_SECRET = "Wq7Zr2Xp9Lm4Vt8Kd3Hs6Jb1"
BOT_SECRET = "Qn5Rt8Yu2Io4Pa7Sd1Fg3Hj6"
BOT_TOKEN = f"xoxb-4444444444-5555555555-{BOT_SECRET}"
ADMIN_SECRET = "Zx9Cv8Bn7Mq6Lw5Ke4Jr3Ht2Gy1"
ADMIN_KEY = f"sk-admin-{ADMIN_SECRET}"
MD_SECRET = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzd2VlcCJ9.Ut4Yh8Nm2Wq6Ez0Rc5Vb9Xk3"
PRICE_SECRET = "Pk4Mn7Bv2Cx9Zl5Qw8Er3Ty6"  # a price source's key, in its URL's path and query
HOOK = f"/services/T0SWEEP/B0SWEEP/{WEBHOOK_SECRET}"


def pieces(secret: str) -> set[str]:
    return {secret[i:i + 6] for i in range(len(secret) - 5)}


def leaks(text: str) -> dict[str, list[str]]:
    out = {}
    for name, secret in (("webhook", WEBHOOK_SECRET), ("bot", BOT_SECRET), ("admin", ADMIN_SECRET), ("motherduck", MD_SECRET),
                         ("price source", PRICE_SECRET)):
        found = sorted(p for p in pieces(secret) if p in text)
        if found:
            out[name] = found
    return out


def warehouse_text(path: Path) -> str:
    """Every text column of every table, as one string."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        parts = []
        for schema, table, column in con.execute(
                """SELECT table_schema, table_name, column_name FROM information_schema.columns
                   WHERE data_type IN ('VARCHAR', 'JSON') OR data_type LIKE '%[]' OR data_type LIKE 'STRUCT%' OR data_type LIKE 'MAP%'""").fetchall():
            parts += [str(v) for (v,) in con.execute(f'SELECT CAST("{column}" AS VARCHAR) FROM "{schema}"."{table}"').fetchall()]
        return "\n".join(parts)
    finally:
        con.close()


def over_threshold(path: Path) -> None:
    con = connect(path)
    november_flags(con, ("search", "1612.40", "1791.56", "over", date(2026, 11, 21)),
                   ("vision", "1700.00", "1888.00", "over", date(2026, 11, 20)))
    alert_inputs(con)
    con.close()


def test_secrets_sweep(tmp_path, httpserver, capfd, caplog, monkeypatch):
    from pipelines.assets.alerts import alerts
    from pipelines.resources import SpendwatchSettings, WarehouseResource
    from pipelines.resources_slack import SlackResource
    from spendwatch import operations

    caplog.set_level(logging.WARNING, logger="werkzeug")  # the stand-in's own access log: Slack's, not ours
    caplog.set_level(logging.DEBUG)
    hook_url = httpserver.url_for(HOOK)
    # Slack echoes what it was given, the secret straddling the 200th character of the body.
    httpserver.expect_request(HOOK).respond_with_data("e" * 190 + f" bad hook {hook_url} ({WEBHOOK_SECRET})", status=500)
    httpserver.expect_request("/api/chat.postMessage").respond_with_json(
        {"ok": False, "error": "invalid_auth", "detail": "x" * 180 + f" token {BOT_TOKEN} refused"})
    path = tmp_path / "warehouse.duckdb"
    over_threshold(path)
    org = tmp_path / "spendwatch.toml"
    org.write_text('[[teams]]\nname = "search"\n[[teams]]\nname = "vision"\nslack_channel = "C0VISION"\n[exports]\npaths = []\n')

    # 1. the Dagster asset, with its event log
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([alerts], partition_key="2026-11-27", instance=instance, resources={
        "warehouse": WarehouseResource(database=str(path)), "settings": SpendwatchSettings(config_path=str(org)),
        "slack": SlackResource(default_webhook_url=hook_url, bot_token=BOT_TOKEN, api_url=httpserver.url_for("/api/"), timeout_seconds=2.0)})
    assert result.success
    event_log = "\n".join(f"{e.user_message} {e.dagster_event!r}" for e in instance.all_logs(result.run_id))

    # 2. the CLI: send again, list, show
    monkeypatch.setenv("SLACK_WEBHOOK_URL", hook_url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_API_URL", httpserver.url_for("/api/"))
    monkeypatch.setenv("SPENDWATCH_CONFIG", str(org))
    for argv in (["alerts", "send", "--retry-failed"], ["alerts", "list", "--state", "all"], ["alerts", "show", "1"],
                 ["alerts", "show", "2", "--format", "json"]):
        cli.main([*argv, "--warehouse", str(path)])

    # 3. a billing API answering with the admin key in its error body
    def echo(request):
        return httpx.Response(401, text="y" * 280 + f" invalid key {request.headers.get('Authorization')}")

    pulls = operations.pull_live_exports({"openai": ADMIN_KEY}, date(2026, 11, 30), tmp_path / "live", transport=httpx.MockTransport(echo))
    errors = " ".join(p.error or "" for p in pulls)
    assert errors  # the pull failed, with its reason

    # 4. a price source whose URL carries its key, answering 403 with the URL echoed (stored in price_fetches)
    def forbidden(request):
        return httpx.Response(403, text="z" * 150 + f" forbidden for {request.url}")

    con = connect(path)
    try:
        refresh = operations.refresh_prices(con, mode="live", source_ids=["lambda"], transport=httpx.MockTransport(forbidden),
                                            url_overrides={"lambda": f"https://prices.example/v1/{PRICE_SECRET}?api_key={PRICE_SECRET}"})
    finally:
        con.close()
    assert [r.status for r in refresh.results] == ["failed"] and "HTTP 403" in refresh.results[0].error

    # 5. a MotherDuck DSN that cannot be opened
    dsn = f"md:spend?motherduck_token={MD_SECRET}"
    real_connect = duckdb.connect

    def refuse(loc, *a, **k):
        if str(loc).startswith("md:"):
            raise duckdb.IOException(f"could not connect to {loc}: token {MD_SECRET} rejected")
        return real_connect(loc, *a, **k)

    monkeypatch.setattr(duckdb, "connect", refuse)
    assert cli.main(["alerts", "list", "--warehouse", dsn]) == 1
    monkeypatch.setattr(duckdb, "connect", real_connect)

    out, err = capfd.readouterr()
    assert "HTTP 500" in out + err + event_log  # the errors were reported ...
    everything = {"stdout": out, "stderr": err, "log": caplog.text, "event log": event_log,
                  "warehouse": warehouse_text(path), "billing errors": errors}
    assert {where: leaks(text) for where, text in everything.items() if leaks(text)} == {}  # ... without any piece of a secret


ESCAPES = "\x1b[2J\x1b]0;pwned\x07\u202e\u2066\x9b31m"
FORBIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def test_terminal_sweep(tmp_path, httpserver, capfd, monkeypatch):
    httpserver.expect_request(HOOK).respond_with_data(f"rollup_error {ESCAPES} retry later", status=500)
    exports = tmp_path / "exports"
    exports.mkdir()
    src = ROOT / "examples" / "exports" / "modal_billing_2026-09_2026-11.csv"
    bad = exports / f"modal_billing_{ESCAPES}.csv"
    text = src.read_text()
    header = text.splitlines()[0]
    bad.write_text(text.rstrip("\n") + "\n" + ",".join(["not-a-number" if i else f"{ESCAPES}" for i, _ in enumerate(header.split(","))]) + "\n")
    cfg = (ROOT / "examples" / "spendwatch.toml").read_text().replace('paths = ["exports"]', f'paths = ["{exports}"]')
    cfg = cfg.replace('"../scrapers/snapshots"', f'"{ROOT / "scrapers" / "snapshots"}"').replace('"../exports/inbox"', f'"{tmp_path / "inbox"}"')
    (tmp_path / "spendwatch.toml").write_text(cfg)
    monkeypatch.setenv("SPENDWATCH_CONFIG", str(tmp_path / "spendwatch.toml"))
    monkeypatch.setenv("SLACK_WEBHOOK_URL", httpserver.url_for(HOOK))
    wh = str(tmp_path / "warehouse.duckdb")
    cli.main(["run", "--date", "2026-11-30", "--offline", "--no-review", "--warehouse", wh])
    cli.main(["alerts", "send", "--warehouse", wh])
    cli.main(["alerts", "list", "--state", "all", "--warehouse", wh])
    con = duckdb.connect(wh, read_only=True)
    ids = [r[0] for r in con.execute("SELECT alert_id FROM alerts ORDER BY alert_id").fetchall()]
    [(fname,)] = con.execute("SELECT file_path FROM ingested_files WHERE rows_rejected > 0").fetchall()
    con.close()
    assert "pwned" in fname and ids  # the file was read and rejected rows raised an alert
    for i in ids:
        cli.main(["alerts", "show", str(i), "--warehouse", wh])
    out, err = capfd.readouterr()
    assert "rollup_error" in out + err and "pwned" in out + err  # the untrusted text is shown ...
    assert {repr(c) for c in FORBIDDEN.findall(out + err)} == set()  # ... without a single control character
