"""The spend review as plain data: every team's month in the reporting currency, built from the marts.

For every team (and the unallocated spend) it gathers: spend by kind; variable spend
against the threshold with its status and crossing dates; the serverless-vs-dedicated
break-even verdicts, the hybrid plan and the API-vs-self-host comparison; invoice-audit
findings with the amounts at stake; the price changes that touched what the team used;
and, for the organisation, unallocated spend, attribution coverage per month, failed
alerts, today's break-even table and how fresh the data is (last price fetch per source,
last export per provider).

:func:`build_review` returns all of it as one dict of plain values (Decimal, date,
datetime, str, bool, int): money stays Decimal beside the field naming its currency
(``sections.MONEY_CURRENCY``).  It reads the warehouse only through
``warehouse.review_queries``, and reads the same definitions as the alerts: stale from
``source_freshness``, threshold status from ``threshold_flags``, price changes from
``alert_price_change``.  The renderers (``terminal``, ``markdown``, ``csv``, ``json``,
``html``) turn the dict into text and never query.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Callable, Iterable

import duckdb

from spendwatch.core.errors import UsageError
from spendwatch.render import plain
from spendwatch.review.headlines import headlines
from spendwatch.review.sections import fraction_text
from warehouse import review_queries as rq
from warehouse.alerts import failed_alerts
from warehouse.anomalies import anomalies as anomaly_rows
from warehouse.anomalies import band as anomaly_band
from warehouse.db import relation_exists


def _by_team(rows: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["team"], []).append(r)
    return out


def _if_built(con: duckdb.DuckDBPyConnection, model: str, fn: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return fn() if relation_exists(con, model) else []


def _failed_alerts(con: duckdb.DuckDBPyConnection, team: str | None) -> dict[str, Any]:
    """Alerts Slack refused for good, when the alerts module and table exist (else ``available`` is false)."""
    if not relation_exists(con, "alerts"):
        return {"available": False, "alerts": []}
    rows = []
    for a in failed_alerts(con):
        if team is not None and a.team not in (team, "*"):
            continue
        rows.append({
            "alert_id": a.alert_id, "kind": a.kind, "team": a.team, "period": a.period, "subject": a.subject,
            "state": a.state, "delivery": a.delivery, "destination": a.destination, "attempts": a.attempts,
            "last_attempt_at": a.last_attempt_at, "response_status": a.response_status, "last_error": a.last_error,
        })
    return {"available": True, "alerts": rows}


def _anomalies(con: duckdb.DuckDBPyConnection, month: date, team: str | None) -> list[dict[str, Any]]:
    """The month's spend anomalies (warehouse.anomalies), as review records."""
    out = []
    for a in anomaly_rows(con, month=f"{month:%Y-%m}", team=team):
        r = a.as_json() | {k: getattr(a, k) for k in ("charge_date", "expected", "actual", "excess", "price_effect", "volume_effect")}
        r["incident"] = f"{a.incident_id} day {a.incident_day}" + (" (ongoing)" if a.ongoing else "")
        r["top_line"] = a.top_lines[0].get("line") if a.top_lines else None
        out.append(r)
    return out


def _anomaly_bands(con: duckdb.DuckDBPyConnection, recs: list[dict[str, Any]], month: date) -> list[dict[str, Any]]:
    """For each series with an anomaly this month (at most three), its days: actual against the expected band."""
    series = list(dict.fromkeys((r["provider"], r["scope"]) for r in recs if not r["scope"].startswith("recurring:")))[:3]
    return [{"team": recs[0]["team"], "provider": p, "scope": sc, "currency": recs[0]["currency"],
             "points": [vars(b) for b in anomaly_band(con, recs[0]["team"], p, sc, f"{month:%Y-%m}")]} for p, sc in series]


