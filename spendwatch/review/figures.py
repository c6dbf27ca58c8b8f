"""The review's charts as Plotly figures (plain dicts), one list per team, for the HTML report.

Per team: monthly variable spend against the threshold; month-to-date cumulative spend
with the projection to month end (dashed); for each GPU class used on serverless, cost
against utilisation for serverless and dedicated with the break-even point and the team's
actual utilisation; the same for each rented dedicated server; and actual spend against
the expected band for each series with an anomaly.  Every string that comes from data
passes through ``html_escape`` (plotly renders titles and labels as HTML).
"""

from __future__ import annotations

import calendar
import math
from datetime import date, timedelta
from typing import Any

from spendwatch.render import html_escape

# Colours: variable spend parts, threshold, projection, dedicated.
C_SERVERLESS, C_API, C_TOTAL, C_THRESHOLD = "#2b6cb0", "#63b3ed", "#4a5568", "#c53030"
C_DEDICATED, C_ACTUAL, C_BREAKEVEN = "#2f855a", "#d69e2e", "#805ad5"


def _f(v: Any) -> float | None:
    """A Decimal as a float for drawing only (figures never feed back into money)."""
    return None if v is None else float(v)


def _month_end(month_start: date) -> date:
    return month_start.replace(day=calendar.monthrange(month_start.year, month_start.month)[1])


# --- figures -------------------------------------------------------------------------------


def _layout(title: str, xaxis: dict, yaxis: dict, **extra: Any) -> dict:
    return {
        "title": {"text": title, "font": {"size": 14}, "x": 0.02},
        "margin": {"l": 64, "r": 16, "t": 48, "b": 48},
        "xaxis": xaxis, "yaxis": yaxis,
        "legend": {"orientation": "h", "y": -0.2},
        "font": {"family": "Arial, sans-serif", "size": 11},
        "paper_bgcolor": "#ffffff", "plot_bgcolor": "#ffffff",
        **extra,
    }


def monthly_figure(team: dict[str, Any], currency: str) -> dict | None:
    """Each month's variable spend (serverless GPU + hosted API, stacked) and total spend, against the threshold."""
    hist = team["history"]
    if not hist:
        return None
    labels = [f"{h['month']:%b %Y}" for h in hist]
    x = list(range(len(hist)))
    name = html_escape(team["team"])
    data = [
        {"type": "bar", "name": "serverless GPU", "x": x, "y": [_f(h["serverless_gpu"]) for h in hist], "customdata": labels,
         "marker": {"color": C_SERVERLESS}, "hovertemplate": "%{customdata}: %{y:,.2f} " + currency + "<extra>serverless GPU</extra>"},
        {"type": "bar", "name": "hosted API", "x": x, "y": [_f(h["hosted_api"]) for h in hist], "customdata": labels,
         "marker": {"color": C_API}, "hovertemplate": "%{customdata}: %{y:,.2f} " + currency + "<extra>hosted API</extra>"},
        {"type": "scatter", "mode": "markers+lines", "name": "total (incl. dedicated, other)", "x": x, "customdata": labels,
         "y": [_f(h["total_spend"]) for h in hist], "line": {"color": C_TOTAL, "width": 1}, "marker": {"size": 7},
         "hovertemplate": "%{customdata}: %{y:,.2f} " + currency + "<extra>total</extra>"},
    ]
    data = [tr for tr in data if tr["type"] != "bar" or any(y for y in tr["y"])]  # no legend for a kind never bought
    if not team["is_unallocated"]:
        # One step per month, spanning the month's whole slot, so a changed threshold shows where it changed.
        tx: list[float | None] = []
        ty: list[float | None] = []
        for i, h in enumerate(hist):
            tx += [i - 0.5, i + 0.5]
            ty += [_f(h["threshold"])] * 2
        data.append({"type": "scatter", "mode": "lines", "name": "threshold (variable spend)", "x": tx, "y": ty,
                     "line": {"color": C_THRESHOLD, "dash": "dash", "width": 2}, "hoverinfo": "y"})
    return {"data": data, "layout": _layout(
        f"{name}: monthly spend against the threshold ({currency})",
        {"tickmode": "array", "tickvals": x, "ticktext": labels, "range": [-0.5, len(hist) - 0.5]},
        {"title": {"text": currency}, "rangemode": "tozero"}, barmode="stack")}


