"""What the review shows: its sections, their columns, and each value as a reader sees it.

A :class:`Section` names where its records sit in the review data and which columns a
reader sees; every renderer (terminal, markdown, CSV, HTML) walks the same sections, so a
column added here appears in all of them.  :func:`cell_text` is the one place a value
becomes text: money with its currency symbol and separators, unit prices with their
significant digits, fractions as percentages.  Nothing here is escaped: each renderer
escapes for its medium.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from spendwatch.render import money, plain, unit_price

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
    "new_amount": "new_currency",
}


@dataclass(frozen=True)
class Col:
    """One displayed column of a review section: the record key, its header, and how to show the value."""

    key: str
    label: str
    kind: str = "text"  # text | enum | money | price | fraction | pct | int | num | date | datetime | bool


@dataclass(frozen=True)
class Section:
    """A part of the review: where its records live in the review dict and which columns a reader sees."""

    key: str
    title: str
    cols: tuple[Col, ...]
    empty: str = "none"
    limit: int | None = None  # rows shown in table, markdown and html (JSON and CSV carry them all)
    # The columns a narrow terminal keeps, most important first (default: every column, left to right).
    terminal: tuple[str, ...] = ()

    def priority(self, col: Col) -> int:
        """How readily a narrow terminal drops the column: 0 never (the first column, what a row is), then its rank
        in ``terminal`` (or its position), and the columns outside ``terminal`` first of all."""
        order = self.terminal or tuple(c.key for c in self.cols)
        if col.key == self.cols[0].key:
            return 0
        return order.index(col.key) + 1 if col.key in order else len(self.cols) + 1


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
        "gpu_class", "verdict", "monthly_saving", "utilisation", "breakeven_utilisation", "serverless_cost",
        "dedicated_monthly", "dedicated_offer")),
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
        "model", "verdict", "api_cost", "api_cost_per_1m", "selfhost_cost_per_1m", "selfhost_monthly_cost", "tokens", "assumption")),
    Section("dedicated_utilisation", "Dedicated servers rented", (
        Col("server_id", "server"), Col("provider", "provider"), Col("gpu_class", "GPU class"),
        Col("cost", "cost", "money"), Col("hours_paid", "hours paid", "num"), Col("hours_used", "hours used", "num"),
        Col("utilisation", "utilisation", "fraction"), Col("cost_per_used_hour", "per used hour", "money"),
        Col("serverless_cost_for_used_hours", "same hours on serverless", "money"),
        Col("serverless_would_be_cheaper", "serverless cheaper", "bool"),
    ), "no dedicated servers", terminal=(
        "server_id", "utilisation", "cost", "serverless_cost_for_used_hours", "cost_per_used_hour", "hours_used",
        "hours_paid", "gpu_class")),
    Section("audit", "Invoice audit findings", (
        Col("charge_date", "date", "date"), Col("provider", "provider"), Col("invoice_id", "invoice"),
        Col("finding", "finding", "enum"), Col("billed", "billed", "price"), Col("expected", "expected", "price"),
        Col("amount_at_stake", "at stake", "price"), Col("amount_at_stake_reporting", "at stake (reporting)", "money"),
        Col("above_tolerance", "above tolerance", "bool"), Col("description", "line"),
    ), "no findings", 25, terminal=(
        "charge_date", "amount_at_stake_reporting", "finding", "provider", "billed", "expected", "description")),
    Section("price_changes", "Price changes of what the team is billed for (the price-change alerts)", (
        Col("changed_at", "changed", "datetime"), Col("used_item", "used"), Col("provider", "provider"),
        Col("sku", "SKU"), Col("component", "component"), Col("tier", "tier"), Col("old_amount", "old", "price"),
        Col("new_amount", "new", "price"), Col("unit", "per"), Col("change_pct", "change", "pct"),
        Col("regions", "regions", "int"),
    ), "no price changes since the month began", 25, terminal=(
        "changed_at", "used_item", "old_amount", "new_amount", "change_pct", "provider", "sku", "tier", "unit")),
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
        Col("serverless_per_hour", "serverless/h", "price"), Col("dedicated_offer_full", "cheapest dedicated"),
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
    ), "no price fetches yet", terminal=("source_id", "stale", "age_days", "capture_date", "last_status", "held_prices")),
    Section("exports", "Data freshness: exports per provider", (
        Col("provider", "provider"), Col("formats", "formats"), Col("files", "files", "int"), Col("lines", "lines", "int"),
        Col("last_ingested_at", "last ingested", "datetime"), Col("last_charge_end", "data up to", "datetime"),
        Col("last_file_name", "last file"),
    ), "no exports ingested", terminal=("provider", "last_charge_end", "last_ingested_at", "files", "lines")),
    Section("ingest_rejects", "Export files with rejected rows", (
        Col("file_name", "file"), Col("format", "format"), Col("rows_read", "read", "int"),
        Col("rows_rejected", "rejected", "int"), Col("first_reason", "first reason"),
    ), "none"),
)

# Where each org section's records sit in the review dict.
ORG_PATH: dict[str, tuple[str, ...]] = {
    "unallocated": ("unallocated", "lines"),
    "failed_alerts": ("failed_alerts", "alerts"),
    "breakeven_table": ("breakeven_table",),
    "held_prices": ("held_prices",),
    "price_sources": ("freshness", "price_sources"),
    "exports": ("freshness", "exports"),
    "ingest_rejects": ("freshness", "ingest_rejects"),
    "attribution_coverage": ("attribution_coverage",),
}


# --- values as text ----------------------------------------------------------------------


NUMERIC_KINDS = ("money", "price", "fraction", "pct", "int", "num")


def fraction_text(v: Any) -> str:
    """A fraction (0.785) as a percentage with one decimal (78.5 %); None as an em dash."""
    return "—" if v is None else f"{Decimal(v) * 100:.1f} %"


def currency_of(rec: dict[str, Any], key: str) -> str | None:
    """The currency of a money field of a record (MONEY_CURRENCY names the field that holds it)."""
    field = MONEY_CURRENCY.get(key)
    return rec.get(field) if field else None


def cell_text(rec: dict[str, Any], col: Col) -> str:
    """A value as a reader sees it (money with its symbol, fractions as %), not yet escaped."""
    v = rec.get(col.key)
    if v is None:
        return "—" if col.kind in ("money", "price", "fraction", "pct") else ""
    if col.kind == "money":
        return money(v, currency_of(rec, col.key))
    if col.kind == "price":
        return unit_price(v, currency_of(rec, col.key))
    if col.kind == "fraction":
        return fraction_text(v)
    if col.kind == "pct":  # already rounded by its model (one or two decimals): shown as stored, never rounded twice
        return f"{Decimal(v):,f} %"
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
    for k in ORG_PATH[section.key]:
        v = v[k]
    return list(v)


def shown(section: Section, recs: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str | None]:
    """The records a reader sees (the section's first ``limit``) and a note on the rest, if any."""
    if section.limit is None or len(recs) <= section.limit:
        return recs, None
    return recs[: section.limit], (f"{len(recs) - section.limit} more rows not shown "
                                   "(all of them are in --format json and --format csv)")


def empty_note(data: dict[str, Any], section: Section, recs: list[dict[str, Any]]) -> str | None:
    """What a reader sees instead of the section's table (its empty text), or None when there is a table."""
    if section.key == "failed_alerts" and not data["failed_alerts"]["available"]:
        return "alerts are not set up in this warehouse"
    return None if recs else section.empty


def month_title(data: dict[str, Any]) -> str:
    """The review's month as a title: November 2026."""
    return f"{data['month_start']:%B %Y}"
