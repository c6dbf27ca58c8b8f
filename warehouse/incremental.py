"""Incremental models: rebuild only the months whose line items changed since the model was last built.

A model whose header says ``-- incremental: <month column>`` (stg_line_items, fct_spend_daily) is a
table whose rows each belong to one month of their lines' ChargePeriodStart.  Every ingest records
the months it touched in ``changed_months`` under its ingest turn (warehouse/ingest/deliveries.py);
``model_builds`` says what each incremental model was last built from.  An incremental build then
deletes and re-inserts just those months, in one transaction; it falls back to a full build when it
cannot be sure the other months are unchanged:

* the model was never built (or its table is gone), or its rendered SQL changed;
* the config tables or the price sources changed (the reporting currency, attribution rules, teams,
  decision settings, which sources are catalogs).

FX rates and list prices are dated: a charge is converted at the rate in force on its day and priced at
the price in force at its time, so a new rate or price changes only some months.  For every month it
holds, an incremental model keeps a digest of the rates and prices that can apply to that month
(``model_build_months``, :func:`month_digests`); the months whose digest changed are rebuilt with the
months of new lines.  A rate or price added today changes the current month only; a backfilled rate
changes its month and every later one; a price that closes today changes nothing before today.

A model may also name its *month-local input* (``-- incremental_input: <model> [<column>]``, or a source,
``raw.billing_line_items ChargePeriodStart``): a model whose rows of a month are computed from that input's
rows of the same month only (and any rows of its other inputs).  Its rebuild then reads just the rebuilt
months of that input, instead of computing every month and keeping some; the input's column (by default the
model's month column) may be a month, a date or a timestamp, read by a range that reaches the scan's zone maps.  A model whose rows read back in time over
that input (a baseline of the last weeks) says how far: ``-- incremental_lookback: <months>``.  Its
rebuild reads the input from that many months before the first rebuilt month, and a changed month
also rebuilds the months up to that many after it (their rows read the changed one).  A model whose
rows carry a fact of their whole series (the day it started, hence the days of history behind each
row) names the input's series key and start date: ``-- incremental_starts: team, provider, scope,
first_spend``.  A series that starts in another month, a new one or one gone then rebuilds every month
from the earlier of its old and new start on.  A model whose rows of a month also read a small model rebuilt whole at
each build (the decision windows of the month, the flagged days) *watches* it: ``-- incremental_watch:
int_decision_windows month``.  Per month it keeps a digest of every row the watched model holds for it, and
a month whose rows changed (or that the watched model holds for the first time) is rebuilt.

A model of one row per input row whose rows depend on nothing else that changes month by month (stg_line_items:
one row per raw line, and a raw line never changes under its id: an ingest restates a line by archiving it and
storing the new one under a new id, and a migration makes the next build a full one) says so: ``-- incremental_rows: line_id
x_line_id``.  A rebuilt month then deletes the rows whose input row is gone and adds those of the new input rows,
instead of rewriting the whole month.

What a model was built from covers its own SQL and that of every model upstream of it, so a new version of
any of them rebuilds it in full; a month with lines, or one it holds, whose state was lost is rebuilt.

``spendwatch models build --full`` (and :func:`warehouse.models.build` without ``incremental``)
rebuilds everything; both give the same tables (tests/lake/test_incremental.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timezone

import duckdb

CONFIG_TABLES_SQL = ("SELECT table_schema, table_name FROM information_schema.tables WHERE table_catalog = current_database() "
                     "AND (table_schema = 'config' OR (table_schema = 'main' AND table_name = 'price_sources')) ORDER BY ALL")

# Per month: the FX rates dated up to its end (a day uses the latest rate on or before it, so an earlier rate
# can still be in force), and every price row in force during it, its period cut to the month (a price that
# closes in a later month reads the same here as one still open).  Sums of row hashes: order does not matter.
MONTH_DIGESTS_SQL = """
WITH months AS (SELECT DISTINCT unnest(CAST($months AS DATE[])) AS month),
fx AS (
    SELECT CAST(date_trunc('month', rate_date) AS DATE) AS m,
           sum(CAST(hash(rate_date, currency, rate, source) AS HUGEINT)) AS h, count(*) AS n
    FROM fx_rates GROUP BY 1
),
fx_month AS (
    SELECT months.month, coalesce(sum(fx.h), 0) AS h, coalesce(sum(fx.n), 0) AS n
    FROM months LEFT JOIN fx ON fx.m <= months.month GROUP BY months.month
),
prices AS (
    SELECT months.month,
           sum(CAST(hash(p.price_key, p.source_id, p.provider, p.product_kind, p.sku, p.component, p.unit, p.region, p.tier,
                         p.gpu_model, p.gpu_count, p.amount, p.currency, p.term_months, p.billing, p.upfront_amount,
                         p.min_units, greatest(p.valid_from, months.month),
                         least(coalesce(p.valid_to, months.month + INTERVAL 1 MONTH), months.month + INTERVAL 1 MONTH))
                    AS HUGEINT)) AS h,
           count(*) AS n
    FROM months JOIN price_history p
      ON p.valid_from < months.month + INTERVAL 1 MONTH AND (p.valid_to IS NULL OR p.valid_to > months.month)
    GROUP BY months.month
)
SELECT f.month, md5(concat_ws('|', f.h, f.n, coalesce(p.h, 0), coalesce(p.n, 0)))
FROM fx_month f LEFT JOIN prices p USING (month)
"""


def sql_sha(sql: str) -> str:
    return hashlib.sha256(sql.encode()).hexdigest()


def inputs_sha(con: duckdb.DuckDBPyConnection) -> str:
    """A digest of every config table's content and the price sources' (row order ignored), and of the schema's
    migrations: a migration may rewrite stored lines in place, which no ingest does (``incremental_rows``).

    One statement for all of them: on a lake every statement pays a catalog round trip."""
    tables = con.execute(CONFIG_TABLES_SQL).fetchall()
    parts = ["SELECT 0 AS k, string_agg(CAST(version AS VARCHAR), ',' ORDER BY version) AS d FROM schema_migrations"]
    for i, (schema, table) in enumerate(tables, 1):
        # Where the config file was read from is not a setting: the same file at another path builds the same.
        parts.append(f"SELECT {i}, md5(coalesce(string_agg(CAST(t AS VARCHAR), chr(10) ORDER BY CAST(t AS VARCHAR)), '')) "
                     f"FROM (SELECT COLUMNS(lambda c: c <> 'config_path') FROM \"{schema}\".\"{table}\") t")
    digests = dict(con.execute("\nUNION ALL\n".join(parts)).fetchall())
    h = hashlib.sha256()
    h.update(f"migrations:{digests[0]}\n".encode())
    for i, (schema, table) in enumerate(tables, 1):
        h.update(f"{schema}.{table}:{digests[i]}\n".encode())
    return h.hexdigest()


def month_digests(con: duckdb.DuckDBPyConnection, months, spec: Spec | None = None,
                  watched: dict[date, str] | None = None) -> dict[date, str]:
    """For each month, a digest of the FX rates and prices that can apply to its charges, and of the rows the
    model's watched inputs hold for it; with watched inputs, also every month they hold a row of."""
    if watched is None:
        watched = watch_digests(con, spec) if spec and spec.watch else {}
    months = sorted(set(months) | set(watched))
    if not months:
        return {}
    out = dict(con.execute(MONTH_DIGESTS_SQL, {"months": months}).fetchall())
    if spec and spec.watch:
        out = {m: hashlib.md5(f"{d}|{watched.get(m, '')}".encode()).hexdigest() for m, d in out.items()}
    return out


