"""What an alert says: Block Kit messages for Slack, rich markup for the console, one plain line (no I/O here).

Each message says what happened, the figures with their currency, why it matters, what drove it
(a threshold alert names its top three provider and model lines), a link to the team's section of
the HTML review when ``review.base_url`` is set, and the command that shows the detail.  Every
value that came from outside spendwatch (team, model, SKU, file name, description, error text) is
escaped for its medium: in Slack ``&``, ``<`` and ``>`` become entities (so ``<!channel>`` is
shown, never obeyed) and the formatting characters ``*``, ``_``, ``~`` and backquote are replaced
by look-alikes that Slack does not format; on a terminal, control characters, escape sequences and
bidi overrides are removed and rich markup is escaped.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Mapping

from spendwatch.core.config import UNALLOCATED
from spendwatch.core.redact import redact
from spendwatch.recommend import recommendation_text
from spendwatch.render import money, plain, slack_escape, terminal_escape
from warehouse.alerts import ORG

KIND_TITLES = {
    "threshold_crossed": "Spend threshold crossed",
    "threshold_projected": "Spend threshold: on pace to be crossed",
    "threshold_at_risk": "Spend threshold at risk (early warning)",
    "dedicated_cheaper": "Dedicated GPUs would be cheaper",
    "invoice_discrepancy": "Invoice does not match the prices in force",
    "price_change": "A provider changed a price you pay",
    "source_stale": "A price source is stale",
    "ingest_rejects": "Rows rejected from an export file",
    "run_failure": "The daily spendwatch run failed",
    "spend_anomaly": "Unusual spend",
}
_CLIP = 200


# --- the alert as the message builder sees it -----------------------------------

@dataclass(frozen=True)
class AlertMessage:
    """One alert occurrence to tell people about: its key, its figures (``details``) and how to quiet it."""

    alert_id: int
    occurrence: int
    kind: str
    team: str
    period: str
    subject: str
    details: Mapping[str, Any]
    reminder: bool = False
    snoozed_until: date | None = None
    review_url: str | None = None  # the team's section of the published HTML review


@dataclass(frozen=True)
class _Style:
    esc: Callable[..., str]  # (value, n=_CLIP): one clean line, clipped to n characters, escaped for the medium
    bold: Callable[[str], str]
    code: Callable[[str], str]


# Slack formats *bold*, _italic_, ~strike~ and `code` inside untrusted text too: look-alikes it leaves alone.
_SLACK_FORMATTING = str.maketrans({"*": "\u2217", "_": "\uff3f", "~": "\u223c", "`": "\u02cb"})


def slack_text(value: Any, n: int = 200) -> str:
    """Untrusted text for Slack mrkdwn: one clean line, entities for & < >, formatting characters neutralised."""
    return slack_escape(_clip(value, n)).translate(_SLACK_FORMATTING)


def _slack_code(s: str) -> str:
    return "`" + slack_escape(s.replace("`", "'")) + "`"


SLACK = _Style(esc=slack_text, bold=lambda s: f"*{s}*", code=_slack_code)
CONSOLE = _Style(esc=lambda v, n=_CLIP: terminal_escape(_clip(v, n)), bold=lambda s: f"[bold]{s}[/bold]",
                 code=lambda s: f"[cyan]{terminal_escape(s)}[/cyan]")
PLAIN = _Style(esc=lambda v, n=_CLIP: plain(_clip(v, n)), bold=lambda s: s, code=lambda s: s)
_SENTENCE = 600  # a recommendation with its committed offer is a long sentence: clipped here, not at 200


@dataclass(frozen=True)
class _Parts:
    what: str
    figures: list[tuple[str, str]]
    why: str
    command: str
    todo: str = ""  # what to do: the team's recommendations (model recommendations), escaped


def _clip(v: Any, n: int = _CLIP) -> str:
    s = plain(v).replace("\n", " ")
    return s if len(s) <= n else s[: n - 1] + "…"


def _dec(d: Mapping[str, Any], key: str) -> Decimal | None:
    v = d.get(key)
    if v is None or v == "":
        return None
    try:
        return Decimal(str(v))
    except InvalidOperation:
        return None


def _pct(fraction: Decimal | None) -> str:
    if fraction is None:
        return "—"
    s = f"{(fraction * 100).quantize(Decimal('0.1')):,}"
    return (s[:-2] if s.endswith(".0") else s) + " %"


def _month_name(period: str) -> str:
    try:
        return datetime.strptime(period[:7], "%Y-%m").strftime("%B %Y")
    except ValueError:
        return period


def _amount(v: Decimal | None, currency: Any, unit: Any, st: _Style) -> str:
    if v is None:
        return "—"
    return f"{v.normalize():f} {st.esc(currency)}/{st.esc(unit)}"


def _team_label(team: str, st: _Style) -> str:
    if team == ORG:
        return "the organisation"
    if team == UNALLOCATED:
        return "unallocated spend (no attribution rule matched)"
    return st.bold(st.esc(team))


def _review_cmd(team: str, period: str) -> str:
    cmd = ["spendwatch", "review"]
    if team not in (ORG, UNALLOCATED):
        cmd += ["--team", team]
    return shlex.join(cmd + ["--month", period[:7]])


def _threshold(a: AlertMessage, st: _Style) -> _Parts:
    d, cur = a.details, a.details.get("currency")
    spend, thr = _dec(d, "variable_spend"), _dec(d, "threshold")
    projected = _dec(d, "projected_variable")
    month = _month_name(a.period)
    who = _team_label(a.team, st)
    ratio = (spend / thr) if spend is not None and thr else None
    band = _band(d, cur)
    figures = [("Variable spend", money(spend, cur)), ("Threshold", money(thr, d.get("threshold_currency") or cur))]
    days = d.get("projection_days_used") or d.get("days_with_data")
    pr = (projected / thr) if projected is not None and thr else None
    if a.kind == "threshold_crossed":
        over = spend - thr if spend is not None and thr is not None else None
        crossed = f" (crossed on {st.esc(d['crossed_on'])})" if d.get("crossed_on") else ""
        what = f"{who}: variable spend for {month} is {st.bold(money(spend, cur))}, over the monthly threshold of {money(thr, cur)}{crossed}."
        figures += [("Over by", f"{money(over, cur)} ({_pct(ratio - 1 if ratio is not None else None)})"),
                    ("Projected month-end", money(projected, cur))]
        why = (f"Variable spend (serverless GPUs plus per-token APIs) is {_pct(ratio)} of the threshold: the bill at which "
               "steady traffic is usually cheaper on dedicated GPUs.")
    elif a.kind == "threshold_projected":
        when = d.get("projected_cross_date")
        what = (f"{who} is on pace to cross the monthly threshold of {money(thr, cur)}"
                f"{' on ' + st.bold(st.esc(when)) if when else ' by month end'}: {month} would end at "
                f"{st.bold(money(projected, cur))}{' (80 % band ' + band + ')' if band else ''}.")
        figures += [("Projected month-end", money(projected, cur)), ("On pace to cross on", st.esc(when) if when else "—"),
                    ("Days with data", st.esc(days) if days is not None else "—")]
        why = (f"At the recent daily rate over {st.esc(days) if days is not None else 'the'} days with data, the month ends at "
               f"{_pct(pr)} of the threshold. Provider data arrives late, so this is the early warning: act before the bill does.")
    else:  # threshold_at_risk: only the band's upper edge passes the threshold
        when = d.get("band_cross_date")
        what = (f"{who} is at risk of crossing the monthly threshold of {money(thr, cur)} in {month}: projected "
                f"{st.bold(money(projected, cur))}, 80 % band {band or '—'}; at the band's upper edge it is on pace to cross"
                f"{' on ' + st.bold(st.esc(when)) if when else ' by month end'}.")
        figures += [("Projected month-end", money(projected, cur)),
                    ("On pace to cross on", (st.esc(when) + " (band's upper edge)") if when else "—"),
                    ("Days with data", st.esc(days) if days is not None else "—")]
        why = (f"The projection ({_pct(pr)} of the threshold) stays under it, but the band learned from the team's own history "
               "reaches over it: an early warning, sent once. Watch the next days' spend.")
    for key, label in (("serverless_gpu", "Serverless GPU"), ("hosted_api", "Hosted APIs")):
        if _dec(d, key) is not None:
            figures.append((label, money(_dec(d, key), cur)))
    if band:
        figures.append(("Projection band (80 %)", band + (f" ({st.esc(d['band_method'])})" if d.get("band_method") else "")))
    drivers = _drivers(d, cur, st)
    if drivers:
        figures.append(("Top lines", drivers))
        why += f" Most of it: {drivers}."
    if a.team == UNALLOCATED:
        why += " These charges match no attribution rule, so no team sees them: add a rule in spendwatch.toml."
    todo = "; ".join(_recommendation_line(r, st) for r in (d.get("recommendations") or []) if isinstance(r, Mapping))
    return _Parts(what, figures, why, _review_cmd(a.team, a.period), todo)


# recommendation_text takes the mart's row; the alert carries it as text: these fields are numbers.
_REC_NUMBERS = ("saving", "spare_server_utilisation", "committed_upfront_amount", "committed_monthly", "committed_term_months")


def _recommendation_row(r: Mapping[str, Any]) -> dict[str, Any]:
    return {**r, **{k: _dec(r, k) for k in _REC_NUMBERS}}


def _recommendation_line(r: Mapping[str, Any], st: _Style) -> str:
    """``GPU class: the recommendation`` exactly as the review and ``spendwatch breakeven --team`` word it, escaped."""
    try:
        text = recommendation_text(_recommendation_row(r))
    except (KeyError, TypeError, InvalidOperation):
        return ""
    return f"{st.esc(r.get('gpu_class'))}: {st.esc(text, _SENTENCE)}"


def _drivers(d: Mapping[str, Any], cur: Any, st: _Style) -> str:
    """The top provider + model lines of the month's variable spend: ``openai gpt-4o £900.00 (55.8 %)``."""
    out = []
    for x in (d.get("drivers") or [])[:3]:
        if isinstance(x, Mapping):
            label = " ".join(st.esc(v) for v in (x.get("provider"), x.get("line")) if v)
            out.append(f"{label} {money(_dec(x, 'amount'), cur)} ({_pct(_dec(x, 'share'))})")
    return "; ".join(out)


