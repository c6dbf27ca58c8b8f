"""Provider loaders as declarations: the read, the checks with their reasons, the line SQL and the scope.

The eight provider loaders (OpenAI costs and usage, Anthropic cost and usage, RunPod,
Modal, Together, Fireworks) differ only in what they read and how a record maps to a
line.  Each declares a :class:`Declared`:

* ``read(con, path, table)``: the file's records into the temp table ``table``, numbered
  ``x_source_row`` 1.. in file order (``read_json_docs``, ``read_csv_rows``, ``admin_results``);
* ``parse``: one SELECT over ``{raw}`` (that table) giving each record's fields, typed;
* ``checks``: :class:`Check` rules, in order; the first that holds rejects the record with
  its column and reason (``missing``, ``amount``, ``usd``, ``count`` build the usual ones);
  ``notes``: rules whose holding gives a record that loads a data-quality note (``noted``
  turns checks into notes that set the fields they leave unknown NULL on the line);
* ``lines``: one SELECT over ``{accepted}`` (the records no check rejected) giving the
  ``STAGE_COLUMNS`` it fills, and ``base_key``: the charge's identity, which the
  framework suffixes ``#2``, ``#3`` ... for repeats inside one file (real duplicate charges
  stay visible) to make ``x_natural_key``.

``Declared.stage`` runs them: parse, reject, stage, count, and drops its temp tables.
The scope (what a file restates) is the module's ``SCOPE``, read by the framework.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import duckdb

from warehouse.ingest.sqlkit import number_sql
from warehouse.loaders._io import COUNT_SQL, admin_results, drop_temp, register_gpu_classes

RAW, ACCEPTED = "{raw}", "{accepted}"  # placeholders in ``parse`` and ``lines`` (replaced, not formatted)


@dataclass(frozen=True)
class Check:
    """One validation rule: ``fails`` (SQL over the parsed record) true rejects it, naming ``column`` and ``reason`` (SQL text)."""

    column: str | None
    fails: str
    reason: str
    clears: tuple[str, ...] = ()  # as a note: the parsed fields it leaves unknown (NULL on the line)


def noted(checks: Sequence[Check], *clears: str) -> list[Check]:
    """``checks`` as data-quality notes: the record loads, ``clears`` (parsed fields) NULL where one holds."""
    return [Check(c.column, c.fails, f"{c.reason} || ': unknown (NULL)'", clears) for c in checks]


def missing(column: str, raw: str, label: str | None = None) -> Check:
    """A mandatory field that is absent."""
    return Check(column, f"{raw} IS NULL", f"'missing mandatory field: {label or column}'")


def amount(column: str, raw: str, parsed: str, limit: str = "1e12", optional: bool = False,
           label: str | None = None) -> list[Check]:
    """A number field (money by default): present unless ``optional``, a number (NaN, Infinity and
    ``1_000`` are not), and below ``limit`` in size (``1e300`` is out of range)."""
    finite = f"isfinite({number_sql(raw, 'DOUBLE')})"
    given = f"{raw} IS NOT NULL AND " if optional else ""
    return [
        *([] if optional else [missing(column, raw, label)]),
        Check(column, f"{given}{parsed} IS NULL AND NOT coalesce({finite}, false)", f"'{column} ' || {raw} || ' is not a number'"),
        Check(column, f"{given}({parsed} IS NULL OR abs({parsed}) >= {limit})", f"'{column} ' || {raw} || ' is out of range'"),
    ]


def usd(column: str, raw: str, who: str) -> list[Check]:
    """A currency field that must say USD (any case, spaces around)."""
    return [missing(column, raw),
            Check(column, f"upper(trim({raw})) <> 'USD'", f"'unknown currency ' || {raw} || ' ({who} bills in USD)'")]


def count(column: str, raw: str, parsed: str, what: str = "a token count", mandatory: bool = False) -> list[Check]:
    """A whole, non-negative count (tokens, GPUs)."""
    out = [missing(column, raw)] if mandatory else []
    return out + [Check(column, f"{raw} IS NOT NULL AND ({parsed} IS NULL OR {parsed} < 0)",
                        f"'{column} ' || {raw} || ' is not {what}'")]


def period(start_col: str, end_col: str, start_raw: str, end_raw: str, start: str, end: str,
           what: str = "an RFC 3339 timestamp", label: str = "", strict: bool = True) -> list[Check]:
    """A period's two timestamps: present, readable, and the end after the start (or not before it)."""
    after = "is not after" if strict else "is before"
    return [
        missing(start_col, start_raw, f"{label}{start_col}"),
        missing(end_col, end_raw, f"{label}{end_col}"),
        Check(start_col, f"{start} IS NULL", f"'{start_col} ' || {start_raw} || ' is not {what}'"),
        Check(end_col, f"{end} IS NULL", f"'{end_col} ' || {end_raw} || ' is not {what}'"),
        Check(end_col, f"{end} {'<=' if strict else '<'} {start}",
              f"'{end_col} {after} {start_col} (end before start)'"),
    ]


def problem_sql(checks: Sequence[Check]) -> str:
    """SQL for a record's first failing check as ``{'col', 'reason'}``, NULL when it passes them all."""
    whens = " ".join(
        f"WHEN {c.fails} THEN {{'col': {'NULL' if c.column is None else repr(c.column)}, 'reason': {c.reason}}}"
        for c in checks)
    return f"CASE {whens} END"


def usage_line(display: str, provider: str) -> str:
    """The line columns every provider usage line shares (``period_start`` / ``period_end`` of the record)."""
    return (f"'USD' AS BillingCurrency, 'Usage-Based' AS ChargeFrequency, period_start AS ChargePeriodStart, "
            "period_end AS ChargePeriodEnd, date_trunc('month', period_start) AS BillingPeriodStart, "
            "date_trunc('month', period_start) + INTERVAL 1 MONTH AS BillingPeriodEnd, "
            f"'{display}' AS InvoiceIssuerName, '{display}' AS ServiceProviderName, '{display}' AS HostProviderName, "
            f"'{provider}' AS x_provider")