def watch_digests(con: duckdb.DuckDBPyConnection, spec: Spec) -> dict[date, str]:
    """Per month: a digest of every row the watched inputs hold for it (order ignored; one part per input)."""
    parts: dict[date, list[str]] = {}
    for i, (name, column) in enumerate(spec.watch):
        for m, h, n in con.execute(
                f'SELECT CAST(date_trunc(\'month\', "{column}") AS DATE), sum(CAST(hash(t) AS HUGEINT)), count(*) '
                f'FROM "{name}" t WHERE "{column}" IS NOT NULL GROUP BY 1').fetchall():
            parts.setdefault(m, [""] * len(spec.watch))[i] = f"{h}:{n}"
    return {m: ",".join(p) for m, p in parts.items()}


def _fx(con: duckdb.DuckDBPyConnection) -> tuple[int, date | None]:
    n, latest = con.execute("SELECT count(*), max(rate_date) FROM fx_rates").fetchone()
    return int(n), latest


def _turn(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.execute("SELECT coalesce(max(turn), 0) FROM writer_turns WHERE name = 'ingest'").fetchone()[0])


@dataclass(frozen=True)
class Spec:
    """How a model is built incrementally (its header lines)."""

    column: str                    # ``-- incremental: <month column>``
    input: str | None = None       # ``-- incremental_input: <model or schema.table> [<its month or time column>]``
    lookback: int = 0              # ``-- incremental_lookback: <months>``: how far back its rows read the input
    starts: tuple[str, ...] = ()   # ``-- incremental_starts: <key columns>, <start date>`` of the input (below)
    input_column: str | None = None  # the input's column read by month (default: ``column``)
    watch: tuple[tuple[str, str], ...] = ()  # ``-- incremental_watch: <model> <month column>, ...``: small inputs by month
    rows: tuple[str, str] | None = None  # ``-- incremental_rows: <key> <input key>``: one row per input row (below)

    @property
    def input_by(self) -> str:
        return self.input_column or self.column


