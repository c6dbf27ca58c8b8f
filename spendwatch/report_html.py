"""Moved to ``spendwatch.review.html`` (kept until the last callers are updated)."""

from spendwatch.review.html import render_html, team_anchor as _anchor  # noqa: F401
