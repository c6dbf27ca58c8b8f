"""The review as one self-contained HTML file: tables and charts that open with no network.

Charts are Plotly figures, validated by plotly and written with ``include_plotlyjs=True``
for the first chart (the plotly.js bundle shipped with the package, inlined once), so
there is no CDN, no external font and no request of any kind; a Content-Security-Policy
in the page forbids them.

Per team: a summary row, its headlines, its charts (``spendwatch.review.figures``) and a
table per section with every column.  For the organisation: unallocated spend,
attribution coverage, failed alerts, today's break-even table and freshness.

Every string that comes from data (team, model, SKU, description, file name) passes
through ``html_escape``, in the page and in chart titles, labels and hover text.
Plotly's figure JSON escapes ``<`` as ``\\u003c``, so nothing in the data can close the
script element either.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from spendwatch.render import html_escape, money
from spendwatch.review.figures import team_figures
from spendwatch.review.sections import (
    NUMERIC_KINDS, ORG_SECTIONS, TEAM_SECTIONS, Section, cell_text, empty_note, section_records, shown,
)

STATUS_CLASS = {"over": "st-over", "projected_over": "st-proj", "at_risk": "st-risk", "ok": "st-ok"}
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
.st-risk { background: #feebc8; color: #9c4221; }
ul.headlines { margin: 6px 0 12px; padding-left: 20px; } ul.headlines li { margin: 2px 0; }
.charts { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 12px; }
.chart { height: 340px; border: 1px solid #edf2f7; border-radius: 6px; overflow: hidden; }
.empty { color: #718096; font-style: italic; font-size: .85rem; margin: 2px 0 10px; }
.notes { color: #4a5568; font-size: .85rem; }
nav a { margin-right: 12px; font-size: .9rem; }
"""


def _table(section: Section, recs: list[dict[str, Any]]) -> str:
    head = "".join(f"<th>{html_escape(c.label)}</th>" for c in section.cols)
    rows = []
    for r in recs:
        cells = []
        for c in section.cols:
            text = html_escape(cell_text(r, c))
            if c.key == "status" and r.get("status") in STATUS_CLASS:
                text = f'<span class="badge {STATUS_CLASS[r["status"]]}">{text}</span>'
            cells.append(f'<td class="num">{text}</td>' if c.kind in NUMERIC_KINDS else f"<td>{text}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _section(data: dict[str, Any], section: Section, recs: list[dict[str, Any]]) -> str:
    empty = empty_note(data, section, recs)
    if empty is not None:
        return f'<h3>{html_escape(section.title)}</h3><p class="empty">{html_escape(empty)}</p>'
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
            f'<tr><td><a href="#team-{team_anchor(t["team"])}">{html_escape(t["team"])}</a></td>'
            f'<td class="num">{html_escape(money(t["spend"]["total_spend"], cur))}</td>'
            f'<td class="num">{html_escape(money(th["variable_spend"], cur))}</td>'
            f'<td class="num">{html_escape(money(th["threshold"], th["threshold_currency"]))}</td>'
            f"<td>{badge}</td><td>{html_escape(when.isoformat() if when else '')}</td>"
            f'<td class="num">{t["audit_summary"]["findings"]}</td></tr>'
        )
    head = "".join(f"<th>{h}</th>" for h in ("team", "total", "variable", "threshold", "status", "crossed / projected", "audit findings"))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def team_anchor(team: str) -> str:
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
    body.append("<nav>" + "".join(f'<a href="#team-{team_anchor(t["team"])}">{html_escape(t["team"])}</a>' for t in data["teams"])
                + '<a href="#organisation">organisation</a></nav>')
    body.append(_summary_table(data))
    n = 0
    for t in data["teams"]:
        lead = f" <small>lead {html_escape(t['lead'])}</small>" if t["lead"] else ""
        body.append(f'<h2 id="team-{team_anchor(t["team"])}">{html_escape(t["team"])}{lead}</h2>')
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
            body.append(_section(data, s, section_records(data, s, t)))
    body.append('<h2 id="organisation">Organisation</h2>')
    body.append(f"<p>Unallocated spend this month: <strong>{html_escape(money(data['unallocated']['total'], cur))}</strong></p>")
    for s in ORG_SECTIONS:
        body.append(_section(data, s, section_records(data, s)))
    if data["notes"]:
        body.append('<h3>Notes</h3><ul class="notes">' + "".join(f"<li>{html_escape(x)}</li>" for x in data["notes"]) + "</ul>")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html_escape(title)}</title><style>{CSS}</style>"
        "</head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