def months_to_rebuild(con: duckdb.DuckDBPyConnection, model: str, spec: Spec, sql: str,
                      watched: dict[date, str] | None = None, inputs: str | None = None) -> list[date] | None:
    """The months an incremental build of ``model`` must rebuild; None when only a full build is safe.

    ``sql`` is what the model was built from: its own SQL and that of every model upstream of it, so that a new
    version of any of them rebuilds it in full.  ``watched``: :func:`watch_digests` and ``inputs``: :func:`inputs_sha`,
    when already computed in the same transaction."""
    state = con.execute(
        "SELECT sql_sha, inputs_sha, ingest_turn FROM model_builds WHERE model = ? ORDER BY built_at DESC LIMIT 1",
        [model]).fetchone()
    exists = con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
                         "AND schema_name = 'main' AND table_name = ?", [model]).fetchone()[0]
    if state is None or not exists or state[0] != sql_sha(sql) or state[1] != (inputs or inputs_sha(con)):
        return None
    if state[2] > _turn(con):
        return None  # the ingest turns were set back (a restored or rewritten state): changed months cannot be trusted
    stored = {m: (d, s) for m, d, s in con.execute(
        "SELECT month, digest, starts_digest FROM model_build_months WHERE model = ?", [model]).fetchall()}
    if not stored and con.execute(f'SELECT count(*) FROM "{model}"').fetchone()[0]:
        return None  # built before month digests were kept
    months = {m for (m,) in con.execute("SELECT DISTINCT month FROM changed_months WHERE ingest_turn > ?", [state[2]]).fetchall()}
    # A month whose rates, prices or watched rows changed, or a month the watched inputs hold for the first time.
    now = month_digests(con, stored, spec, watched)
    months |= {m for m, d in now.items() if d != stored.get(m, (None, None))[0]}
    # A month with lines, or one the model holds, that was never recorded (its state lost): rebuilt, not trusted.
    with_lines = {m for (m,) in con.execute("SELECT DISTINCT month FROM changed_months").fetchall()}
    held = {m for (m,) in con.execute(f'SELECT DISTINCT "{spec.column}" FROM "{model}" WHERE "{spec.column}" IS NOT NULL').fetchall()}
    months |= (with_lines | held) - set(stored)
    known = set(stored) | with_lines
    if spec.starts:
        # A series that starts in another month (or a new one, or one gone) changes its rows from the earlier of
        # the two months on: every later month is rebuilt.
        now = start_digests(con, spec)
        moved = [m for m in set(now) | {m for m, (_, st) in stored.items() if st is not None}
                 if now.get(m) != stored.get(m, (None, None))[1]]
        if moved:
            months |= {m for m in known | set(now) if m >= min(moved)}
    if spec.lookback and months:
        # A row reads up to ``lookback`` months back, so a changed month changes the rows of the months after it.
        last = max(known | months)
        months |= {later for m in months for k in range(1, spec.lookback + 1) if (later := add_months(m, k)) <= last}
    return sorted(months)


def start_digests(con: duckdb.DuckDBPyConnection, spec: Spec) -> dict[date, str]:
    """Per month: a digest of the input's series (its key columns) that start in it (its start date column)."""
    *keys, start = spec.starts
    cols = ", ".join(f'"{c}"' for c in (*keys, start))
    return dict(con.execute(
        f'SELECT CAST(date_trunc(\'month\', "{start}") AS DATE), md5(concat_ws(\'|\', sum(CAST(hash({cols}) AS HUGEINT)), count(*))) '
        f'FROM (SELECT DISTINCT {cols} FROM "{spec.input}") WHERE "{start}" IS NOT NULL GROUP BY 1').fetchall())