def _band(d: Mapping[str, Any], cur: Any) -> str:
    """The 80 % band of the month-end projection; none once the month is complete (its band is the actual)."""
    lo, hi = _dec(d, "projected_low"), _dec(d, "projected_high")
    return f"{money(lo, cur)} – {money(hi, cur)}" if lo is not None and hi is not None and lo != hi else ""


_ACTION_TITLES = {
    "use_spare_capacity": "Spare capacity you already pay for would carry this load",
    "hybrid": "A hybrid plan would cost less",
    "rent_dedicated": "Dedicated GPUs would be cheaper",
}


def _dedicated(a: AlertMessage, st: _Style) -> _Parts:
    """The team's recommendation for one GPU class (model recommendations): one saving, the one the review gives."""
    d = a.details
    r = d.get("recommendation") if isinstance(d.get("recommendation"), Mapping) else {}
    cur = r.get("currency") or d.get("currency")
    gpu = st.esc(r.get("gpu_class") or d.get("gpu_class") or a.subject)
    saving = _dec(r, "saving")
    window = " – ".join(st.esc(r.get(k)) for k in ("window_start", "window_end") if r.get(k))
    what = (f"{_team_label(a.team, st)}, {gpu} ({window or _month_name(a.period)}): "
            f"{st.bold(st.esc(recommendation_text(_recommendation_row(r)), _SENTENCE) if r.get('action') else 'see the review')}.")
    hours = f" ({st.esc(r['gpu_hours'])} GPU-hours)" if r.get("gpu_hours") else ""
    figures = [("Saving a month", money(saving, cur)),
               ("Serverless cost", money(_dec(r, "serverless_cost"), cur) + hours)]
    if window:
        figures.append(("Window", window + (f" ({st.esc(r['window_kind'])})" if r.get("window_kind") else "")))
    if r.get("peak_demand_gpus"):
        figures.append(("Peak demand", f"{st.esc(r['peak_demand_gpus'])} GPUs"))
    offer = " ".join(st.esc(x) for x in (r.get("dedicated_provider"), r.get("dedicated_sku")) if x)
    if offer and str(r.get("dedicated_is_org_server")).lower() == "true":   # the org's own server: more like it, not it
        offer = f"another like {offer} (its contract price)"
    if offer:
        figures.append(("Cheapest dedicated offer", f"{offer}, {money(_dec(r, 'dedicated_monthly'), cur)} a GPU for the window"))
    figures.append(("Break-even (context)", st.esc(r.get("breakeven_text") or "—") + " of one GPU"))
    action = r.get("action")
    if action == "use_spare_capacity":
        taken = _dec(r, "spare_gpu_hours_taken")
        why = (f"{st.esc(r.get('spare_server_id'))} is already paid for and has {st.esc(r.get('spare_gpu_hours'))} spare GPU-hours "
               + (f"in the window, {st.esc(r.get('spare_gpu_hours_taken'))} of them allotted to teams before this one, "
                  if taken else "in the window, ")
               + (f"enough for {st.esc(r.get('spare_moved_gpu_hours'))} of this load's GPU-hours{hours}; the rest stays on "
                  "serverless. The serverless bill of the hours that move goes, no rent is added."
                  if r.get("spare_fit") == "partial" else
                  f"enough for this load{hours}: the serverless bill of the hours that move goes, no rent is added."))
    elif action == "hybrid":
        why = (f"Demand peaks at {st.esc(r.get('peak_demand_gpus'))} GPUs, so moving everything is not reachable: "
               f"{st.esc(r.get('dedicated_gpus'))} dedicated for the steady core and serverless for the peaks is the saving "
               "that is. The plain break-even is context only.")
    else:
        why = ("Steady use above the break-even: a flat monthly price beats paying by the second "
               f"({st.esc(r.get('dedicated_gpus') or 1)} whole unit(s)).")
    return _Parts(what, figures, why, _review_cmd(a.team, a.period))


