"""FOCUS cloud bills (FinOps Open Cost and Usage Specification 1.0-1.3, CSV, gzip CSV or Parquet) as billed lines.

AWS, Azure, GCP and OCI export FOCUS natively; LiteLLM exports FOCUS 1.2 Parquet.
The file is read with DuckDB (``read_csv`` with every column as text, or
``read_parquet``) and validated in SQL, in one pass that inserts the lines straight
into billing_line_items (the framework's direct path, see ``warehouse.ingest.LineSink``);
the file is read a second time only for the rows that fail a check, to record why.
The common spellings take cheap paths (an ISO ``...T...Z`` time is cast directly; the
few provider names, currencies and charge categories of the first rows are looked up)
that give exactly what the full cleaning rules give.  Real exports are dirty, so this
loader accepts:

* the literal ``NULL`` / ``null`` and blank cells as empty; rows with fewer cells than the
  header (padded); quoted cells holding line breaks;
* dates with a space instead of ``T``, without ``Z`` (read as UTC), with an offset
  (converted to UTC), bare dates, and US ``m/d/yy`` dates (the spec's own examples);
* a UTF-8 byte-order mark; gzip-compressed CSV;
* money written as ``"$10,000.00 "`` (symbol and thousands separators dropped; a
  symbol that contradicts BillingCurrency is a reject);
* Tags as a JSON object or as a brace-less ``"k": "v", "k2": "v2"`` list, tag keys
  with stray spaces (trimmed);
* column headers in any case, with surrounding spaces or a namespace prefix
  (``F:ChargeType``, ``focus.BilledCost``);
* FOCUS 1.2 ``ProviderName`` / ``PublisherName`` (stored as the 1.3
  ``ServiceProviderName`` / ``HostProviderName``) and the 0.5 / 1.0-preview names
  ``ChargeType``, ``AmortizedCost``, ``UsageQuantity``, ``UsageUnit``, ``Region``,
  ``Provider``, ``Publisher``, ``InvoiceIssuer``, ``BilledCurrency``.  When a file has
  both an old and a current name, the current one wins.

A row is rejected only when its money, currency, dates or identity cannot be read, each
with its row and column: a missing mandatory column (every row is rejected naming it), an
empty mandatory value (an empty or absent ChargeCategory is not one: stored as ``Unknown``,
noted), an amount that is not one, an unknown currency code, a date that is not one, a
period whose end is before its start.  Everything else loads, with a
data-quality note (``ingest_notes``, counted per file) where the cell was not as FOCUS
writes it:

* the enumerated columns (``ENUMS``: ChargeCategory, ChargeFrequency, ChargeClass,
  ServiceCategory) are read case-, space- and punctuation-insensitively, so ``usage``,
  ``usage based`` or ``ONE_TIME`` are stored as ``Usage``, ``Usage-Based``, ``One-Time``
  with a note; a value FOCUS does not define (``Refund``) is stored as written, with a
  note.  The models only ever select the values they know (``'Tax'``, ``'Recurring'``,
  ``ChargeCategory IN ('Usage', 'Purchase')``...), so such a line counts in spend like any
  other billed money and is left out of the price audit and the usage horizon;
* Tags that are not a JSON object (not loaded), tag keys equal once trimmed (one kept);
* an amount with more than 18 decimals (rounded); a column FOCUS does not define (not loaded);
* a PricingQuantity or ConsumedQuantity that is not a number (stored NULL).

ListCost, ListUnitPrice, PricingQuantity and InvoiceId are kept exactly as given (the
audit checks ListUnitPrice x PricingQuantity = ListCost).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import duckdb

from warehouse.ingest import (
    error_summary,
    GZIP_MAGIC,
    number_sql,
    ISO_4217_CODES,
    LineSink,
    clean_sql,
    decimal_sql,
    in_set_sql,
    lazy_sql,
    provider_id_sql,
    quote_ident,
    symbol_mismatch_sql,
    timestamp_sql,
)
from warehouse.ingest.sqlkit import decide_date_order, slash_date_example_sql, slash_date_flags_sql
from warehouse.ingest.staging import NOTED
from warehouse.ingest.contract import UnreadableFile

FORMAT = "focus"
SCOPE = ("x_provider", "BillingAccountId",
         "strftime(coalesce(BillingPeriodStart, date_trunc('month', ChargePeriodStart)), '%Y-%m-%d')")
PRIORITY = 0

PARQUET_MAGIC = b"PAR1"

# Columns we store, in their FOCUS 1.3 spelling.
STORED = (
    "BillingAccountId", "BillingAccountName", "SubAccountId", "SubAccountName", "BillingCurrency",
    "BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "ListUnitPrice", "ContractedUnitPrice",
    "PricingQuantity", "PricingUnit", "ConsumedQuantity", "ConsumedUnit", "ChargeCategory", "ChargeClass",
    "ChargeDescription", "ChargeFrequency", "ChargePeriodStart", "ChargePeriodEnd", "BillingPeriodStart",
    "BillingPeriodEnd", "InvoiceId", "InvoiceIssuerName", "ServiceProviderName", "HostProviderName",
    "ServiceName", "ServiceCategory", "ResourceId", "ResourceName", "ResourceType", "RegionId", "RegionName",
    "SkuId", "SkuPriceId", "CommitmentDiscountId", "Tags",
)
# FOCUS columns we recognise (for sniffing and namespace stripping) but do not store.
KNOWN_NOT_STORED = (
    "AvailabilityZone", "BillingAccountType", "SubAccountType", "CapacityReservationId",
    "CapacityReservationStatus", "CommitmentDiscountCategory", "CommitmentDiscountName",
    "CommitmentDiscountQuantity", "CommitmentDiscountStatus", "CommitmentDiscountType",
    "CommitmentDiscountUnit", "PricingCategory", "PricingCurrency", "PricingCurrencyContractedUnitPrice",
    "PricingCurrencyEffectiveCost", "PricingCurrencyListUnitPrice", "ServiceSubcategory", "SkuMeter",
    "SkuPriceDetails", "ChargeSubcategory", "AllocatedMethodId", "AllocatedMethodDetails",
    "AllocatedResourceId", "AllocatedResourceName", "AllocatedTags", "ContractApplied",
)
# Older spellings -> current column.  FOCUS 1.2 names, then 0.5 / 1.0-preview names
# (CHANGELOG of the FOCUS specification), then the short names of the FinOps
# Foundation validator's 0.5 samples.
ALIASES = {
    "ProviderName": "ServiceProviderName",
    "PublisherName": "HostProviderName",
    "ChargeType": "ChargeCategory",
    "AmortizedCost": "EffectiveCost",
    "UsageQuantity": "ConsumedQuantity",
    "UsageUnit": "ConsumedUnit",
    "Region": "RegionId",
    "Provider": "ServiceProviderName",
    "Publisher": "HostProviderName",
    "InvoiceIssuer": "InvoiceIssuerName",
    "BilledCurrency": "BillingCurrency",
}
MANDATORY = ("BilledCost", "BillingCurrency", "ChargeCategory", "ChargePeriodStart", "ChargePeriodEnd", "ServiceProviderName")
CHARGE_CATEGORIES = ("Usage", "Purchase", "Tax", "Credit", "Adjustment")
# What a row is rejected without: money, currency, dates and the provider (identity).  An empty
# or absent ChargeCategory is not one of them: the row loads as UNKNOWN_CATEGORY, with a note.
REJECT_WITHOUT = tuple(c for c in MANDATORY if c != "ChargeCategory")
UNKNOWN_CATEGORY = "Unknown"
# The enumerated columns and their FOCUS values (1.0-1.3).  A cell is matched on its letters and
# digits alone, in any case; a value outside the list is kept as written, with a note.
ENUMS = {
    "ChargeCategory": CHARGE_CATEGORIES,
    "ChargeFrequency": ("One-Time", "Recurring", "Usage-Based"),
    "ChargeClass": ("Correction",),
    "ServiceCategory": ("AI and Machine Learning", "Analytics", "Business Applications", "Compute", "Databases",
                        "Developer Tools", "Identity", "Integration", "Internet of Things", "Management and Governance",
                        "Media", "Migration", "Mobile", "Multicloud", "Networking", "Other", "Security", "Storage", "Web"),
}
CURRENCY_REASON = "'unknown currency code (not ISO 4217)'"

# Costs and unit prices exactly as written, to 18 decimals (migration 009); more decimals are
# rounded with a data-quality note.
MONEY = {c: "DECIMAL(38, 18)" for c in ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "ListUnitPrice",
                                        "ContractedUnitPrice")}
QUANTITIES = {"PricingQuantity": "DECIMAL(24, 6)", "ConsumedQuantity": "DECIMAL(24, 6)"}
TIMESTAMPS = ("ChargePeriodStart", "ChargePeriodEnd", "BillingPeriodStart", "BillingPeriodEnd")

# x_product_kind: hosted_api for the model-API companies (or an "AI and Machine
# Learning" line priced in tokens); everything else in a cloud bill is 'other'
# (a FOCUS line does not say whether a GPU was serverless or dedicated).
HOSTED_API_PROVIDERS = ("openai", "anthropic", "together", "together_ai", "fireworks", "fireworks_ai",
                        "mistral", "mistral_ai", "cohere", "groq", "deepseek", "openrouter")

_CANONICAL = {c.lower(): c for c in (*STORED, *KNOWN_NOT_STORED)}
_ALIASES = {k.lower(): v for k, v in ALIASES.items()}


def canonical_name(header: str) -> str | None:
    """The FOCUS column a header names (case-insensitive, trimmed, namespace prefix stripped), or None."""
    name = header.strip().lstrip("\ufeff").strip()
    candidates = [name]
    for sep in (":", "."):
        if sep in name:
            candidates.append(name.rsplit(sep, 1)[1].strip())
    for c in candidates:
        key = c.lower()
        if key in _CANONICAL:
            return _CANONICAL[key]
        if key in _ALIASES:
            return _ALIASES[key]
    return None


@dataclass(frozen=True)
class ColumnMap:
    """Which source column feeds each stored FOCUS column."""

    source: dict[str, str]  # stored column -> header in the file

    @property
    def missing_mandatory(self) -> list[str]:
        return [c for c in REJECT_WITHOUT if c not in self.source]


def map_columns(headers: list[str]) -> ColumnMap:
    """Map a file's headers to stored columns; a current name beats an older alias for the same column."""
    chosen: dict[str, tuple[int, str]] = {}  # column -> (rank, header); rank 0 = current name
    for h in headers:
        col = canonical_name(h)
        if col is None or col not in STORED:
            continue
        bare = h.strip().lstrip("\ufeff").strip()
        bare = bare.rsplit(":", 1)[-1].rsplit(".", 1)[-1].strip()
        rank = 0 if bare.lower() == col.lower() else 1
        if col not in chosen or rank < chosen[col][0]:
            chosen[col] = (rank, h)
    return ColumnMap({c: h for c, (_, h) in chosen.items()})


