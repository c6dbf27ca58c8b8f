"""The spend review: each team's month in the reporting currency, for finance and team leads.

For every team (and the unallocated spend) it gathers: spend by kind; variable spend
against the threshold with its status and crossing dates; the serverless-vs-dedicated
break-even verdicts, the hybrid plan and the API-vs-self-host comparison; invoice-audit
findings with the amounts at stake; the price changes that touched what the team used;
and, for the organisation, unallocated spend, attribution coverage per month, failed alerts, today's break-even table
and how fresh the data is (last price fetch per source, last export per provider).

:func:`review_data` returns all of it as one dict of plain values (Decimal, date, str);
the renderers turn that dict into a terminal table, markdown, CSV, JSON or (in
``spendwatch.report_html``) a self-contained HTML report.  Every untrusted string
(team, model, SKU, description, file name) is escaped for its medium at render time.

CSV layout: one long table, one row per value, with columns
``section, team, month, row, field, value, currency``: ``section`` names the part of
the review (spend, threshold, breakeven, ..., price_sources, exports), ``row`` numbers
the record within its section and team, and ``currency`` is filled for money values.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Callable, Iterable

import duckdb

from spendwatch.errors import UsageError
from spendwatch.render import markdown_table, md_escape, money, plain, terminal_escape
from warehouse import review_queries as rq

FORMATS = ("table", "markdown", "csv", "json", "html")

# Money fields and the field holding their currency (default: the record's "currency").
MONEY_CURRENCY: dict[str, str] = {
    **{k: "currency" for k in (
        "serverless_gpu", "dedicated_gpu", "hosted_api", "other", "variable_spend", "total_spend", "projected_variable",
        "month_to_date", "serverless_cost", "serverless_price_per_second", "dedicated_monthly", "dedicated_cost",
        "monthly_saving", "cost_at_best", "cost_at_zero", "saving", "api_cost", "api_cost_per_1m", "selfhost_cost_per_1m",
        "selfhost_monthly_cost", "cost", "cost_per_used_hour", "serverless_per_gpu_hour", "serverless_cost_for_used_hours",
        "serverless_per_hour", "billed", "expected", "amount_at_stake", "unit_price", "amount", "old_amount", "new_amount",
        "amount_at_stake_total", "attributed_spend", "unattributed_spend",
        "actual", "excess", "price_effect", "volume_effect",
    )},
    "threshold": "threshold_currency",
    "amount_at_stake_reporting": "reporting_currency",
    "tolerance_reporting": "reporting_currency",
    "at_stake_reporting": "currency",
    "dedicated_price": "dedicated_price_currency",
}


@dataclass(frozen=True)
class Col:
    """One displayed column of a review section: the record key, its header, and how to show the value."""

    key: str
    label: str
    kind: str = "text"  # text | enum | money | money6 | price | fraction | pct | int | num | date | datetime | bool


@dataclass(frozen=True)
class Section:
    """A part of the review: where its records live in the review dict and which columns a reader sees."""

    key: str
    title: str
    cols: tuple[Col, ...]
    empty: str = "none"
    limit: int | None = None  # rows shown in table, markdown and html (JSON and CSV carry them all)
    terminal: tuple[str, ...] = ()  # the columns a terminal shows when narrower than all of them (default all)

    def terminal_cols(self) -> tuple[Col, ...]:
        """The columns of the terminal table."""
        return tuple(c for c in self.cols if c.key in self.terminal) if self.terminal else self.cols


TEAM_SECTIONS: tuple[Section, ...] = (
    Section("spend", "Spend by kind", (
        Col("serverless_gpu", "serverless GPU", "money"), Col("dedicated_gpu", "dedicated GPU", "money"),
        Col("hosted_api", "hosted API", "money"), Col("other", "other", "money"), Col("total_spend", "total", "money"),
    )),
    Section("threshold", "Variable spend against the threshold", (
        Col("variable_spend", "variable", "money"), Col("threshold", "threshold", "money"),
        Col("pct_of_threshold", "of threshold", "pct"), Col("projected_variable", "projected", "money"),
        Col("status", "status", "enum"), Col("crossed_on", "crossed on", "date"),
        Col("projected_cross_date", "projected crossing", "date"), Col("days_with_data", "days with data", "int"),
        Col("last_data_date", "data to", "date"),
    )),
    Section("breakeven", "Serverless against dedicated (break-even)", (
        Col("gpu_class", "GPU class"), Col("gpu_hours", "GPU-hours", "num"), Col("utilisation", "utilisation", "fraction"),
        Col("serverless_cost", "serverless cost", "money"), Col("dedicated_offer", "cheapest dedicated"),
        Col("dedicated_monthly", "dedicated/mo", "money"), Col("breakeven_utilisation", "break-even u*", "fraction"),
        Col("breakeven_gpu_hours", "break-even GPU-h", "num"), Col("gpus_needed", "GPUs", "int"),
        Col("verdict", "verdict", "enum"), Col("monthly_saving", "saving/mo", "money"),
    ), "no serverless GPU use this month", terminal=(
        "gpu_class", "utilisation", "serverless_cost", "dedicated_offer", "dedicated_monthly", "breakeven_utilisation",
        "verdict", "monthly_saving")),
    Section("hybrid_plan", "Hybrid plan (k dedicated GPUs + serverless peaks)", (
        Col("gpu_class", "GPU class"), Col("hours_observed", "hours observed", "int"),
        Col("peak_demand_gpus", "peak GPUs", "num"), Col("best_k", "best k", "int"),
        Col("cost_at_best", "cost at best k", "money"), Col("cost_at_zero", "all serverless", "money"),
        Col("saving", "saving", "money"),
    ), "no hourly serverless data this month"),
    Section("api_vs_selfhost", "Hosted API against self-hosting", (
        Col("provider", "provider"), Col("model", "model"), Col("tokens", "tokens", "int"),
        Col("api_cost", "API cost", "money"), Col("api_cost_per_1m", "API/1M", "money"),
        Col("assumption", "self-host assumption"),
        Col("selfhost_gpus", "GPUs", "int"), Col("selfhost_monthly_cost", "self-host/mo", "money"),
        Col("selfhost_cost_per_1m", "self-host/1M", "money"), Col("verdict", "verdict", "enum"),
    ), "no hosted-API tokens this month", terminal=(
        "model", "tokens", "api_cost", "api_cost_per_1m", "assumption", "selfhost_monthly_cost", "selfhost_cost_per_1m", "verdict")),
    Section("dedicated_utilisation", "Dedicated servers rented", (
        Col("server_id", "server"), Col("provider", "provider"), Col("gpu_class", "GPU class"),
        Col("cost", "cost", "money"), Col("hours_paid", "hours paid", "num"), Col("hours_used", "hours used", "num"),
        Col("utilisation", "utilisation", "fraction"), Col("cost_per_used_hour", "per used hour", "money"),
        Col("serverless_cost_for_used_hours", "same hours on serverless", "money"),
        Col("serverless_would_be_cheaper", "serverless cheaper", "bool"),
    ), "no dedicated servers", terminal=(
        "server_id", "gpu_class", "cost", "hours_paid", "hours_used", "utilisation", "cost_per_used_hour",
        "serverless_cost_for_used_hours")),
    Section("audit", "Invoice audit findings", (
        Col("charge_date", "date", "date"), Col("provider", "provider"), Col("invoice_id", "invoice"),
        Col("finding", "finding", "enum"), Col("billed", "billed", "money6"), Col("expected", "expected", "money6"),
        Col("amount_at_stake", "at stake", "money6"), Col("amount_at_stake_reporting", "at stake (reporting)", "money"),
        Col("above_tolerance", "above tolerance", "bool"), Col("description", "line"),
    ), "no findings", 25, terminal=(
        "charge_date", "provider", "finding", "billed", "expected", "amount_at_stake_reporting", "description")),
    Section("price_changes", "Price changes touching what the team used", (
        Col("changed_at", "changed", "datetime"), Col("used_item", "used"), Col("provider", "provider"),
        Col("sku", "SKU"), Col("component", "component"), Col("tier", "tier"), Col("old_amount", "old", "price"),
        Col("new_amount", "new", "price"), Col("unit", "per"), Col("change_pct", "change", "pct"),
        Col("team_uses_provider", "team's provider", "bool"),
    ), "no price changes since the month began", 25, terminal=(
        "changed_at", "used_item", "provider", "sku", "tier", "old_amount", "new_amount", "unit", "change_pct")),
    Section("anomalies", "Spend anomalies (days far above the expected band; docs/anomalies.md)", (
        Col("charge_date", "date", "date"), Col("provider", "provider"), Col("scope", "scope"), Col("reason", "reason", "enum"),
        Col("expected", "expected", "money"), Col("actual", "actual", "money"), Col("excess", "excess", "money"),
        Col("price_effect", "price effect", "money"), Col("volume_effect", "volume effect", "money"),
        Col("incident", "incident"), Col("top_line", "top line"),
    ), "no unusual days", 25),
)

ORG_SECTIONS: tuple[Section, ...] = (
    Section("unallocated", "Unallocated spend (no attribution rule matched)", (
        Col("provider", "provider"), Col("product_kind", "kind", "enum"), Col("key_kind", "key"),
        Col("attribution_key", "value"), Col("amount", "amount", "money"), Col("lines", "lines", "int"),
        Col("last_charge", "last charge", "date"),
    ), "everything was attributed", 25),
    Section("attribution_coverage", "Attribution coverage: the share of spend a rule attributed, per month", (
        Col("month", "month"), Col("total_spend", "spend", "money"), Col("attributed_spend", "attributed", "money"),
        Col("unattributed_spend", "no rule", "money"), Col("coverage", "coverage", "fraction"),
        Col("lines", "lines", "int"), Col("attributed_lines", "attributed lines", "int"),
    ), "no spend yet"),
    Section("failed_alerts", "Alerts Slack refused", (
        Col("alert_id", "id", "int"), Col("kind", "kind", "enum"), Col("team", "team"), Col("period", "period"),
        Col("subject", "subject"), Col("destination", "destination"), Col("attempts", "attempts", "int"),
        Col("last_attempt_at", "last attempt", "datetime"), Col("last_error", "error"),
    ), "none"),
    Section("breakeven_table", "Break-even today, per GPU class", (
        Col("gpu_class", "GPU class"), Col("serverless_offer", "cheapest serverless"),
        Col("serverless_per_hour", "serverless/h", "money"), Col("dedicated_offer_full", "cheapest dedicated"),
        Col("dedicated_monthly", "dedicated/mo", "money"), Col("breakeven_utilisation", "u*", "fraction"),
        Col("breakeven_gpu_hours_per_month", "GPU-h/mo", "num"), Col("breakeven_hours_per_day", "h/day", "num"),
    ), "no GPU class has both offers"),
    Section("held_prices", "Prices held as suspect changes (> 3x; `spendwatch prices accept SOURCE` applies them)", (
        Col("source_id", "source"), Col("sku", "SKU"), Col("component", "component"), Col("tier", "tier"),
        Col("old_amount", "in force", "price"), Col("new_amount", "held", "price"), Col("unit", "per"),
        Col("first_seen_at", "held since", "datetime"),
    ), "none"),
    Section("price_sources", "Data freshness: price sources", (
        Col("source_id", "source"), Col("last_live_fetch", "last live fetch", "datetime"),
        Col("last_status", "last status", "enum"), Col("last_mode", "mode"),
        Col("capture_mode", "prices from"), Col("capture_date", "capture of", "date"),
        Col("age_days", "age (days)", "int"), Col("max_age_days", "max", "int"), Col("stale", "stale", "bool"),
        Col("held_prices", "held", "int"), Col("last_error", "error"),
    ), "no price fetches yet"),
    Section("exports", "Data freshness: exports per provider", (
        Col("provider", "provider"), Col("formats", "formats"), Col("files", "files", "int"), Col("lines", "lines", "int"),
        Col("last_ingested_at", "last ingested", "datetime"), Col("last_charge_end", "data up to", "datetime"),
        Col("last_file_name", "last file"),
    ), "no exports ingested"),
    Section("ingest_rejects", "Export files with rejected rows", (
        Col("file_name", "file"), Col("format", "format"), Col("rows_read", "read", "int"),
        Col("rows_rejected", "rejected", "int"), Col("first_reason", "first reason"),
    ), "none"),
)

# Where each org section's records sit in the review dict.
_ORG_PATH: dict[str, tuple[str, ...]] = {
    "unallocated": ("unallocated", "lines"),
    "failed_alerts": ("failed_alerts", "alerts"),
    "breakeven_table": ("breakeven_table",),
    "held_prices": ("held_prices",),
    "price_sources": ("freshness", "price_sources"),
    "exports": ("freshness", "exports"),
    "ingest_rejects": ("freshness", "ingest_rejects"),
    "attribution_coverage": ("attribution_coverage",),
}


# --- gathering -------------------------------------------------------------------------


def _by_team(rows: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["team"], []).append(r)
    return out


def _if_built(con: duckdb.DuckDBPyConnection, model: str, fn: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return fn() if rq.relation_exists(con, model) else []


def _failed_alerts(con: duckdb.DuckDBPyConnection, team: str | None) -> dict[str, Any]:
    """Alerts Slack refused for good, when the alerts module and table exist (else ``available`` is false)."""
    try:
        from warehouse import alerts as wa
    except ImportError:
        return {"available": False, "alerts": []}
    if not hasattr(wa, "failed_alerts") or not rq.relation_exists(con, "alerts"):
        return {"available": False, "alerts": []}
    rows = []
    for a in wa.failed_alerts(con):
        if team is not None and a.team not in (team, "*"):
            continue
        rows.append({
            "alert_id": a.alert_id, "kind": a.kind, "team": a.team, "period": a.period, "subject": a.subject,
            "state": a.state, "delivery": a.delivery, "destination": a.destination, "attempts": a.attempts,
            "last_attempt_at": a.last_attempt_at, "response_status": a.response_status, "last_error": a.last_error,
        })
    return {"available": True, "alerts": rows}


def _headlines(t: dict[str, Any]) -> list[str]:
    """The few sentences a team lead should read first (plain text; escaped when rendered)."""
    th, cur = t["threshold"], t["spend"]["currency"]
    out = []
    if t["is_unallocated"]:
        out.append(f"{money(t['spend']['total_spend'], cur)} matched no attribution rule: the organisation's unallocated "
                   "table shows the projects, workspaces and resources to assign.")
    elif th["status"] == "over":
        out.append(f"Over the threshold: variable spend {money(th['variable_spend'], cur)} of {money(th['threshold'], cur)}"
                   + (f", crossed on {th['crossed_on']:%d %b %Y}" if th.get("crossed_on") else "") + ".")
    elif th["status"] == "projected_over":
        out.append(f"Projected over the threshold: {money(th['projected_variable'], cur)} by month end against "
                   f"{money(th['threshold'], cur)}" + _band(th, cur)
                   + (f", on pace to cross on {th['projected_cross_date']:%d %b %Y}" if th.get("projected_cross_date") else "") + ".")
    elif th["status"] == "at_risk":
        out.append(f"At risk: projected {money(th['projected_variable'], cur)} by month end" + _band(th, cur)
                   + f"; the band's upper edge passes the threshold of {money(th['threshold'], cur)}.")
    else:
        out.append(f"Within the threshold: variable spend {money(th['variable_spend'], cur)} of {money(th['threshold'], cur)}.")
    from spendwatch.recommend import recommendation_text

    for r in t.get("recommendations", []):   # one per GPU class: the number Slack and `breakeven --team` give
        if r["action"] in ("use_spare_capacity", "hybrid", "rent_dedicated", "near"):
            out.append(f"{r['gpu_class']}: {recommendation_text(r)} (over {r['window_start']:%d %b} - {r['window_end']:%d %b}).")
    for d in t["dedicated_utilisation"]:
        if d.get("serverless_would_be_cheaper"):
            out.append(f"Dedicated server {d['server_id']} was used {_fraction(d['utilisation'])} of the time; the same hours "
                       f"on serverless would have cost {money(d['serverless_cost_for_used_hours'], d['currency'])} "
                       f"instead of {money(d['cost'], d['currency'])}.")
    cheaper = [a for a in t["api_vs_selfhost"] if a["verdict"] == "selfhost_cheaper"]
    if cheaper:
        stand_ins = [a["model"] for a in cheaper if a.get("equivalent_class")]
        out.append(f"Self-hosting looks cheaper for {len(cheaper)} model(s) under the throughput assumptions shown"
                   + (f"; {', '.join(stand_ins)} would be served by an open-weight stand-in (quality not the same: "
                      "check it on your own evaluations)" if stand_ins else "") + ".")
    for f in t.get("fx_stale", []):
        out.append(f"Figures marked: {f['currency_pair']} converted at the ECB rate of {f['oldest_rate_date']:%d %b %Y}, "
                   f"{f['max_age_business_days']} business days old by {f['last_stale_charge_date']:%d %b} "
                   f"({money(f['amount_reporting'], f['reporting_currency'])}).")
    if t["audit"]:
        out.append(f"{len(t['audit'])} invoice-audit finding(s), {money(t['audit_summary']['at_stake_reporting'], cur)} at stake.")
    if t["price_changes"]:
        out.append(f"{len(t['price_changes'])} price change(s) touched what the team used.")
    if t.get("anomalies"):
        a = max(t["anomalies"], key=lambda r: r["excess"])
        out.append(f"{len(t['anomalies'])} day(s) of unusual spend; the largest {a['charge_date']:%d %b}: {a['provider']} "
                   f"{money(a['actual'], a['currency'])} against {money(a['expected'], a['currency'])} expected "
                   f"({'mostly price' if abs(a['price_effect']) > abs(a['volume_effect']) else 'mostly volume'}).")
    return out


def _band(th: dict[str, Any], cur: str) -> str:
    if th.get("projected_low") is None or th.get("projected_high") is None:
        return ""
    return f" (80 % band {money(th['projected_low'], cur)} - {money(th['projected_high'], cur)})"


def _decision_rows(con: duckdb.DuckDBPyConnection, model: str, month: date, team: str | None) -> list[dict[str, Any]]:
    """The month's rows of a decision model (recommendations, threshold_flags, fx_staleness), if it is built."""
    return _if_built(con, model, lambda: rq._rows(
        con, f'SELECT * FROM "{model}" WHERE month = ? AND (? IS NULL OR team = ?) ORDER BY team', [month, team, team]))


