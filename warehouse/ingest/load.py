"""The transactional load of one delivery, and of every export under some paths."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Literal

import duckdb

from spendwatch.core.config import Config
from spendwatch.core.errors import SpendwatchError, UsageError
from warehouse import lake
from warehouse.ingest import deliveries
from warehouse.ingest.files import file_sha256, group_deliveries, iter_export_files
from warehouse.ingest.formats import Loader, discover_loaders, resolve_loader
from warehouse.ingest.settings import INGEST_MEMORY_LIMIT, _ingest_settings, _set
from warehouse.ingest.sqlkit import one_line
from warehouse.ingest.staging import (
    FileLoad, LineSink, check_staged, create_stage_tables, drop_stage_tables, insert_lines, stage_file,
)
from warehouse.ingest.contract import UnreadableFile


@dataclass
class IngestResult:
    """What one export file contributed: rows read, loaded, rejected, noted, replaced, and the money loaded."""

    path: Path
    file_hash: str
    format: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rows_replaced: int = 0  # lines of earlier deliveries this one superseded (moved to the archive)
    rows_noted: int = 0  # loaded rows with a data-quality note
    rows_restored: int = 0  # lines brought back from the archive (bytes delivered again, A -> B -> A)
    period_start: datetime | None = None
    period_end: datetime | None = None
    totals: dict[str, Decimal] = field(default_factory=dict)  # BilledCost loaded, per BillingCurrency
    skipped_duplicate: bool = False  # identical bytes of a delivery already current: nothing changed
    delivery_id: int | None = None
    error: str | None = None  # set only by ingest_paths(errors="collect") for a file that failed


# --------------------------------------------------------------------------- ingest


def ingest_file(
    con: duckdb.DuckDBPyConnection,
    path: str | os.PathLike,
    cfg: Config,
    fmt: str = "auto",
    *,
    memory_limit: str | None = INGEST_MEMORY_LIMIT,
    date_order: str | None = None,
) -> IngestResult:
    """Load one export file as one delivery (see ``ingest_delivery``)."""
    return ingest_delivery(con, [Path(path)], cfg, fmt, memory_limit=memory_limit, date_order=date_order)[0]


def ingest_delivery(
    con: duckdb.DuckDBPyConnection,
    files: list[Path],
    cfg: Config,
    fmt: str = "auto",
    *,
    manifest: Path | None = None,
    memory_limit: str | None = INGEST_MEMORY_LIMIT,
    date_order: str | None = None,
) -> list[IngestResult]:
    """Load one delivery (one file, or the parts a manifest names) into billing_line_items; one result per file.

    Bytes already delivered are not read again: when their delivery is current for
    every scope nothing changes (``skipped_duplicate``), otherwise it becomes current
    again (``rows_restored``).  New bytes are staged and inserted, and the
    delivery supersedes, scope by scope, the one current before it (``rows_replaced``),
    all in one transaction that is rolled back on any error.  A delivery that fails on
    its input is recorded as failed (``spendwatch files list``) and the error raised.
    """
    if date_order not in (None, "dmy", "mdy"):
        raise UsageError(f"date order must be dmy or mdy, not {date_order!r}")
    for p in files:
        if not p.is_file():
            raise UsageError(f"{p}: no such file")
        if p.stat().st_size == 0:
            raise UnreadableFile(f"{p}: empty file")
    hashes = [file_sha256(p) for p in files]
    content_hash = hashes[0] if manifest is None else deliveries.parts_hash(hashes)
    where = str((manifest or files[0]).resolve())
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    known = deliveries.find_loaded(con, content_hash)
    if known is not None:
        return _again(con, known, files, hashes, memory_limit, now)
    try:
        loaders = [resolve_loader(p, fmt) for p in files]
        if len({lo.format for lo in loaders}) > 1:
            raise UsageError(f"{where}: the parts of one delivery are of several formats "
                             f"({', '.join(sorted({lo.format for lo in loaders}))})")
        loader = loaders[0]

        def work() -> list[IngestResult]:
            deliveries.scope_pending(con, {f: lo.scope for f, lo in discover_loaders().items()})
            did, arrival = deliveries.open_delivery(con, content_hash, loader.format, where, len(files), now)
            results = [
                _load_file(con, FileLoad(p, loader.format, str(p.resolve()), h, now, did, date_order), loader)
                for p, h in zip(files, hashes)
            ]
            results[-1].rows_replaced = deliveries.record_scopes(con, did, loader.scope, arrival)
            for r in results:
                con.execute("UPDATE ingested_files SET rows_replaced = ? WHERE file_hash = ?",
                            [r.rows_replaced, r.file_hash])
            return results

        # On a lake another ingest may commit first: the delivery is loaded again with fresh ids.
        with _ingest_settings(con, memory_limit):
            try:
                results = lake.transaction(con, work, turn="ingest")
            finally:
                drop_stage_tables(con)  # after the commit or rollback (an aborted transaction runs nothing)
    except UsageError as e:
        lake.transaction(con, lambda: deliveries.record_failure(con, content_hash, fmt, where, len(files),
                                                                one_line(str(e)), now), turn="ingest")
        raise
    return results


def _again(con: duckdb.DuckDBPyConnection, known: deliveries.Delivery, files: list[Path], hashes: list[str],
           memory_limit: str | None, now: datetime) -> list[IngestResult]:
    """Bytes delivered before: nothing changes if they are current, else they become current again."""
    loaders = discover_loaders()
    loader = loaders.get(known.format)
    scope = loader.scope if loader else None
    moved = None
    if scope is not None:
        with _ingest_settings(con, memory_limit):
            moved = lake.transaction(con, lambda: deliveries.redeliver(con, known, scope, now), turn="ingest")
    results = [IngestResult(path=p, file_hash=h, format=known.format, delivery_id=known.delivery_id,
                            skipped_duplicate=moved is None) for p, h in zip(files, hashes)]
    if moved is not None:
        results[-1].rows_replaced, results[-1].rows_restored = moved
    return results


def _load_file(con: duckdb.DuckDBPyConnection, load: FileLoad, loader: Loader) -> IngestResult:
    """The steps of one file of a delivery; the caller owns the transaction."""
    path, file_hash, source_file, now = load.path, load.file_hash, load.source_file, load.now
    clash = con.execute(
        "SELECT file_path, file_hash = ? FROM ingested_files WHERE left(file_hash, 16) = left(?, 16)",
        [file_hash, file_hash],
    ).fetchone()
    if clash and clash[1]:  # the same bytes inside another delivery (a part named by two manifests)
        raise UsageError(f"{path}: these bytes were already ingested as {clash[0]} in another delivery; "
                         "forget that one first (spendwatch files forget)")
    if clash:  # its line ids would repeat the other file's (see LINE_ID_SQL); the input's doing, not a bug
        raise UsageError(f"{path}: its sha256 starts like that of the ingested {clash[0]}; line ids would clash")
    create_stage_tables(con)
    sink = LineSink(con, load)
    options = {"date_order": load.date_order} if load.date_order else None
    rows_read = stage_file(con, path, loader, sink, options)

    if sink.inserted is None:  # the loader staged its lines: insert them
        loaded, rejected = check_staged(con, path, rows_read)
        if rows_read is None:
            rows_read = loaded + rejected
        # Row order no longer matters (x_source_row is set): let the big insert run in parallel.
        _set(con, "preserve_insertion_order", "false")
        try:
            insert_lines(con, load)
        finally:
            _set(con, "preserve_insertion_order", "true")
        summary_of, summary_params = "stage_lines", []
    else:  # the loader inserted its lines directly
        loaded, rejected = sink.finish(rows_read)
        if rows_read is None:
            rows_read = loaded + rejected
        summary_of, summary_params = "main.billing_line_items WHERE x_source_hash = ?", [file_hash]

    totals: dict[str, Decimal] = {}
    period_start = period_end = None
    for cur, total, start, end in con.execute(
        f"SELECT BillingCurrency, sum(BilledCost), min(ChargePeriodStart), max(ChargePeriodEnd) FROM {summary_of} "
        "GROUP BY 1 ORDER BY 1",
        summary_params,
    ).fetchall():
        totals[cur] = Decimal(total)
        period_start = start if period_start is None else min(period_start, start)
        period_end = end if period_end is None else max(period_end, end)
    con.execute(
        "INSERT INTO ingest_rejects (file_hash, file_path, row_number, column_name, reason, raw, rejected_at) "
        "SELECT ?, ?, row_number, column_name, reason, raw, ? FROM stage_rejects ORDER BY row_number NULLS FIRST, rowid",
        [file_hash, source_file, now],
    )
    con.execute(
        "INSERT INTO ingest_notes (file_hash, file_path, row_number, column_name, note, raw, noted_at) "
        "SELECT ?, ?, row_number, column_name, note, raw, ? FROM stage_notes ORDER BY row_number NULLS FIRST, rowid",
        [file_hash, source_file, now],
    )
    (noted,) = con.execute("SELECT count(DISTINCT row_number) FROM stage_notes WHERE row_number IS NOT NULL").fetchone()
    con.execute(
        "INSERT INTO ingested_files (file_hash, file_path, format, rows_read, rows_loaded, rows_rejected, "
        "rows_replaced, period_start, period_end, ingested_at, delivery_id, rows_noted) "
        "VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)",
        [file_hash, source_file, load.format, rows_read, loaded, rejected, period_start, period_end, now,
         load.delivery_id, noted],
    )
    (in_table,) = con.execute(
        "SELECT count(*) FROM billing_line_items WHERE x_source_hash = ?", [file_hash]
    ).fetchone()
    if in_table != loaded or rows_read != loaded + rejected:
        raise SpendwatchError(
            f"{path}: row accounting failed: read {rows_read}, loaded {in_table} (staged {loaded}), rejected {rejected}"
        )
    return IngestResult(
        path=path, file_hash=file_hash, format=load.format, rows_read=rows_read, rows_loaded=loaded,
        rows_rejected=rejected, rows_noted=int(noted), period_start=period_start, period_end=period_end,
        totals=totals, delivery_id=load.delivery_id,
    )


def rejected_rows(con: duckdb.DuckDBPyConnection, file_hash: str, limit: int = 50) -> list[tuple]:
    """The first ``limit`` rejected rows of one ingested file, each with every check it failed.

    One tuple per failed check: (row, column, reason, raw cell up to 120 characters), by
    row and then in the order the loader checked them; file-level rejects (no row) first.
    """
    return con.execute(
        """SELECT row_number, column_name, reason, left(raw, 120) FROM ingest_rejects
           WHERE file_hash = $hash AND (row_number IS NULL OR row_number IN (
               SELECT DISTINCT row_number FROM ingest_rejects WHERE file_hash = $hash AND row_number IS NOT NULL
               ORDER BY row_number LIMIT $limit))
           ORDER BY row_number NULLS FIRST, rowid""",
        {"hash": file_hash, "limit": limit},
    ).fetchall()


def noted_rows(con: duckdb.DuckDBPyConnection, file_hash: str, limit: int = 50) -> list[tuple]:
    """The first ``limit`` data-quality notes of one ingested file: (row, column, note, raw up to 120 characters)."""
    return con.execute(
        "SELECT row_number, column_name, note, left(raw, 120) FROM ingest_notes WHERE file_hash = ? "
        "ORDER BY row_number NULLS FIRST, rowid LIMIT ?", [file_hash, limit]).fetchall()


def ingest_paths(
    con: duckdb.DuckDBPyConnection,
    paths: Iterable[str | os.PathLike],
    cfg: Config,
    fmt: str = "auto",
    progress: Callable[[IngestResult], None] | None = None,
    errors: Literal["raise", "collect"] = "raise",
    date_order: str | None = None,
    skipped: Callable[[Path, str], None] | None = None,
) -> list[IngestResult]:
    """Ingest every export under ``paths``, one delivery (one transaction) at a time.

    Files are taken in the order ``iter_export_files`` gives (sorted by path); the parts a
    manifest names form one delivery, taken where the manifest sorts.  A path that leaves
    its folder through a symlink is reported to ``skipped`` (path, reason) and not read.
    ``date_order`` (dmy / mdy) applies to every file; otherwise the per-source
    ``[exports] date_order`` of the config, for files under a path it names.

    With ``errors="raise"`` the first file that cannot be ingested stops the run with
    a UsageError naming it (files before it stay ingested).  With ``"collect"`` such a
    file yields an IngestResult whose ``error`` is that one-line message and the run
    goes on.  Failures that are not the input's fault (SpendwatchError that is not a
    UsageError, bugs) always raise.  ``progress`` is called with each file's result.
    """
    if errors not in ("raise", "collect"):
        raise UsageError(f"errors must be 'raise' or 'collect', not {errors!r}")
    results: list[IngestResult] = []

    def report(res: IngestResult) -> None:
        results.append(res)
        if progress:
            progress(res)

    files: list[Path] = []
    for raw in paths:
        try:
            files.extend(f for f in iter_export_files([raw], skipped=skipped) if f not in files)
        except UsageError as e:
            if errors == "raise":
                raise
            report(IngestResult(path=Path(raw), file_hash="", format=fmt, error=str(e)))
    for group in group_deliveries(files):
        try:
            order = date_order or (cfg.date_order_for(group.files[0]) if group.files else None)
            if group.problem:
                raise UsageError(group.problem)
            for res in ingest_delivery(con, group.files, cfg, fmt, manifest=group.manifest, date_order=order):
                report(res)
        except UsageError as e:
            if errors == "raise":
                raise
            for f in group.files or [group.manifest]:
                report(IngestResult(path=f, file_hash="", format=fmt, error=str(e)))
    return results


def forget_delivery(con: duckdb.DuckDBPyConnection, ref: str) -> tuple[deliveries.Delivery, int, int]:
    """Forget the delivery ``ref`` names (path, sha256 or id), in one transaction; see ``deliveries.forget``.

    Returns (the delivery, lines removed, lines restored).  Its bytes can then be ingested
    again (e.g. with the right ``--format``).
    """
    delivery = deliveries.resolve(con, ref)
    loader = discover_loaders().get(delivery.format)
    scope = loader.scope if loader else deliveries.scope_sql("unknown", ("x_source_hash",))
    def work() -> tuple[int, int]:
        deliveries.scope_pending(con, {f: lo.scope for f, lo in discover_loaders().items()})
        return deliveries.forget(con, delivery, scope)

    removed, restored = lake.transaction(con, work, turn="ingest")
    return delivery, removed, restored