def _looks_like_focus(headers: list[str]) -> bool:
    cols = {canonical_name(h) for h in headers} - {None}
    core = {"BilledCost", "ChargeCategory", "ChargePeriodStart"}
    return len(cols) >= 2 and bool(cols & core)


def sniff(path: Path, head: bytes) -> bool:
    """A FOCUS file has at least two FOCUS column names, one of them BilledCost, ChargeCategory/Type or ChargePeriodStart."""
    if head.startswith(PARQUET_MAGIC):
        try:
            with duckdb.connect() as con:
                names = [r[0] for r in con.execute(
                    "SELECT name FROM parquet_schema(?) WHERE num_children IS NULL OR num_children = 0",
                    [str(path)]).fetchall()]
        except duckdb.Error:
            return False
        return _looks_like_focus(names)
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    first = text.splitlines()[0] if text else ""
    try:
        headers = next(csv.reader(io.StringIO(first)))
    except (StopIteration, csv.Error):
        return False
    return _looks_like_focus(headers)


# --------------------------------------------------------------------------- staging

# Values memoised from the first rows of a CSV (see _Memo): how many rows are sampled, and
# at most how many of their most frequent values per column are looked up (a CASE per row).
SAMPLE_ROWS = 2048
MEMO_VALUES = 8


_CSV_READ = ("read_csv($path, all_varchar = true, header = true, hive_partitioning = false, delim = ',', "
             "quote = '\"', escape = '\"', "
             "null_padding = true, {parallel}nullstr = ['', 'NULL', 'null'], compression = $compression)")