def _anomalies(con: duckdb.DuckDBPyConnection, month: date, team: str | None) -> list[dict[str, Any]]:
    """The month's spend anomalies (warehouse.anomalies), as review records."""
    from warehouse.anomalies import anomalies

    out = []
    for a in anomalies(con, month=f"{month:%Y-%m}", team=team):
        r = a.as_json() | {k: getattr(a, k) for k in ("charge_date", "expected", "actual", "excess", "price_effect", "volume_effect")}
        r["incident"] = f"{a.incident_id} day {a.incident_day}" + (" (ongoing)" if a.ongoing else "")
        r["top_line"] = a.top_lines[0].get("line") if a.top_lines else None
        out.append(r)
    return out


def _anomaly_bands(con: duckdb.DuckDBPyConnection, recs: list[dict[str, Any]], month: date) -> list[dict[str, Any]]:
    """For each series with an anomaly this month (at most three), its days: actual against the expected band."""
    from warehouse.anomalies import band

    series = list(dict.fromkeys((r["provider"], r["scope"]) for r in recs if not r["scope"].startswith("recurring:")))[:3]
    return [{"team": recs[0]["team"], "provider": p, "scope": sc, "currency": recs[0]["currency"],
             "points": [vars(b) for b in band(con, recs[0]["team"], p, sc, f"{month:%Y-%m}")]} for p, sc in series]


