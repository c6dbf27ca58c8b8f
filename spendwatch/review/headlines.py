"""The few sentences a team lead reads first, built from a team's review data (plain text, escaped when rendered)."""

from __future__ import annotations

from typing import Any

from spendwatch.recommend import recommendation_text
from spendwatch.render import money
from spendwatch.review.sections import fraction_text


def headlines(t: dict[str, Any]) -> list[str]:
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
                   + f"; the band's upper edge passes the threshold of {money(th['threshold'], cur)}"
                   + (f", on pace to cross on {th['band_cross_date']:%d %b %Y} at that edge" if th.get("band_cross_date") else "")
                   + ".")
    else:
        out.append(f"Within the threshold: variable spend {money(th['variable_spend'], cur)} of {money(th['threshold'], cur)}.")
    for r in t.get("recommendations", []):   # one per GPU class: the number Slack and `breakeven --team` give
        if r["action"] in ("use_spare_capacity", "hybrid", "rent_dedicated", "near"):
            out.append(f"{r['gpu_class']}: {recommendation_text(r)} (over {r['window_start']:%d %b} - {r['window_end']:%d %b}).")
    for d in t["dedicated_utilisation"]:
        if d.get("serverless_would_be_cheaper"):
            out.append(f"Dedicated server {d['server_id']} was used {fraction_text(d['utilisation'])} of the time; the same hours "
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