# hive_partitioning off: AWS writes exports under BILLING_PERIOD=YYYY-MM/ folders, which DuckDB
# would otherwise add as a column (the file's own cells are the whole truth).
_PARQUET_READ = "read_parquet($path, hive_partitioning = false)"
_QUOTED_BREAKS = "does not support null_padding in conjunction with quoted new lines"


def _source_sql(path: Path) -> tuple[str, str, dict[str, object], str]:
    """The DuckDB relations that read the file (parallel, serial), their parameters, and 'csv' or 'parquet'.

    CSV cells are read as text; blank cells and the literal NULL / null are NULL; a row
    with fewer cells than the header is padded with NULLs (the FinOps validator's own samples
    have such rows).  DuckDB's parallel CSV scanner refuses a quoted line break inside a
    cell when rows are padded, so a file with one is read by the serial scanner instead
    (``parallel = false``), which allows it.  The serial scanner costs the 2M-row bench
    export ~17% more time and 300 MB more peak memory, so it is used only where needed:
    the probe (``_probe``) finds out first.
    """
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic.startswith(PARQUET_MAGIC):
        return _PARQUET_READ, _PARQUET_READ, {"path": str(path)}, "parquet"
    params = {"path": str(path), "compression": "gzip" if magic[:2] == GZIP_MAGIC else "none"}
    return _CSV_READ.format(parallel=""), _CSV_READ.format(parallel="parallel = false, "), params, "csv"


def _probe(con: duckdb.DuckDBPyConnection, rels: tuple[str, ...], params: dict[str, object],
           dated: dict[str, str]) -> tuple[str, dict[str, int | None]]:
    """One scan before the load: whether the parallel reader can read the file, and each date column's slash dates.

    ``dated`` maps stored date columns to their text headers.  Runs on a separate cursor,
    outside the ingest's transaction (which an error would abort).  Returns the relation to
    read with and, per date column, its evidence flags (``slash_date_flags_sql``; a column
    of ISO dates costs one ``contains`` per row).  Should the probe fail otherwise, the real
    read fails the file with the error; it never reads it wrongly.
    """
    exprs = ["count(*)"] + [slash_date_flags_sql(quote_ident(h)) for h in dated.values()]
    for rel in rels:
        try:
            with con.cursor() as probe:
                row = probe.execute(f"SELECT {', '.join(exprs)} FROM {rel}", params).fetchone()
        except duckdb.Error as e:
            if _QUOTED_BREAKS in str(e) and rel != rels[-1]:
                continue
            return rel, {}
        return rel, dict(zip(dated, row[1:]))
    return rels[-1], {}