def build_review(con: duckdb.DuckDBPyConnection, month: date | None = None, team: str | None = None,
                now: datetime | None = None) -> dict[str, Any]:
    """Everything the spend review shows for one month (default: the latest with data), optionally one team,
    as plain data: dicts and lists of Decimal, date, datetime, str, bool and int (see the module doc).

    Raises UsageError when the warehouse has no spend models, the month has no data, or the team is unknown.
    """
    months = rq.months_with_data(con)
    if not months:
        raise UsageError("the warehouse has no spend models yet: run `spendwatch run` (or `spendwatch models build`) first")
    month = (month or months[-1]).replace(day=1)
    if month not in months:
        raise UsageError(f"--month {month:%Y-%m}: no spend in that month (months with data: "
                         f"{', '.join(f'{m:%Y-%m}' for m in months)})")
    if team is not None and team not in rq.known_teams(con):
        raise UsageError(f"--team {team}: no such team (teams: {', '.join(rq.known_teams(con))})")
    now = now or datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    currency = rq.reporting_currency(con)
    return {
        "report": "spendwatch spend review",
        "month": f"{month:%Y-%m}",
        "month_start": month,
        "months_available": [f"{m:%Y-%m}" for m in months],
        "reporting_currency": currency,
        "team_filter": team,
        "generated_at": now,
        "teams": _teams(con, month, team, currency),
        **_organisation(con, month, team, currency),
    }


def _offer(provider: str | None, sku: str | None, tier: str | None) -> str | None:
    """An offer as a reader names it: ``runpod 4090 PRO (flex)``."""
    return " ".join(x for x in (provider, sku, f"({tier})" if tier else None) if x) or None


def _teams(con: duckdb.DuckDBPyConnection, month: date, team: str | None, currency: str) -> list[dict[str, Any]]:
    """Each team's month (every configured team, then 'unallocated' if it has spend), with its headlines."""
    breakeven = _by_team(_if_built(con, "breakeven", lambda: rq.breakeven(con, month, team)))
    hybrid = _by_team(_if_built(con, "hybrid_plan", lambda: rq.hybrid_plan(con, month, team)))
    api = _by_team(_if_built(con, "api_vs_selfhost", lambda: rq.api_vs_selfhost(con, month, team)))
    dedicated = _by_team(_if_built(con, "dedicated_utilisation", lambda: rq.dedicated_utilisation(con, month, team)))
    audit = _by_team(_if_built(con, "invoice_audit", lambda: rq.audit_findings(con, month, team)))
    changes = _by_team(_if_built(con, "alert_price_change", lambda: rq.price_changes(con, month, team)))
    history = _by_team(rq.monthly_history(con, team, until=month))
    daily = _by_team(_if_built(con, "fct_spend_daily", lambda: rq.daily_variable(con, month, team)))
    anomalies = _by_team(_anomalies(con, month, team))
    decisions = {m: _by_team(_if_built(con, m, lambda m=m: rq.decision_rows(con, m, month, team))) for m in rq.DECISION_MODELS}
    for b in (b for rows in breakeven.values() for b in rows):
        b["dedicated_offer"] = _offer(b["dedicated_provider"], b["dedicated_sku"], b["dedicated_tier"])
    for a in (a for rows in api.values() for a in rows):
        a["assumption"] = (f"{a['selfhost_gpu_class']}, {plain(a['tokens_per_second'].normalize())} tok/s, "
                           f"{fraction_text(a['assumed_utilisation'])} busy" if a["tokens_per_second"] is not None else "none")
    teams = []
    for s in rq.team_spend(con, month, team):
        name = s["team"]
        spend = {k: s[k] for k in ("currency", "serverless_gpu", "dedicated_gpu", "hosted_api", "other", "variable_spend", "total_spend")}
        threshold = {k: s[k] for k in ("currency", "variable_spend", "threshold", "threshold_currency", "pct_of_threshold",
                                        "projected_variable", "status", "crossed_on", "projected_cross_date", "band_cross_date",
                                        "days_with_data", "days_in_month", "last_data_date")}
        band = (decisions["threshold_flags"].get(name) or [{}])[0]
        threshold |= {k: band.get(k) for k in ("projected_low", "projected_high", "band_method")}
        findings = audit.get(name, [])
        t = {
            "team": name, "lead": s["lead"], "is_unallocated": s["is_unallocated"],
            "spend": spend, "threshold": threshold,
            "breakeven": breakeven.get(name, []), "hybrid_plan": hybrid.get(name, []),
            "api_vs_selfhost": api.get(name, []), "dedicated_utilisation": dedicated.get(name, []),
            "audit": findings,
            "audit_summary": {
                "findings": len(findings), "above_tolerance": sum(1 for f in findings if f["above_tolerance"]),
                "at_stake_reporting": sum((f["amount_at_stake_reporting"] or Decimal(0) for f in findings), Decimal("0.00")),
                "currency": currency,
            },
            "price_changes": changes.get(name, []),
            "history": history.get(name, []), "daily": daily.get(name, []),
            "anomalies": anomalies.get(name, []),
            "recommendations": decisions["recommendations"].get(name, []), "fx_stale": decisions["fx_staleness"].get(name, []),
        }
        t["anomaly_bands"] = _anomaly_bands(con, t["anomalies"], month)
        t["headlines"] = headlines(t)
        teams.append(t)
    return teams