def _invoice(a: AlertMessage, st: _Style) -> _Parts:
    d = a.details
    rc = d.get("reporting_currency")
    provider = st.esc(d.get("provider"))
    n = d.get("findings")
    at_stake = money(_dec(d, "at_stake"), rc)
    if d.get("invoice_id"):
        what = f"Invoice {st.bold(st.esc(d['invoice_id']))} from {provider} has {st.esc(n)} line(s) off by more than the tolerance: {st.bold(at_stake)} at stake."
    else:
        what = f"{provider} charges for {_month_name(a.period)} without an invoice id have {st.esc(n)} line(s) off by more than the tolerance: {st.bold(at_stake)} at stake."
    kinds = ", ".join(f"{st.esc(f.get('finding'))} ×{st.esc(f.get('lines'))}" for f in (d.get("by_finding") or []) if isinstance(f, Mapping))
    figures = [("At stake", at_stake), ("Findings", kinds or st.esc(n))]
    if d.get("currency") and _dec(d, "billed") is not None:
        figures.append(("Billed / expected", f"{money(_dec(d, 'billed'), d['currency'])} / {money(_dec(d, 'expected'), d['currency'])}"))
    tol_pct, tol_abs = _dec(d, "tolerance_pct"), _dec(d, "tolerance_abs")
    if tol_pct is not None and tol_abs is not None:
        figures.append(("Tolerance", f"the larger of {_pct(tol_pct)} and {money(tol_abs, rc)} a line"))
    if d.get("teams"):
        figures.append(("Teams", ", ".join(st.esc(t) for t in d["teams"])))
    examples = list(dict.fromkeys(st.esc(x) for x in (d.get("examples") or []) if x))
    why = (f"What {provider} billed and what its published prices say disagree beyond the audit tolerance; "
           "raise it with the provider before the invoice is paid.")
    if examples:
        why += " For example: " + "; ".join(examples[:2]) + "."
    return _Parts(what, figures, why, _review_cmd(ORG, a.period))


