"""The one redaction module: credentials never reach logs, metadata, stored errors or a terminal.

A Slack incoming-webhook URL *is* a credential (anyone holding it can post), so are bot tokens,
provider admin keys and a MotherDuck token in a warehouse DSN.  Every error string spendwatch
stores, logs or prints goes through :func:`redact`, always on the *whole* text: truncate only
what :func:`redact` returned (:func:`excerpt` does both in that order), or a secret cut in half
by the truncation would escape the patterns that recognise it.

Two layers:

* values registered when they are read from the environment (:func:`register`), masked wherever
  they appear, also URL-quoted, and for a URL its path and query (the secret parts of a webhook);
* shapes that are secret wherever they appear, registered or not: credentials in a URL
  (``https://user:pass@host``), query-string parameters whose name says token / key / secret /
  password / signature (``?motherduck_token=…``, ``&api_key=…``), secret path segments (Slack,
  Discord and Teams webhook paths, Telegram ``/bot<token>``, and any long mixed-case
  letters-and-digits segment of a URL), Slack ``xox…``/``xapp-`` tokens, provider keys
  (``sk-…``, ``sk-ant-…``, ``rpa_…``), JWTs (MotherDuck tokens) and bearer headers.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Iterable
from urllib.parse import quote, unquote, urlsplit

MASK = "[redacted]"
_MIN_SECRET = 8  # shorter values are too likely to occur innocently to be masked everywhere

_SECRET_PARAM = r"[A-Za-z0-9_.-]*(?:token|key|secret|passw(?:or)?d|pwd|signature|sig|auth|credential|session)[A-Za-z0-9_.-]*"
_TOKENISH = re.compile(r"(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[a-z])(?=[A-Za-z0-9_-]*[A-Z])[A-Za-z0-9_-]{20,}")

# (pattern, replacement): a replacement keeps the group(s) that are not secret.
_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    # credentials in a URL: scheme://user:password@host, scheme://token@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/@'\"<>]+@"), r"\1" + MASK + "@"),
    # webhook URLs whose whole path is the credential
    (re.compile(r"(?i)https?://hooks\.slack(?:-gov)?\.com/[^\s'\"<>]*[A-Za-z0-9_]"), MASK),
    (re.compile(r"(?i)(https?://[^\s/'\"<>]*discord(?:app)?\.com/api/webhooks/)[^\s'\"<>]+"), r"\1" + MASK),
    (re.compile(r"(?i)(https?://[^\s/'\"<>]*(?:webhook\.office|logic\.azure)\.com/)[^\s'\"<>]+"), r"\1" + MASK),
    (re.compile(r"(?i)(/bot)\d{5,}:[A-Za-z0-9_-]{20,}"), r"\1" + MASK),
    # path segments after services/ or webhooks/ (a Slack-compatible stand-in, a proxy) are credentials
    (re.compile(r"(?i)(/(?:services|webhooks?|hooks)/)[^\s?#'\"<>]+"), r"\1" + MASK),
    # query-string (and key=value DSN) parameters named like secrets
    (re.compile(r"(?i)([?&;]|\b)(" + _SECRET_PARAM + r")=([^&\s'\"<>#]+)"), r"\1\2=" + MASK),
    (re.compile(r"(?i)\b(" + _SECRET_PARAM + r")(['\"]?\s*[:=]\s*)(['\"]?)[A-Za-z0-9._~+/=-]{8,}\3"), r"\1\2" + MASK),  # also JSON
    # tokens with a known shape
    (re.compile(r"\bxox[abposre]-[A-Za-z0-9-]{6,}"), MASK),
    (re.compile(r"\bxapp-[A-Za-z0-9-]{6,}"), MASK),
    (re.compile(r"\b(?:sk-ant-[A-Za-z0-9_-]{6,}|sk-[A-Za-z0-9_-]{6,}|rpa_[A-Za-z0-9]{6,})"), MASK),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*)?"), MASK),  # JWT (MotherDuck tokens)
    (re.compile(r"(?i)(authorization:\s*(?:bearer|basic|token)\s+)[^\s'\"]+"), r"\1" + MASK),
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/-]{12,}=*"), r"\1" + MASK),
)
_URL = re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+")

_lock = threading.Lock()
_registered: set[str] = set()


def _variants(secret: str) -> set[str]:
    """The secret as written, URL-quoted and unquoted, and for a URL its path and its query string."""
    out = {secret, quote(secret, safe=""), quote(secret, safe=":/"), unquote(secret)}
    try:
        parts = urlsplit(secret)
    except ValueError:
        parts = None
    if parts and parts.scheme and parts.netloc:
        if len(parts.path) >= 12:
            out.add(parts.path)
        if parts.query:
            out.add(parts.query)
        if parts.password:
            out.add(parts.password)
    return {v for v in out if len(v) >= _MIN_SECRET}


def register(*secrets: str | None) -> None:
    """Remember secrets read from the environment, so every later log line and error is masked."""
    with _lock:
        for s in secrets:
            if s and len(s) >= _MIN_SECRET:
                _registered.update(_variants(s))


def registered() -> frozenset[str]:
    with _lock:
        return frozenset(_registered)


def _mask_url_segments(m: re.Match[str]) -> str:
    url = m.group(0)
    head, sep, rest = url.partition("://")
    host, slash, path = rest.partition("/")
    if not slash:
        return url
    return f"{head}{sep}{host}/" + _TOKENISH.sub(MASK, path)


def redact(text: object, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every given or registered secret, and every secret shape, replaced by ``[redacted]``.

    Always redact the whole text, then cut it (see :func:`excerpt`).
    """
    if text is None:
        return ""
    s = str(text)
    values: set[str] = set(registered())
    for sec in secrets:
        if sec and len(sec) >= _MIN_SECRET:
            values.update(_variants(sec))
    for v in sorted(values, key=len, reverse=True):  # longest first: a URL is masked whole before its path
        if v in s:
            s = s.replace(v, MASK)
    for pat, repl in _SHAPES:
        s = pat.sub(repl, s)
    return _URL.sub(_mask_url_segments, s)


