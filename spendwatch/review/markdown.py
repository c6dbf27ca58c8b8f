"""The review as markdown: a heading per team, its headlines, then a table per section (every column)."""

from __future__ import annotations

from typing import Any

from spendwatch.render import markdown_table, md_escape, money
from spendwatch.review.sections import ORG_SECTIONS, TEAM_SECTIONS, Section, cell_text, empty_note, month_title, section_records, shown


def _md_section(data: dict[str, Any], section: Section, recs: list[dict[str, Any]]) -> list[str]:
    """A section's heading and its table (every column), or its empty text."""
    out = [f"### {md_escape(section.title)}", ""]
    empty = empty_note(data, section, recs)
    if empty is not None:
        return out + [f"_{md_escape(empty)}_", ""]
    rows, more = shown(section, recs)
    out += [markdown_table([c.label for c in section.cols], [[cell_text(r, c) for c in section.cols] for r in rows], limit=None), ""]
    return out + ([f"_{md_escape(more)}_", ""] if more else [])


def render_markdown(data: dict[str, Any]) -> str:
    """The review as markdown: a heading per team, its headlines, then a table per section."""
    cur = data["reporting_currency"]
    out = [f"# Spend review, {month_title(data)} ({md_escape(cur)})", ""]
    if data["team_filter"]:
        out += [f"Team: {md_escape(data['team_filter'])}", ""]
    out += [f"Generated {data['generated_at']:%Y-%m-%d %H:%M} UTC. Money in {md_escape(cur)} unless a column says otherwise.", ""]
    for t in data["teams"]:
        lead = f" (lead: {md_escape(t['lead'])})" if t["lead"] else ""
        out += [f"## {md_escape(t['team'])}{lead}", ""]
        out += [f"- {md_escape(h)}" for h in t["headlines"]] + [""]
        out += [line for s in TEAM_SECTIONS for line in _md_section(data, s, section_records(data, s, t))]
    out += ["## Organisation", "", f"Unallocated spend this month: **{md_escape(money(data['unallocated']['total'], cur))}**", ""]
    out += [line for s in ORG_SECTIONS for line in _md_section(data, s, section_records(data, s))]
    if data["notes"]:
        out += ["### Notes", ""] + [f"- {md_escape(n)}" for n in data["notes"]] + [""]
    return "\n".join(out)