def _organisation(con: duckdb.DuckDBPyConnection, month: date, team: str | None, currency: str) -> dict[str, Any]:
    """The organisation's part: unallocated spend, attribution coverage, failed alerts, today's break-even table,
    held prices, freshness, and the notes on what the review could not show."""
    lines_built = relation_exists(con, "stg_line_items_fx")
    coverage_built = rq.has_column(con, "stg_line_items_fx", "attribution_rule")  # absent from models built before it
    exports = [e | {"last_file_name": _basename(e["last_file"])} for e in rq.export_freshness(con)]
    rejects = [r | {"file_name": _basename(r["file_path"])} for r in rq.ingest_rejects_summary(con)]
    btable = [b | {"serverless_offer": _offer(b["serverless_provider"], b["serverless_sku"], b["serverless_tier"]),
                   "dedicated_offer_full": f"{b['dedicated_provider']} {b['dedicated_offer']}"}
              for b in _if_built(con, "breakeven_table", lambda: rq.breakeven_table(con))]
    sources = rq.price_source_freshness(con)
    held = [h | {"new_currency": h["currency"]} for h in rq.held_prices(con)]  # a held price keeps its currency
    alerts = _failed_alerts(con, team)
    notes = [f"model {m} is not built: its section is empty" for m in rq.missing_models(con)]
    if not coverage_built and lines_built:
        notes.append("the models predate attribution coverage: rebuild them (spendwatch models build) to see it")
    stale = [s["source_id"] for s in sources if s["stale"]]
    if stale:
        notes.append(f"price sources stale (prices in force older than their max age): {', '.join(stale)}")
    failing = [s["source_id"] for s in sources if s["last_status"] in ("failed", "deferred")]
    if failing:
        notes.append(f"price sources whose last refresh failed (last good prices kept): {', '.join(failing)}")
    if held:
        notes.append(f"{len(held)} price(s) held as suspect changes: see the held prices section")
    if not alerts["available"]:
        notes.append("alerts are not set up in this warehouse: failed alerts not checked")
    return {
        "unallocated": {
            "currency": currency,
            "total": rq.unallocated_total(con, month) if lines_built else Decimal("0.00"),
            "lines": rq.unallocated_spend(con, month) if lines_built else [],
        },
        "attribution_coverage": rq.attribution_coverage(con, until=month) if coverage_built else [],
        "failed_alerts": alerts,
        "breakeven_table": btable,
        "held_prices": held,
        "freshness": {"price_sources": sources, "exports": exports, "ingest_rejects": rejects},
        "notes": notes,
    }


def _basename(path: str | None) -> str | None:
    return path.replace("\\", "/").rsplit("/", 1)[-1] if path else path