def cumulative_figure(team: dict[str, Any], month_start: date, currency: str) -> dict | None:
    """Month-to-date variable spend by day, the projection to month end (dashed), and the threshold."""
    daily = team["daily"]
    th = team["threshold"]
    if not daily:
        return None
    end = _month_end(month_start)
    name = html_escape(team["team"])
    xs = [d["charge_date"].isoformat() for d in daily]
    ys = [_f(d["month_to_date"]) for d in daily]
    data: list[dict] = [{"type": "scatter", "mode": "lines+markers", "name": "month to date", "x": xs, "y": ys,
                         "line": {"color": C_SERVERLESS, "width": 2}, "marker": {"size": 4},
                         "hovertemplate": "%{x}: %{y:,.2f} " + currency + "<extra></extra>"}]
    last_day, last_total = daily[-1]["charge_date"], _f(daily[-1]["month_to_date"])
    projected = th.get("projected_variable") is not None and last_day < end  # once data reaches month end it is the actual
    if projected:
        start = last_day
        data.append({"type": "scatter", "mode": "lines+markers", "name": "projection to month end",
                     "x": [start.isoformat(), end.isoformat()], "y": [last_total, _f(th["projected_variable"])],
                     "line": {"color": C_SERVERLESS, "dash": "dash", "width": 2}, "marker": {"size": [0, 8], "symbol": "circle-open"}})
    if not team["is_unallocated"] and th.get("threshold") is not None:
        data.append({"type": "scatter", "mode": "lines", "name": "threshold", "x": [month_start.isoformat(), end.isoformat()],
                     "y": [_f(th["threshold"])] * 2, "line": {"color": C_THRESHOLD, "dash": "dot", "width": 2}})
    if th.get("crossed_on"):
        crossed = next((d for d in daily if d["charge_date"] == th["crossed_on"]), None)
        if crossed:
            data.append({"type": "scatter", "mode": "markers+text", "name": "crossed", "x": [crossed["charge_date"].isoformat()],
                         "y": [_f(crossed["month_to_date"])], "text": [f"crossed {crossed['charge_date']:%d %b}"],
                         "textposition": "top left", "marker": {"color": C_THRESHOLD, "size": 10, "symbol": "x"}})
    return {"data": data, "layout": _layout(
        f"{name}: {month_start:%B %Y} to date{', with projection' if projected else ''} ({currency})",
        {"type": "date", "range": [(month_start - timedelta(days=0.5)).isoformat(), (end + timedelta(days=0.5)).isoformat()]},
        {"title": {"text": currency}, "rangemode": "tozero"})}


def _utilisation_axis(*points: float | None) -> list[float]:
    top = max([1.0] + [1.25 * p for p in points if p is not None])
    n = 120
    return [top * i / n for i in range(n + 1)]