def _example(con: duckdb.DuckDBPyConnection, rel: str, params: dict[str, object], header: str, flag: int) -> str:
    """A cell of a date column showing an evidence flag (only for an error message)."""
    with con.cursor() as c:
        (cell,) = c.execute(f"SELECT {slash_date_example_sql(quote_ident(header), flag)} FROM {rel}", params).fetchone()
    return repr(cell)


@dataclass(frozen=True)
class _Source:
    """One opened export: its raw cells with row numbers, parameters, column map and first rows."""

    rows: str  # SELECT rn, r_<Column> for every stored column (rn: the data row, 1..)
    params: dict[str, object]
    cmap: ColumnMap
    sample: list[dict[str, object]]  # the first SAMPLE_ROWS rows of the file, by header
    date_orders: dict[str, str]  # date column -> 'mdy' | 'dmy' for its slash dates
    unknown: list[str]  # headers that are no FOCUS column (kept out, noted)
    header_cells: int | None = None  # set when some row has more cells than the header: its column count
    unnumbered: str | None = None  # ``rows`` with rn NULL, read in parallel: the insert numbers the rows

    @property
    def checks(self) -> list[tuple[str, str, str]]:
        return _checks(self.cmap, self.header_cells)


def _open(con: duckdb.DuckDBPyConnection, path: Path, date_order: str | None = None) -> _Source:
    """Read the header (and the first rows), decide each date column's order, build the numbered relation."""
    parallel, serial, params, kind = _source_sql(path)
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {serial}", params).fetchall()
    except duckdb.Error as e:
        raise UnreadableFile(f"{path}: cannot read as FOCUS {kind}: {error_summary(e)}") from None
    cmap = map_columns([d[0] for d in described])
    types = {d[0]: str(d[1]).upper() for d in described}
    dated = {c: cmap.source[c] for c in TIMESTAMPS if c in cmap.source and types[cmap.source[c]] == "VARCHAR"}
    rel, evidence = (_probe(con, (parallel, serial) if kind == "csv" else (parallel,), params, dated)
                     if kind == "csv" or dated else (parallel, {}))
    orders = {c: decide_date_order(path, cmap.source[c], flags, date_order,
                                   lambda flag, h=cmap.source[c]: _example(con, rel, params, h, flag))
              for c, flags in evidence.items()}
    try:
        cur = con.execute(f"SELECT * FROM {rel} LIMIT {SAMPLE_ROWS}", params)
        names = [d[0] for d in cur.description]
        head = cur.fetchall()
    except duckdb.Error as e:
        raise UnreadableFile(f"{path}: cannot read as FOCUS {kind}: {error_summary(e)}") from None
    # DuckDB names the cells of rows longer than the header as extra columns: such rows are rejected.
    header_cells = _header_cells(path) if kind == "csv" else None
    extra = names[header_cells:] if header_cells is not None and len(names) > header_cells else []
    unknown = [n for n in names if canonical_name(n) is None and n.lower() != "file_row_number" and n not in extra]

    def raw(col: str) -> str:
        """The source cell as text, NULL when the column is absent."""
        if col not in cmap.source:
            return "CAST(NULL AS VARCHAR)"
        ident = quote_ident(cmap.source[col])
        if kind == "csv":
            return ident  # already text, NULL literals handled by the reader
        dtype = types[cmap.source[col]]
        text = f"CAST(to_json({ident}) AS VARCHAR)" if dtype.startswith(("MAP", "STRUCT")) else f"CAST({ident} AS VARCHAR)"
        return clean_sql(text)

    cells = ", ".join(f"{raw(c)} AS {_r(c)}" for c in STORED)
    if extra:
        cells += f", coalesce({', '.join(quote_ident(e) for e in extra)}) AS {_r(EXTRA)}"
    if kind == "parquet" and "file_row_number" not in {n.lower() for n in names}:
        # Parquet knows its row numbers: the scan stays parallel.
        rows = (f"SELECT CAST(file_row_number + 1 AS INTEGER) AS rn, {cells} "
                "FROM read_parquet($path, file_row_number = true, hive_partitioning = false)")
        unnumbered = None
    else:  # WITH ORDINALITY numbers the data rows in file order, but the scan then runs on one thread:
        # used only to read again the few rows that have a reject or a note.  The load reads the
        # rows unnumbered, in parallel, and the framework numbers them from the order-preserving insert.
        rows = f"SELECT CAST(ordinality AS INTEGER) AS rn, {cells} FROM {rel} WITH ORDINALITY"
        unnumbered = f"SELECT CAST(NULL AS INTEGER) AS rn, {cells} FROM {rel}"
    sample = [dict(zip([d[0] for d in cur.description], r)) for r in head] if kind == "csv" else []
    return _Source(rows, params, cmap, sample, orders, unknown, header_cells if extra else None, unnumbered)


