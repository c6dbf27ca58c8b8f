"""Every price source, one module each.  A module defines ``SOURCE = <Source subclass>()``.

``all_sources()`` discovers them, so adding a source is adding a module.
"""

from __future__ import annotations

import importlib
import pkgutil

from scrapers.base import Source


def all_sources() -> list[Source]:
    found: list[Source] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        mod = importlib.import_module(f"{__name__}.{info.name}")
        src = getattr(mod, "SOURCE", None)
        if isinstance(src, Source):
            found.append(src)
    ids = [s.source_id for s in found]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise RuntimeError(f"duplicate source ids: {sorted(dup)}")
    return found


def get_source(source_id: str) -> Source:
    for s in all_sources():
        if s.source_id == source_id:
            return s
    raise KeyError(source_id)