def excerpt(text: object, limit: int, secrets: Iterable[str | None] = ()) -> str:
    """Redact, *then* cut to ``limit`` characters (with an ellipsis when cut)."""
    s = redact(text, secrets)
    return s if len(s) <= limit else s[: max(0, limit - 1)] + "…"


def redact_exception(exc: BaseException, secrets: Iterable[str | None] = ()) -> str:
    """A one-line, redacted description of an exception: never ``str(exc)`` unredacted (HTTP clients include the URL)."""
    text = redact(str(exc), secrets).strip()
    msg = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


def redact_dsn(dsn: object) -> str:
    """A warehouse location safe to print: a MotherDuck DSN keeps its database name, never its token."""
    return redact(dsn)


class RedactingFilter(logging.Filter):
    """Masks registered secrets and secret shapes in a log record's final message (and its exception text)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to logging's own error handling
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            if redact(str(exc)) != str(exc):  # the traceback would print the secret: keep one masked line instead
                record.msg = f"{record.getMessage()} ({redact_exception(exc)})"
                record.args, record.exc_info, record.exc_text = None, None, None
        return True


_FILTER = RedactingFilter()
LOGGERS = ("httpx", "httpcore", "slack_sdk", "urllib3", "spendwatch", "warehouse", "pipelines", "scrapers")


def install_log_redaction(names: Iterable[str] = LOGGERS) -> None:
    """Attach the redacting filter to the loggers that may see URLs or tokens, and their existing children (idempotent).

    A logger's filters apply only to records logged on that very logger, so children that exist now
    (``httpcore.http11``, ``slack_sdk.webhook.client`` …) get the filter too.
    """
    prefixes = tuple(names)
    existing = [n for n in list(logging.root.manager.loggerDict) if any(n == p or n.startswith(p + ".") for p in prefixes)]
    for name in {*prefixes, *existing}:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