def billed(cost: str) -> str:
    """Line columns of a record that carries money: billed and effective cost, and Credit when negative."""
    return (f"{cost} AS BilledCost, {cost} AS EffectiveCost, "
            f"CASE WHEN {cost} < 0 THEN 'Credit' ELSE 'Usage' END AS ChargeCategory")


# Metering lines carry quantities; their money comes from the provider's cost export.
METERED = "CAST(0 AS DECIMAL(38, 18)) AS BilledCost, CAST(0 AS DECIMAL(38, 18)) AS EffectiveCost, 'Usage' AS ChargeCategory"


def iso(ts: str) -> str:
    """A timestamp as text in a natural key."""
    return f"strftime({ts}, '%Y-%m-%dT%H:%M:%SZ')"


def key(*parts: str) -> str:
    """SQL joining key parts with '|', a NULL part as ''."""
    return " || '|' || ".join(f"coalesce(CAST({p} AS VARCHAR), '')" for p in parts)


def admin(provider: str, bucket_period: str, checks: Sequence[Check], fields: str, lines: str, fmt: str,
          notes: Sequence[Check] = ()) -> Declared:
    """The declaration of an Admin-API report (OpenAI, Anthropic): pages of buckets of results.

    ``bucket_period`` selects ``period_start`` / ``period_end`` (and their raw texts) from
    ``bucket``; ``fields`` the result's fields from ``res``; ``checks`` and ``lines`` as in
    :class:`Declared`.
    """
    return Declared(
        format=fmt, read=partial(admin_results, provider=provider),
        parse=f"SELECT x_source_row, CAST(res AS VARCHAR) AS raw, {bucket_period}, {fields} FROM {RAW}",
        checks=checks, lines=lines, notes=notes)


def json_counts(obj: str, fields: dict[str, str]) -> str:
    """SELECT items for whole counts in a JSON record: ``<name>_raw`` (the text) and ``<name>`` (BIGINT) per JSON path."""
    return ", ".join(f"{obj} ->> '{path}' AS {name}_raw, {COUNT_SQL.format(f'{obj} ->> {chr(39)}{path}{chr(39)}')} AS {name}"
                     for name, path in fields.items())


def gpu_classes(column: str, table: str) -> Callable[[duckdb.DuckDBPyConnection, str], list[str]]:
    """A ``prepare`` step: ``table(raw, gpu_class)`` for each provider GPU name in the parsed records' ``column``."""
    def prepare(con: duckdb.DuckDBPyConnection, parsed: str) -> list[str]:
        register_gpu_classes(con, f"SELECT {column} FROM {parsed}", table)
        return [table]
    return prepare


@dataclass(frozen=True)
class Declared:
    """A provider loader (see the module docstring)."""

    format: str
    read: Callable[[duckdb.DuckDBPyConnection, Path, str], None]
    parse: str
    checks: Sequence[Check]
    lines: str
    prepare: Callable[[duckdb.DuckDBPyConnection, str], list[str]] | None = None  # -> temp tables it made
    params: Sequence[object] = ()  # positional parameters of ``parse``
    notes: Sequence[Check] = ()  # data-quality notes on records that load (every one that holds)

    def stage(self, con: duckdb.DuckDBPyConnection, path: Path) -> int:
        """Stage every record: a valid one into stage_lines, any other into stage_rejects; return records read."""
        raw, parsed = f"_sw_{self.format}_raw", f"_sw_{self.format}"
        made = [raw, parsed]
        self.read(con, path, raw)
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {parsed} AS SELECT *, {problem_sql(self.checks)} AS problem "
                        f"FROM ({self.parse.replace(RAW, raw)}) p", list(self.params))
            if self.prepare is not None:
                made += self.prepare(con, parsed)
            con.execute("INSERT INTO stage_rejects BY NAME SELECT x_source_row AS row_number, problem.col AS column_name, "
                        f"problem.reason AS reason, raw FROM {parsed} WHERE problem IS NOT NULL")
            for note in self.notes:
                con.execute(f"INSERT INTO stage_notes BY NAME SELECT x_source_row AS row_number, "
                            f"{'NULL' if note.column is None else repr(note.column)} AS column_name, {note.reason} AS note, "
                            f"raw FROM {parsed} WHERE problem IS NULL AND coalesce({note.fails}, false)")
            cleared: dict[str, list[str]] = {}
            for note in self.notes:
                for col in note.clears:
                    cleared.setdefault(col, []).append(f"coalesce({note.fails}, false)")
            replace = ", ".join(f"CASE WHEN {' OR '.join(conds)} THEN NULL ELSE {col} END AS {col}"
                                for col, conds in cleared.items())
            accepted = f"SELECT * {f'REPLACE ({replace}) ' if replace else ''}FROM {parsed} WHERE problem IS NULL"
            lines = self.lines.replace(ACCEPTED, f"({accepted})")
            con.execute(
                "INSERT INTO stage_lines BY NAME SELECT * EXCLUDE (base_key), base_key || CASE WHEN "
                "row_number() OVER (PARTITION BY base_key ORDER BY x_source_row) > 1 THEN '#' || "
                "row_number() OVER (PARTITION BY base_key ORDER BY x_source_row) ELSE '' END AS x_natural_key "
                f"FROM ({lines}) l")
            return con.execute(f"SELECT count(*) FROM {parsed}").fetchone()[0]
        finally:
            drop_temp(con, *made)