def review_data(con: duckdb.DuckDBPyConnection, month: date | None = None, team: str | None = None,
                now: datetime | None = None) -> dict[str, Any]:
    """Everything the spend review shows for one month (default: the latest with data), optionally one team.

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

    spend_rows = rq.team_spend(con, month, team)
    breakeven = _by_team(_if_built(con, "breakeven", lambda: rq.breakeven(con, month, team)))
    hybrid = _by_team(_if_built(con, "hybrid_plan", lambda: rq.hybrid_plan(con, month, team)))
    api = _by_team(_if_built(con, "api_vs_selfhost", lambda: rq.api_vs_selfhost(con, month, team)))
    dedicated = _by_team(_if_built(con, "dedicated_utilisation", lambda: rq.dedicated_utilisation(con, month, team)))
    audit = _by_team(_if_built(con, "invoice_audit", lambda: rq.audit_findings(con, month, team)))
    changes = _by_team(_if_built(con, "stg_line_items", lambda: rq.price_changes(con, month, team)))
    history = _by_team(rq.monthly_history(con, team, until=month))
    daily = _by_team(_if_built(con, "fct_spend_daily", lambda: rq.daily_variable(con, month, team)))
    anomalies = _by_team(_anomalies(con, month, team))
    recommendations = _by_team(_decision_rows(con, "recommendations", month, team))
    bands = {r["team"]: r for r in _decision_rows(con, "threshold_flags", month, team)}
    fx_stale = _by_team(_decision_rows(con, "fx_staleness", month, team))

    for rows in breakeven.values():
        for b in rows:
            b["dedicated_offer"] = " ".join(x for x in (b["dedicated_provider"], b["dedicated_sku"],
                                                         f"({b['dedicated_tier']})" if b["dedicated_tier"] else None) if x) or None
    for rows in api.values():
        for a in rows:
            a["assumption"] = (f"{a['selfhost_gpu_class']}, {plain(a['tokens_per_second'].normalize())} tok/s, "
                               f"{_fraction(a['assumed_utilisation'])} busy" if a["tokens_per_second"] is not None else "none")

    teams = []
    for s in spend_rows:
        name = s["team"]
        spend = {k: s[k] for k in ("currency", "serverless_gpu", "dedicated_gpu", "hosted_api", "other", "variable_spend", "total_spend")}
        threshold = {k: s[k] for k in ("currency", "variable_spend", "threshold", "threshold_currency", "pct_of_threshold",
                                        "projected_variable", "status", "crossed_on", "projected_cross_date",
                                        "days_with_data", "days_in_month", "last_data_date")}
        threshold |= {k: bands.get(name, {}).get(k) for k in ("projected_low", "projected_high", "band_method")}
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
            "recommendations": recommendations.get(name, []), "fx_stale": fx_stale.get(name, []),
        }
        t["anomaly_bands"] = _anomaly_bands(con, t["anomalies"], month)
        t["headlines"] = _headlines(t)
        teams.append(t)

    unalloc_lines = _if_built(con, "stg_line_items_fx", lambda: rq.unallocated_spend(con, month))
    coverage_built = rq.has_column(con, "stg_line_items_fx", "attribution_rule")  # absent from models built before it
    coverage = rq.attribution_coverage(con, until=month) if coverage_built else []
    exports = rq.export_freshness(con)
    for e in exports:
        e["last_file_name"] = _basename(e["last_file"])
    rejects = rq.ingest_rejects_summary(con)
    for r in rejects:
        r["file_name"] = _basename(r["file_path"])
    btable = _if_built(con, "breakeven_table", lambda: rq.breakeven_table(con))
    for b in btable:
        b["serverless_offer"] = " ".join(x for x in (b["serverless_provider"], b["serverless_sku"],
                                                      f"({b['serverless_tier']})" if b["serverless_tier"] else None) if x)
        b["dedicated_offer_full"] = f"{b['dedicated_provider']} {b['dedicated_offer']}"
    sources = rq.price_source_freshness(con, now)
    notes = [f"model {m} is not built: its section is empty" for m in rq.missing_models(con)]
    if not coverage_built and rq.relation_exists(con, "stg_line_items_fx"):
        notes.append("the models predate attribution coverage: rebuild them (spendwatch models build) to see it")
    stale = [s["source_id"] for s in sources if s["stale"]]
    if stale:
        notes.append(f"price sources stale (prices in force older than their max age): {', '.join(stale)}")
    failing = [s["source_id"] for s in sources if s["last_status"] in ("failed", "deferred")]
    if failing:
        notes.append(f"price sources whose last refresh failed (last good prices kept): {', '.join(failing)}")
    held = rq.held_prices(con)
    if held:
        notes.append(f"{len(held)} price(s) held as suspect changes: see the held prices section")
    alerts = _failed_alerts(con, team)
    if not alerts["available"]:
        notes.append("alerts are not set up in this warehouse: failed alerts not checked")
    return {
        "report": "spendwatch spend review",
        "month": f"{month:%Y-%m}",
        "month_start": month,
        "months_available": [f"{m:%Y-%m}" for m in months],
        "reporting_currency": currency,
        "team_filter": team,
        "generated_at": now,
        "teams": teams,
        "unallocated": {
            "currency": currency,
            "total": rq.unallocated_total(con, month) if rq.relation_exists(con, "stg_line_items_fx") else Decimal("0.00"),
            "lines": unalloc_lines,
        },
        "attribution_coverage": coverage,
        "failed_alerts": alerts,
        "breakeven_table": btable,
        "held_prices": held,
        "freshness": {"price_sources": sources, "exports": exports, "ingest_rejects": rejects},
        "notes": notes,
    }


def _basename(path: str | None) -> str | None:
    return path.replace("\\", "/").rsplit("/", 1)[-1] if path else path


# --- values as text ----------------------------------------------------------------------


def _fraction(v: Any) -> str:
    return "—" if v is None else f"{Decimal(v) * 100:.1f} %"


def _currency_of(rec: dict[str, Any], key: str) -> str | None:
    field = MONEY_CURRENCY.get(key)
    return rec.get(field) if field else None


def cell_text(rec: dict[str, Any], col: Col) -> str:
    """A value as a reader sees it (money with its symbol, fractions as %), not yet escaped."""
    v = rec.get(col.key)
    if v is None:
        return "—" if col.kind in ("money", "money6", "price", "fraction", "pct") else ""
    if col.kind == "money":
        return money(v, _currency_of(rec, col.key))
    if col.kind == "money6":
        cur = _currency_of(rec, col.key) or ""
        return f"{Decimal(v).quantize(Decimal('0.000001')):,.6f} {cur}".strip()
    if col.kind == "price":
        return f"{plain(Decimal(v).normalize())} {_currency_of(rec, col.key) or ''}".strip()
    if col.kind == "fraction":
        return _fraction(v)
    if col.kind == "pct":
        return f"{Decimal(v):.1f} %"
    if col.kind == "int":
        return f"{int(v):,}"
    if col.kind == "num":
        return f"{Decimal(v):,.2f}"
    if col.kind == "date":
        return v.isoformat() if isinstance(v, date) else plain(v)
    if col.kind == "datetime":
        return f"{v:%Y-%m-%d %H:%M}" if isinstance(v, datetime) else plain(v)
    if col.kind == "bool":
        return "yes" if v else "no"
    if col.kind == "enum":
        return plain(v).replace("_", " ")
    return plain(v)


def section_records(data: dict[str, Any], section: Section, team: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The records of a section: a team's (spend and threshold are single records) or the organisation's."""
    if team is not None:
        v = team[section.key]
        return [v] if isinstance(v, dict) else list(v)
    v: Any = data
    for k in _ORG_PATH[section.key]:
        v = v[k]
    return list(v)


