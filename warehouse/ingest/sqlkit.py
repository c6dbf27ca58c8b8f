"""SQL building blocks the loaders share: quoting, numbers, money, dates, currencies, error texts.

Everything here returns SQL text over column expressions the caller controls (no
export content is ever formatted into SQL: cells reach SQL as columns, values as
parameters).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from spendwatch.core.errors import UsageError

HEAD_BYTES = 64 * 1024
GZIP_MAGIC = b"\x1f\x8b"

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
    cells = next((re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", x) for x in lines
                  if "Expected Number of Columns" in x), None)
    if "CSV Error on Line" in first and cells and int(cells.group(2)) > int(cells.group(1)):
        line = first.split("CSV Error on Line:", 1)[1].strip()
        return (f"line {line} has more cells ({cells.group(2)}) than the header has columns ({cells.group(1)}): "
                "an unquoted comma in a value?")
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


def timestamp_sql(expr: str, date_order: str = "mdy") -> str:
    """SQL parsing a cleaned date/time cell into a UTC TIMESTAMP, NULL when it is not one.

    Accepted: ISO 8601 with ``T`` or a space, with or without seconds/fractions, ``Z``
    (or ``z``) or no zone (read as UTC, as FOCUS requires), an explicit offset, with or
    without a space before it (converted to UTC), a bare date; and slash dates ``m/d/yy`` /
    ``m/d/yyyy`` (the FOCUS specification's own examples), or ``d/m/...`` with ``date_order``
    ``dmy``, with an optional ``H:MM[:SS]`` time.  Which order a file's column uses is decided
    by the caller (see ``slash_date_evidence_sql``), never cell by cell.
    """
    if date_order not in ("mdy", "dmy"):
        raise ValueError(f"date order must be mdy or dmy, not {date_order!r}")
    md = "%m/%d" if date_order == "mdy" else "%d/%m"
    formats = ", ".join(f"'{md}/{y}{t}'" for t in ("", " %H:%M", " %H:%M:%S") for y in ("%y", "%Y"))
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
        f"WHEN regexp_full_match({e}, '{us_date}') THEN try_strptime({e}, [{formats}]) "
        "END"
    )


SLASH_DATE = r"^\d{1,2}/\d{1,2}/(\d{2}|\d{4})( \d{1,2}:\d{2}(:\d{2})?)?$"


DAY_FIRST, MONTH_FIRST, EITHER_WAY = 1, 2, 4  # evidence flags of a column's slash dates


def slash_date_flags_sql(expr: str) -> str:
    """An aggregate over a text column: the OR of its slash dates' evidence flags (0 or NULL: none tells).

    ``DAY_FIRST``: a first field above 12 (only a day); ``MONTH_FIRST``: a second field above
    12; ``EITHER_WAY``: both 12 or less and different (reads two ways).  Only cells holding a
    '/' are examined further, so a column of ISO dates costs one ``contains`` per row.
    """
    body = (f"CASE WHEN regexp_full_match(cell, '{SLASH_DATE}') THEN list_transform("
            "[[TRY_CAST(split_part(cell, '/', 1) AS INTEGER), TRY_CAST(split_part(cell, '/', 2) AS INTEGER)]], "
            f"lambda d: CASE WHEN d[1] > 12 THEN {DAY_FIRST} ELSE 0 END + CASE WHEN d[2] > 12 THEN {MONTH_FIRST} ELSE 0 END "
            f"+ CASE WHEN d[1] <= 12 AND d[2] <= 12 AND d[1] <> d[2] THEN {EITHER_WAY} ELSE 0 END)[1] ELSE 0 END")
    return f"bit_or(CASE WHEN contains({expr}, '/') THEN {lazy_sql(f'trim({expr})', body)} END)"


def slash_date_example_sql(expr: str, flag: int) -> str:
    """SQL of the first cell of a column showing one evidence flag (for messages)."""
    return f"min(trim({expr})) FILTER (WHERE contains({expr}, '/') AND ({slash_date_flags_sql(expr).replace('bit_or', '', 1)}) & {flag} <> 0)"


def decide_date_order(path: object, column: str, flags: int | None, given: str | None,
                      example: Callable[[int], str]) -> str:
    """The order of one column's slash dates from its evidence flags, or a UsageError.

    ``given`` (the user's ``--date-order`` or ``[exports.date_order]``) wins; otherwise a
    column with day-first evidence only is dmy, month-first only mdy, both is an error,
    and one whose dates all read two ways is an error asking for the order.
    ``example(flag)`` gives a cell showing a flag, for the message.
    """
    flags = flags or 0
    if given:
        return given
    if flags & DAY_FIRST and flags & MONTH_FIRST:
        raise UsageError(f"{path}: column {column} has day-first dates ({example(DAY_FIRST)}) and month-first dates "
                         f"({example(MONTH_FIRST)}); a date must read the same way on every row: correct the file")
    if flags & DAY_FIRST:
        return "dmy"
    if flags & EITHER_WAY and not flags & MONTH_FIRST:
        raise UsageError(f"{path}: column {column} has slash dates such as {example(EITHER_WAY)} that read either way "
                         "and no date that tells day from month: pass --date-order dmy|mdy, or set date_order for this "
                         "source in spendwatch.toml ([exports.date_order])")
    return "mdy"


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


def one_line(text: str) -> str:
    """A message on one line (runs of whitespace, line breaks included, as one space)."""
    return " ".join(str(text).split())