@dataclass(frozen=True)
class _Memo:
    """Results of an expensive per-cell expression, worked out once for the values the first rows show.

    A cloud bill repeats a handful of provider names, currencies and charge categories
    on millions of rows.  ``sql`` looks the cell up among those values (their results
    computed by DuckDB with the very same expression, passed as parameters) and only
    evaluates the expression for other cells, so the result is the same for every cell.
    """

    sql: str
    params: dict[str, object]


def _memo(con: duckdb.DuckDBPyConnection, name: str, cell: str, values: list[str], body: str) -> _Memo:
    """Memoise ``body`` (an SQL expression of ``cell``) over ``values``; ``name`` prefixes the parameters."""
    full = lazy_sql(cell, body.replace("{cell}", "cell"))
    vals = sorted(v for v, _ in Counter(v for v in values if isinstance(v, str)).most_common(MEMO_VALUES))
    if not vals:
        return _Memo(body.replace("{cell}", cell), {})
    results = con.execute(
        f"SELECT v, {body.replace('{cell}', 'v')} FROM unnest(CAST($vals AS VARCHAR[])) t(v) ORDER BY v", {"vals": vals}
    ).fetchall()
    params: dict[str, object] = {}
    whens = []
    for i, (v, result) in enumerate(results):
        params[f"{name}_v{i}"], params[f"{name}_r{i}"] = v, result
        whens.append(f"WHEN ${name}_v{i} THEN ${name}_r{i}")
    return _Memo(f"CASE {cell} {' '.join(whens)} ELSE {full} END", params)


def stage(con: duckdb.DuckDBPyConnection, path: Path, lines: LineSink | None = None,
          options: dict[str, object] | None = None) -> int:
    """Validate every row of a FOCUS file into billing lines and rejects; return the number of data rows.

    With ``lines`` (the framework's direct sink) the rows go straight into
    billing_line_items in one pass over the file; without, into ``stage_lines``.
    Either way a row failing a check has a NULL x_natural_key, and only then is the
    file read again for those rows, writing one ``stage_rejects`` row per failed check
    with its raw cell; likewise for loaded rows with a data-quality note (``stage_notes``).
    ``options["date_order"]`` (dmy / mdy) overrides the order decided from the dates.
    """
    src = _open(con, path, (options or {}).get("date_order"))
    (already,) = con.execute("SELECT count(*) FROM stage_lines").fetchone()
    if already:
        raise RuntimeError("focus.stage needs an empty stage_lines (call create_stage_tables first)")
    if src.unknown:  # optional columns FOCUS does not define: kept out of the lines, said once per file
        con.executemany("INSERT INTO stage_notes VALUES (NULL, ?, 'not a FOCUS column: not loaded', NULL)",
                        [[h] for h in src.unknown])
    parsed, params = _parsed_sql(con, src)
    exprs = dict(_stage_exprs())
    ok = " AND ".join(f"NOT coalesce({cond}, false)" for _, cond, _ in src.checks) or "true"
    noted = " OR ".join(f"coalesce({cond}, false)" for _, cond, _ in _notes(src.cmap)) or "false"
    exprs["x_natural_key"] = f"CASE WHEN {ok} THEN {exprs['x_natural_key']} END"
    exprs[NOTED] = f"({ok}) AND ({noted})"
    select = f"SELECT {', '.join(f'{e} AS {quote_ident(c)}' for c, e in exprs.items())} FROM ({parsed}) p"

    if lines is not None:
        if src.unnumbered is not None:  # read in parallel; the framework numbers the rows (see LineSink.insert)
            fast, _ = _parsed_sql(con, src, src.unnumbered)
            fast_select = select.replace(f"FROM ({parsed}) p", f"FROM ({fast}) p")
            total = lines.insert(fast_select, params, list(exprs), numbered=False)
        else:
            total = lines.insert(select, params, list(exprs))
        if lines.rejected:
            _write_checks(con, src, parsed, params, "SELECT x_source_row FROM stage_rejected", "stage_rejects",
                          src.checks)
        if lines.noted:
            _write_checks(con, src, parsed, params, "SELECT x_source_row FROM stage_noted", "stage_notes",
                          _notes(src.cmap))
        return total
    cols = ", ".join(quote_ident(c) for c in exprs if c != NOTED)
    con.execute(f"CREATE OR REPLACE TEMP TABLE stage_focus AS SELECT * FROM ({select}) s", params)
    con.execute(f"INSERT INTO stage_lines ({cols}) SELECT {cols} FROM stage_focus")
    total, bad, with_notes = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE x_natural_key IS NULL), count(*) FILTER (WHERE {NOTED}) FROM stage_focus"
    ).fetchone()
    if bad:
        _write_checks(con, src, parsed, params, "SELECT x_source_row FROM stage_lines WHERE x_natural_key IS NULL",
                      "stage_rejects", src.checks)
        con.execute("DELETE FROM stage_lines WHERE x_natural_key IS NULL")
    if with_notes:
        _write_checks(con, src, parsed, params, f"SELECT x_source_row FROM stage_focus WHERE {NOTED}", "stage_notes",
                      _notes(src.cmap))
    con.execute("DROP TABLE IF EXISTS temp.stage_focus")
    return int(total)


