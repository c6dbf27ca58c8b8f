"""Export loaders: one module per format, each turning one export file into canonical billed lines.

The contract (the ingest framework in ``warehouse.ingest`` drives it):

``FORMAT: str``
    The format id, e.g. ``"focus"``, ``"openai_costs"``.  Stored in ``x_source_format``.

``sniff(path: Path, head: bytes) -> bool``
    Decide from the *content* (the first 64 KiB in ``head``, already gunzipped) whether
    this loader reads the file.  Never from the file name alone.

``PRIORITY: int`` (optional, default 0)
    Breaks ties when several loaders' ``sniff`` claim one file: the highest wins, and a
    tie at the top is a usage error asking for an explicit ``--format``.

``SCOPE: tuple[str, ...]`` (optional)
    What a file of this format restates: SQL expressions over billing_line_items columns
    whose values, with the format id, make a line's scope key (e.g. FOCUS:
    ``x_provider, BillingAccountId, BillingPeriodStart``).  The newest delivery of each
    scope key is its truth: its lines replace every line of that scope from earlier
    deliveries (see ``warehouse.ingest.deliveries``).  Default: provider and day.

``stage(con, path: Path) -> int | None``
    Read the file with DuckDB's native readers (``read_csv``, ``read_json``,
    ``read_parquet``) and INSERT INTO the temp tables the framework created:

    * ``stage_lines``: the columns in ``STAGE_COLUMNS`` (all of ``billing_line_items``
      except the ones the framework fills: x_line_id,
      x_source_format, x_source_file, x_source_hash, x_ingested_at, x_delivery_id).
      ``x_source_row`` is the 1-based data row (or JSON bucket/result ordinal) in the file,
      unique within the file, and ``x_natural_key`` identifies the charge (provider + the
      grouping keys + the period); what a file replaces is decided by ``SCOPE``, not by it.
    * ``stage_rejects(row_number INTEGER, column_name VARCHAR, reason VARCHAR, raw VARCHAR)``:
      every row whose money, currency, dates or identity cannot be read, with the reason.
    * ``stage_notes(row_number INTEGER, column_name VARCHAR, note VARCHAR, raw VARCHAR)``:
      data-quality notes on rows that load (row NULL: the whole file), e.g. a tag key
      trimmed into a duplicate, an odd spelling, an amount rounded.

    Every data row of the file ends in exactly one of the two tables
    (read = loaded + rejected).  Return the number of data rows read, when the loader
    knows it, so the framework checks that equation against an independent count
    (``None``: the framework counts the staged and rejected rows).  Raise
    ``UnreadableFile`` (``warehouse.ingest.contract``) if the file cannot be read at all.

``stage(con, path: Path, lines: LineSink) -> int | None`` (the direct form)
    A loader whose ``stage`` takes ``lines`` skips the staged copy: it calls
    ``lines.insert(select_sql, params, columns)`` once with ONE ``SELECT`` yielding some
    of the ``STAGE_COLUMNS`` (at least ``x_source_row`` and ``x_natural_key``), and the
    framework inserts it straight into ``billing_line_items`` with the line id and the
    provenance.  A row with a NULL ``x_natural_key`` is a reject: after
    ``insert`` its row numbers are in the temp table ``stage_rejected(x_source_row)``,
    and the loader writes one ``stage_rejects`` row per failed check for each of them.
    The same checks, transaction and rollback apply (see ``warehouse.ingest.LineSink``).
    Likewise a row whose pseudo-column ``x_noted`` is true loads and is listed in
    ``stage_noted(x_source_row)`` for the loader to write its ``stage_notes``.

``stage(..., options: dict)`` (optional keyword)
    A loader whose ``stage`` takes ``options`` gets the user's reading options, today
    ``{"date_order": "dmy" | "mdy"}`` (``--date-order``, ``[exports.date_order]``).

The eight provider loaders are declarations (``warehouse.loaders._declared.Declared``):
the read, the checks with their reasons, the line SQL; ``stage = LOADER.stage``.
"""

from __future__ import annotations

# Scope parts the loaders share (SQL over billing_line_items columns): the UTC day a line is for.
DAY = "strftime(ChargePeriodStart, '%Y-%m-%d')"
