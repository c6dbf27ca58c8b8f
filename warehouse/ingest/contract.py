"""What the ingest framework and the format loaders (``warehouse.loaders``) share: the columns of
``billing_line_items`` the framework fills, and the error a loader raises for a file it cannot read.

It lives with the framework, so the loaders depend on the framework and never the other way round.
"""

from __future__ import annotations

from spendwatch.core.errors import UsageError

FRAMEWORK_COLUMNS = (
    "x_line_id",
    "x_source_format",
    "x_source_file",
    "x_source_hash",
    "x_ingested_at",
    "x_delivery_id",
)


class UnreadableFile(UsageError):
    """The file cannot be read at all.  The message names the file and the reason."""
