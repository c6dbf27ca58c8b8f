"""Telling people about an alert: Block Kit messages and their delivery to Slack (no database here).

Each message says what happened, the figures with their currency, why it matters, and the
command that shows the detail.  Every value that came from outside spendwatch (team, model,
SKU, file name, description, error text) is escaped with :func:`spendwatch.render.slack_escape`,
so a model called ``<!channel>`` is shown, never obeyed.

Delivery goes to an incoming webhook (one per team, the environment variable named in
spendwatch.toml), or with ``SLACK_BOT_TOKEN`` to the team's ``slack_channel`` through
``chat.postMessage``, or, when nothing is configured, to the console.  :class:`SlackSender`
classifies every answer as sent, retry (connection error, timeout, 408, 429, 5xx, Slack
``ratelimited``/``internal_error``) or failed (every other 4xx, Slack ``channel_not_found`` …),
honours ``Retry-After`` (waits in place up to ``max_retry_after`` seconds, otherwise reports
when to come back), and redacts URLs and tokens from every error it reports.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Literal, Mapping

import httpx

from spendwatch.config import UNALLOCATED, Config
from spendwatch.render import money, plain, slack_escape, terminal_escape
from spendwatch.secrets import install_log_redaction, redact, redact_exception, register

log = logging.getLogger("spendwatch.slack")

CHAT_POST_MESSAGE_URL = "https://slack.com/api/chat.postMessage"
DEFAULT_WEBHOOK_ENV = "SLACK_WEBHOOK_URL"
BOT_TOKEN_ENV = "SLACK_BOT_TOKEN"
ORG = "*"  # the team of organisation-wide alerts (price sources, invoices, ingest, run failures)

# chat.postMessage answers 200 {"ok": false, "error": ...}; these errors will not go away by retrying.
PERMANENT_BOT_ERRORS = frozenset({
    "channel_not_found", "not_in_channel", "is_archived", "invalid_auth", "not_authed", "account_inactive",
    "token_revoked", "token_expired", "no_permission", "missing_scope", "restricted_action", "ekm_access_denied",
    "invalid_blocks", "invalid_blocks_format", "msg_too_long", "no_text", "too_many_attachments", "invalid_arguments",
    "invalid_arg_name", "invalid_charset", "invalid_form_data", "invalid_post_type", "missing_post_type",
    "as_user_not_supported", "team_access_not_granted", "duplicate_channel_not_found", "access_denied",
})
RETRYABLE_BOT_ERRORS = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"})

KIND_TITLES = {
    "threshold_crossed": "Spend threshold crossed",
    "threshold_projected": "Spend threshold: projected to be crossed",
    "dedicated_cheaper": "Dedicated GPUs would be cheaper",
    "invoice_discrepancy": "Invoice does not match the prices in force",
    "price_change": "A provider changed a price you pay",
    "source_stale": "A price source has been failing for over a day",
    "ingest_rejects": "Rows rejected from an export file",
    "run_failure": "The daily spendwatch run failed",
}
_BODY_EXCERPT = 200
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


@dataclass(frozen=True)
class _Style:
    esc: Callable[[Any], str]
    bold: Callable[[str], str]
    code: Callable[[str], str]


def _slack_code(s: str) -> str:
    return "`" + slack_escape(s.replace("`", "'")) + "`"


SLACK = _Style(esc=lambda v: slack_escape(_clip(v)), bold=lambda s: f"*{s}*", code=_slack_code)
CONSOLE = _Style(esc=lambda v: terminal_escape(_clip(v)), bold=lambda s: f"[bold]{s}[/bold]",
                 code=lambda s: f"[cyan]{terminal_escape(s)}[/cyan]")
PLAIN = _Style(esc=lambda v: plain(_clip(v)), bold=lambda s: s, code=lambda s: s)


@dataclass(frozen=True)
class _Parts:
    what: str
    figures: list[tuple[str, str]]
    why: str
    command: str


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
    figures = [("Variable spend", money(spend, cur)), ("Threshold", money(thr, d.get("threshold_currency") or cur))]
    if a.kind == "threshold_crossed":
        over = spend - thr if spend is not None and thr is not None else None
        crossed = f" (crossed on {st.esc(d['crossed_on'])})" if d.get("crossed_on") else ""
        what = f"{who}: variable spend for {month} is {st.bold(money(spend, cur))}, over the monthly threshold of {money(thr, cur)}{crossed}."
        figures += [("Over by", f"{money(over, cur)} ({_pct(ratio - 1 if ratio is not None else None)})"),
                    ("Projected month-end", money(projected, cur))]
        why = (f"Variable spend (serverless GPUs plus per-token APIs) is {_pct(ratio)} of the threshold: the bill at which "
               "steady traffic is usually cheaper on dedicated GPUs. Check the break-even in the review.")
    else:
        when = d.get("projected_cross_date")
        days = d.get("projection_days_used") or d.get("days_with_data")
        what = (f"{who} is projected to cross the monthly threshold of {money(thr, cur)}"
                f"{' on ' + st.bold(st.esc(when)) if when else ''}: {month} would end at {st.bold(money(projected, cur))}.")
        figures += [("Projected month-end", money(projected, cur)), ("Projected to cross on", st.esc(when) if when else "—"),
                    ("Days with data", st.esc(days) if days is not None else "—")]
        pr = (projected / thr) if projected is not None and thr else None
        why = (f"At the daily rate over {st.esc(days) if days is not None else 'the'} days with data, the month ends at {_pct(pr)} of the threshold. "
               "Provider data arrives late, so this is the early warning: act before the bill does.")
    for key, label in (("serverless_gpu", "Serverless GPU"), ("hosted_api", "Hosted APIs")):
        if _dec(d, key) is not None:
            figures.append((label, money(_dec(d, key), cur)))
    if a.team == UNALLOCATED:
        why += " These charges match no attribution rule, so no team sees them: add a rule in spendwatch.toml."
    return _Parts(what, figures, why, _review_cmd(a.team, a.period))


def _dedicated(a: AlertMessage, st: _Style) -> _Parts:
    d, cur = a.details, a.details.get("currency")
    gpu = st.esc(d.get("gpu_class") or a.subject)
    saving = _dec(d, "monthly_saving")
    u, ustar = _dec(d, "utilisation"), _dec(d, "breakeven_utilisation")
    offer = " ".join(st.esc(x) for x in (d.get("dedicated_provider"), d.get("dedicated_sku")) if x)
    gpu_hours = _dec(d, "gpu_seconds") / 3600 if _dec(d, "gpu_seconds") is not None else None
    n = d.get("gpus_needed")
    what = (f"{_team_label(a.team, st)} would save {st.bold(money(saving, cur))} a month in {_month_name(a.period)} "
            f"by running its {gpu} load on dedicated GPUs{' (' + offer + ')' if offer else ''} instead of serverless.")
    figures = [
        ("Serverless cost", f"{money(_dec(d, 'serverless_cost'), cur)}"
                            + (f" ({gpu_hours.quantize(Decimal('0.1')):,} GPU-hours)" if gpu_hours is not None else "")),
        ("Dedicated cost", f"{money(_dec(d, 'dedicated_cost'), cur)}"
                           + (f" ({st.esc(n)} × {money(_dec(d, 'dedicated_monthly'), cur)}/month)" if n is not None else "")),
        ("Saving a month", money(saving, cur)),
        ("Utilisation", f"{_pct(u)} of one GPU"),
        ("Break-even", f"{_pct(ustar)}" + (f" ({st.esc(d['breakeven_gpu_hours'])} GPU-hours)" if d.get("breakeven_gpu_hours") else "")),
    ]
    why = f"Steady use at {_pct(u)} of one {gpu}; break-even is {_pct(ustar)}, so above it a flat monthly price beats paying by the second."
    h = d.get("hybrid")
    if isinstance(h, Mapping) and h.get("best_k") is not None:
        k, hc = h.get("best_k"), h.get("currency") or cur
        if int(k) > 0:
            why += (f" Hybrid plan: {st.esc(k)} dedicated {gpu} for the steady core and serverless for the peaks"
                    f" (peak {st.esc(h.get('peak_demand_gpus'))} GPUs) costs {money(_dec(h, 'cost_at_best'), hc)}"
                    f" against {money(_dec(h, 'cost_at_zero'), hc)} all-serverless, saving {money(_dec(h, 'saving'), hc)}.")
        else:
            why += " Hourly demand is too spiky for a dedicated core: the hybrid plan keeps everything on serverless."
        figures.append(("Hybrid plan", f"{st.esc(k)} dedicated + serverless peaks"))
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
    last_ok = str(d.get("last_ok") or "")[:16] or "never"
    what = (f"Price source {st.bold(st.esc(d.get('source_id') or a.subject))} has failed every attempt since "
            f"{st.esc(str(d.get('failing_since') or '')[:16])} UTC ({st.esc(d.get('failures'))} attempts); last good fetch: {st.esc(last_ok)}.")
    figures = [("Failing since", st.esc(str(d.get("failing_since") or "")[:16])), ("Last success", st.esc(last_ok)),
               ("Failed attempts", st.esc(d.get("failures"))), ("Last error", st.esc(redact(d.get("last_error"))) or "—")]
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


_COMPOSERS: dict[str, Callable[[AlertMessage, _Style], _Parts]] = {
    "threshold_crossed": _threshold, "threshold_projected": _threshold, "dedicated_cheaper": _dedicated,
    "invoice_discrepancy": _invoice, "price_change": _price_change, "source_stale": _source_stale,
    "ingest_rejects": _ingest, "run_failure": _run_failure,
}


def _compose(a: AlertMessage, st: _Style) -> _Parts:
    try:
        return _COMPOSERS[a.kind](a, st)
    except KeyError:
        raise ValueError(f"alert #{a.alert_id}: unknown alert kind {a.kind!r}") from None


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
    return " · ".join(bits)


def summary(a: AlertMessage) -> str:
    """One plain line (not escaped for any medium): what happened."""
    return _compose(a, PLAIN).what


def build_message(a: AlertMessage) -> dict[str, Any]:
    """The Slack payload: Block Kit blocks plus the plain ``text`` fallback used in notifications."""
    p = _compose(a, SLACK)
    title = KIND_TITLES.get(a.kind, a.kind)  # our own text only: the header is plain_text
    fields = [{"type": "mrkdwn", "text": f"*{label}*\n{value}"[:2000]} for label, value in p.figures[:10]]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150], "emoji": False}},
        {"type": "section", "text": {"type": "mrkdwn", "text": p.what[:3000]}},
    ]
    if fields:
        blocks.append({"type": "section", "fields": fields})
    blocks += [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*Why it matters:* {p.why}"[:3000]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*Details:* {SLACK.code(p.command)}"[:3000]}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _footer(a, SLACK)[:3000]}]},
    ]
    text = f"{title}: {p.what} Details: {SLACK.code(p.command)} (spendwatch alert #{a.alert_id})"
    return {"text": text[:3900], "blocks": blocks}


def console_markup(a: AlertMessage) -> str:
    """The alert for a terminal: rich markup around escaped values."""
    p = _compose(a, CONSOLE)
    figs = "\n".join(f"  {terminal_escape(k)}: {v}" for k, v in p.figures)
    return (f"[bold]{terminal_escape(KIND_TITLES.get(a.kind, a.kind))}[/bold]\n{p.what}\n{figs}\n"
            f"[italic]Why it matters:[/italic] {p.why}\nDetails: {CONSOLE.code(p.command)}\n[dim]{_footer(a, CONSOLE)}[/dim]")


# --- routing --------------------------------------------------------------------

@dataclass(frozen=True)
class Destination:
    """Where one alert goes.  ``label`` is safe to store (an env var name or channel); url and token are not."""

    channel: Literal["webhook", "bot", "console"]
    label: str
    url: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    slack_channel: str | None = None

    @property
    def key(self) -> str:
        """Rate limits and outages are per endpoint (webhook URL, or bot channel)."""
        return f"{self.channel}:{self.label}"


@dataclass(frozen=True)
class Routing:
    """Which destination each team's alerts use, from the names in spendwatch.toml and the environment.

    Order: the team's own webhook variable, if it names one and it is set; else, with a bot token and a
    ``slack_channel`` for the team, chat.postMessage to that channel; else the default webhook variable
    (``SLACK_WEBHOOK_URL`` unless ``[defaults] slack_webhook_env`` renames it); else the console.
    Unallocated and organisation-wide alerts use the default.
    """

    team_env: Mapping[str, str]
    team_channel: Mapping[str, str]
    default_env: str = DEFAULT_WEBHOOK_ENV
    urls: Mapping[str, str] = field(default_factory=dict, repr=False)  # env var name -> URL (values are secrets)
    bot_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_config(cls, cfg: Config | None, environ: Mapping[str, str] | None = None, *,
                    bot_token: str | None = None, webhook_urls: Mapping[str, str | None] | None = None) -> "Routing":
        """Read every webhook variable the config names (plus explicit overrides) and register the values as secrets."""
        env = os.environ if environ is None else environ
        default_env = cfg.defaults.slack_webhook_env if cfg else DEFAULT_WEBHOOK_ENV
        team_env = {t.name: cfg.webhook_env(t.name) for t in cfg.teams} if cfg else {}
        team_channel = {t.name: t.slack_channel for t in cfg.teams if t.slack_channel} if cfg else {}
        urls: dict[str, str] = {}
        for name in {default_env, *team_env.values()}:
            if env.get(name):
                urls[name] = env[name].strip()
        for name, value in (webhook_urls or {}).items():
            if value:
                urls[name] = value.strip()
        token = bot_token if bot_token is not None else (env.get(BOT_TOKEN_ENV) or None)
        register(token, *urls.values())
        return cls(team_env=team_env, team_channel=team_channel, default_env=default_env, urls=urls, bot_token=token)

    def secrets(self) -> list[str]:
        return [v for v in (*self.urls.values(), self.bot_token) if v]

    def destination(self, team: str) -> Destination:
        own = self.team_env.get(team)
        if own and own != self.default_env and self.urls.get(own):
            return Destination("webhook", own, url=self.urls[own])
        channel = self.team_channel.get(team)
        if self.bot_token and channel:
            return Destination("bot", channel, token=self.bot_token, slack_channel=channel)
        if self.urls.get(self.default_env):
            return Destination("webhook", self.default_env, url=self.urls[self.default_env])
        return Destination("console", "console")


# --- delivery ---------------------------------------------------------------------

@dataclass(frozen=True)
class Attempt:
    """One request (or console print) and what came of it, for the audit trail."""

    at: datetime
    outcome: Literal["sent", "retry", "failed"]
    status_code: int | None = None
    retry_after: float | None = None
    error: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What became of one alert in one send pass.

    ``status`` is sent, retry (stays pending), failed (permanent: stop retrying) or deferred (not tried in this
    pass: its endpoint is failing or rate-limited for longer than we wait).  ``retry_in`` says how long to wait
    before the next try, when Slack said so (Retry-After).  All text is redacted.
    """

    status: Literal["sent", "retry", "failed", "deferred"]
    channel: str
    destination: str
    status_code: int | None = None
    body: str | None = None
    error: str | None = None
    retry_in: float | None = None
    attempts: tuple[Attempt, ...] = ()


