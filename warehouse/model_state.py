"""Which SQL models are stale, and building exactly those: ``ensure_models_built``.

A model is built from its SQL, the SQL of every model upstream of it, and the content of every
``source()`` table those read (raw tables and the ``config`` schema).  Its *fingerprint* is a
sha256 over all of them; the content of a source table is summarised by DuckDB as its row count
and the sum of its row hashes (order-free, and an UPDATE changes it as much as an INSERT does).

Each successful build stamps the fingerprint on the relation itself, as its comment
(``COMMENT ON TABLE``), so the record and the table cannot disagree: replacing or dropping the
table drops the stamp.  A model whose stamp differs from its fingerprint now, that is missing, or
whose upstream is stale, is stale; ``ensure_models_built`` syncs the config and rebuilds those,
in dependency order, each in its own transaction (``warehouse.models.build_model``).
"""

from __future__ import annotations

import hashlib
from typing import Callable, Iterable

import duckdb

from spendwatch.core.config import Config
from warehouse import models as sqlmodels
from warehouse.config_sync import sync_config

STAMP = "spendwatch-build:"


def _source_digests(con: duckdb.DuckDBPyConnection, sources: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(schema, table) -> 'rows:hash-sum' of the table's content now ('missing' when it does not exist)."""
    out = {}
    for schema, table in sorted(set(sources)):
        real = sqlmodels.SOURCE_SCHEMAS[schema]
        exists = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?", [real, table]).fetchone()[0]
        if not exists:
            out[(schema, table)] = "missing"
            continue
        # identifiers come from the model files, checked as lower_snake_case by warehouse.models
        n, total = con.execute(f'SELECT count(*), coalesce(sum(hash(t)::HUGEINT), 0) FROM {real}."{table}" t').fetchone()
        out[(schema, table)] = f"{n}:{total}"
    return out


def fingerprints(con: duckdb.DuckDBPyConnection, project: sqlmodels.Project, names: list[str]) -> dict[str, str]:
    """Each named model's fingerprint: its SQL and its upstream's, and the content of every source they read."""
    upstream = {n: project.upstream([n]) for n in names}
    digests = _source_digests(con, (s for n in names for u in upstream[n] for s in project.models[u].sources))
    out = {}
    for n in names:
        h = hashlib.sha256()
        for u in upstream[n]:
            m = project.models[u]
            h.update(f"model {u} {m.materialized}\n{project.render(u)}\n".encode())
            for s in sorted(m.sources):
                h.update(f"source {s[0]}.{s[1]} {digests[s]}\n".encode())
        out[n] = h.hexdigest()
    return out


def _stamps(con: duckdb.DuckDBPyConnection) -> dict[str, str | None]:
    """model -> the fingerprint stamped on it (None when it exists without one)."""
    rows = con.execute(
        "SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = 'main' "
        "UNION ALL SELECT view_name, comment FROM duckdb_views() WHERE schema_name = 'main' AND NOT internal").fetchall()
    return {name: (c[len(STAMP):] if c and c.startswith(STAMP) else None) for name, c in rows}


def stale_models(con: duckdb.DuckDBPyConnection, project: sqlmodels.Project | None = None,
                 select: list[str] | None = None) -> list[str]:
    """The models (``select`` and their upstream, default all) that are missing or out of date, in build order."""
    project = project or sqlmodels.load_project()
    names = project.upstream(select) if select else list(project.order)
    now = fingerprints(con, project, names)
    stamps = _stamps(con)
    stale: set[str] = set()
    for n in names:  # build order: an upstream model is judged first
        if stamps.get(n) != now[n] or any(r in stale for r in project.models[n].refs):
            stale.add(n)
    return [n for n in names if n in stale]


def stamp(con: duckdb.DuckDBPyConnection, project: sqlmodels.Project, results: Iterable[sqlmodels.BuildResult]) -> None:
    """Record on each model just built ok what it was built from (the fingerprint, as its comment)."""
    built = [r.model for r in results if r.status == "ok"]
    for name, fp in fingerprints(con, project, built).items():
        kind = "VIEW" if project.models[name].materialized == "view" else "TABLE"
        con.execute(f"COMMENT ON {kind} \"{name}\" IS '{STAMP}{fp}'")  # a name checked by load_project, a hex digest


def build_and_stamp(con: duckdb.DuckDBPyConnection, select: list[str] | None = None,
                    on_model: Callable[[sqlmodels.BuildResult], None] | None = None,
                    project: sqlmodels.Project | None = None, incremental: bool = False) -> list[sqlmodels.BuildResult]:
    """``warehouse.models.build`` (select and upstream, default all), each model built ok stamped.

    With ``incremental``, incremental models rebuild only the months whose lines changed (warehouse/incremental.py).
    """
    project = project or sqlmodels.load_project()
    results = sqlmodels.build(con, project, select=select, on_model=on_model, incremental=incremental)
    stamp(con, project, results)
    return results


def ensure_models_built(con: duckdb.DuckDBPyConnection, cfg: Config, select: list[str] | None = None,
                        on_model: Callable[[sqlmodels.BuildResult], None] | None = None) -> list[sqlmodels.BuildResult]:
    """Sync the config, then rebuild the stale models among ``select`` and their upstream (default all).

    Returns one result per model rebuilt (none when everything is current).  A model whose upstream
    failed is skipped and keeps its previous version, as in ``warehouse.models.build``.
    """
    sync_config(con, cfg)
    project = sqlmodels.load_project()
    if select:
        unknown = [s for s in select if s not in project.models]
        if unknown:
            raise sqlmodels.ModelError(f"unknown model(s): {', '.join(unknown)} (known: {', '.join(sorted(project.models))})")
    stale = stale_models(con, project, select)
    failed: set[str] = set()
    results = []
    for n in stale:
        bad = [r for r in project.models[n].refs if r in failed]
        res = (sqlmodels.BuildResult(n, "skipped", error=f"upstream failed: {', '.join(bad)}") if bad
               else sqlmodels.build_model(con, project, n, incremental=True))  # same tables as a full build
        if res.status != "ok":
            failed.add(n)
        results.append(res)
        if on_model:
            on_model(res)
    stamp(con, project, results)
    return results