def _write_checks(con: duckdb.DuckDBPyConnection, src: _Source, parsed: str, params: dict[str, object],
                  rows: str, table: str, checks: list[tuple[str, str, str]]) -> None:
    """Read the given rows again: one row in ``table`` (stage_rejects / stage_notes) per check that holds, with the raw cell."""
    structs = ", ".join(
        f"CASE WHEN coalesce({cond}, false) THEN struct_pack(i := {i}, c := '{col}', r := {reason}, v := {_r(col)}) END"
        for i, (col, cond, reason) in enumerate(checks)
    )
    con.execute(
        f"INSERT INTO {table} "
        "SELECT rn, e.c, e.r, left(e.v, 500) FROM ("
        f"  SELECT rn, unnest(list_filter([{structs}], lambda x: x IS NOT NULL)) AS e FROM ({parsed}) p"
        f"   WHERE rn IN ({rows})"
        ") ORDER BY rn, e.i",
        params,
    )


EXTRA = "cells beyond the header"  # the check's column name for a row longer than the header


def _header_cells(path: Path) -> int | None:
    """How many columns the file's header line names (None when it cannot be parsed here)."""
    from warehouse.ingest import read_head

    text = read_head(path).decode("utf-8", errors="replace").lstrip("\ufeff")
    try:
        return len(next(csv.reader(io.StringIO(text))))
    except (StopIteration, csv.Error):
        return None


def _r(col: str) -> str:
    return quote_ident("r_" + col)


def _p(col: str) -> str:
    return quote_ident("p_" + col)


# An ISO 8601 UTC time in the one spelling most exports use, e.g. 2026-10-01T00:00:00Z.
_ISO_Z = "____-__-__T__:__:__Z"


def _timestamp(cell: str, date_order: str = "mdy") -> str:
    """SQL for a raw date/time cell as a UTC TIMESTAMP (``timestamp_sql`` of the trimmed cell).

    A cell in the common ``2026-10-01T00:00:00Z`` shape starting with a digit has nothing
    to trim and is exactly what ``timestamp_sql``'s first branch casts, so it is cast
    straight away; any other cell takes the full rules.
    """
    return (f"CASE WHEN {cell} LIKE '{_ISO_Z}' AND ascii({cell}) BETWEEN 48 AND 57 THEN TRY_CAST({cell} AS TIMESTAMP) "
            f"ELSE {lazy_sql(f'trim({cell})', timestamp_sql('cell', date_order))} END")


def _tags_object(cell: str) -> str:
    """SQL for the Tags cell as the text of a JSON object, NULL when it is not one.

    A JSON object, or a brace-less ``"k": "v", ...`` list (given its braces); surrounding
    spaces trimmed.  A cell already written ``{...}`` with nothing around it is only validated.
    """
    full = ("CASE WHEN cell IS NULL THEN NULL "
            "WHEN left(cell, 1) = '{' THEN CASE WHEN json_valid(cell) THEN cell END "
            "ELSE CASE WHEN json_valid('{' || cell || '}') THEN '{' || cell || '}' END END")
    return (f"CASE WHEN {cell} LIKE '{{%}}' AND json_valid({cell}) THEN {cell} "
            f"ELSE {lazy_sql(f'trim({cell})', full)} END")


def _parsed_sql(con: duckdb.DuckDBPyConnection, src: _Source, rows: str | None = None) -> tuple[str, dict[str, object]]:
    """The rows (``src.rows`` unless ``rows``) with typed values computed from the raw cells r_<Column>, as
    p_<name>; and parameters."""
    params = dict(src.params)

    def sample(col: str) -> list[str]:
        header = src.cmap.source.get(col)
        return [row[header] for row in src.sample] if header else []

    def memo(name: str, col: str, body: str) -> str:
        m = _memo(con, name, _r(col), sample(col), body)
        params.update(m.params)
        return m.sql

    out: list[tuple[str, str]] = [
        ("p_currency", memo("m_cur", "BillingCurrency", "upper(trim({cell}))")),
        ("p_currency_ok", memo("m_iso", "BillingCurrency", in_set_sql("upper(trim({cell}))", ISO_4217_CODES))),
    ]
    for c, t in {**MONEY, **QUANTITIES}.items():
        currency = _r("BillingCurrency") if c in MONEY else None
        out.append((f"p_{c}", decimal_sql(_r(c), t, currency_expr=currency)))
    for c in TIMESTAMPS:
        if c.startswith("BillingPeriod"):  # one or two values on every row of a month's export
            out.append((f"p_{c}", memo(f"m_{c}", c, _timestamp("{cell}", src.date_orders.get(c, "mdy")))))
        else:
            out.append((f"p_{c}", _timestamp(_r(c), src.date_orders.get(c, "mdy"))))
    for i, (c, values) in enumerate(ENUMS.items()):  # the FOCUS value a cell spells, NULL for none
        whens = " ".join(f"WHEN '{_enum_key(v)}' THEN '{v}'" for v in values)
        out.append((f"p_{c}", memo(f"m_enum{i}", c, f"CASE regexp_replace(lower({{cell}}), '[^a-z0-9]', '', 'g') {whens} END")))
    out.append(("p_tags_obj", _tags_object(_r("Tags"))))
    out.append(("p_provider", memo("m_prov", "ServiceProviderName", provider_id_sql("{cell}"))))
    out.append(("p_hosted", memo("m_host", "ServiceProviderName",
                                 in_set_sql(provider_id_sql("{cell}"), HOSTED_API_PROVIDERS))))
    sql = f"SELECT *, {', '.join(f'{e} AS {quote_ident(n)}' for n, e in out)} FROM ({rows or src.rows}) s"
    return sql, params