def add_months(month: date, k: int) -> date:
    """The first day of the month ``k`` months after (or before, for a negative ``k``) ``month``."""
    n = month.year * 12 + month.month - 1 + k
    return date(n // 12, n % 12 + 1, 1)


def restricted_input(relation: str, spec: Spec, model: str | None = None) -> str:
    """What ``ref()`` or ``source()`` of the input reads in a rebuild of some months: only those months' rows (same
    parameters as below), or with a lookback, every row from that many months before the first of them to the
    last.  The input's column may be a month, a date or a timestamp: a range on it reaches the scan's zone maps."""
    column = spec.input_by
    if spec.lookback:
        return f'(SELECT * FROM {relation} WHERE "{column}" >= $input_lo AND "{column}" < $input_end)'
    new = ""
    if spec.rows and model:  # only the input rows the model does not hold yet
        key, input_key = spec.rows
        new = f' AND "{input_key}" NOT IN (SELECT "{key}" FROM "{model}" WHERE {_keep(spec.column)})'
    return (f'(SELECT * FROM {relation} WHERE "{column}" >= $lo AND "{column}" < $input_end '
            f'AND list_contains($months, CAST(date_trunc(\'month\', "{column}") AS DATE)){new})')


def _keep(column: str) -> str:
    # The range lets the filter reach the scans; the list keeps months in between that did not change.
    return f'"{column}" BETWEEN $lo AND $hi AND list_contains($months, "{column}")'


def rebuild_months(con: duckdb.DuckDBPyConnection, model: str, spec: Spec, sql: str, months: list[date],
                   input_relation: str | None = None) -> None:
    """Replace the rows of ``months`` with what the model's SQL gives for them (inside the caller's transaction).

    A model of one row per input row (``-- incremental_rows: <key> <input key>``) keeps the rows of those months
    whose input row is still there (an input row never changes under its key: a restated line is a new row) and
    adds the rows of the new input rows (``sql`` reads only those, :func:`restricted_input`)."""
    if not months:
        return
    lo, hi = months[0], months[-1]
    keep = _keep(spec.column)
    params = {"lo": lo, "hi": hi, "months": months}
    if spec.rows:
        key, input_key = spec.rows
        col = spec.input_by
        con.execute(f'DELETE FROM "{model}" WHERE {keep} AND "{key}" NOT IN (SELECT "{input_key}" FROM {input_relation} '
                    f'WHERE "{col}" >= $lo AND "{col}" < $input_end)', {**params, "input_end": add_months(hi, 1)})
    else:
        con.execute(f'DELETE FROM "{model}" WHERE {keep}', params)
    if spec.input:
        params["input_end"] = add_months(hi, 1)
    if spec.lookback:
        params["input_lo"] = add_months(lo, -spec.lookback)
    con.execute(f'INSERT INTO "{model}" BY NAME SELECT * FROM (\n{sql}\n) WHERE {keep}', params)


def record_build(con: duckdb.DuckDBPyConnection, model: str, spec: Spec, sql: str, months: list[date] | None,
                 watched: dict[date, str] | None = None, inputs: str | None = None) -> None:
    """Note what this build saw (inside the build's transaction; ``inputs``: :func:`inputs_sha` read in it)."""
    n, latest = _fx(con)
    con.execute("DELETE FROM model_builds WHERE model = ?", [model])
    con.execute(
        "INSERT INTO model_builds VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [model, sql_sha(sql), inputs or inputs_sha(con), _turn(con), n, latest, "full" if months is None else "incremental",
         None if months is None else len(months), datetime.now(timezone.utc).replace(tzinfo=None)])
    # Every month with lines (a model may hold no row of a month whose lines a new rate or price would change)
    # and every month the model holds.
    held = [m for (m,) in con.execute("SELECT DISTINCT month FROM changed_months").fetchall()]
    if months is None:
        held += [m for (m,) in con.execute(f'SELECT DISTINCT "{spec.column}" FROM "{model}" WHERE "{spec.column}" IS NOT NULL').fetchall()]
    else:
        held += [m for (m,) in con.execute("SELECT month FROM model_build_months WHERE model = ?", [model]).fetchall()]
        held += months
    starts = start_digests(con, spec) if spec.starts else {}
    con.execute("DELETE FROM model_build_months WHERE model = ?", [model])
    digests = month_digests(con, [*held, *starts], spec, watched)
    if digests:
        con.execute("INSERT INTO model_build_months SELECT $model, unnest($months), unnest($digests), unnest($starts)",
                    {"model": model, "months": list(digests), "digests": list(digests.values()),
                     "starts": [starts.get(m) for m in digests]})
