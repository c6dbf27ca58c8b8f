"""The spend review as one self-contained HTML file: tables and charts that open with no network.

Charts are Plotly figures, validated by plotly and written with ``include_plotlyjs=True``
for the first chart (the plotly.js bundle shipped with the package, inlined once), so
there is no CDN, no external font and no request of any kind; a Content-Security-Policy
in the page forbids them.

Per team: monthly variable spend against the threshold; month-to-date cumulative
spend with the projection to month end (dashed); for each GPU class used on serverless,
cost against utilisation for serverless and dedicated with the break-even point and the
team's actual utilisation; the same for each rented dedicated server.  For the
organisation: today's break-even table, unallocated spend, failed alerts and freshness.

Every string that comes from data (team, model, SKU, description, file name) passes
through ``html_escape``, in the page and in chart titles, labels and hover text.
Plotly's figure JSON escapes ``<`` as ``\\u003c``, so nothing in the data can close the
script element either.
"""

from __future__ import annotations

import calendar
import math
from datetime import date, timedelta
from typing import Any

from spendwatch.render import html_escape, money
from spendwatch.review import ORG_SECTIONS, TEAM_SECTIONS, Section, cell_text, section_records, shown

# Colours: variable spend parts, threshold, projection, dedicated.
C_SERVERLESS, C_API, C_TOTAL, C_THRESHOLD = "#2b6cb0", "#63b3ed", "#4a5568", "#c53030"
C_DEDICATED, C_ACTUAL, C_BREAKEVEN = "#2f855a", "#d69e2e", "#805ad5"
STATUS_CLASS = {"over": "st-over", "projected_over": "st-proj", "ok": "st-ok"}
PLOTLY_CONFIG = {"displayModeBar": False, "responsive": True, "displaylogo": False}

CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; "
       "font-src 'none'; connect-src 'none'; base-uri 'none'; form-action 'none'")

CSS = """
:root { font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #1a202c; }
body { margin: 0 auto; max-width: 1200px; padding: 24px; background: #fff; }
h1 { font-size: 1.6rem; margin: 0 0 4px; } h2 { font-size: 1.3rem; margin: 32px 0 8px; border-bottom: 2px solid #e2e8f0; padding-bottom: 4px; }
h3 { font-size: 1.05rem; margin: 20px 0 6px; color: #2d3748; }
.meta { color: #4a5568; font-size: .9rem; margin: 0 0 16px; }
table { border-collapse: collapse; font-size: .85rem; margin: 4px 0 12px; }
th, td { border-bottom: 1px solid #e2e8f0; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f7fafc; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: .8rem; font-weight: 600; }
.st-over { background: #fed7d7; color: #9b2c2c; } .st-proj { background: #fefcbf; color: #975a16; } .st-ok { background: #c6f6d5; color: #22543d; }
ul.headlines { margin: 6px 0 12px; padding-left: 20px; } ul.headlines li { margin: 2px 0; }
.charts { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 12px; }
.chart { height: 340px; border: 1px solid #edf2f7; border-radius: 6px; overflow: hidden; }
.empty { color: #718096; font-style: italic; font-size: .85rem; margin: 2px 0 10px; }
.notes { color: #4a5568; font-size: .85rem; }
nav a { margin-right: 12px; font-size: .9rem; }
"""


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


# --- HTML ----------------------------------------------------------------------------------


_NUMERIC = ("money", "money6", "price", "fraction", "pct", "int", "num")