def _price_change(a: AlertMessage, st: _Style) -> _Parts:
    d = a.details
    old, new = _dec(d, "old_amount"), _dec(d, "new_amount")
    change = ((new - old) / old) if old and new is not None else None
    sign = "+" if change is not None and change > 0 else ""
    label = ", ".join(st.esc(x) for x in (d.get("component"), d.get("tier")) if x)
    when = st.esc(str(d.get("changed_at") or "")[:10])
    what = (f"{st.esc(d.get('provider'))} changed the price of {st.bold(st.esc(d.get('sku')))} ({label}) from "
            f"{_amount(old, d.get('currency'), d.get('unit'), st)} to {st.bold(_amount(new, d.get('new_currency') or d.get('currency'), d.get('unit'), st))}"
            f" ({sign}{_pct(change)}) on {when}.")
    teams = [st.esc(t) for t in (d.get("teams") or [])]
    figures = [("Old price", _amount(old, d.get("currency"), d.get("unit"), st)),
               ("New price", _amount(new, d.get("new_currency") or d.get("currency"), d.get("unit"), st)),
               ("Change", f"{sign}{_pct(change)}"), ("In force since", when)]
    if teams:
        figures.append(("Used by", ", ".join(teams)))
    used = st.esc(d.get("gpu_model") or d.get("sku"))
    why = (f"{', '.join(teams) or 'Your teams'} use {used} at {st.esc(d.get('provider'))}: usage from {when} is billed at the new price, "
           "and the break-even and the invoice audit use it from then on.")
    cmd = shlex.join(["spendwatch", "prices", "history", "--provider", str(d.get("provider") or ""), "--sku", str(d.get("sku") or "")])
    return _Parts(what, figures, why, cmd)


