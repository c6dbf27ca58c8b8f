"""Export loaders: one module per format, each turning one export file into staged canonical rows.

The contract (the ingest framework in ``warehouse.ingest`` drives it):

``FORMAT: str``
    The format id, e.g. ``"focus"``, ``"openai_costs"``.  Stored in ``x_source_format``.

``sniff(path: Path, head: bytes) -> bool``
    Decide from the *content* (the first 64 KiB in ``head``, already gunzipped) whether
    this loader reads the file.  Never from the file name alone.

``stage(con, path: Path) -> None``
    Read the file with DuckDB's native readers (``read_csv``, ``read_json``,
    ``read_parquet``) and INSERT INTO the temp tables the framework created:

    * ``stage_lines``: the columns in ``STAGE_COLUMNS`` (all of ``billing_line_items``
      except the ones the framework fills: x_line_id, x_team, x_attribution_rule,
      x_source_format, x_source_file, x_source_hash, x_ingested_at).  ``x_source_row`` is
      the 1-based data row (or JSON bucket/result ordinal) in the file, and
      ``x_natural_key`` identifies the charge across re-deliveries (provider + the
      grouping keys + the period), so an overlapping export replaces instead of adds.
    * ``stage_rejects(row_number INTEGER, column_name VARCHAR, reason VARCHAR, raw VARCHAR)``:
      every row that cannot be parsed or fails validation, with the reason.

    Every data row of the file ends in exactly one of the two tables
    (read = loaded + rejected).  Raise ``UnreadableFile`` if the file cannot be read at all.
"""

from __future__ import annotations

from spendwatch.errors import UsageError

FRAMEWORK_COLUMNS = (
    "x_line_id",
    "x_team",
    "x_attribution_rule",
    "x_source_format",
    "x_source_file",
    "x_source_hash",
    "x_ingested_at",
)


class UnreadableFile(UsageError):
    """The file cannot be read at all.  The message names the file and the reason."""