def shown(section: Section, recs: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str | None]:
    """The records a reader sees (the section's first ``limit``) and a note on the rest, if any."""
    if section.limit is None or len(recs) <= section.limit:
        return recs, None
    return recs[: section.limit], (f"{len(recs) - section.limit} more rows not shown "
                                   "(all of them are in --format json and --format csv)")


def _month_title(data: dict[str, Any]) -> str:
    return f"{data['month_start']:%B %Y}"


# --- JSON and CSV ------------------------------------------------------------------------


def _jsonable(v: Any) -> Any:
    if isinstance(v, Decimal):
        return format(v, "f")
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return v


def render_json(data: dict[str, Any]) -> str:
    """One JSON document: money as decimal strings beside their currency, dates as ISO 8601."""
    return json.dumps(_jsonable(data), indent=2, ensure_ascii=False) + "\n"


CSV_COLUMNS = ("section", "team", "month", "row", "field", "value", "currency")


def _csv_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, date):
        return v.isoformat()
    s = plain(v)
    # A cell starting with = + - @ is a formula to a spreadsheet: quote it as text (numbers stay numbers).
    if s[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(s):
        s = "'" + s
    return s


def _is_number(s: str) -> bool:
    try:
        Decimal(s)
        return True
    except ArithmeticError:
        return False


def render_csv(data: dict[str, Any]) -> str:
    """The review as one long CSV table: section, team, month, row, field, value, currency (see the module doc)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    month = data["month"]

    def emit(section: str, team: str, records: list[dict[str, Any]]) -> None:
        for i, rec in enumerate(records, start=1):
            for k, v in rec.items():
                if isinstance(v, (dict, list)):
                    continue
                w.writerow([section, _csv_value(team), month, i, k, _csv_value(v), _csv_value(_currency_of(rec, k) if v is not None else None)])

    for t in data["teams"]:
        emit("headline", t["team"], [{"text": h} for h in t["headlines"]])
        for s in TEAM_SECTIONS:
            emit(s.key, t["team"], section_records(data, s, t))
        emit("audit_summary", t["team"], [t["audit_summary"]])
        emit("history", t["team"], t["history"])
        emit("daily", t["team"], t["daily"])
    for s in ORG_SECTIONS:
        emit(s.key, "", section_records(data, s))
    emit("unallocated_total", "unallocated", [{"total": data["unallocated"]["total"], "currency": data["unallocated"]["currency"]}])
    emit("note", "", [{"text": n} for n in data["notes"]])
    return buf.getvalue()


# --- markdown ----------------------------------------------------------------------------


def _md_section(section: Section, recs: list[dict[str, Any]]) -> list[str]:
    rows, more = shown(section, recs)
    out = [markdown_table([c.label for c in section.cols], [[cell_text(r, c) for c in section.cols] for r in rows], limit=None), ""]
    return out + ([f"_{md_escape(more)}_", ""] if more else [])


def render_markdown(data: dict[str, Any]) -> str:
    """The review as markdown: a heading per team, its headlines, then a table per section."""
    cur = data["reporting_currency"]
    out = [f"# Spend review, {_month_title(data)} ({md_escape(cur)})", ""]
    if data["team_filter"]:
        out += [f"Team: {md_escape(data['team_filter'])}", ""]
    out += [f"Generated {data['generated_at']:%Y-%m-%d %H:%M} UTC. Money in {md_escape(cur)} unless a column says otherwise.", ""]
    for t in data["teams"]:
        lead = f" (lead: {md_escape(t['lead'])})" if t["lead"] else ""
        out += [f"## {md_escape(t['team'])}{lead}", ""]
        out += [f"- {md_escape(h)}" for h in t["headlines"]] + [""]
        for s in TEAM_SECTIONS:
            recs = section_records(data, s, t)
            out += [f"### {md_escape(s.title)}", ""]
            if not recs:
                out += [f"_{md_escape(s.empty)}_", ""]
                continue
            out += _md_section(s, recs)
    out += ["## Organisation", "", f"Unallocated spend this month: **{md_escape(money(data['unallocated']['total'], cur))}**", ""]
    for s in ORG_SECTIONS:
        recs = section_records(data, s)
        out += [f"### {md_escape(s.title)}", ""]
        if s.key == "failed_alerts" and not data["failed_alerts"]["available"]:
            out += ["_alerts are not set up in this warehouse_", ""]
            continue
        if not recs:
            out += [f"_{md_escape(s.empty)}_", ""]
            continue
        out += _md_section(s, recs)
    if data["notes"]:
        out += ["### Notes", ""] + [f"- {md_escape(n)}" for n in data["notes"]] + [""]
    return "\n".join(out)


# --- terminal ----------------------------------------------------------------------------

_STATUS_STYLE = {"over": "bold red", "projected_over": "yellow", "at_risk": "dark_orange", "ok": "green", "not_a_team": "dim"}


def render_table(data: dict[str, Any], width: int | None = None) -> str:
    """The review as rich tables for a terminal; every untrusted string goes through terminal_escape.

    ``width`` defaults to the terminal's width when stdout is one (at least 100 columns), else 160.
    Wide sections show their ``terminal`` columns; JSON, CSV, markdown and HTML show them all.
    """
    import shutil
    import sys

    from rich import box
    from rich.console import Console, Group
    from rich.rule import Rule
    from rich.table import Table
    from rich.text import Text

    cur = data["reporting_currency"]
    parts: list[Any] = [Text(f"Spend review, {_month_title(data)} (money in {cur})", style="bold")]

    def table(section: Section, recs: list[dict[str, Any]]) -> Any:
        if not recs:
            return Text(f"{section.title}: {section.empty}", style="dim")
        recs, more = shown(section, recs)
        t = Table(title=terminal_escape(section.title), title_justify="left", expand=False, box=box.SIMPLE_HEAD,
                  padding=(0, 1), caption=terminal_escape(more) if more else None, caption_justify="left")
        cols = section.terminal_cols()
        texts = [[cell_text(r, c) for c in cols] for r in recs]
        for i, c in enumerate(cols):
            right = c.kind in ("money", "money6", "price", "fraction", "pct", "int", "num")
            widest = max((len(row[i]) for row in texts), default=0)
            # numbers never wrap (headers may); text gets room for a short name before it folds
            t.add_column(terminal_escape(c.label), justify="right" if right else "left", overflow="fold",
                         min_width=widest if right else min(widest, 16))
        for r, row in zip(recs, texts):
            cells = [terminal_escape(x) for x in row]
            if section.key == "threshold":
                i = [c.key for c in cols].index("status")
                style = _STATUS_STYLE.get(r["status"])
                if style:
                    cells[i] = f"[{style}]{cells[i]}[/]"
            t.add_row(*cells)
        return t

    for tm in data["teams"]:
        status = tm["threshold"]["status"]
        title = terminal_escape(tm["team"]) + (f" (lead {terminal_escape(tm['lead'])})" if tm["lead"] else "")
        parts.append(Rule(f"[bold]{title}[/] [{_STATUS_STYLE.get(status, '')}]{terminal_escape(status)}[/]", align="left"))
        for h in tm["headlines"]:
            parts.append(Text("• " + plain(h)))
        for s in TEAM_SECTIONS:
            parts.append(table(s, section_records(data, s, tm)))
    parts.append(Rule("[bold]organisation[/]", align="left"))
    parts.append(Text(f"Unallocated spend this month: {money(data['unallocated']['total'], cur)}"))
    for s in ORG_SECTIONS:
        if s.key == "failed_alerts" and not data["failed_alerts"]["available"]:
            parts.append(Text("Alerts: not set up in this warehouse", style="dim"))
            continue
        parts.append(table(s, section_records(data, s)))
    for n in data["notes"]:
        parts.append(Text("note: " + plain(n), style="dim"))
    if width is None:
        width = max(100, shutil.get_terminal_size((160, 40)).columns) if sys.stdout.isatty() else 160
    buf = io.StringIO()
    Console(file=buf, width=width, force_terminal=False, color_system=None, highlight=False).print(Group(*parts))
    return buf.getvalue()


# --- entry point -------------------------------------------------------------------------


def render(data: dict[str, Any], fmt: str = "table") -> str:
    """Render review data in one of FORMATS."""
    if fmt == "json":
        return render_json(data)
    if fmt == "csv":
        return render_csv(data)
    if fmt == "markdown":
        return render_markdown(data)
    if fmt == "table":
        return render_table(data)
    if fmt == "html":
        from spendwatch.report_html import render_html

        return render_html(data)
    raise UsageError(f"--format {fmt}: unknown format (choose from {', '.join(FORMATS)})")


def render_review(con: duckdb.DuckDBPyConnection, month: date | None = None, team: str | None = None, fmt: str = "table") -> str:
    """The spend review for a month (default the latest with data), optionally one team, in the given format."""
    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt}: unknown format (choose from {', '.join(FORMATS)})")
    return render(review_data(con, month, team), fmt)