def _source_stale(a: AlertMessage, st: _Style) -> _Parts:
    d = a.details
    captured = str(d.get("capture_date") or "") or "never"
    reason = st.esc(d.get("stale_reason") or "stale")
    what = (f"Price source {st.bold(st.esc(d.get('source_id') or a.subject))} is stale: {reason}"
            f" (prices in force captured {st.esc(captured)}).")
    figures = [("Captured", st.esc(captured)),
               ("Age", f"{st.esc(d.get('age_days'))} days (max {st.esc(d.get('max_age_days'))})" if d.get("age_days") is not None else "—"),
               ("Last live fetch", st.esc(d.get("last_live_fetch") or "never")),
               ("Last attempt", " ".join(st.esc(x) for x in (d.get("last_attempt"), d.get("last_status")) if x) or "—"),
               ("Last error", st.esc(redact(d.get("last_error"))) or "—")]
    why = (f"Until it recovers, prices from {st.esc(d.get('provider') or d.get('source_id'))} are the last good ones (kept, never wiped): "
           "a price change there goes unnoticed and the break-even may be out of date.")
    return _Parts(what, figures, why, "spendwatch prices sources")


def _ingest(a: AlertMessage, st: _Style) -> _Parts:
    d = a.details
    name = os.path.basename(str(d.get("file_path") or "")) or a.subject
    what = (f"{st.esc(d.get('rows_rejected'))} of {st.esc(d.get('rows_read'))} rows in {st.bold(st.esc(name))} "
            f"({st.esc(d.get('format'))}) were rejected at ingest.")
    reasons = "; ".join(f"{st.esc(r.get('reason'))} ({st.esc(r.get('rows'))})" for r in (d.get("reasons") or [])[:3] if isinstance(r, Mapping))
    period = " – ".join(st.esc(str(x)[:10]) for x in (d.get("period_start"), d.get("period_end")) if x)
    figures = [("Rows loaded", st.esc(d.get("rows_loaded"))), ("Rows rejected", st.esc(d.get("rows_rejected")))]
    if period:
        figures.append(("Period", period))
    if reasons:
        figures.append(("Top reasons", reasons))
    why = ("Rejected rows are not in the spend figures, so team totals and the invoice audit are short by those charges "
           "until the file is fixed and delivered again.")
    return _Parts(what, figures, why, f"spendwatch alerts show {a.alert_id}")


