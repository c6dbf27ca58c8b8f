"""Delivery and scope bookkeeping: which delivery is the truth for each scope, and moving lines accordingly.

A *delivery* is one export file, or the parts one manifest names, as it arrived.  Each
format declares its *scope*: what a file of that format restates (``SCOPE`` in its
loader, SQL over the columns of billing_line_items, e.g. FOCUS: provider, billing
account, billing period).  For every scope key the delivery that arrived last is
*current*, and billing_line_items holds exactly the lines of current (delivery, scope)
pairs.  The lines of a superseded pair move to ``billing_line_items_archive`` (same
columns), so:

* a new delivery supersedes, scope by scope, the current one (its lines are archived);
* bytes delivered before and superseded since become current again: their archived
  lines come back (A -> B -> A ends at A), without reading the file;
* bytes identical to the current delivery of every scope they cover change nothing;
* forgetting a delivery gives each of its scopes back to the delivery that arrived
  before it, even when that one's file is gone.

"Newest" is arrival order (``deliveries.last_arrival``, ``delivery_scopes.arrival``), never
a date inside the file: the last export handed to spendwatch is the truth.  All of it
runs inside the caller's transaction.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

import duckdb

from spendwatch.core.errors import UsageError

# Lines of one delivery carry its id; a delivery's lines are contiguous, which DuckDB's
# zone maps use to skip everything else when moving them.
LIVE = "main.billing_line_items"
ARCHIVE = "main.billing_line_items_archive"


def scope_sql(fmt: str, parts: tuple[str, ...]) -> str:
    """The SQL of a line's scope key: ``format|part|part...`` from the loader's ``SCOPE`` expressions.

    ``fmt`` is a loader's format id (letters, digits, ``_``); the parts are the loader's
    own SQL over billing_line_items columns, each NULL-safe (NULL becomes an empty part).
    """
    if not re.fullmatch(r"[a-z0-9_]+", fmt):
        raise ValueError(f"format id {fmt!r} is not a plain identifier")
    cells = ", ".join(f"coalesce(CAST(({p}) AS VARCHAR), '')" for p in parts)
    return f"concat_ws('|', '{fmt}', {cells})" if parts else f"'{fmt}'"


@dataclass(frozen=True)
class Delivery:
    delivery_id: int
    content_hash: str
    format: str
    path: str
    status: str


def parts_hash(hashes: list[str]) -> str:
    """The content hash of a delivery of several parts: the sha256 of their sorted sha256s."""
    return hashlib.sha256(("parts\n" + "\n".join(sorted(hashes))).encode()).hexdigest()


def next_arrival(con: duckdb.DuckDBPyConnection) -> int:
    (n,) = con.execute("SELECT coalesce(max(last_arrival), 0) + 1 FROM deliveries").fetchone()
    return int(n)


def find_loaded(con: duckdb.DuckDBPyConnection, content_hash: str) -> Delivery | None:
    row = con.execute(
        "SELECT delivery_id, content_hash, format, path, status FROM deliveries "
        "WHERE content_hash = ? AND status = 'loaded'", [content_hash]
    ).fetchone()
    return Delivery(*row) if row else None


def open_delivery(con: duckdb.DuckDBPyConnection, content_hash: str, fmt: str, path: str, files: int,
                  now: datetime) -> tuple[int, int]:
    """Record a new delivery (its earlier failed attempts go); return (delivery id, arrival)."""
    con.execute("DELETE FROM deliveries WHERE content_hash = ? AND status = 'failed'", [content_hash])
    (did,) = con.execute("SELECT coalesce(max(delivery_id), 0) + 1 FROM deliveries").fetchone()
    arrival = next_arrival(con)
    con.execute("INSERT INTO deliveries VALUES (?, ?, ?, ?, ?, 'loaded', NULL, ?, ?, ?, true)",
                [did, content_hash, fmt, path, files, arrival, arrival, now])
    return int(did), arrival


def record_failure(con: duckdb.DuckDBPyConnection, content_hash: str, fmt: str, path: str, files: int,
                   error: str, now: datetime) -> None:
    """Record a delivery that could not be ingested (nothing of it is stored); one row per bytes."""
    con.execute("DELETE FROM deliveries WHERE content_hash = ? AND status = 'failed'", [content_hash])
    (did,) = con.execute("SELECT coalesce(max(delivery_id), 0) + 1 FROM deliveries").fetchone()
    arrival = next_arrival(con)
    con.execute("INSERT INTO deliveries VALUES (?, ?, ?, ?, ?, 'failed', ?, ?, ?, ?, true)",
                [did, content_hash, fmt, path, files, error[:2000], arrival, arrival, now])


def touch_months(con: duckdb.DuckDBPyConnection, table: str, where: str, params: list | None = None) -> None:
    """Record the months of the lines of ``table`` matching ``where`` as changed by this ingest (incremental models)."""
    con.execute(
        "INSERT INTO changed_months SELECT DISTINCT CAST(date_trunc('month', ChargePeriodStart) AS DATE), "
        f"(SELECT max(turn) FROM writer_turns WHERE name = 'ingest') FROM {table} WHERE {where}", params or [])


def _move(con: duckdb.DuckDBPyConnection, source: str, target: str | None, pairs: str, scope: str) -> int:
    """Move (or with ``target`` None delete) the lines of the (delivery_id, scope_key) pairs in temp table ``pairs``.

    The lines are picked first by row id, reading only the few columns the scope needs;
    the copy then reads the whole rows of just those (measured: a third faster than
    filtering the full rows when moving 200,000 of 2,000,000 lines).
    """
    where = (f"x_delivery_id IN (SELECT DISTINCT delivery_id FROM {pairs}) "
             f"AND struct_pack(d := x_delivery_id, s := {scope}) IN (SELECT struct_pack(d := delivery_id, s := scope_key) FROM {pairs})")
    con.execute(f"CREATE OR REPLACE TEMP TABLE sw_rows AS SELECT rowid AS r FROM {source} WHERE {where}")
    touch_months(con, source, "rowid IN (SELECT r FROM sw_rows)")
    if target is not None:
        con.execute(f"INSERT INTO {target} BY NAME SELECT * FROM {source} WHERE rowid IN (SELECT r FROM sw_rows)")
    (n,) = con.execute(f"DELETE FROM {source} WHERE rowid IN (SELECT r FROM sw_rows)").fetchone()
    con.execute("DROP TABLE IF EXISTS temp.sw_rows")
    return int(n)


def _take_over(con: duckdb.DuckDBPyConnection, delivery_id: int, scope: str, arrival: int | None,
               scopes_where: str = "true") -> tuple[int, int]:
    """Make ``delivery_id`` current for its scopes matching ``scopes_where``; return (lines archived, restored).

    Every other delivery current for one of those scopes has its lines of that scope
    archived; the delivery's own archived lines of a scope it was not current for come back.
    ``arrival`` None keeps each scope's own arrival (a scope given back by ``forget``).
    """
    con.execute(
        "CREATE OR REPLACE TEMP TABLE sw_taken AS SELECT scope_key, is_current FROM delivery_scopes "
        f"WHERE delivery_id = ? AND ({scopes_where})", [delivery_id])
    con.execute(
        "CREATE OR REPLACE TEMP TABLE sw_out AS SELECT s.delivery_id, s.scope_key FROM delivery_scopes s "
        "JOIN sw_taken t USING (scope_key) WHERE s.is_current AND s.delivery_id <> ?", [delivery_id])
    con.execute("CREATE OR REPLACE TEMP TABLE sw_in AS SELECT ? AS delivery_id, scope_key FROM sw_taken "
                "WHERE NOT is_current", [delivery_id])
    archived = _move(con, LIVE, ARCHIVE, "sw_out", scope) if _any(con, "sw_out") else 0
    restored = _move(con, ARCHIVE, LIVE, "sw_in", scope) if _any(con, "sw_in") else 0
    con.execute("UPDATE delivery_scopes SET is_current = false WHERE is_current AND delivery_id <> ? "
                "AND scope_key IN (SELECT scope_key FROM sw_taken)", [delivery_id])
    con.execute("UPDATE delivery_scopes SET is_current = true, arrival = coalesce(?, arrival) WHERE delivery_id = ? "
                "AND scope_key IN (SELECT scope_key FROM sw_taken)", [arrival, delivery_id])
    for t in ("sw_taken", "sw_out", "sw_in"):
        con.execute(f"DROP TABLE IF EXISTS temp.{t}")
    return archived, restored


def _any(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return con.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone()[0]


def record_scopes(con: duckdb.DuckDBPyConnection, delivery_id: int, scope: str, arrival: int) -> int:
    """Record the scopes of a just-loaded delivery's lines and make it current for each; return lines archived."""
    con.execute(
        f"INSERT INTO delivery_scopes SELECT ?, {scope} AS k, ?, false, count(*) FROM {LIVE} "
        "WHERE x_delivery_id = ? GROUP BY k", [delivery_id, arrival, delivery_id])
    touch_months(con, LIVE, "x_delivery_id = ?", [delivery_id])
    # Its lines are already live: mark it current first, so only the others move.
    con.execute("UPDATE delivery_scopes SET is_current = true WHERE delivery_id = ?", [delivery_id])
    archived, _ = _take_over(con, delivery_id, scope, arrival)
    return archived