def breakeven_figure(team: dict[str, Any], b: dict[str, Any]) -> dict | None:
    """Monthly cost against utilisation of one GPU class: serverless (a line) and dedicated (steps of whole GPUs)."""
    if b.get("dedicated_monthly") is None or b.get("serverless_price_per_second") is None:
        return None
    cur = b["currency"]
    s_month = float(b["serverless_price_per_second"]) * int(b["seconds_in_month"])  # serverless cost at 100 %
    d = float(b["dedicated_monthly"])
    u_actual, u_star = _f(b["utilisation"]), _f(b["breakeven_utilisation"])
    us = _utilisation_axis(u_actual, u_star)
    gpu = html_escape(b["gpu_class"])
    offer = html_escape(b.get("dedicated_offer") or b.get("dedicated_provider") or "dedicated")
    data = [
        {"type": "scatter", "mode": "lines", "name": "serverless", "x": us, "y": [s_month * u for u in us],
         "line": {"color": C_SERVERLESS, "width": 2}, "hovertemplate": "%{x:.0%}: %{y:,.2f} " + cur + "<extra>serverless</extra>"},
        {"type": "scatter", "mode": "lines", "name": f"dedicated ({offer})", "x": us, "y": [d * max(1, math.ceil(u - 1e-9)) for u in us],
         "line": {"color": C_DEDICATED, "width": 2, "shape": "hv"}, "hovertemplate": "%{x:.0%}: %{y:,.2f} " + cur + "<extra>dedicated</extra>"},
    ]
    if u_star is not None:
        data.append({"type": "scatter", "mode": "markers+text", "name": "break-even", "x": [u_star], "y": [d],
                     "text": [f"break-even {u_star:.1%}"], "textposition": "top left",
                     "marker": {"color": C_BREAKEVEN, "size": 11, "symbol": "diamond"}})
    if u_actual is not None:
        d_at_actual = _f(b["dedicated_cost"]) if b.get("dedicated_cost") is not None else d * max(1, math.ceil(u_actual))
        data.append({"type": "scatter", "mode": "lines", "name": "difference at actual", "x": [u_actual, u_actual],
                     "y": [_f(b["serverless_cost"]), d_at_actual], "line": {"color": C_ACTUAL, "dash": "dot", "width": 2},
                     "hovertemplate": "%{y:,.2f} " + cur + "<extra></extra>"})
        data.append({"type": "scatter", "mode": "markers+text", "name": f"{html_escape(team['team'])} actual", "x": [u_actual],
                     "y": [_f(b["serverless_cost"])], "text": [f"actual {u_actual:.1%}"],
                     "textposition": "bottom right" if u_star is not None and u_actual > u_star else "top right",
                     "marker": {"color": C_ACTUAL, "size": 12, "symbol": "star"}})
    est = " (GPU-seconds estimated)" if b.get("gpu_seconds_estimated") else ""
    return {"data": data, "layout": _layout(
        f"{html_escape(team['team'])}, {gpu}: cost against utilisation, {b['month']:%b %Y}{est}",
        {"title": {"text": "utilisation of one GPU over the month"}, "tickformat": ".0%", "range": [0, us[-1]]},
        {"title": {"text": f"{cur} per month"}, "rangemode": "tozero"})}


def dedicated_figure(team: dict[str, Any], r: dict[str, Any]) -> dict | None:
    """A rented server's monthly cost against utilisation, beside the same hours on the cheapest serverless offer."""
    if r.get("serverless_per_gpu_hour") is None or not r.get("hours_paid") or r.get("cost") is None:
        return None
    cur = r["currency"]
    hours, gpus, cost = float(r["hours_paid"]), int(r["gpu_count"] or 1), float(r["cost"])
    s_full = float(r["serverless_per_gpu_hour"]) * gpus * hours
    u_actual = _f(r["utilisation"])
    u_star = cost / s_full if s_full > 0 else None
    us = _utilisation_axis(u_actual, u_star)
    server = html_escape(r["server_id"])
    data: list[dict] = [
        {"type": "scatter", "mode": "lines", "name": "serverless for the same hours", "x": us, "y": [s_full * u for u in us],
         "line": {"color": C_SERVERLESS, "width": 2}},
        {"type": "scatter", "mode": "lines", "name": f"dedicated {server}", "x": us, "y": [cost for _ in us],
         "line": {"color": C_DEDICATED, "width": 2}},
    ]
    if u_star is not None:
        data.append({"type": "scatter", "mode": "markers+text", "name": "break-even", "x": [u_star], "y": [cost],
                     "text": [f"break-even {u_star:.1%}"], "textposition": "top left",
                     "marker": {"color": C_BREAKEVEN, "size": 11, "symbol": "diamond"}})
    if u_actual is not None:
        data.append({"type": "scatter", "mode": "markers+text", "name": f"{html_escape(team['team'])} actual", "x": [u_actual],
                     "y": [cost], "text": [f"actual {u_actual:.1%}"], "textposition": "bottom right",
                     "marker": {"color": C_ACTUAL, "size": 12, "symbol": "star"}})
    return {"data": data, "layout": _layout(
        f"{html_escape(team['team'])}, {html_escape(r['gpu_class'])} dedicated {server}: cost against utilisation",
        {"title": {"text": "share of paid hours used"}, "tickformat": ".0%", "range": [0, us[-1]]},
        {"title": {"text": f"{cur} per month"}, "rangemode": "tozero"})}