def _run_failure(a: AlertMessage, st: _Style) -> _Parts:
    d = a.details
    steps = ", ".join(st.esc(s) for s in (d.get("failed_steps") or [])) or "—"
    partition = d.get("partition") or a.period
    what = (f"{st.esc(d.get('job_name') or 'daily_spend_job')} failed for {st.bold(st.esc(partition))} "
            f"(run {st.esc(str(d.get('run_id') or a.subject)[:8])}); failed steps: {steps}.")
    figures = [("Job", st.esc(d.get("job_name"))), ("Partition", st.esc(partition)), ("Failed steps", steps),
               ("Error", st.esc(redact(d.get("error"))) or "—")]
    why = "Prices, spend and alerts for this day are not up to date until the run succeeds."
    cmd = shlex.join(["spendwatch", "run", "--date", str(partition)]) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(partition)) else "spendwatch run"
    return _Parts(what, figures, why, cmd)


def _anomaly(a: AlertMessage, st: _Style) -> _Parts:
    d, cur = a.details, a.details.get("currency")
    scope = str(d.get("scope") or "*")
    what_of = "spend" if scope == "*" else f"{st.esc(scope.split(':', 1)[-1])} spend"
    days = d.get("days") or 1
    since = f" (day {st.esc(days)} of an incident since {st.esc(d.get('incident_start'))})" if int(days) > 1 else ""
    if d.get("reason") == "new_spend":
        what = (f"{_team_label(a.team, st)} spent {st.bold(money(_dec(d, 'actual'), cur))} at {st.esc(d.get('provider'))} on "
                f"{st.esc(d.get('latest_day'))}: its first {what_of} there.")
    else:
        what = (f"{_team_label(a.team, st)}'s {st.esc(d.get('provider'))} {what_of} was {st.bold(money(_dec(d, 'actual'), cur))} on "
                f"{st.esc(d.get('latest_day'))} against {money(_dec(d, 'expected'), cur)} expected{since}.")
    price, volume = _dec(d, "price_effect"), _dec(d, "volume_effect")
    figures = [("Actual / expected", f"{money(_dec(d, 'actual'), cur)} / {money(_dec(d, 'expected'), cur)}"),
               ("Excess", f"{money(_dec(d, 'excess'), cur)} ({_pct(_dec(d, 'excess_pct'))})"),
               ("Price effect", money(price, cur)), ("Volume effect", money(volume, cur)),
               ("Expected band", f"{money(_dec(d, 'band_low'), cur)} – {money(_dec(d, 'band_high'), cur)}")]
    if int(days) > 1:
        figures.append(("Incident so far", f"{st.esc(days)} days, {money(_dec(d, 'total_excess'), cur)} over"))
    tops = [x if isinstance(x, Mapping) else _json_obj(x) for x in (d.get("top_lines") or [])[:3]]
    lines = "; ".join(f"{st.esc(x.get('line'))} {money(_dec(x, 'amount'), cur)} (was {money(_dec(x, 'before'), cur)})" for x in tops if x)
    if lines:
        figures.append(("Top lines", lines))
    driver = "a price change" if price is not None and volume is not None and abs(price) > abs(volume) else "more use"
    why = (f"Mostly {driver}: the price effect is the change in the unit price in force × the quantity, the volume effect the change "
           "in quantity × the old price. A day back inside the band resolves it; a lasting new level becomes the baseline.")
    cmd = shlex.join(["spendwatch", "anomalies", "--team", a.team, "--month", a.period[:7]])
    return _Parts(what, figures, why, cmd)


