"""Monthly invoices for rented dedicated GPU servers (GigaGPU, Hetzner, Lambda reserved, ...) as billed lines.

Dedicated hosts send PDF or HTML invoices, not exports, so spendwatch defines its own
CSV (documented in ``docs/formats.md``): one row per server per billing period, with
the header exactly::

    invoice_id,provider,account_id,server_id,server_name,gpu_model,gpu_count,period_start,period_end,amount,currency,description,used_hours

Each row becomes a FOCUS Purchase / Recurring line priced per Month (PricingQuantity
1), with the server as the resource, the normalised GPU class, and the hours the
server was in use (when known) as ConsumedQuantity in Hours.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import duckdb

from scrapers.gpus import try_normalise_gpu
from warehouse.ingest import (
    GZIP_MAGIC,
    ISO_4217_CODES,
    error_summary,
    in_set_sql,
    number_sql,
    provider_id_sql,
    quote_ident,
)
from warehouse.ingest.contract import UnreadableFile

FORMAT = "dedicated_invoice"
SCOPE = ("x_provider", "ResourceId", "strftime(ChargePeriodStart, '%Y-%m-%d')",
         "strftime(ChargePeriodEnd, '%Y-%m-%d')", "SkuId")  # server, period, charge kind (SkuId)
PRIORITY = 10  # an exact header: more specific than any generic format

HEADER = (
    "invoice_id", "provider", "account_id", "server_id", "server_name", "gpu_model", "gpu_count",
    "period_start", "period_end", "amount", "currency", "description", "used_hours",
)
# Money, currency, dates and identity: a row without them is rejected.  The GPU and the
# hours are not: a row whose gpu_model, gpu_count or used_hours cannot be read loads (its
# rental counts in spend) with a data-quality note, the cell stored as written (gpu_model
# in ResourceName's place: x_gpu_class NULL; x_gpu_count / ConsumedQuantity NULL).
REQUIRED = ("invoice_id", "provider", "server_id", "period_start", "period_end", "amount", "currency")
_DATE = r"^\d{4}-\d{2}-\d{2}$"

# The charge kind, from the description: a setup fee and other one-off or extra charges are
# separate scopes from the server's rental, so one never replaces another (stored in SkuId).
_KIND_SQL = ("CASE WHEN regexp_matches(lower(coalesce(d.description, '')), 'set[- ]?up|installation') THEN 'setup_fee' "
             "WHEN regexp_matches(lower(coalesce(d.description, '')), "
             "'\\b(extra|add-?on|traffic|bandwidth|ip address|ipv4|backup|storage|support|overage)\\b') THEN 'other' "
             "ELSE 'rental' END")


def _header_of(head: bytes) -> list[str] | None:
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    first = text.splitlines()[0] if text else ""
    try:
        return [h.strip() for h in next(csv.reader(io.StringIO(first)))]
    except (StopIteration, csv.Error):
        return None


def sniff(path: Path, head: bytes) -> bool:
    """Our dedicated-invoice CSV: the first line is exactly the documented header."""
    return _header_of(head) == list(HEADER)


def stage(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Validate every invoice row into stage_lines / stage_rejects; return the number of data rows."""
    with open(path, "rb") as f:
        compression = "gzip" if f.read(2) == GZIP_MAGIC else "none"
    rel = ("read_csv($path, all_varchar = true, header = true, hive_partitioning = false, delim = ',', "
           "quote = '\"', escape = '\"', "
           "null_padding = true, parallel = false, compression = $compression)")  # serial: quoted line breaks allowed
    params: dict[str, object] = {"path": str(path), "compression": compression}
    try:
        names = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {rel}", params).fetchall()]
    except duckdb.Error as e:
        raise UnreadableFile(f"{path}: cannot read as dedicated-invoice CSV: {error_summary(e)}") from None
    if [n.strip().lstrip("\ufeff") for n in names] != list(HEADER):
        raise UnreadableFile(f"{path}: not a dedicated-invoice CSV: the header must be exactly {','.join(HEADER)}")

    cells = ", ".join(
        f"CASE WHEN trim({quote_ident(src)}) = '' THEN NULL ELSE trim({quote_ident(src)}) END AS {name}"
        for src, name in zip(names, HEADER)
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE dedicated_raw AS "
        f"SELECT CAST(ordinality AS INTEGER) AS rn, {cells} FROM {rel} WITH ORDINALITY",
        params,
    )
    try:
        _stage_parsed(con)
        (total,) = con.execute("SELECT count(*) FROM dedicated_raw").fetchone()
    finally:
        con.execute("DROP TABLE IF EXISTS temp.dedicated_raw")
        con.execute("DROP TABLE IF EXISTS temp.dedicated_gpu_map")
    return int(total)