def _stage_exprs() -> list[tuple[str, str]]:
    """(stage column, SQL over the parsed row) for every column the loader fills."""
    provider = _p("provider")
    exprs: dict[str, str] = {c: _r(c) for c in STORED}
    exprs["BillingCurrency"] = _p("currency")
    for c in (*MONEY, *QUANTITIES, *TIMESTAMPS):
        exprs[c] = _p(c)
    for c in ENUMS:  # the FOCUS spelling, else the cell as written (noted)
        exprs[c] = f"coalesce({_p(c)}, {_r(c)})"
    exprs["ChargeCategory"] = f"coalesce({_p('ChargeCategory')}, {_r('ChargeCategory')}, '{UNKNOWN_CATEGORY}')"
    exprs["Tags"] = _trimmed_tags("p_tags_obj")
    exprs["x_provider"] = provider
    # hosted_api: the model-API companies (HOSTED_API_PROVIDERS), or an "AI and Machine
    # Learning" line priced in tokens; everything else in a cloud bill is 'other'.
    exprs["x_product_kind"] = (
        f"CASE WHEN {_p('hosted')} THEN 'hosted_api' "
        f"WHEN {_p('ServiceCategory')} = 'AI and Machine Learning' AND "
        f"(lower({_r('PricingUnit')}) LIKE '%token%' OR lower({_r('ConsumedUnit')}) LIKE '%token%') THEN 'hosted_api' "
        "ELSE 'other' END"
    )
    # The identity of a charge across re-deliveries (a restated month replaces the
    # earlier rows): provider, accounts, resource, price, charge kind, description, period.
    key_parts = [provider, _r("BillingAccountId"), _r("SubAccountId"), _r("ResourceId"),
                 f"coalesce({_r('SkuPriceId')}, {_r('SkuId')})", exprs["ChargeCategory"], exprs["ChargeClass"],
                 _r("ChargeDescription"), f"epoch_us({_p('ChargePeriodStart')})", f"epoch_us({_p('ChargePeriodEnd')})"]
    exprs["x_natural_key"] = "'focus:' || md5(concat(" + ", chr(31), ".join(key_parts) + "))"
    exprs["x_source_row"] = "rn"
    return list(exprs.items())


def _enum_key(value: str) -> str:
    """How an enumerated value is matched: its letters and digits, lower-cased."""
    return "".join(ch for ch in value.lower() if ch.isalnum())


def _maybe_spaced_keys(obj: str) -> str:
    """SQL true when a JSON object's text may have a key with leading/trailing spaces (cheap pre-check)."""
    return f"regexp_matches({obj}, '[{{,]\\s*\"\\s|\\s\"\\s*:')"


def _trimmed_keys(obj: str) -> str:
    return f"list_transform(json_keys({obj}), lambda k: trim(k))"


def _duplicate_trimmed_keys(obj: str) -> str:
    keys = _trimmed_keys(obj)
    return f"len(list_distinct({keys})) < len({keys})"


def _trimmed_tags(obj: str) -> str:
    """SQL for the Tags object with every key trimmed (rebuilt only when a key may carry spaces).

    Keys equal once trimmed (AWS exports hold both ``"org"`` and ``" org"``) keep one value:
    the key written without spaces wins, else the first; the row loads with a note (``_notes``).
    Keys keep their order.
    """
    entries = (f"list_transform(json_keys({obj}), lambda k, i: struct_pack(exact := CASE WHEN k = trim(k) THEN 0 ELSE 1 END, "
               f"i := i, key := trim(k), value := json_extract({obj}, '/' || replace(replace(k, '~', '~0'), '/', '~1'))))")
    ranked = f"list_sort({entries})"  # exact keys first, then by position
    kept = ("list_filter(r, lambda e, j: NOT list_contains(list_transform(r[1:j - 1], lambda x: x.key), e.key))")
    rebuilt = (f"to_json(map_from_entries(list_transform(list_sort(list_transform({lazy_sql(ranked, kept, 'r')}, "
               "lambda e: struct_pack(i := e.i, key := e.key, value := e.value))), "
               "lambda e: struct_pack(key := e.key, value := e.value))))")
    return (f"CAST(CASE WHEN {obj} IS NULL THEN NULL WHEN NOT {_maybe_spaced_keys(obj)} THEN {obj} "
            f"ELSE {rebuilt} END AS JSON)")