def anomaly_figure(team: dict[str, Any], series: dict[str, Any]) -> dict | None:
    """One series' days of the month: actual spend against the expected band, the flagged days marked."""
    pts = [p for p in series["points"] if p["expected"] is not None]
    if not pts:
        return None
    cur = html_escape(series["currency"])
    xs = [p["charge_date"].isoformat() for p in pts]
    hover = "%{x}: %{y:,.2f} " + cur
    data = [
        {"type": "scatter", "mode": "lines", "name": "band low", "x": xs, "y": [_f(p["band_low"]) for p in pts],
         "line": {"color": "rgba(49,130,206,0)"}, "showlegend": False, "hoverinfo": "skip"},
        {"type": "scatter", "mode": "lines", "name": "expected band", "x": xs, "y": [_f(p["band_high"]) for p in pts],
         "fill": "tonexty", "fillcolor": "rgba(49,130,206,0.15)", "line": {"color": "rgba(49,130,206,0.4)", "width": 1},
         "hovertemplate": hover + "<extra>flagged above</extra>"},
        {"type": "scatter", "mode": "lines", "name": "expected", "x": xs, "y": [_f(p["expected"]) for p in pts],
         "line": {"color": C_SERVERLESS, "dash": "dash", "width": 1}, "hovertemplate": hover + "<extra>expected</extra>"},
        {"type": "scatter", "mode": "lines+markers", "name": "actual", "x": xs, "y": [_f(p["actual"]) for p in pts],
         "line": {"color": C_TOTAL, "width": 2}, "marker": {"size": 4}, "hovertemplate": hover + "<extra>actual</extra>"},
    ]
    flagged = [p for p in pts if p["flagged"]]
    if flagged:
        data.append({"type": "scatter", "mode": "markers", "name": "anomaly", "x": [p["charge_date"].isoformat() for p in flagged],
                     "y": [_f(p["actual"]) for p in flagged], "marker": {"color": C_THRESHOLD, "size": 10, "symbol": "x"},
                     "hovertemplate": hover + "<extra>anomaly</extra>"})
    scope = "" if series["scope"] == "*" else f" {html_escape(series['scope'])}"
    return {"data": data, "layout": _layout(
        f"{html_escape(team['team'])}: {html_escape(series['provider'])}{scope} daily spend against the expected band ({cur})",
        {"type": "date"}, {"title": {"text": cur}, "rangemode": "tozero"})}


def team_figures(team: dict[str, Any], month_start: date, currency: str) -> list[dict]:
    """Every chart of one team's section, in reading order."""
    figs = [monthly_figure(team, currency), cumulative_figure(team, month_start, currency)]
    figs += [breakeven_figure(team, b) for b in team["breakeven"]]
    figs += [dedicated_figure(team, r) for r in team["dedicated_utilisation"]]
    figs += [anomaly_figure(team, s) for s in team.get("anomaly_bands", [])]
    return [f for f in figs if f is not None]
