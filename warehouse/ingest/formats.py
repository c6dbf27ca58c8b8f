"""Detecting formats: the loader modules of ``warehouse.loaders`` and which one reads a file."""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import duckdb

from spendwatch.core.errors import SpendwatchError, UsageError
from warehouse.ingest.files import read_head

if TYPE_CHECKING:
    from warehouse.ingest.staging import LineSink

@dataclass(frozen=True)
class Loader:
    """One export format: the module that sniffs and stages it."""

    format: str
    module: ModuleType
    priority: int = 0

    def sniff(self, path: Path, head: bytes) -> bool:
        return bool(self.module.sniff(path, head))

    def stage(self, con: duckdb.DuckDBPyConnection, path: Path, lines: LineSink | None = None,
              options: dict[str, object] | None = None) -> int | None:
        """Run the loader's ``stage``, offering it the direct sink and the options when it takes them."""
        kwargs: dict[str, object] = {}
        if lines is not None and self.takes("lines"):
            kwargs["lines"] = lines
        if options and self.takes("options"):
            kwargs["options"] = options
        return self.module.stage(con, path, **kwargs)

    def takes(self, name: str) -> bool:
        """Whether the loader's ``stage`` accepts the keyword ``name``."""
        try:
            return name in inspect.signature(self.module.stage).parameters
        except (TypeError, ValueError):
            return False

    @property
    def takes_lines(self) -> bool:
        """Whether the loader's ``stage`` accepts a ``lines`` sink (may insert directly)."""
        return self.takes("lines")

    @property
    def scope(self) -> str:
        """The SQL of a line's scope key for this format (see ``warehouse.ingest.deliveries``)."""
        from warehouse.ingest.deliveries import scope_sql

        return scope_sql(self.format, tuple(getattr(self.module, "SCOPE", DEFAULT_SCOPE)))


# What a loader that declares no SCOPE restates: its provider's lines of each day it reports.
DEFAULT_SCOPE = ("x_provider", "strftime(ChargePeriodStart, '%Y-%m-%d')")


# --------------------------------------------------------------------------- discovery


def discover_loaders() -> dict[str, Loader]:
    """Every loader module in ``warehouse/loaders/``, by format id.

    A module counts as a loader when it defines ``FORMAT``, ``sniff`` and ``stage``;
    modules whose name starts with ``_`` are helpers and skipped.  An optional integer
    ``PRIORITY`` (default 0) breaks ties when several loaders claim the same file.
    """
    import warehouse.loaders as pkg

    found: dict[str, Loader] = {}
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        try:
            module = importlib.import_module(f"{pkg.__name__}.{info.name}")
        except Exception as e:  # a broken loader must be loud, not silently missing
            raise SpendwatchError(f"warehouse/loaders/{info.name}.py: cannot import loader: {e}") from e
        fmt = getattr(module, "FORMAT", None)
        if not (isinstance(fmt, str) and callable(getattr(module, "sniff", None)) and callable(getattr(module, "stage", None))):
            continue
        if fmt in found:
            raise SpendwatchError(
                f"warehouse/loaders/{info.name}.py: format {fmt!r} is already defined by {found[fmt].module.__name__}"
            )
        found[fmt] = Loader(fmt, module, int(getattr(module, "PRIORITY", 0)))
    return found


def known_formats() -> list[str]:
    """The format ids the installed loaders read, sorted."""
    return sorted(discover_loaders())


def detect_format(path: str | os.PathLike) -> str:
    """The export format of the file, decided from its content by each loader's ``sniff``."""
    p = Path(path)
    head = read_head(p)
    loaders = discover_loaders()
    matches = []
    for loader in loaders.values():
        try:
            if loader.sniff(p, head):
                matches.append(loader)
        except Exception:  # untrusted content must not crash detection; the loader just does not claim it
            continue
    if not matches:
        raise UsageError(f"{p}: unrecognised export format (known formats: {', '.join(sorted(loaders)) or 'none'})")
    if len(matches) == 1:
        return matches[0].format
    top = max(m.priority for m in matches)
    best = [m for m in matches if m.priority == top]
    if len(best) > 1:
        names = ", ".join(sorted(m.format for m in best))
        raise UsageError(f"{p}: content matches several export formats ({names}); pass the format explicitly")
    return best[0].format


def resolve_loader(path: Path, fmt: str) -> Loader:
    """The loader for an explicit format id, or the detected one for ``auto``."""
    loaders = discover_loaders()
    if fmt == "auto":
        fmt = detect_format(path)
    else:
        read_head(path, 4096)  # an unreadable or UTF-16 file says so before any loader reads it
    try:
        return loaders[fmt]
    except KeyError:
        raise UsageError(f"{path}: unknown format {fmt!r} (known formats: {', '.join(sorted(loaders))})") from None