def _checks(cmap: ColumnMap, header_cells: int | None = None) -> list[tuple[str, str, str]]:
    """(column, SQL true when the row fails, SQL reason) for every validation rule."""
    r, p = _r, _p
    out: list[tuple[str, str, str]] = []
    if header_cells is not None:
        out.append((EXTRA, f"{r(EXTRA)} IS NOT NULL",
                    f"'the row has more cells than the header has columns ({header_cells}): an unquoted comma?'"))
    for c in cmap.missing_mandatory:
        out.append((c, "true", f"'missing mandatory column {c}'"))
    present = set(cmap.source)
    for c in REJECT_WITHOUT:
        if c in present:
            out.append((c, f"{r(c)} IS NULL", f"'{c} is empty'"))
    for c in MONEY:  # quantities are not money: an unreadable one is a note (``_notes``)
        if c in present:
            plain = number_sql(f"replace(regexp_replace({r(c)}, '[$£€]', '', 'g'), ',', '')", "DOUBLE")
            reason = (f"CASE WHEN {symbol_mismatch_sql(r(c), p('currency'))} "
                      f"THEN '{c} currency symbol does not match BillingCurrency ' || coalesce({p('currency')}, 'NULL') "
                      f"WHEN isfinite({plain}) "
                      f"THEN '{c} is out of range' ELSE '{c} is not a number' END")
            out.append((c, f"{r(c)} IS NOT NULL AND {p(c)} IS NULL", reason))
    if "BillingCurrency" in present:
        out.append(("BillingCurrency", f"{r('BillingCurrency')} IS NOT NULL AND NOT p_currency_ok", CURRENCY_REASON))
    for c in TIMESTAMPS:
        if c in present:
            out.append((c, f"{r(c)} IS NOT NULL AND {p(c)} IS NULL", f"'{c} is not a date/time'"))
    for start, end in (("ChargePeriodStart", "ChargePeriodEnd"), ("BillingPeriodStart", "BillingPeriodEnd")):
        if start in present and end in present:
            out.append((end, f"{p(end)} < {p(start)}", f"'{end} is before {start}'"))
    return out


def _notes(cmap: ColumnMap) -> list[tuple[str, str, str]]:
    """(column, SQL true when a loaded row deserves a data-quality note, SQL note) for every note.

    Dirt that does not stop the money, currency, dates or identity being read: the row
    loads, and the note says what was done with the cell.
    """
    r, p = _r, _p
    present = set(cmap.source)
    out: list[tuple[str, str, str]] = []
    for c in MONEY:
        if c in present:  # more decimals than DECIMAL(38, 18) holds (a long cell first: cheap)
            out.append((c, f"length({r(c)}) > 20 AND regexp_matches({r(c)}, '[.][0-9]{{19,}}')",
                        f"'{c} has more than 18 decimals: rounded to ' || CAST({p(c)} AS VARCHAR)"))
    for c in QUANTITIES:  # stored NULL: the money loads
        if c in present:
            out.append((c, f"{r(c)} IS NOT NULL AND {p(c)} IS NULL",
                        f"'{c} ' || {r(c)} || ' is not a number (or out of range): unknown (NULL)'"))
    if "BillingCurrency" in present:
        out.append(("BillingCurrency", f"{r('BillingCurrency')} <> p_currency",
                    "'BillingCurrency \"' || " + r("BillingCurrency") + " || '\" read as ' || p_currency"))
    # An empty (or absent) ChargeCategory: the money loads, in spend; the models select only
    # the categories they know, so the line is neither usage nor tax nor a credit to them.
    out.append(("ChargeCategory", f"{r('ChargeCategory')} IS NULL",
                f"'ChargeCategory is {'empty' if 'ChargeCategory' in present else 'not a column of the file'}: "
                f"stored as {UNKNOWN_CATEGORY}'"))
    for c, values in ENUMS.items():
        if c in present:
            out.append((c, f"{r(c)} <> {p(c)}", f"'{c} \"' || {r(c)} || '\" read as ' || {p(c)}"))
            out.append((c, f"{r(c)} IS NOT NULL AND {p(c)} IS NULL",
                        f"'{c} \"' || {r(c)} || '\" is not a FOCUS value ({', '.join(values)}): kept as written'"))
    if "Tags" in present:
        out.append(("Tags", f"{r('Tags')} IS NOT NULL AND p_tags_obj IS NULL",
                    "'Tags is not a JSON object: not loaded (the cell is kept here)'"))
        out.append(("Tags", f"CASE WHEN p_tags_obj IS NULL THEN false WHEN NOT {_maybe_spaced_keys('p_tags_obj')} THEN false "
                            f"ELSE {_duplicate_trimmed_keys('p_tags_obj')} END",
                    "'Tags has keys that are equal once trimmed: the key written without spaces kept (else the first)'"))
    return out
