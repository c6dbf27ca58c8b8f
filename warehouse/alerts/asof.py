"""An alert's figures as they were when it was raised: its condition read again at the lake snapshot it recorded.

``alerts.raised_snapshot`` (migration 017) is the DuckLake snapshot the evaluation read its conditions
from.  Attaching the lake at that snapshot and running the alert's mart again answers "why did we
get this alert" after later corrections: re-delivered exports, rebuilt models and new prices leave
that snapshot as it was.  A DuckDB file keeps no snapshots: asking for one there is a usage error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from spendwatch.core.errors import UsageError
from warehouse import lake
from warehouse.alerts.conditions import kind_queries


@dataclass(frozen=True)
class AsRaised:
    alert_id: int
    snapshot: int
    snapshot_time: datetime | None
    details: dict[str, Any] | None  # None: the condition was not true at that snapshot (it cannot be, for a raised alert)


def as_raised(con: duckdb.DuckDBPyConnection, alert_id: int) -> AsRaised:
    """Recompute an alert's figures from the snapshot it was raised on."""
    lake.require(con, "--as-raised")
    row = con.execute("SELECT kind, team, period, subject, raised_snapshot FROM alerts WHERE alert_id = ?",
                      [alert_id]).fetchone()
    if row is None:
        raise UsageError(f"alert {alert_id}: no such alert (see `spendwatch alerts list --state all`)")
    kind, team, period, subject, snapshot = row
    if snapshot is None:
        raise UsageError(f"alert {alert_id} records no snapshot (raised by an event, or before the warehouse was a lake)")
    (at,) = con.execute(f"SELECT snapshot_time FROM {lake.ALIAS}.snapshots() WHERE snapshot_id = ?", [snapshot]).fetchone()
    alias = lake.attach_snapshot(con, snapshot)
    try:
        con.execute(f"USE {alias}")
        details = None
        queries, _ = kind_queries(con)
        for q in queries:
            if kind not in q.kinds:
                continue
            found = con.execute(
                f"SELECT CAST(details AS VARCHAR) FROM ({q.sql}) "
                "WHERE kind = ? AND team = ? AND period = ? AND subject = ? ORDER BY 1 LIMIT 1",
                [kind, team, period, subject]).fetchone()
            if found:
                details = json.loads(found[0])
    finally:
        lake.detach(con, alias)
    return AsRaised(alert_id, int(snapshot), at, details)