def _table(section: Section, recs: list[dict[str, Any]]) -> str:
    head = "".join(f"<th>{html_escape(c.label)}</th>" for c in section.cols)
    rows = []
    for r in recs:
        cells = []
        for c in section.cols:
            text = html_escape(cell_text(r, c))
            if c.key == "status" and r.get("status") in STATUS_CLASS:
                text = f'<span class="badge {STATUS_CLASS[r["status"]]}">{text}</span>'
            cells.append(f'<td class="num">{text}</td>' if c.kind in _NUMERIC else f"<td>{text}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _section(section: Section, recs: list[dict[str, Any]]) -> str:
    if not recs:
        return f'<h3>{html_escape(section.title)}</h3><p class="empty">{html_escape(section.empty)}</p>'
    rows, more = shown(section, recs)
    note = f'<p class="empty">{html_escape(more)}</p>' if more else ""
    return f"<h3>{html_escape(section.title)}</h3>{_table(section, rows)}{note}"


def _chart_div(fig: dict, n: int) -> str:
    """One chart: the figure validated by plotly and written as a div; the first chart carries plotly.js inline."""
    import plotly.graph_objects as go
    import plotly.io as pio

    html = pio.to_html(
        go.Figure(fig), include_plotlyjs=(n == 1), include_mathjax=False, full_html=False,
        config=PLOTLY_CONFIG, div_id=f"chart-{n}", default_width="100%", default_height="100%", validate=True,
    )
    return f'<div class="chart">{html}</div>'


def _summary_table(data: dict[str, Any]) -> str:
    cur = data["reporting_currency"]
    rows = []
    for t in data["teams"]:
        th = t["threshold"]
        status = th["status"]
        badge = f'<span class="badge {STATUS_CLASS.get(status, "")}">{html_escape(status.replace("_", " "))}</span>'
        when = th.get("crossed_on") or th.get("projected_cross_date")
        rows.append(
            f'<tr><td><a href="#team-{_anchor(t["team"])}">{html_escape(t["team"])}</a></td>'
            f'<td class="num">{html_escape(money(t["spend"]["total_spend"], cur))}</td>'
            f'<td class="num">{html_escape(money(th["variable_spend"], cur))}</td>'
            f'<td class="num">{html_escape(money(th["threshold"], th["threshold_currency"]))}</td>'
            f"<td>{badge}</td><td>{html_escape(when.isoformat() if when else '')}</td>"
            f'<td class="num">{t["audit_summary"]["findings"]}</td></tr>'
        )
    head = "".join(f"<th>{h}</th>" for h in ("team", "total", "variable", "threshold", "status", "crossed / projected", "audit findings"))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _anchor(team: str) -> str:
    """A safe fragment id for a team name (letters, digits and dashes only)."""
    return "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in team) or "team"


def render_html(data: dict[str, Any]) -> str:
    """The review as one HTML document with inlined plotly.js, tables and charts; no network needed to open it."""
    cur = data["reporting_currency"]
    month_start: date = data["month_start"]
    title = f"Spend review, {month_start:%B %Y}"
    body: list[str] = [f"<h1>{html_escape(title)}</h1>"]
    meta = f"Money in {html_escape(cur)} unless a column says otherwise. Generated {data['generated_at']:%Y-%m-%d %H:%M} UTC."
    if data["team_filter"]:
        meta = f"Team {html_escape(data['team_filter'])}. " + meta
    body.append(f'<p class="meta">{meta}</p>')
    body.append("<nav>" + "".join(f'<a href="#team-{_anchor(t["team"])}">{html_escape(t["team"])}</a>' for t in data["teams"])
                + '<a href="#organisation">organisation</a></nav>')
    body.append(_summary_table(data))
    n = 0
    for t in data["teams"]:
        lead = f" <small>lead {html_escape(t['lead'])}</small>" if t["lead"] else ""
        body.append(f'<h2 id="team-{_anchor(t["team"])}">{html_escape(t["team"])}{lead}</h2>')
        if t["headlines"]:
            body.append('<ul class="headlines">' + "".join(f"<li>{html_escape(h)}</li>" for h in t["headlines"]) + "</ul>")
        figs = team_figures(t, month_start, cur)
        if figs:
            divs = []
            for fig in figs:
                n += 1
                divs.append(_chart_div(fig, n))
            body.append('<div class="charts">' + "".join(divs) + "</div>")
        for s in TEAM_SECTIONS:
            body.append(_section(s, section_records(data, s, t)))
    body.append('<h2 id="organisation">Organisation</h2>')
    body.append(f"<p>Unallocated spend this month: <strong>{html_escape(money(data['unallocated']['total'], cur))}</strong></p>")
    for s in ORG_SECTIONS:
        if s.key == "failed_alerts" and not data["failed_alerts"]["available"]:
            body.append(f'<h3>{html_escape(s.title)}</h3><p class="empty">alerts are not set up in this warehouse</p>')
            continue
        body.append(_section(s, section_records(data, s)))
    if data["notes"]:
        body.append('<h3>Notes</h3><ul class="notes">' + "".join(f"<li>{html_escape(x)}</li>" for x in data["notes"]) + "</ul>")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html_escape(title)}</title><style>{CSS}</style>"
        "</head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
