"""Ingesting usage and invoice exports: every export row becomes a billed line with a team, exactly once.

The framework drives the format loaders in ``warehouse.loaders`` (contract in
``warehouse/loaders/__init__.py``):

1. ``detect_format`` sniffs the file's content and picks the loader.
2. ``ingest_file`` hashes the file; a file already ingested (same sha256) is skipped
   and nothing changes.  Otherwise, in ONE transaction, the loader stages the rows
   into the temp tables ``stage_lines`` / ``stage_rejects``, the framework attributes
   every staged line to a team (first matching ``[[attribution]]`` rule, else
   ``unallocated``), deletes the rows of earlier files that this export restates
   (same ``x_natural_key``), inserts the new lines, records the file in
   ``ingested_files`` and its rejects in ``ingest_rejects``, and checks that every
   row read was either loaded or rejected.  Any failure rolls the whole file back.
3. ``ingest_paths`` walks files and folders, one transaction per file.

Direct loaders.  Writing every line twice (``stage_lines``, then billing_line_items)
dominates the cost of a multi-GB export, so a loader whose ``stage`` accepts a third
argument ``lines`` (a ``LineSink``) may instead hand the framework ONE ``SELECT`` of
its staged columns: the framework inserts it straight into billing_line_items with
the line id, the team (the same first-matching-rule attribution, evaluated inline)
and the provenance.  A row the loader rejects is one whose ``x_natural_key`` is NULL:
it is inserted marked (``x_source_format = ''``, placeholders in NOT NULL columns),
its row numbers are listed in ``stage_rejected`` for the loader to write its
``stage_rejects``, and the framework deletes it before restated rows are replaced.
Everything else (one transaction, read = loaded + rejected, exactly-once, restatement,
totals, rollback on any error) is the same as for staged loaders.

Everything bulk happens inside DuckDB; Python only passes parameters.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib
import inspect
import os
import pkgutil
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Literal

import duckdb

from spendwatch.config import UNALLOCATED, Config
from spendwatch.errors import SpendwatchError, UsageError
from warehouse.loaders import FRAMEWORK_COLUMNS, UnreadableFile

HEAD_BYTES = 64 * 1024
GZIP_MAGIC = b"\x1f\x8b"

# Resource settings applied for the duration of one ingest and restored afterwards.
# They keep a multi-GB export within about 1 GB of resident memory: DuckDB spills
# staged rows to its temp directory instead of holding them all in RAM (a direct
# loader streams its rows into billing_line_items and stays far below it).
INGEST_MEMORY_LIMIT = "600MB"

# x_line_id: the first 16 hex digits (64 bits) of the file's sha256, '-', the 1-based
# source row zero-padded to 10 digits, e.g. "2d711642b726b044-0000000042".  Deterministic
# and unique per (file, row).  Keys of one file share a prefix and arrive in order, which
# compresses well.  There is no index on it (migration 006): it is unique because a file is
# ingested once (ingested_files.file_hash is that table's primary key) and its rows are
# numbered once (checked: check_staged, LineSink.insert), and a file whose hash shares its
# 16-digit prefix with an ingested file's (odds ~n^2/2^65) is refused.
LINE_ID_SQL = "left({hash}, 16) || '-' || lpad(CAST({row} AS VARCHAR), 10, '0')"


def line_id(file_hash: str, source_row: int) -> str:
    """The x_line_id of one source row of a file (same rule as LINE_ID_SQL)."""
    return f"{file_hash[:16]}-{source_row:010d}"


# billing_line_items minus the columns the framework fills (see FRAMEWORK_COLUMNS).
# create_stage_tables checks this against the live table, so a migration that adds
# a column fails loudly until the tuple is updated.
STAGE_COLUMNS: tuple[str, ...] = (
    "BillingAccountId",
    "BillingAccountName",
    "SubAccountId",
    "SubAccountName",
    "BillingCurrency",
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "ContractedCost",
    "ListUnitPrice",
    "ContractedUnitPrice",
    "PricingQuantity",
    "PricingUnit",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "InvoiceId",
    "InvoiceIssuerName",
    "ServiceProviderName",
    "HostProviderName",
    "ServiceName",
    "ServiceCategory",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "RegionId",
    "RegionName",
    "SkuId",
    "SkuPriceId",
    "CommitmentDiscountId",
    "Tags",
    "x_provider",
    "x_product_kind",
    "x_project_id",
    "x_workspace_id",
    "x_api_key_id",
    "x_endpoint_id",
    "x_gpu_class",
    "x_gpu_count",
    "x_gpu_seconds",
    "x_model",
    "x_input_tokens",
    "x_cached_input_tokens",
    "x_cache_write_tokens",
    "x_output_tokens",
    "x_natural_key",
    "x_source_row",
)

# Active ISO 4217 codes (list of the ISO 4217 maintenance agency, amendment 179 of
# 2025, which added XCG and later confirmed ZWG), plus the national codes withdrawn
# since 2023 that restated older months can still carry (HRK, SLL, ANG, ZWL).
# Fund codes, precious metals and test codes (XAU, XTS, XXX, ...) are not billing
# currencies and are excluded.  No maintained list ships in the installed packages
# (pycountry is not a dependency), hence the hard-coded set.
ISO_4217_CODES: frozenset[str] = frozenset(
    """
    AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD
    BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN
    ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD
    IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD
    MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD
    OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP
    SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD
    UYU UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
    HRK SLL ANG ZWL
    """.split()
)

_SETTING_VALUE = re.compile(r"^[A-Za-z0-9 ._%-]+$")


@dataclass
class IngestResult:
    """What one export file contributed: rows read, loaded, rejected, replaced, and the money loaded."""

    path: Path
    file_hash: str
    format: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rows_replaced: int = 0
    period_start: datetime | None = None
    period_end: datetime | None = None
    totals: dict[str, Decimal] = field(default_factory=dict)  # BilledCost loaded, per BillingCurrency
    skipped_duplicate: bool = False
    error: str | None = None  # set only by ingest_paths(errors="collect") for a file that failed


@dataclass(frozen=True)
class Loader:
    """One export format: the module that sniffs and stages it."""

    format: str
    module: ModuleType
    priority: int = 0

    def sniff(self, path: Path, head: bytes) -> bool:
        return bool(self.module.sniff(path, head))

    def stage(self, con: duckdb.DuckDBPyConnection, path: Path, lines: LineSink | None = None) -> int | None:
        """Run the loader's ``stage``, offering it the direct sink when it takes one."""
        if lines is not None and self.takes_lines:
            return self.module.stage(con, path, lines=lines)
        return self.module.stage(con, path)

    @property
    def takes_lines(self) -> bool:
        """Whether the loader's ``stage`` accepts a ``lines`` sink (may insert directly)."""
        try:
            return "lines" in inspect.signature(self.module.stage).parameters
        except (TypeError, ValueError):
            return False


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