def _stage_parsed(con: duckdb.DuckDBPyConnection) -> None:
    """Parse dedicated_raw, route valid rows to stage_lines and the others to stage_rejects."""
    # GPU names are normalised in Python (scrapers.gpus), once per distinct spelling.
    models = [r[0] for r in con.execute("SELECT DISTINCT gpu_model FROM dedicated_raw WHERE gpu_model IS NOT NULL").fetchall()]
    con.execute("CREATE OR REPLACE TEMP TABLE dedicated_gpu_map (gpu_model VARCHAR, gpu_class VARCHAR)")
    if models:
        con.executemany("INSERT INTO dedicated_gpu_map VALUES (?, ?)", [[m, try_normalise_gpu(m)] for m in models])

    parsed = (
        "SELECT d.*, m.gpu_class, "
        "upper(d.currency) AS cur, "
        f"{number_sql('d.amount', 'DECIMAL(38, 18)')} AS amount_d, "
        "CASE WHEN regexp_full_match(d.gpu_count, '[0-9]{1,6}') THEN TRY_CAST(d.gpu_count AS INTEGER) END AS gpu_count_i, "
        f"CASE WHEN regexp_full_match(d.period_start, '{_DATE}') THEN TRY_CAST(d.period_start AS DATE) END AS start_d, "
        f"CASE WHEN regexp_full_match(d.period_end, '{_DATE}') THEN TRY_CAST(d.period_end AS DATE) END AS end_d, "
        f"{number_sql('d.used_hours', 'DECIMAL(24, 6)')} AS used_d, "
        f"{provider_id_sql('d.provider')} AS provider_id, {_KIND_SQL} AS kind "
        "FROM dedicated_raw d LEFT JOIN dedicated_gpu_map m ON m.gpu_model = d.gpu_model"
    )
    checks: list[tuple[str, str, str]] = [(c, f"{c} IS NULL", f"'{c} is empty'") for c in REQUIRED]
    checks += [
        ("amount", "amount IS NOT NULL AND amount_d IS NULL", "'amount is not a decimal number'"),
        ("amount", "amount_d < 0", "'amount is negative (credits are not part of this format)'"),
        ("currency", f"currency IS NOT NULL AND NOT {in_set_sql('cur', ISO_4217_CODES)}",
         "'unknown currency code (not ISO 4217)'"),
        ("period_start", "period_start IS NOT NULL AND start_d IS NULL", "'period_start is not a YYYY-MM-DD date'"),
        ("period_end", "period_end IS NOT NULL AND end_d IS NULL", "'period_end is not a YYYY-MM-DD date'"),
        ("period_end", "end_d <= start_d", "'period_end must be after period_start (it is exclusive)'"),
        ("provider", "provider IS NOT NULL AND provider_id = ''", "'provider has no letters or digits'"),
    ]
    # Notes on rows that load: (column, SQL true when noted, SQL note).
    notes: list[tuple[str, str, str]] = [
        ("gpu_model", "gpu_model IS NULL", "'gpu_model is empty: GPU class unknown (x_gpu_class NULL)'"),
        ("gpu_model", "gpu_model IS NOT NULL AND gpu_class IS NULL",
         "'unknown GPU model ' || gpu_model || ': GPU class unknown (x_gpu_class NULL; add it to scrapers/gpus.py)'"),
        ("gpu_count", "gpu_count IS NULL", "'gpu_count is empty: GPU count unknown (x_gpu_count NULL)'"),
        ("gpu_count", "gpu_count IS NOT NULL AND (gpu_count_i IS NULL OR gpu_count_i < 1)",
         "'gpu_count ' || gpu_count || ' is not a whole number >= 1: GPU count unknown (x_gpu_count NULL)'"),
        ("used_hours", "used_hours IS NOT NULL AND used_d IS NULL",
         "'used_hours ' || used_hours || ' is not a decimal number: hours unknown (ConsumedQuantity NULL)'"),
        ("used_hours", "used_d < 0", "'used_hours is negative: hours unknown (ConsumedQuantity NULL)'"),
        ("used_hours", "end_d > start_d AND used_d > CAST(date_diff('hour', start_d, end_d) AS DECIMAL(24, 6))",
         "'used_hours exceeds the hours in the period: hours unknown (ConsumedQuantity NULL)'"),
    ]
    # What the notes leave unknown is NULL, never a guess.
    line_rows = (
        f"SELECT * REPLACE (CASE WHEN gpu_count_i >= 1 THEN gpu_count_i END AS gpu_count_i, "
        f"CASE WHEN used_d >= 0 AND used_d <= CAST(date_diff('hour', start_d, end_d) AS DECIMAL(24, 6)) "
        f"THEN used_d END AS used_d) FROM ({parsed}) q"
    )
    ok = " AND ".join(f"NOT coalesce({cond}, false)" for _, cond, _ in checks)

    con.execute(
        "INSERT INTO stage_lines (BillingAccountId, BillingCurrency, BilledCost, EffectiveCost, ContractedCost, "
        "ContractedUnitPrice, PricingQuantity, PricingUnit, ConsumedQuantity, ConsumedUnit, ChargeCategory, "
        "ChargeDescription, ChargeFrequency, ChargePeriodStart, ChargePeriodEnd, BillingPeriodStart, BillingPeriodEnd, "
        "InvoiceId, InvoiceIssuerName, ServiceProviderName, HostProviderName, ServiceName, ServiceCategory, "
        "ResourceId, ResourceName, ResourceType, SkuId, x_provider, x_product_kind, x_gpu_class, x_gpu_count, "
        "x_gpu_seconds, x_natural_key, x_source_row) "
        "SELECT account_id, cur, amount_d, amount_d, amount_d, amount_d, 1, 'Month', used_d, "
        "CASE WHEN used_d IS NOT NULL THEN 'Hours' END, 'Purchase', description, "
        "CASE kind WHEN 'setup_fee' THEN 'One-Time' ELSE 'Recurring' END, "
        "CAST(start_d AS TIMESTAMP), CAST(end_d AS TIMESTAMP), CAST(start_d AS TIMESTAMP), CAST(end_d AS TIMESTAMP), "
        "invoice_id, provider, provider, provider, 'Dedicated GPU server', 'Compute', "
        "server_id, server_name, 'Dedicated GPU Server', kind, provider_id, 'dedicated_gpu', gpu_class, gpu_count_i, "
        "CAST(used_d * 3600 * gpu_count_i AS DECIMAL(20, 3)), "
        "'dedicated_invoice:' || md5(concat(provider_id, chr(31), account_id, chr(31), server_id, chr(31), "
        "CAST(start_d AS VARCHAR), chr(31), CAST(end_d AS VARCHAR), chr(31), kind)), rn "
        f"FROM ({line_rows}) p WHERE {ok}"
    )
    structs = ", ".join(
        f"CASE WHEN coalesce({cond}, false) THEN struct_pack(i := {i}, c := '{col}', r := {reason}, v := {col}) END"
        for i, (col, cond, reason) in enumerate(checks)
    )
    con.execute(
        "INSERT INTO stage_rejects (row_number, column_name, reason, raw) "
        "SELECT rn, e.c, e.r, left(e.v, 500) FROM ("
        f"  SELECT rn, unnest(list_filter([{structs}], lambda x: x IS NOT NULL)) AS e FROM ({parsed}) p WHERE NOT ({ok})"
        ") ORDER BY rn, e.i"
    )
    for col, cond, note in notes:
        con.execute(
            "INSERT INTO stage_notes (row_number, column_name, note, raw) "
            f"SELECT rn, '{col}', {note}, left({col}, 500) FROM ({parsed}) p WHERE {ok} AND coalesce({cond}, false)"
        )
