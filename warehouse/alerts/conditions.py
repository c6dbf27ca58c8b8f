"""Which alert conditions are true now: the ``alert_*`` marts in dbt_like_sql/marts/, one SELECT per alert kind.

The same model files are unioned in the ``alert_conditions`` model that the review and ``spendwatch
alerts conditions`` read, so there is one definition of stale, price change and threshold.  Here each
mart is rendered and read on its own, so a kind whose inputs are not built yet (a new warehouse, a
partial backfill) is skipped and named, and the others still run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from warehouse import models as sqlmodels

# mart -> the alert kinds it yields; scoped: resolution limited to periods >= the window start.
MARTS: dict[str, tuple[tuple[str, ...], bool]] = {
    "alert_threshold": (("threshold_crossed", "threshold_projected", "threshold_at_risk"), True),
    "alert_dedicated": (("dedicated_cheaper",), True),
    "alert_invoice": (("invoice_discrepancy",), True),
    "alert_price_change": (("price_change",), True),
    "alert_source_stale": (("source_stale",), False),
    "alert_ingest_rejects": (("ingest_rejects",), True),
    "alert_anomaly": (("spend_anomaly",), True),
}
CONDITIONS_MODEL = "alert_conditions"


@dataclass(frozen=True)
class KindQuery:
    mart: str
    kinds: tuple[str, ...]
    sql: str            # one SELECT of (kind, team, period, subject, details)
    scoped: bool = True  # False: the condition is about now (resolution not limited to the window)


def _relations(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str]]:
    return {(s, n) for s, n in con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables").fetchall()}


def kind_queries(con: duckdb.DuckDBPyConnection, project: sqlmodels.Project | None = None
                 ) -> tuple[list[KindQuery], dict[str, str]]:
    """The marts that can run against this warehouse, and the kinds skipped (with why)."""
    project = project or sqlmodels.load_project()
    have = _relations(con)
    queries: list[KindQuery] = []
    skipped: dict[str, str] = {}
    for mart, (kinds, scoped) in MARTS.items():
        model = project.models[mart]
        missing = [r for r in model.refs if ("main", r) not in have]
        missing += [t for s, t in model.sources if (sqlmodels.SOURCE_SCHEMAS[s], t) not in have]
        if missing:
            for k in kinds:
                skipped[k] = f"model {', '.join(missing)} not built yet"
            continue
        queries.append(KindQuery(mart, kinds, project.render(mart), scoped))
    return queries, skipped


def current_conditions(con: duckdb.DuckDBPyConnection, since: date | None = None) -> list[tuple]:
    """(kind, team, period, subject, details) of every condition true now (periods from ``since`` for scoped kinds)."""
    queries, _ = kind_queries(con)
    out: list[tuple] = []
    for q in queries:
        out += con.execute(
            f"SELECT kind, team, period, subject, CAST(details AS VARCHAR) FROM ({q.sql}) "
            "WHERE ? IS NULL OR NOT ? OR TRY_CAST(left(period, 7) || '-01' AS DATE) >= ? ORDER BY ALL",
            [since, q.scoped, since],
        ).fetchall()
    return out