def read_head(path: Path, size: int = HEAD_BYTES) -> bytes:
    """The first ``size`` bytes of the file's content, gunzipped when the file is gzip-compressed."""
    try:
        with open(path, "rb") as f:
            raw = f.read(size)
            if raw[:2] != GZIP_MAGIC:
                return raw
        with gzip.open(path, "rb") as g:
            return g.read(size)
    except (OSError, EOFError, zlib.error) as e:  # also a truncated or corrupt gzip stream
        raise UnreadableFile(f"{path}: cannot read: {e}") from None


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


# --------------------------------------------------------------------------- staging


def create_stage_tables(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create the empty temp tables ``stage_lines`` and ``stage_rejects`` a loader fills.

    ``stage_lines`` has the ``STAGE_COLUMNS`` with the types of ``billing_line_items``
    (no constraints: the final insert into billing_line_items enforces them).
    """
    live = [r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name = 'billing_line_items' ORDER BY column_index"
    ).fetchall()]
    if not live:
        raise SpendwatchError("billing_line_items does not exist: open the warehouse with warehouse.db.connect()")
    expected = [c for c in live if c not in FRAMEWORK_COLUMNS]
    if list(STAGE_COLUMNS) != expected:
        raise SpendwatchError(
            "warehouse.ingest.STAGE_COLUMNS is out of date with billing_line_items: "
            f"missing {sorted(set(expected) - set(STAGE_COLUMNS))}, extra {sorted(set(STAGE_COLUMNS) - set(expected))}"
        )
    cols = ", ".join(_q(c) for c in STAGE_COLUMNS)
    con.execute(f"CREATE OR REPLACE TEMP TABLE stage_lines AS SELECT {cols} FROM main.billing_line_items LIMIT 0")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE stage_rejects "
        "(row_number INTEGER, column_name VARCHAR, reason VARCHAR, raw VARCHAR)"
    )


def drop_stage_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the temp tables of one ingest."""
    for t in ("stage_lines", "stage_rejects", "stage_rules", "stage_teams", "stage_attribution", "stage_rejected"):
        con.execute(f"DROP TABLE IF EXISTS temp.{t}")


# --------------------------------------------------------------------------- attribution


def load_rules(con: duckdb.DuckDBPyConnection, cfg: Config) -> None:
    """Put the config's attribution rules (with their 0-based ordinal) and declared teams into temp tables."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE stage_rules (ordinal INTEGER, match VARCHAR, value VARCHAR, "
        "tag_key VARCHAR, tag_path VARCHAR, provider VARCHAR, team VARCHAR)"
    )
    rows = [
        [i, r.match, r.value, r.tag_key, _json_pointer(r.tag_key) if r.tag_key else None, r.provider, r.team]
        for i, r in enumerate(cfg.attribution)
    ]
    if rows:
        con.executemany("INSERT INTO stage_rules VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    con.execute("CREATE OR REPLACE TEMP TABLE stage_teams (name VARCHAR)")
    teams = [[t.name] for t in cfg.teams]
    if teams:
        con.executemany("INSERT INTO stage_teams VALUES (?)", teams)


# match kind -> the staged column it compares (``account`` compares two).
_MATCH_COLUMNS: tuple[tuple[str, str], ...] = (
    ("account", "SubAccountId"),
    ("account", "BillingAccountId"),
    ("project", "x_project_id"),
    ("workspace", "x_workspace_id"),
    ("api_key", "x_api_key_id"),
    ("endpoint", "x_endpoint_id"),
    ("resource", "ResourceId"),
)


def attribute(con: duckdb.DuckDBPyConnection, cfg: Config) -> None:
    """Compute, for each staged line, the first matching attribution rule into ``stage_attribution``.

    Result columns: ``x_source_row``, ``ordinal`` (of the winning rule), ``team``.
    Lines that no rule matches are absent (the insert maps them to ``unallocated``).
    """
    load_rules(con, cfg)
    provider_ok = "(r.provider IS NULL OR r.provider = l.x_provider)"
    kinds = {r.match for r in cfg.attribution}
    parts = [  # one equality join per key column that some rule matches on
        f"SELECT l.x_source_row, r.ordinal, r.team FROM stage_lines l "
        f"JOIN stage_rules r ON r.match = '{kind}' AND l.{_q(col)} = r.value WHERE {provider_ok}"
        for kind, col in _MATCH_COLUMNS
        if kind in kinds
    ]
    # Tag rules: one scan per rule (few rules), the JSON pointer being a constant per scan.
    tag_rules = con.execute(
        "SELECT ordinal, tag_path, value, team, provider FROM stage_rules WHERE match = 'tag' ORDER BY ordinal"
    ).fetchall()
    params: list[object] = []
    for ordinal, path, value, team, provider in tag_rules:
        prov = "(CAST(? AS VARCHAR) IS NULL OR l.x_provider = ?)"
        if value is not None:
            parts.append(
                "SELECT l.x_source_row, CAST(? AS INTEGER), CAST(? AS VARCHAR) FROM stage_lines l "
                f"WHERE l.Tags IS NOT NULL AND {prov} AND json_extract_string(l.Tags, ?) = ?"
            )
            params += [ordinal, team, provider, provider, path, value]
        else:
            parts.append(
                "SELECT l.x_source_row, CAST(? AS INTEGER), t.name FROM stage_lines l "
                "JOIN stage_teams t ON t.name = lower(trim(json_extract_string(l.Tags, ?))) "
                f"WHERE l.Tags IS NOT NULL AND {prov}"
            )
            params += [ordinal, path, provider, provider]
    if not parts:  # no rules: every line is unallocated
        parts = ["SELECT CAST(NULL AS INTEGER) AS x_source_row, CAST(NULL AS INTEGER) AS ordinal, "
                 "CAST(NULL AS VARCHAR) AS team WHERE false"]
    union = "\nUNION ALL\n".join(parts)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE stage_attribution AS "
        f"SELECT x_source_row, min(ordinal) AS ordinal, arg_min(team, ordinal) AS team FROM ({union}) m "
        "GROUP BY x_source_row",
        params,
    )


def attribution_sql(cfg: Config, available: Iterable[str], row: str = "l") -> tuple[str, dict[str, object]]:
    """SQL picking, for one line, the first matching attribution rule, and its named parameters.

    The same rules as ``attribute`` (same order, same matching, provider restriction,
    tag rules with and without a value), written as one ``CASE`` over the line's
    columns ``{row}.<column>`` so a direct insert needs no join.  The expression is a
    ``STRUCT(o INTEGER, t VARCHAR)`` (rule ordinal, team), NULL when no rule matches.
    Columns not in ``available`` are NULL for every line, so the rules on them never match.
    """
    have = set(available)
    col = lambda c: f"{row}.{_q(c)}"  # noqa: E731
    params: dict[str, object] = {}
    whens: list[str] = []
    match_columns: dict[str, list[str]] = {}
    for kind, c in _MATCH_COLUMNS:
        match_columns.setdefault(kind, []).append(c)
    teams_param = "sw_attr_teams"
    for i, rule in enumerate(cfg.attribution):
        mine: dict[str, object] = {}  # this rule's parameters, kept only when the rule can match
        conds: list[str] = []
        if rule.provider is not None:
            if "x_provider" not in have:
                continue
            mine[f"sw_attr_{i}_provider"] = rule.provider
            conds.append(f"{col('x_provider')} = $sw_attr_{i}_provider")
        if rule.match == "tag":
            if "Tags" not in have:
                continue
            mine[f"sw_attr_{i}_path"] = _json_pointer(str(rule.tag_key))
            tag = f"json_extract_string({col('Tags')}, $sw_attr_{i}_path)"
            conds.insert(0, f"{col('Tags')} IS NOT NULL")
            if rule.value is not None:
                mine[f"sw_attr_{i}_value"], mine[f"sw_attr_{i}_team"] = rule.value, rule.team
                conds.append(f"{tag} = $sw_attr_{i}_value")
                team = f"CAST($sw_attr_{i}_team AS VARCHAR)"
            else:  # the tag's value names the team, when it is a declared team
                mine[teams_param] = [t.name for t in cfg.teams]
                conds.append(f"list_contains(CAST(${teams_param} AS VARCHAR[]), lower(trim({tag})))")
                team = f"lower(trim({tag}))"
        else:
            cols = [c for c in match_columns[rule.match] if c in have]
            if not cols:
                continue
            mine[f"sw_attr_{i}_value"], mine[f"sw_attr_{i}_team"] = rule.value, rule.team
            conds.append("(" + " OR ".join(f"{col(c)} = $sw_attr_{i}_value" for c in cols) + ")")
            team = f"CAST($sw_attr_{i}_team AS VARCHAR)"
        params.update(mine)
        whens.append(f"WHEN {' AND '.join(conds)} THEN struct_pack(o := CAST({i} AS INTEGER), t := {team})")
    none = "CAST(NULL AS STRUCT(o INTEGER, t VARCHAR))"
    if not whens:
        return none, params
    return f"CASE {' '.join(whens)} ELSE {none} END", params


def _json_pointer(key: str) -> str:
    """The JSON pointer (RFC 6901) addressing one top-level key, whatever characters it contains."""
    return "/" + key.replace("~", "~0").replace("/", "~1")


# --------------------------------------------------------------------------- ingest


def file_sha256(path: Path) -> str:
    """The sha256 of the file's bytes, streamed."""
    try:
        with open(path, "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError as e:
        raise UnreadableFile(f"{path}: cannot read: {e.strerror or e}") from None


def resolve_loader(path: Path, fmt: str) -> Loader:
    """The loader for an explicit format id, or the detected one for ``auto``."""
    loaders = discover_loaders()
    if fmt == "auto":
        fmt = detect_format(path)
    try:
        return loaders[fmt]
    except KeyError:
        raise UsageError(f"{path}: unknown format {fmt!r} (known formats: {', '.join(sorted(loaders))})") from None


def ingest_file(
    con: duckdb.DuckDBPyConnection,
    path: str | os.PathLike,
    cfg: Config,
    fmt: str = "auto",
    *,
    memory_limit: str | None = INGEST_MEMORY_LIMIT,
) -> IngestResult:
    """Load one export file into billing_line_items, exactly once, attributed to teams.

    A file whose sha256 is already in ``ingested_files`` is skipped (``skipped_duplicate``;
    the counts are then zero and nothing changes).  Otherwise the file is staged,
    attributed, restated rows of earlier files are replaced and the file is recorded,
    all in one transaction that is rolled back on any error.
    """
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"{p}: no such file")
    if p.stat().st_size == 0:
        raise UnreadableFile(f"{p}: empty file")
    file_hash = file_sha256(p)
    earlier = con.execute("SELECT format FROM ingested_files WHERE file_hash = ?", [file_hash]).fetchone()
    if earlier:
        return IngestResult(path=p, file_hash=file_hash, format=earlier[0], skipped_duplicate=True)
    loader = resolve_loader(p, fmt)
    with _ingest_settings(con, memory_limit):
        con.execute("BEGIN TRANSACTION")
        try:
            result = _ingest_in_transaction(con, p, file_hash, loader, cfg)
            con.execute("COMMIT")
        except BaseException:
            try:
                con.execute("ROLLBACK")
            except duckdb.Error:  # keep the original error; the transaction is gone either way
                pass
            raise
        finally:
            drop_stage_tables(con)
    return result


def _ingest_in_transaction(
    con: duckdb.DuckDBPyConnection, path: Path, file_hash: str, loader: Loader, cfg: Config
) -> IngestResult:
    """The steps of one ingest; the caller owns the transaction."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    source_file = str(path.resolve())
    clash = con.execute(
        "SELECT file_path FROM ingested_files WHERE left(file_hash, 16) = left(?, 16) AND file_hash <> ?",
        [file_hash, file_hash],
    ).fetchone()
    if clash:  # its line ids would repeat the other file's (see LINE_ID_SQL); the input's doing, not a bug
        raise UsageError(f"{path}: its sha256 starts like that of the ingested {clash[0]}; line ids would clash")
    create_stage_tables(con)
    sink = LineSink(con, path, loader.format, source_file, file_hash, now, cfg)
    rows_read = stage_file(con, path, loader, sink)

    if sink.inserted is None:  # the loader staged its lines: attribute and insert them
        loaded, rejected = check_staged(con, path, rows_read)
        if rows_read is None:
            rows_read = loaded + rejected
        attribute(con, cfg)
        rows_replaced = replace_superseded(con, loader.format, file_hash)
        # Row order no longer matters (x_source_row is set): let the big insert run in parallel.
        _set(con, "preserve_insertion_order", "false")
        try:
            insert_lines(con, loader.format, source_file, file_hash, now)
        finally:
            _set(con, "preserve_insertion_order", "true")
        summary_of, summary_params = "stage_lines", []
    else:  # the loader inserted its lines directly
        loaded, rejected = sink.finish(rows_read)
        if rows_read is None:
            rows_read = loaded + rejected
        rows_replaced = replace_superseded(con, loader.format, file_hash, direct=True)
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
        "INSERT INTO ingested_files (file_hash, file_path, format, rows_read, rows_loaded, rows_rejected, "
        "rows_replaced, period_start, period_end, ingested_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [file_hash, source_file, loader.format, rows_read, loaded, rejected, rows_replaced, period_start, period_end, now],
    )
    (in_table,) = con.execute(
        "SELECT count(*) FROM billing_line_items WHERE x_source_hash = ?", [file_hash]
    ).fetchone()
    if in_table != loaded or rows_read != loaded + rejected:
        raise SpendwatchError(
            f"{path}: row accounting failed: read {rows_read}, loaded {in_table} (staged {loaded}), rejected {rejected}"
        )
    return IngestResult(
        path=path,
        file_hash=file_hash,
        format=loader.format,
        rows_read=rows_read,
        rows_loaded=loaded,
        rows_rejected=rejected,
        rows_replaced=rows_replaced,
        period_start=period_start,
        period_end=period_end,
        totals=totals,
    )


def stage_file(
    con: duckdb.DuckDBPyConnection, path: Path, loader: Loader, lines: LineSink | None = None
) -> int | None:
    """Run the loader's ``stage``; a DuckDB read error becomes an UnreadableFile naming the file.

    Returns the number of data rows the loader read, if it reports one (``stage`` may
    return it), so the framework can check read = loaded + rejected independently.
    ``lines`` is offered to loaders that insert directly (see ``LineSink``).
    """
    try:
        n = loader.stage(con, path, lines)
    except (duckdb.IOException, duckdb.InvalidInputException, duckdb.ConversionException,
            duckdb.OutOfRangeException) as e:
        raise UnreadableFile(f"{path}: cannot read as {loader.format}: {error_summary(e)}") from None
    return int(n) if n is not None else None


class LineSink:
    """The direct way into billing_line_items: a loader's lines inserted once, without a staged copy.

    Offered to a loader whose ``stage`` takes a ``lines`` argument.  The loader calls
    ``insert`` at most once with a SELECT yielding some of the ``STAGE_COLUMNS`` (at
    least ``x_source_row`` and ``x_natural_key``; the others are NULL).  A row with a
    NULL ``x_natural_key`` is one the loader rejects: after ``insert`` its row numbers
    are in the temp table ``stage_rejected(x_source_row)``, and the loader writes a
    ``stage_rejects`` row for each of them.  ``finish`` (called by the framework) checks
    that every rejected row has a reason and no loaded row has one, then removes the
    rejected rows.  A loader that never calls ``insert`` is a staged loader as before.
    """

    REJECTED_FORMAT = ""  # x_source_format of a rejected row until ``finish`` deletes it

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path, fmt: str, source_file: str, file_hash: str,
                 now: datetime, cfg: Config) -> None:
        self.con, self.path, self.format = con, path, fmt
        self.source_file, self.file_hash, self.now, self.cfg = source_file, file_hash, now, cfg
        self.inserted: int | None = None  # rows inserted, rejected ones included
        self.rejected = 0  # rows the loader rejected (x_natural_key NULL)

    def insert(self, select_sql: str, params: dict[str, object], columns: Iterable[str]) -> int:
        """Insert the rows of ``select_sql`` (named parameters ``params``; names starting
        with ``sw_`` are the framework's) as this file's lines; return how many rows it had."""
        if self.inserted is not None:
            raise SpendwatchError(f"{self.path}: the {self.format} loader inserted its lines twice")
        cols = list(columns)
        unknown = sorted(set(cols) - set(STAGE_COLUMNS))
        if unknown or "x_source_row" not in cols or "x_natural_key" not in cols:
            raise SpendwatchError(f"{self.path}: the {self.format} loader's lines need x_source_row and x_natural_key "
                                  f"and only staged columns (unknown: {unknown})")
        if any(k.startswith("sw_") for k in params):
            raise SpendwatchError(f"{self.path}: the {self.format} loader used a reserved parameter name (sw_*)")
        try:
            self.inserted = insert_lines(self.con, self.format, self.source_file, self.file_hash, self.now,
                                         select=(select_sql, params, cols), cfg=self.cfg)
        except duckdb.ConstraintException as e:
            raise SpendwatchError(
                f"{self.path}: the {self.format} loader's lines break a constraint of billing_line_items "
                f"(a NULL mandatory value): {error_summary(e)}"
            ) from None
        # x_line_id (file hash prefix + row) is unique only if the rows are: there is no index
        # on it (see migration 006), so the loader's numbering is checked here.
        (duplicate,) = self.con.execute(
            "SELECT min(x_source_row) FROM (SELECT x_source_row FROM main.billing_line_items "
            "WHERE x_source_hash = ? GROUP BY x_source_row HAVING count(*) > 1)",
            [self.file_hash],
        ).fetchone()
        if duplicate is not None:
            raise SpendwatchError(f"{self.path}: the {self.format} loader numbered row {duplicate} more than once")
        self.con.execute(
            "CREATE OR REPLACE TEMP TABLE stage_rejected AS SELECT x_source_row FROM main.billing_line_items "
            "WHERE x_source_hash = ? AND x_source_format = ?",
            [self.file_hash, self.REJECTED_FORMAT],
        )
        (self.rejected,) = self.con.execute("SELECT count(*) FROM stage_rejected").fetchone()
        return self.inserted

    def finish(self, rows_read: int | None) -> tuple[int, int]:
        """Check the rejects against the rejected rows, delete those rows; return (loaded, rejected)."""
        con, path = self.con, self.path
        assert self.inserted is not None
        (stray,) = con.execute(
            "SELECT min(row_number) FROM stage_rejects WHERE row_number IS NOT NULL "
            "AND row_number NOT IN (SELECT x_source_row FROM stage_rejected)"
        ).fetchone()
        if stray is not None:
            raise SpendwatchError(f"{path}: row {stray} was both loaded and rejected by the loader")
        if self.rejected:
            (silent,) = con.execute(
                "SELECT min(x_source_row) FROM stage_rejected WHERE x_source_row NOT IN "
                "(SELECT row_number FROM stage_rejects WHERE row_number IS NOT NULL)"
            ).fetchone()
            if silent is not None:
                raise SpendwatchError(f"{path}: row {silent} was rejected by the loader without a reason")
            con.execute("DELETE FROM main.billing_line_items WHERE x_source_hash = ? AND x_source_format = ?",
                        [self.file_hash, self.REJECTED_FORMAT])
        (rejected,) = con.execute(
            "SELECT count(DISTINCT row_number) FROM stage_rejects WHERE row_number IS NOT NULL"
        ).fetchone()
        loaded = self.inserted - self.rejected
        if rows_read is not None and rows_read != loaded + rejected:
            raise SpendwatchError(f"{path}: loader read {rows_read} rows but staged {loaded} and rejected {rejected}")
        return loaded, rejected


def check_staged(con: duckdb.DuckDBPyConnection, path: Path, rows_read: int | None) -> tuple[int, int]:
    """Check the loader's output (unique rows, no row both loaded and rejected); return (loaded, rejected)."""
    loaded, distinct_rows, null_rows = con.execute(
        "SELECT count(*), count(DISTINCT x_source_row), count(*) - count(x_source_row) FROM stage_lines"
    ).fetchone()
    if null_rows or distinct_rows != loaded:
        raise SpendwatchError(f"{path}: loader staged lines without a unique x_source_row")
    (rejected,) = con.execute(
        "SELECT count(DISTINCT row_number) FROM stage_rejects WHERE row_number IS NOT NULL"
    ).fetchone()
    both = con.execute(
        "SELECT min(r.row_number) FROM stage_rejects r SEMI JOIN stage_lines l ON l.x_source_row = r.row_number"
    ).fetchone()[0]
    if both is not None:
        raise SpendwatchError(f"{path}: row {both} was both loaded and rejected by the loader")
    if rows_read is not None and rows_read != loaded + rejected:
        raise SpendwatchError(
            f"{path}: loader read {rows_read} rows but staged {loaded} and rejected {rejected}"
        )
    return loaded, rejected


# A loader keeps same-key lines inside one file apart by suffixing the 2nd, 3rd, ... with
# "#2", "#3" (real duplicate charges stay visible).  Restatement compares keys without that
# suffix, so a corrected re-delivery that has the line once also removes the "#2" copy.
_BASE_KEY_SQL = "CASE WHEN {k} LIKE '%#%' THEN regexp_replace({k}, '#[0-9]+$', '') ELSE {k} END"


def replace_superseded(con: duckdb.DuckDBPyConnection, fmt: str, file_hash: str, *, direct: bool = False) -> int:
    """Delete rows of earlier files of the same format that this export restates; return how many.

    A restated row is one whose ``x_natural_key``, without a loader's ``#n`` duplicate
    suffix, is a key of this file (likewise without suffix): the new file is the newer
    account of that charge, however many times the earlier file listed it.  Rows of the
    file being ingested are never compared with each other: duplicates inside one file stay.
    The new keys are those of ``stage_lines``, or with ``direct`` those of the file's
    lines already in billing_line_items (a direct loader's).
    """
    base = _BASE_KEY_SQL.format(k="x_natural_key")
    if direct:
        earlier = con.execute(
            "SELECT 1 FROM billing_line_items WHERE x_source_format = ? AND x_source_hash <> ? LIMIT 1", [fmt, file_hash]
        ).fetchone()
        if earlier is None:  # nothing of this format to restate
            return 0
        keys, params = f"SELECT {base} FROM billing_line_items WHERE x_source_hash = ?", [fmt, file_hash, file_hash]
    else:
        keys, params = f"SELECT {base} FROM stage_lines", [fmt, file_hash]
    (n,) = con.execute(
        "DELETE FROM billing_line_items WHERE x_source_format = ? AND x_source_hash <> ? "
        f"AND {base} IN ({keys})",
        params,
    ).fetchone()
    return int(n)


def insert_lines(
    con: duckdb.DuckDBPyConnection,
    fmt: str,
    source_file: str,
    file_hash: str,
    now: datetime,
    *,
    select: tuple[str, dict[str, object], list[str]] | None = None,
    cfg: Config | None = None,
) -> int:
    """Insert the staged lines with their line id, team, rule and provenance; return how many rows.

    Without ``select`` the lines are those of ``stage_lines``, attributed by
    ``stage_attribution``.  With ``select`` = (SQL, named parameters, its columns) they
    are a direct loader's rows (see ``LineSink``), attributed inline by ``cfg``'s rules.
    """
    target = ", ".join(_q(c) for c in ("x_line_id", *STAGE_COLUMNS, "x_team", "x_attribution_rule",
                                         "x_source_format", "x_source_file", "x_source_hash", "x_ingested_at"))
    if select is None:
        stage_cols = ", ".join(f"l.{_q(c)}" for c in STAGE_COLUMNS)
        (n,) = con.execute(
            f"INSERT INTO billing_line_items ({target}) "
            f"SELECT {LINE_ID_SQL.format(hash='CAST(? AS VARCHAR)', row='l.x_source_row')}, {stage_cols}, "
            f"coalesce(a.team, ?), CASE WHEN a.ordinal IS NULL THEN NULL ELSE 'attribution[' || a.ordinal || ']' END, "
            "?, ?, ?, ? "
            "FROM stage_lines l LEFT JOIN stage_attribution a ON a.x_source_row = l.x_source_row",
            [file_hash, UNALLOCATED, fmt, source_file, file_hash, now],
        ).fetchone()
        return int(n)
    if cfg is None:
        raise SpendwatchError("insert_lines: a direct insert needs the config (attribution rules)")
    sql, params, columns = select
    attribution, attribution_params = attribution_sql(cfg, columns)
    rejected = "l.x_natural_key IS NULL"
    not_null = _not_null_placeholders(con)

    given = [c for c in STAGE_COLUMNS if c in columns]  # the others are left NULL
    target = ", ".join(_q(c) for c in ("x_line_id", *given, "x_team", "x_attribution_rule",
                                         "x_source_format", "x_source_file", "x_source_hash", "x_ingested_at"))

    def staged(c: str) -> str:
        if c in not_null and c != "x_source_row":  # a rejected row is kept until finish(): fill its NOT NULLs
            return f"CASE WHEN {rejected} THEN coalesce(l.{_q(c)}, {not_null[c]}) ELSE l.{_q(c)} END"
        return f"l.{_q(c)}"

    all_params: dict[str, object] = {
        **params, **attribution_params,
        "sw_line_prefix": line_id(file_hash, 0)[:-10], "sw_unallocated": UNALLOCATED, "sw_format": fmt,
        "sw_rejected_format": LineSink.REJECTED_FORMAT, "sw_source_file": source_file, "sw_file_hash": file_hash,
        "sw_now": now,
    }
    # x_source_row is explicit, so the insert need not keep the rows in order: without it the
    # insert is ~25% cheaper.  (Not restored on error: the transaction is then aborted, and
    # ingest_file restores every setting after the rollback.)
    _set(con, "preserve_insertion_order", "false")
    (n,) = con.execute(
        f"INSERT INTO main.billing_line_items ({target}) "
        "SELECT $sw_line_prefix || lpad(CAST(l.x_source_row AS VARCHAR), 10, '0'), "
        f"{', '.join(staged(c) for c in given)}, "
        "coalesce(l.sw_attribution.t, $sw_unallocated), 'attribution[' || l.sw_attribution.o || ']', "
        f"CASE WHEN {rejected} THEN $sw_rejected_format ELSE $sw_format END, $sw_source_file, $sw_file_hash, $sw_now "
        f"FROM (SELECT *, {attribution} AS sw_attribution FROM ({sql}) l) l",
        all_params,
    ).fetchone()
    _set(con, "preserve_insertion_order", "true")
    return int(n)


# Placeholder per type for the NOT NULL columns of a rejected row (deleted before commit).
_PLACEHOLDERS = {"VARCHAR": "''", "INTEGER": "0", "BIGINT": "0", "TIMESTAMP": "TIMESTAMP '1970-01-01'",
                 "BOOLEAN": "false", "JSON": "'{}'"}


def _not_null_placeholders(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The NOT NULL staged columns of billing_line_items, each with a placeholder value of its type."""
    out: dict[str, str] = {}
    for name, dtype, nullable in con.execute(
        "SELECT column_name, data_type, is_nullable FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name = 'billing_line_items'"
    ).fetchall():
        if not nullable and name in STAGE_COLUMNS:
            out[name] = "0" if str(dtype).startswith("DECIMAL") else _PLACEHOLDERS.get(str(dtype), "''")
    return out


@contextmanager
def _ingest_settings(con: duckdb.DuckDBPyConnection, memory_limit: str | None) -> Iterator[None]:
    """Apply the ingest's resource settings to the connection's database, restoring them afterwards."""
    # Loaders may rely on an INSERT ... SELECT from read_csv/read_parquet keeping the
    # file's row order (e.g. to number rows with row_number() OVER ()), so order is preserved.
    wanted: dict[str, str] = {"preserve_insertion_order": "true", "enable_progress_bar": "false"}
    if memory_limit:
        (current,) = con.execute("SELECT current_setting('memory_limit')").fetchone()
        if _size_bytes(str(memory_limit)) < _size_bytes(str(current)):  # lower it, never raise it
            wanted["memory_limit"] = memory_limit
    saved: dict[str, str] = {}
    for name in wanted:
        (value,) = con.execute("SELECT current_setting(?)", [name]).fetchone()
        saved[name] = str(value).lower() if isinstance(value, bool) else str(value)
    try:
        for name, value in wanted.items():
            _set(con, name, value)
        yield
    finally:
        for name, value in saved.items():
            _set(con, name, value)


_UNITS = {"": 1, "b": 1, "bytes": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
          "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4}


def _size_bytes(text: str) -> float:
    """A DuckDB memory size ('600MB', '18.8 GiB') in bytes; unparseable sizes count as unlimited."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*([A-Za-z]*)\s*", text)
    if not m or m.group(2).lower() not in _UNITS:
        return float("inf")
    return float(m.group(1)) * _UNITS[m.group(2).lower()]


def _set(con: duckdb.DuckDBPyConnection, name: str, value: str) -> None:
    # SET takes no parameters; both name and value are ours or DuckDB's own output, checked here.
    if not re.fullmatch(r"[a-z_]+", name) or not _SETTING_VALUE.match(value):
        raise SpendwatchError(f"refusing to apply DuckDB setting {name}={value!r}")
    con.execute(f"SET {name} = '{value}'")


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


# --------------------------------------------------------------------------- many files


def iter_export_files(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """The export files under the given files and folders: recursive, sorted, no dotfiles or README*."""
    out: list[Path] = []
    seen: set[Path] = set()
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            candidates = sorted(
                (f for f in p.rglob("*") if f.is_file() and not _hidden(f.relative_to(p))),
                key=lambda f: f.relative_to(p).as_posix(),
            )
        elif p.is_file():
            candidates = [p]
        else:
            raise UsageError(f"{p}: no such file or folder")
        for f in candidates:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                out.append(f)
    return out


def _hidden(rel: Path) -> bool:
    return any(part.startswith(".") for part in rel.parts) or rel.name.upper().startswith("README")


def ingest_paths(
    con: duckdb.DuckDBPyConnection,
    paths: Iterable[str | os.PathLike],
    cfg: Config,
    fmt: str = "auto",
    progress: Callable[[IngestResult], None] | None = None,
    errors: Literal["raise", "collect"] = "raise",
) -> list[IngestResult]:
    """Ingest every export file under ``paths``, each in its own transaction.

    With ``errors="raise"`` the first file that cannot be ingested stops the run with
    a UsageError naming it (files before it stay ingested).  With ``"collect"`` such a
    file yields an IngestResult whose ``error`` is that one-line message and the run
    goes on.  Failures that are not the input's fault (SpendwatchError that is not a
    UsageError, bugs) always raise.  ``progress`` is called with each file's result.
    """
    if errors not in ("raise", "collect"):
        raise UsageError(f"errors must be 'raise' or 'collect', not {errors!r}")
    results: list[IngestResult] = []
    if errors == "raise":
        files = iter_export_files(paths)
    else:
        files = []
        for raw in paths:
            try:
                files.extend(f for f in iter_export_files([raw]) if f not in files)
            except UsageError as e:
                failed = IngestResult(path=Path(raw), file_hash="", format=fmt, error=str(e))
                results.append(failed)
                if progress:
                    progress(failed)
    for f in files:
        try:
            res = ingest_file(con, f, cfg, fmt)
        except UsageError as e:
            if errors == "raise":
                raise
            res = IngestResult(path=f, file_hash="", format=fmt, error=str(e))
        results.append(res)
        if progress:
            progress(res)
    return results


# --------------------------------------------------------------------------- SQL helpers for loaders


def _q(identifier: str) -> str:
    """Quote an SQL identifier (column names may come from an export's header)."""
    return '"' + identifier.replace('"', '""') + '"'


quote_ident = _q


def error_summary(e: BaseException) -> str:
    """A DuckDB error in one line: its first line and, for a CSV error, the reason DuckDB gives.

    DuckDB's CSV errors read "CSV Error on Line: 5002", then the offending line, then the
    reason ("Expected Number of Columns: 10 Found: 11"); the offending line (export
    content) is left out.
    """
    lines = [x.strip() for x in str(e).strip().splitlines() if x.strip()]
    if not lines:
        return type(e).__name__
    first = lines[0]
    if "CSV Error on Line" in first:
        # The reason is the last line before DuckDB's suggestions and reader options; the
        # offending line before it (which may itself span lines) is left out.
        end = next((i for i, x in enumerate(lines) if x.startswith("Possible Solution") or " = " in x), len(lines))
        reason = lines[end - 1] if end > 1 else None
        if reason and not reason.startswith("Original Line"):
            return f"{first}: {reason}"
    return first



def provider_id_sql(expr: str) -> str:
    """SQL turning a provider display name into a provider id: lower-case, runs of non [a-z0-9] as '_'.

    Well-known clouds map to their usual ids: Amazon Web Services -> aws, Microsoft
    (Azure) -> azure, Google Cloud -> gcp, Oracle (Cloud Infrastructure) -> oci.
    """
    base = f"trim(regexp_replace(lower(trim({expr})), '[^a-z0-9]+', '_', 'g'), '_')"
    return (
        f"CASE {base} "
        "WHEN 'amazon_web_services' THEN 'aws' WHEN 'amazon' THEN 'aws' WHEN 'aws' THEN 'aws' "
        "WHEN 'microsoft' THEN 'azure' WHEN 'microsoft_azure' THEN 'azure' WHEN 'azure' THEN 'azure' "
        "WHEN 'google' THEN 'gcp' WHEN 'google_cloud' THEN 'gcp' WHEN 'google_cloud_platform' THEN 'gcp' "
        "WHEN 'oracle' THEN 'oci' WHEN 'oracle_cloud_infrastructure' THEN 'oci' "
        f"ELSE {base} END"
    )


def clean_sql(expr: str) -> str:
    """SQL for a raw export cell with surrounding spaces trimmed; blank and the literal NULL/null become NULL."""
    return (f"CASE WHEN trim({expr}) = '' OR trim({expr}) = 'NULL' OR trim({expr}) = 'null' "
            f"THEN NULL ELSE trim({expr}) END")


# A money cell as spreadsheets write it: optional sign and currency symbol, thousands
# separators in groups of three, a decimal point.  "$10,000.00 " -> 10000.00.
_GROUPED_NUMBER = r"^-?[$£€]?-?(\d{1,3}(,\d{3})+|\d+)(\.\d*)?$"


def number_sql(expr: str, sql_type: str) -> str:
    """SQL casting a text cell to the numeric ``sql_type``, NULL when it is not a number.

    DuckDB's own cast also reads "1_000" as 1000, which no export means: a cell with an
    underscore is no number.
    """
    return f"TRY_CAST(CASE WHEN contains({expr}, '_') THEN NULL ELSE {expr} END AS {sql_type})"


def decimal_sql(expr: str, sql_type: str, currency_expr: str | None = None) -> str:
    """SQL parsing a text cell into ``sql_type`` (a DECIMAL), NULL when it is not a number in range.

    Plain and scientific notation parse directly (surrounding spaces allowed);
    otherwise a leading currency symbol ($, £, €) and en-style thousands separators
    are dropped ("$10,000.00 " -> 10000.00).  With ``currency_expr`` (the row's
    currency code, any case and spacing) a symbol that contradicts the currency (see
    ``symbol_mismatch_sql``) gives NULL.  The spreadsheet forms are only examined
    for cells that do not parse directly (see ``lazy_sql``).
    """
    currency = f", 'c': {currency_expr}" if currency_expr else ""
    guard = f" AND NOT {symbol_mismatch_sql('s.e', 'upper(trim(s.c))')}" if currency_expr else ""
    spreadsheet = (f"list_transform([{{'t': trim({expr}), 'e': {expr}{currency}}}], lambda s: "
                   f"CASE WHEN regexp_full_match(s.t, '{_GROUPED_NUMBER}'){guard} "
                   f"THEN TRY_CAST(replace(regexp_replace(s.t, '[$£€]', '', 'g'), ',', '') AS {sql_type}) END)[1]")
    return f"coalesce({number_sql(expr, sql_type)}, {spreadsheet})"


def lazy_sql(expr: str, body: str, name: str = "cell") -> str:
    """SQL applying ``body`` (an expression of ``name``) to ``expr``, evaluated only where it is reached.

    For the rare-case branch of a CASE/coalesce: DuckDB hoists an expression used
    twice in a projection and computes it for every row, even inside a branch that
    only a few rows take; behind a lambda the branch really costs only those rows.
    """
    return f"list_transform([{expr}], lambda {name}: {body})[1]"


def symbol_mismatch_sql(expr: str, currency_expr: str) -> str:
    """SQL true when a money cell's currency symbol contradicts the row's currency (€ needs EUR, £ GBP, $ neither)."""
    return (
        f"(({expr} LIKE '%€%' AND {currency_expr} IS DISTINCT FROM 'EUR') "
        f"OR ({expr} LIKE '%£%' AND {currency_expr} IS DISTINCT FROM 'GBP') "
        f"OR ({expr} LIKE '%$%' AND ({currency_expr} = 'EUR' OR {currency_expr} = 'GBP')))"
    )


def timestamp_sql(expr: str) -> str:
    """SQL parsing a cleaned date/time cell into a UTC TIMESTAMP, NULL when it is not one.

    Accepted: ISO 8601 with ``T`` or a space, with or without seconds/fractions, ``Z``
    (or ``z``) or no zone (read as UTC, as FOCUS requires), an explicit offset, with or
    without a space before it (converted to UTC), a bare date; and US-style ``m/d/yy`` / ``m/d/yyyy`` dates with an optional
    ``H:MM[:SS]`` time, as in the FOCUS specification's own examples.
    """
    e = expr
    iso_naive = r"^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?[Zz]?$"
    iso_offset = r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)? ?[+-]\d{2}(:?\d{2})?$"
    us_date = r"^\d{1,2}/\d{1,2}/(\d{2}|\d{4})( \d{1,2}:\d{2}(:\d{2})?)?$"
    return (
        f"CASE WHEN {e} IS NULL THEN NULL "
        f"WHEN {e} LIKE '____-__-__T__:__:__Z' OR {e} LIKE '____-__-__ __:__:__' "
        f"OR {e} LIKE '____-__-__T__:__:__' OR {e} LIKE '____-__-__' "
        f"THEN TRY_CAST({e} AS TIMESTAMP) "
        f"WHEN regexp_full_match({e}, '{iso_naive}') THEN TRY_CAST(upper({e}) AS TIMESTAMP) "
        f"WHEN regexp_full_match({e}, '{iso_offset}') "
        f"THEN timezone('UTC', TRY_CAST(regexp_replace(upper({e}), ' ([+-])', '\\1') AS TIMESTAMPTZ)) "
        f"WHEN regexp_full_match({e}, '{us_date}') THEN try_strptime({e}, "
        "['%m/%d/%y', '%m/%d/%Y', '%m/%d/%y %H:%M', '%m/%d/%Y %H:%M', '%m/%d/%y %H:%M:%S', '%m/%d/%Y %H:%M:%S']) "
        "END"
    )


def currency_list() -> list[str]:
    """The ISO 4217 codes as a sorted list."""
    return sorted(ISO_4217_CODES)


def in_set_sql(expr: str, values: Iterable[str]) -> str:
    """SQL true when ``expr`` is one of ``values`` (our own constants: letters, digits, '_', '-').

    Written as a substring test on a '|a|b|' literal rather than ``IN (...)``: DuckDB
    turns long IN lists (and list_contains on a constant list) into a hash join, and a
    join would break the file's row order that a loader's INSERT ... SELECT may rely on.
    """
    vals = sorted(set(values))
    if any(not re.fullmatch(r"[A-Za-z0-9_-]+", v) for v in vals):
        raise ValueError("in_set_sql values must be plain identifiers")
    return f"contains('|{'|'.join(vals)}|', '|' || {expr} || '|')"