def redeliver(con: duckdb.DuckDBPyConnection, delivery: Delivery, scope: str, now: datetime) -> tuple[int, int] | None:
    """Bytes seen before arrived again: make that delivery current for every scope; None when it already was.

    Returns (lines archived, lines restored).
    """
    (stale,) = con.execute("SELECT count(*) FROM delivery_scopes WHERE delivery_id = ? AND NOT is_current",
                           [delivery.delivery_id]).fetchone()
    if not stale:
        return None
    arrival = next_arrival(con)
    con.execute("UPDATE deliveries SET last_arrival = ?, arrived_at = ? WHERE delivery_id = ?",
                [arrival, now, delivery.delivery_id])
    return _take_over(con, delivery.delivery_id, scope, arrival)


def scope_pending(con: duckdb.DuckDBPyConnection, scopes: dict[str, str]) -> None:
    """Give deliveries recorded before migration 008 their scopes, oldest first (the newest wins each scope).

    ``scopes`` maps a format to its scope SQL; a format no loader reads any more is
    scoped per file, so it never replaces anything.
    """
    pending = con.execute("SELECT delivery_id, format, content_hash, last_arrival FROM deliveries "
                          "WHERE NOT scoped AND status = 'loaded' ORDER BY last_arrival").fetchall()
    for did, fmt, content_hash, arrival in pending:
        scope = scopes.get(fmt) or scope_sql(re.sub(r"[^a-z0-9_]", "_", fmt.lower()) or "unknown", ("x_source_hash",))
        record_scopes(con, did, scope, arrival)
        con.execute("UPDATE deliveries SET scoped = true WHERE delivery_id = ?", [did])