def _json_obj(x: Any) -> Mapping[str, Any]:
    import json

    try:
        v = json.loads(x) if isinstance(x, str) else {}
    except ValueError:
        return {}
    return v if isinstance(v, Mapping) else {}


_COMPOSERS: dict[str, Callable[[AlertMessage, _Style], _Parts]] = {
    "threshold_crossed": _threshold, "threshold_projected": _threshold, "threshold_at_risk": _threshold,
    "dedicated_cheaper": _dedicated,
    "invoice_discrepancy": _invoice, "price_change": _price_change, "source_stale": _source_stale,
    "ingest_rejects": _ingest, "run_failure": _run_failure, "spend_anomaly": _anomaly,
}


def _compose(a: AlertMessage, st: _Style) -> _Parts:
    try:
        composer = _COMPOSERS[a.kind]
    except KeyError:
        raise ValueError(f"alert #{a.alert_id}: unknown alert kind {a.kind!r}") from None
    p = composer(a, st)
    fx = _fx_note(a.details, st)
    if not fx:
        return p
    return _Parts(p.what, [*p.figures, ("Stale FX rate", fx)],
                  p.why + f" Converted at a stale ECB rate (more than 3 business days older than the charge): {fx}.",
                  p.command, p.todo)


def _fx_note(d: Mapping[str, Any], st: _Style) -> str:
    """The stale rates behind the alert's figures: ``USD/GBP rate of 2026-10-30, 19 business days old by 2026-11-27``."""
    out = []
    for x in d.get("fx_stale") or []:
        if isinstance(x, Mapping) and x.get("currency_pair"):
            out.append(f"{st.esc(x['currency_pair'])} rate of {st.esc(x.get('rate_date'))}, "
                       f"{st.esc(x.get('age_business_days'))} business days old by {st.esc(x.get('last_charge_date'))}")
    return "; ".join(out)


def title(a: AlertMessage) -> str:
    """The alert's headline (our own text): its kind's, or for a GPU recommendation, its action's."""
    if a.kind == "dedicated_cheaper":
        r = a.details.get("recommendation")
        if isinstance(r, Mapping) and r.get("action") in _ACTION_TITLES:
            return _ACTION_TITLES[r["action"]]
    return KIND_TITLES.get(a.kind, a.kind)


def _footer(a: AlertMessage, st: _Style) -> str:
    if a.alert_id <= 0:  # posted without the outbox (the warehouse was unavailable): nothing to ack
        return "spendwatch alert (not stored: the warehouse was unavailable)"
    bits = [f"spendwatch alert #{a.alert_id}"]
    if a.occurrence > 1:
        bits.append(f"occurrence {a.occurrence} (it had resolved and came back)")
    if a.reminder:
        bits.append("reminder after a snooze" + (f" until {a.snoozed_until:%Y-%m-%d}" if a.snoozed_until else ""))
    bits.append(f"quiet it: {st.code(f'spendwatch alerts ack {a.alert_id}')} or "
                f"{st.code(f'spendwatch alerts snooze {a.alert_id} --until YYYY-MM-DD')}")
    if a.review_url:
        bits.append(_link(a.review_url, "the review", st))
    return " · ".join(bits)


