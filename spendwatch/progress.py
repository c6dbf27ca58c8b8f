"""Progress bars for the long CLI operations: refreshing every price source, ingesting exports, building models.

:func:`track` is a context manager that yields a :class:`Tracker`.  On a terminal
(``sys.stderr.isatty()``) the tracker drives a rich progress bar on stderr, which is
removed when the operation ends; anywhere else (pipes, cron, CI, Dagster) it does
nothing at all, so output stays clean.  The tracker's callbacks match the hooks the
operations already offer:

    with track("prices", total=len(all_sources())) as t:
        operations.refresh_prices(con, ..., on_done=t.on_fetch)          # FetchOutcome
    with track("ingest", total=len(files), labels=[f.name for f in files]) as t:
        warehouse.ingest.ingest_paths(con, files, cfg, progress=t.on_file)  # IngestResult
    with track("models", total=len(names)) as t:
        warehouse.models.build(con, project, on_model=t.on_model)        # BuildResult

Ingest progress is per file: while a large file loads, the bar names it and the
spinner and elapsed time keep moving (DuckDB's own progress bar stays off, as the
ingest settings require).
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator, Sequence, TextIO

from spendwatch.render import terminal_escape

if TYPE_CHECKING:  # only for type hints: importing them here would pull in the scrapers and the warehouse
    from scrapers.fetch import FetchOutcome
    from warehouse.ingest import IngestResult
    from warehouse.models import BuildResult


def is_interactive(stream: TextIO | None = None) -> bool:
    """Whether progress should be drawn: the stream (default stderr) is a terminal."""
    s = stream if stream is not None else sys.stderr
    try:
        return bool(s.isatty())
    except (AttributeError, ValueError):  # closed or replaced streams
        return False


class Tracker:
    """Advances one progress task per finished item; a no-op when there is no progress bar."""

    def __init__(self, progress: Any = None, task: Any = None, labels: Sequence[str] = (), description: str = ""):
        self._progress = progress
        self._task = task
        self._labels = list(labels)
        self._description = description
        self.done = 0
        self.failed = 0

    @property
    def active(self) -> bool:
        """True when a progress bar is being drawn."""
        return self._progress is not None

    def advance(self, label: str | None = None, ok: bool = True) -> None:
        """One item finished; ``label`` (untrusted text allowed) is shown beside the bar."""
        self.done += 1
        if not ok:
            self.failed += 1
        if self._progress is None:
            return
        # Show what runs next when the order is known (files), else what just finished.
        nxt = self._labels[self.done] if self.done < len(self._labels) else label
        status = f"{self._description}" + (f" ({self.failed} failed)" if self.failed else "")
        self._progress.update(self._task, advance=1, description=terminal_escape(status),
                              item=terminal_escape(nxt or ""))

    def on_fetch(self, outcome: "FetchOutcome") -> None:
        """Callback for ``operations.refresh_prices(on_done=...)``: one price source fetched."""
        self.advance(f"{outcome.source_id} {outcome.status}", ok=outcome.status != "failed")

    def on_file(self, result: "IngestResult") -> None:
        """Callback for ``warehouse.ingest.ingest_paths(progress=...)``: one export file ingested (or failed)."""
        self.advance(result.path.name, ok=result.error is None)

    def on_model(self, result: "BuildResult") -> None:
        """Callback for ``warehouse.models.build(on_model=...)``: one SQL model built, failed or skipped."""
        self.advance(f"{result.model} {result.status}", ok=result.status == "ok")


@contextmanager
def track(description: str, total: int | None = None, *, labels: Sequence[str] = (),
          enabled: bool | None = None, stream: TextIO | None = None) -> Iterator[Tracker]:
    """A progress bar for ``total`` items on a terminal, else a silent tracker.

    ``labels`` names the items in the order they will run (shown as the next item);
    ``enabled`` forces the bar on or off (default: on when ``stream``, stderr by default, is a terminal).
    """
    out = stream if stream is not None else sys.stderr
    if not (is_interactive(out) if enabled is None else enabled):
        yield Tracker(labels=labels, description=description)
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(file=out)
    progress = Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.fields[item]}"), console=console, transient=True,
    )
    with progress:
        first = labels[0] if labels else ""
        task = progress.add_task(terminal_escape(description), total=total, item=terminal_escape(first))
        yield Tracker(progress, task, labels, description)