def parse_retry_after(value: str | None, default: float = 1.0) -> float:
    """Seconds to wait from a Retry-After header (delta-seconds, decimals tolerated, or an HTTP date)."""
    if not value:
        return default
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


class _Gate:
    """Per-endpoint 'not before' times, shared by the worker threads, so one 429 slows every request to that endpoint."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._not_before: dict[str, float] = {}

    def wait_time(self, key: str) -> float:
        with self._lock:
            return max(0.0, self._not_before.get(key, 0.0) - time.monotonic())

    def block(self, key: str, seconds: float) -> None:
        with self._lock:
            until = time.monotonic() + seconds
            if until > self._not_before.get(key, 0.0):
                self._not_before[key] = until


class _Breaker:
    """Per-endpoint count of consecutive transient failures in this pass; at the limit, the rest wait for the next pass."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._fails: dict[str, int] = {}

    def reset(self) -> None:
        with self._lock:
            self._fails.clear()

    def open(self, key: str) -> bool:
        with self._lock:
            return self.limit > 0 and self._fails.get(key, 0) >= self.limit

    def record(self, key: str, ok: bool) -> None:
        with self._lock:
            self._fails[key] = 0 if ok else self._fails.get(key, 0) + 1


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class SlackSender:
    """Delivers alert messages; thread-safe, so a send pass can run several deliveries at once."""

    def __init__(
        self,
        routing: Routing,
        *,
        client: httpx.Client | None = None,
        timeout: float = 10.0,
        max_retry_after: float = 5.0,
        max_rate_limit_waits: int = 3,
        breaker_limit: int = 5,
        concurrency: int = 8,
        api_url: str = CHAT_POST_MESSAGE_URL,
        console: Any | None = None,
    ) -> None:
        install_log_redaction()
        self.routing = routing
        self.max_retry_after = max_retry_after
        self.max_rate_limit_waits = max_rate_limit_waits
        self.concurrency = max(1, concurrency)
        self.api_url = api_url
        self._owns_client = client is None
        self._client = client or httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            limits=httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency),
            headers={"User-Agent": "spendwatch-alerts"},
            follow_redirects=False,
        )
        self._gate = _Gate()
        self._breaker = _Breaker(breaker_limit)
        self._console = console
        self._console_lock = threading.Lock()

    # -- lifecycle
    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> "SlackSender":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def begin_pass(self) -> None:
        """A new send pass: endpoints that were failing get another chance."""
        self._breaker.reset()

    def destination(self, team: str) -> Destination:
        return self.routing.destination(team)

    # -- delivery
    def deliver(self, alert: AlertMessage) -> Outcome:
        """Send one alert to its team's destination and classify the answer; never raises for HTTP trouble."""
        dest = self.routing.destination(alert.team)
        if dest.channel == "console":
            return self._to_console(alert, dest)
        payload = build_message(alert)
        headers: dict[str, str] = {}
        if dest.channel == "bot":
            url = self.api_url
            headers["Authorization"] = f"Bearer {dest.token}"
            payload |= {"channel": dest.slack_channel, "unfurl_links": False, "unfurl_media": False,
                        "metadata": {"event_type": "spendwatch_alert",
                                     "event_payload": {"alert_id": alert.alert_id, "occurrence": alert.occurrence, "kind": alert.kind}}}
        else:
            url = dest.url or ""
        secrets = self.routing.secrets()
        attempts: list[Attempt] = []

        def done(status, code=None, body=None, error=None, retry_in=None) -> Outcome:
            return Outcome(status, dest.channel, dest.label, code, body, error, retry_in, tuple(attempts))

        if self._breaker.open(dest.key):
            return done("deferred", error="endpoint failing in this pass; left for the next pass")
        waits = 0
        while True:
            wait = self._gate.wait_time(dest.key)
            if wait > self.max_retry_after:
                return done("deferred", error=f"rate limited: Slack asked to wait {wait:.1f} s", retry_in=wait)
            if wait > 0:
                time.sleep(wait)
            at = _utcnow()
            try:
                resp = self._client.post(url, json=payload, headers=headers)
            except (httpx.UnsupportedProtocol, httpx.InvalidURL) as e:
                err = f"webhook URL in {dest.label} is not usable: {redact_exception(e, secrets)}"
                attempts.append(Attempt(at, "failed", error=err))
                return done("failed", error=err)
            except httpx.TimeoutException as e:
                self._breaker.record(dest.key, ok=False)
                err = f"timeout: {redact_exception(e, secrets)}"
                attempts.append(Attempt(at, "retry", error=err))
                return done("retry", error=err)
            except httpx.TransportError as e:
                self._breaker.record(dest.key, ok=False)
                err = f"connection error: {redact_exception(e, secrets)}"
                attempts.append(Attempt(at, "retry", error=err))
                return done("retry", error=err)
            body = redact(resp.text[:_BODY_EXCERPT], secrets)
            status, error, rate_limited = self._classify(dest, resp, body)
            if rate_limited:
                retry_after = parse_retry_after(resp.headers.get("Retry-After"))
                self._gate.block(dest.key, retry_after)
                attempts.append(Attempt(at, "retry", resp.status_code, retry_after, error))
                waits += 1
                if retry_after <= self.max_retry_after and waits <= self.max_rate_limit_waits:
                    continue  # the gate makes this thread (and the others on this endpoint) wait first
                return done("retry", resp.status_code, body, error, retry_in=retry_after)
            attempts.append(Attempt(at, status, resp.status_code, None, error))
            if status == "retry":
                self._breaker.record(dest.key, ok=False)
            elif status == "sent":
                self._breaker.record(dest.key, ok=True)
            else:
                log.warning("alert #%s: permanent Slack error, not retrying: %s", alert.alert_id, error)
            return done(status, resp.status_code, body, error)

    @staticmethod
    def _classify(dest: Destination, resp: httpx.Response, body: str) -> tuple[str, str | None, bool]:
        """(sent | retry | failed, error, rate_limited) for one HTTP answer."""
        code = resp.status_code
        if code == 429:
            return "retry", f"HTTP 429 rate limited: {body}".strip(), True
        if code == 408 or code >= 500:
            return "retry", f"HTTP {code}: {body}".strip(), False
        if 200 <= code < 300:
            if dest.channel != "bot":
                return "sent", None, False
            try:
                data = resp.json()
            except (json.JSONDecodeError, ValueError):
                return "retry", f"HTTP {code}: chat.postMessage answered with something that is not JSON", False
            if data.get("ok") is True:
                return "sent", None, False
            err = str(data.get("error") or "unknown_error")
            if err == "ratelimited":
                return "retry", "chat.postMessage: ratelimited", True
            if err in RETRYABLE_BOT_ERRORS:
                return "retry", f"chat.postMessage: {err}", False
            return "failed", f"chat.postMessage: {err}" + ("" if err in PERMANENT_BOT_ERRORS else " (unknown error, treated as permanent)"), False
        if 300 <= code < 400:
            return "failed", f"HTTP {code}: Slack redirected the request; check the webhook URL in {dest.label}", False
        return "failed", f"HTTP {code}: {body}".strip(), False

    def _to_console(self, alert: AlertMessage, dest: Destination) -> Outcome:
        from rich.console import Console
        from rich.panel import Panel

        with self._console_lock:
            console = self._console or Console(highlight=False)
            console.print(Panel(console_markup(alert), title=f"spendwatch alert #{alert.alert_id}", expand=False))
        return Outcome("sent", "console", dest.label, attempts=(Attempt(_utcnow(), "sent"),))