def _link(url: str, label: str, st: _Style) -> str:
    if st is SLACK:  # our own config value, but still: no <, >, | or space can break out of the link
        return "<" + re.sub(r"[<>|\s]", "", url) + f"|{label}>"
    return f"{label}: {st.esc(url)}"


def review_url(base_url: str | None, team: str) -> str | None:
    """The team's section of the published HTML review (organisation-wide alerts: its organisation section)."""
    if not base_url:
        return None
    from spendwatch.review.html import team_anchor

    base = base_url.split("#", 1)[0]
    return base + ("#organisation" if team == ORG else f"#team-{team_anchor(team)}")


def summary(a: AlertMessage) -> str:
    """One plain line (not escaped for any medium): what happened."""
    return _compose(a, PLAIN).what


def build_message(a: AlertMessage) -> dict[str, Any]:
    """The Slack payload: Block Kit blocks plus the plain ``text`` fallback used in notifications."""
    p = _compose(a, SLACK)
    head = title(a)  # our own text only: the header is plain_text
    fields = [{"type": "mrkdwn", "text": f"*{label}*\n{value}"[:2000]} for label, value in p.figures[:10]]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": head[:150], "emoji": False}},
        {"type": "section", "text": {"type": "mrkdwn", "text": p.what[:3000]}},
    ]
    if fields:
        blocks.append({"type": "section", "fields": fields})
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*Why it matters:* {p.why}"[:3000]}})
    if p.todo:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*What to do:* {p.todo}"[:3000]}})
    blocks += [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*Details:* {SLACK.code(p.command)}"[:3000]}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _footer(a, SLACK)[:3000]}]},
    ]
    text = f"{head}: {p.what} Details: {SLACK.code(p.command)} (spendwatch alert #{a.alert_id})"
    return {"text": text[:3900], "blocks": blocks}


RESOLVED_WHY = {
    "threshold_crossed": "spend is back under the threshold (corrected or re-attributed)",
    "threshold_projected": "the projection is back under the threshold",
    "threshold_at_risk": "the projection's band is back under the threshold",
    "dedicated_cheaper": "the recommendation no longer saves money (usage or prices changed)",
    "invoice_discrepancy": "the invoice now matches the prices in force",
    "price_change": "the price change is no longer in the window",
    "source_stale": "the price source is fresh again",
    "ingest_rejects": "the file's rejected rows are gone (fixed and delivered again)",
    "run_failure": "the run succeeded",
    "spend_anomaly": "spend is back inside the expected band",
}


def resolved_text(a: AlertMessage, st: _Style | None = None) -> str:
    """The short "resolved" message that follows an alert when its condition clears."""
    st = st or SLACK
    who = _team_label(a.team, st)
    link = f" · {_link(a.review_url, 'the review', st)}" if a.review_url else ""
    return (f"Resolved: {title(a)} for {who}, {st.esc(a.period)} (spendwatch alert #{a.alert_id}): "
            f"{RESOLVED_WHY.get(a.kind, 'the condition cleared')}.{link}")


def build_resolved(a: AlertMessage) -> dict[str, Any]:
    """The Slack payload of the resolution: one short mrkdwn line."""
    text = resolved_text(a, SLACK)
    return {"text": text[:3900], "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}]}


def console_markup(a: AlertMessage) -> str:
    """The alert for a terminal: rich markup around escaped values."""
    p = _compose(a, CONSOLE)
    figs = "\n".join(f"  {terminal_escape(k)}: {v}" for k, v in p.figures)
    todo = f"[italic]What to do:[/italic] {p.todo}\n" if p.todo else ""
    return (f"[bold]{terminal_escape(title(a))}[/bold]\n{p.what}\n{figs}\n"
            f"[italic]Why it matters:[/italic] {p.why}\n{todo}Details: {CONSOLE.code(p.command)}\n[dim]{_footer(a, CONSOLE)}[/dim]")


