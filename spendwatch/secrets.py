"""Kept for the imports that predate :mod:`spendwatch.core.redact`, the one redaction module."""

from spendwatch.core.redact import (  # noqa: F401
    LOGGERS, MASK, RedactingFilter, excerpt, install_log_redaction, redact, redact_dsn, redact_exception, register,
    registered,
)