def resolve(con: duckdb.DuckDBPyConnection, ref: str) -> Delivery:
    """The delivery a user names: its id, its sha256 (or a unique prefix of 8+ digits), or its file's path."""
    rows = con.execute(
        "SELECT DISTINCT d.delivery_id, d.content_hash, d.format, d.path, d.status FROM deliveries d "
        "LEFT JOIN ingested_files f USING (delivery_id) "
        "WHERE d.path = $ref OR f.file_path = $ref OR f.file_hash = $ref OR d.content_hash = $ref "
        "OR (length($ref) >= 8 AND regexp_full_match($ref, '[0-9a-f]+') "
        "    AND (starts_with(d.content_hash, $ref) OR starts_with(f.file_hash, $ref))) "
        "OR CAST(d.delivery_id AS VARCHAR) = $ref ORDER BY 1", {"ref": ref}).fetchall()
    if not rows:
        raise UsageError(f"{ref}: no delivery with that path, hash or id (see `spendwatch files list`)")
    if len(rows) > 1:
        ids = ", ".join(str(r[0]) for r in rows)
        raise UsageError(f"{ref}: names several deliveries ({ids}); give the full sha256 or the delivery id")
    return Delivery(*rows[0])


def forget(con: duckdb.DuckDBPyConnection, delivery: Delivery, scope: str | None) -> tuple[int, int]:
    """Remove a delivery; each scope it was current for goes back to the delivery that arrived before it.

    Returns (lines removed, lines restored).  Its ingest records (files, rejects, notes) go too.
    """
    did = delivery.delivery_id
    removed = restored = 0
    if delivery.status == "loaded" and scope is not None:
        con.execute("CREATE OR REPLACE TEMP TABLE sw_gone AS SELECT delivery_id, scope_key, is_current "
                    "FROM delivery_scopes WHERE delivery_id = ?", [did])
        touch_months(con, LIVE, "x_delivery_id = ?", [did])
        (removed,) = con.execute(f"DELETE FROM {LIVE} WHERE x_delivery_id = ?", [did]).fetchone()
        con.execute(f"DELETE FROM {ARCHIVE} WHERE x_delivery_id = ?", [did])
        # For each scope it held: the delivery that arrived last before it takes the scope back.
        con.execute(
            "CREATE OR REPLACE TEMP TABLE sw_heirs AS SELECT s.scope_key, arg_max(s.delivery_id, s.arrival) AS heir "
            "FROM delivery_scopes s JOIN sw_gone g ON g.scope_key = s.scope_key AND g.is_current "
            "WHERE s.delivery_id <> ? GROUP BY s.scope_key", [did])
        con.execute("DELETE FROM delivery_scopes WHERE delivery_id = ?", [did])
        for (heir,) in con.execute("SELECT DISTINCT heir FROM sw_heirs ORDER BY heir").fetchall():
            _, back = _take_over(con, heir, scope, None, f"scope_key IN (SELECT scope_key FROM sw_heirs WHERE heir = {int(heir)})")
            restored += back
        con.execute("DROP TABLE IF EXISTS temp.sw_heirs")
        con.execute("DROP TABLE IF EXISTS temp.sw_gone")
    hashes = [h for (h,) in con.execute("SELECT file_hash FROM ingested_files WHERE delivery_id = ?", [did]).fetchall()]
    for table in ("ingest_rejects", "ingest_notes", "ingested_files"):
        con.execute(f"DELETE FROM {table} WHERE file_hash IN (SELECT unnest(CAST(? AS VARCHAR[])))", [hashes])
    con.execute("DELETE FROM delivery_scopes WHERE delivery_id = ?", [did])
    con.execute("DELETE FROM deliveries WHERE delivery_id = ?", [did])
    return int(removed), int(restored)


