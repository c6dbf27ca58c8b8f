"""Keeping webhook URLs and tokens out of logs, metadata and stored errors.

A Slack incoming-webhook URL *is* a credential: anyone holding it can post to the channel.
httpx puts the request URL into its log lines and into some exception messages, so every
error string spendwatch stores or logs goes through :func:`redact`, and the ``httpx`` logger
carries a :class:`RedactingFilter`.  Secrets are registered when they are read from the
environment (:func:`register`); well-known shapes (Slack webhook URLs, ``xox…`` tokens,
bearer headers) are redacted even when nobody registered them.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Iterable
from urllib.parse import quote, urlsplit

MASK = "[redacted]"

# Shapes that are secret wherever they appear.
_PATTERNS = (
    re.compile(r"https?://hooks\.slack(?:-gov)?\.com/[A-Za-z0-9/_%.-]*[A-Za-z0-9_]", re.IGNORECASE),
    re.compile(r"\bxox[abposre]-[A-Za-z0-9-]{6,}"),
    re.compile(r"\bxapp-[A-Za-z0-9-]{6,}"),
    re.compile(r"(?i)(authorization:\s*bearer\s+)[^\s'\"]+"),
    re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/-]{12,}=*"),
)
_MIN_SECRET = 8  # shorter values are too likely to occur innocently to be masked everywhere

_lock = threading.Lock()
_registered: set[str] = set()


def _variants(secret: str) -> set[str]:
    """The secret as written, URL-quoted, and (for a URL) its path, which is the secret part of a webhook."""
    out = {secret, quote(secret, safe=""), quote(secret, safe=":/")}
    try:
        parts = urlsplit(secret)
    except ValueError:
        parts = None
    if parts and parts.scheme in ("http", "https") and len(parts.path) >= 12:
        out.add(parts.path)
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


def redact(text: object, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every given or registered secret, and every known secret shape, replaced by ``[redacted]``."""
    if text is None:
        return ""
    s = str(text)
    values: set[str] = set(registered())
    for sec in secrets:
        if sec and len(sec) >= _MIN_SECRET:
            values.update(_variants(sec))
    # Longest first, so a URL is masked whole before its path would be.
    for v in sorted(values, key=len, reverse=True):
        if v in s:
            s = s.replace(v, MASK)
    for i, pat in enumerate(_PATTERNS):
        s = pat.sub((lambda m: m.group(1) + MASK) if pat.groups else MASK, s)
    return s


def redact_exception(exc: BaseException, secrets: Iterable[str | None] = ()) -> str:
    """A one-line, redacted description of an exception: never ``str(exc)`` unredacted (httpx includes the URL)."""
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return redact(f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__, secrets)


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
LOGGERS = ("httpx", "httpcore", "spendwatch", "warehouse", "pipelines")


def install_log_redaction(names: Iterable[str] = LOGGERS) -> None:
    """Attach the redacting filter to the loggers that may see URLs or tokens, and their existing children (idempotent).

    A logger's filters apply only to records logged on that very logger, so children that exist now
    (``httpcore.http11``, ``spendwatch.slack`` …) get the filter too.  httpx logs every request URL on ``httpx``.
    """
    prefixes = tuple(names)
    existing = [n for n in list(logging.root.manager.loggerDict) if any(n == p or n.startswith(p + ".") for p in prefixes)]
    for name in {*prefixes, *existing}:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