def listing(con: duckdb.DuckDBPyConnection) -> list[dict[str, object]]:
    """Every delivery, newest arrival first: status current / superseded / failed, its scopes and lines."""
    rows = con.execute(
        """SELECT d.delivery_id, d.content_hash, d.format, d.path, d.files, d.status, d.error, d.last_arrival,
                  d.arrived_at, count(s.scope_key) AS scopes, count(s.scope_key) FILTER (WHERE s.is_current) AS current,
                  coalesce(sum(s.line_count) FILTER (WHERE s.is_current), 0) AS current_lines,
                  coalesce(sum(s.line_count), 0) AS lines
           FROM deliveries d LEFT JOIN delivery_scopes s USING (delivery_id)
           GROUP BY ALL ORDER BY d.last_arrival DESC, d.delivery_id DESC"""
    ).fetchall()
    out = []
    for (did, h, fmt, path, files, status, error, arrival, at, scopes, current, current_lines, lines) in rows:
        if status == "failed":
            state = "failed"
        elif scopes == 0 or current == scopes:
            state = "current"
        elif current == 0:
            state = "superseded"
        else:
            state = "partly current"
        out.append({"delivery_id": did, "sha256": h, "format": fmt, "path": path, "files": files, "status": state,
                    "error": error, "arrival": arrival, "arrived_at": at, "scopes": scopes, "current_scopes": current,
                    "lines": lines, "current_lines": current_lines})
    return out
