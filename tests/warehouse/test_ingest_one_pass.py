"""FOCUS ingest in one pass: straight into the warehouse without a staged copy, and the cheap paths (sampled values,
shortcuts for ISO times, tag objects and money cells) giving the same result as the full rules."""

from __future__ import annotations

import duckdb
import pytest

from tests.warehouse.test_ingest_focus import AWS, D, FOCUS, lines, rejects, ts
from warehouse.ingest import ingest_file


# --------------------------------------------------------------------------- one pass, cheap paths


def everything(con) -> dict[str, list[tuple]]:
    """All that ingest wrote, without the ingest times."""
    return {
        "lines": con.execute("SELECT * EXCLUDE (x_ingested_at) FROM billing_line_items ORDER BY x_line_id").fetchall(),
        "files": con.execute("SELECT * EXCLUDE (ingested_at) FROM ingested_files ORDER BY file_hash").fetchall(),
        "rejects": con.execute("SELECT * EXCLUDE (rejected_at) FROM ingest_rejects "
                               "ORDER BY file_hash, row_number, column_name, reason").fetchall(),
        "notes": con.execute("SELECT * EXCLUDE (noted_at) FROM ingest_notes "
                             "ORDER BY file_hash, row_number, column_name, note").fetchall(),
    }


MIXED = [AWS, FOCUS / "dirty_focus_2026-09.csv", FOCUS / "rejects_focus_2026-09.csv", FOCUS / "azure_focus_1.0_2026-10.csv",
         FOCUS / "marketplace_focus_1.3_2026-11.csv", FOCUS / "simple_saas_agreements_c.csv",
         FOCUS / "validator_multiple_failure_example_namespaced.csv", FOCUS / "validator_sample.parquet"]


def test_one_pass_into_the_warehouse_equals_staging_first(sample_config, tmp_path, monkeypatch):
    """The direct insert (no stage_lines copy) writes exactly what staging then inserting writes."""
    from warehouse.db import connect
    from warehouse.loaders import focus

    direct = connect(tmp_path / "direct.duckdb")
    for f in MIXED:
        ingest_file(direct, f, sample_config, fmt="focus", date_order="mdy")
    real = focus.stage
    monkeypatch.setattr(focus, "stage", lambda c, path, options=None: real(c, path, options=options))  # staged path
    staged = connect(tmp_path / "staged.duckdb")
    for f in MIXED:
        ingest_file(staged, f, sample_config, fmt="focus", date_order="mdy")
    a, b = everything(direct), everything(staged)
    assert len(a["lines"]) > 20 and len(a["rejects"]) > 20 and len(a["notes"]) >= 2
    assert a == b


def test_values_missing_from_the_first_rows_take_the_full_rules(con, sample_config, tmp_path, monkeypatch):
    from warehouse.loaders import focus

    monkeypatch.setattr(focus, "SAMPLE_ROWS", 2)  # only the first two rows are sampled
    head = "BilledCost,BillingCurrency,ChargeCategory,ChargePeriodStart,ChargePeriodEnd,ProviderName,PricingUnit\n"
    rows = [
        "1.00,USD,Usage,2026-10-01T00:00:00Z,2026-10-02T00:00:00Z,AWS,Hours",
        "2.00,USD,Usage,2026-10-01T00:00:00Z,2026-10-02T00:00:00Z,AWS,Hours",
        "3.00, eur ,TAX,2026-10-01 00:00:00,10/2/26,Amazon Web Services,Hours",
        "4.00,gbp,credit ,2026-10-01T02:00:00+02:00,2026-10-02T00:00:00Z,OpenAI,1M tokens",
        "5.00,XYZ,Usage,2026-10-01T00:00:00Z,2026-10-02T00:00:00Z,Oracle Cloud Infrastructure,Hours",
        "6.00,USD,Refund,2026-10-01T00:00:00Z,2026-10-02T00:00:00Z,AWS,Hours",
    ]
    p = tmp_path / "late.csv"
    p.write_text(head + "\n".join(rows) + "\n", encoding="utf-8")
    r = ingest_file(con, p, sample_config, date_order="mdy")
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (6, 5, 1)
    assert lines(con, "x_source_row, BillingCurrency, ChargeCategory, ChargePeriodStart, ChargePeriodEnd, x_provider, "
                      "x_product_kind") == [
        (1, "USD", "Usage", ts("2026-10-01"), ts("2026-10-02"), "aws", "other"),
        (2, "USD", "Usage", ts("2026-10-01"), ts("2026-10-02"), "aws", "other"),
        (3, "EUR", "Tax", ts("2026-10-01"), ts("2026-10-02"), "aws", "other"),
        (4, "GBP", "Credit", ts("2026-10-01"), ts("2026-10-02"), "openai", "hosted_api"),
        (6, "USD", "Refund", ts("2026-10-01"), ts("2026-10-02"), "aws", "other"),  # no FOCUS value: kept, noted
    ]
    assert [(n, c, raw) for n, c, _, raw in rejects(con)] == [(5, "BillingCurrency", "XYZ")]


def test_sampled_values_and_fast_branches_change_nothing(sample_config, tmp_path, monkeypatch):
    """With nothing sampled every cell takes the full cleaning rules: the same result."""
    from warehouse.db import connect
    from warehouse.loaders import focus

    fast = connect(tmp_path / "fast.duckdb")
    for f in MIXED[:4]:
        ingest_file(fast, f, sample_config, fmt="focus", date_order="mdy")
    monkeypatch.setattr(focus, "SAMPLE_ROWS", 0)
    full = connect(tmp_path / "full.duckdb")
    for f in MIXED[:4]:
        ingest_file(full, f, sample_config, fmt="focus", date_order="mdy")
    assert everything(fast) == everything(full)


@pytest.mark.parametrize(
    "cell, expected",
    [
        ("2026-10-01T00:00:00Z", "2026-10-01 00:00:00"),
        ("2026-10-01T24:00:00Z", "2026-10-02 00:00:00"),   # 24:00 is the end of the day, as DuckDB casts it
        (" 2026-10-01T00:00:00Z", "2026-10-01 00:00:00"),  # trimmed
        ("\u00a02026-10-01T00:00:00Z", "2026-10-01 00:00:00"),  # a no-break space is trimmed too
        ("2026-10-01T00:00:00Z ", "2026-10-01 00:00:00"),
        ("2026-9-01T00:00:00Z", None),                     # one-digit month: not a FOCUS date
        ("2026-09-31T00:00:00Z", None),
        ("x026-10-01T00:00:00Z", None),
        ("2026-10-01T01:00:00+02:00", "2026-09-30 23:00:00"),
        ("10/1/26", "2026-10-01 00:00:00"),
        (None, None),
    ],
)
def test_iso_z_times_take_a_shortcut_with_the_same_result(cell, expected):
    from warehouse.ingest import timestamp_sql
    from warehouse.loaders.focus import _timestamp

    with duckdb.connect() as c:
        fast, full = c.execute(f"SELECT CAST({_timestamp('v')} AS VARCHAR), CAST({timestamp_sql('trim(v)')} AS VARCHAR) "
                               "FROM (SELECT CAST(? AS VARCHAR) AS v)", [cell]).fetchone()
    assert fast == full == expected


@pytest.mark.parametrize(
    "cell, expected",
    [
        ('{"team": "vision"}', '{"team": "vision"}'),
        (' {"team": "vision"} ', '{"team": "vision"}'),
        ('"team": "vision"', '{"team": "vision"}'),
        ('{"team": ', None),
        ('["team"]', None),
        ("{}", "{}"),
        (None, None),
    ],
)
def test_tags_already_an_object_take_a_shortcut_with_the_same_result(cell, expected):
    from warehouse.loaders.focus import _tags_object

    with duckdb.connect() as c:
        (got,) = c.execute(f"SELECT {_tags_object('v')} FROM (SELECT CAST(? AS VARCHAR) AS v)", [cell]).fetchone()
    assert got == expected


@pytest.mark.parametrize(
    "cell, currency, expected",
    [
        ("1.1353467", "USD", D("1.135347")),
        (" 2.5 ", "USD", D("2.5")),
        ("1.5E+1", "USD", D("15")),
        ("$10,000.00 ", "usd", D("10000")),
        ("€4.61", " eur", D("4.61")),
        ("€4.61", "USD", None),       # the symbol contradicts the currency
        ("$4.61", "EUR", None),
        ("1,23", "USD", None),        # not thousands separators
        ("abc", "USD", None),
        ("12345678901234.5", "USD", None),  # beyond DECIMAL(18, 6)
    ],
)
def test_money_cells_parse_directly_or_as_spreadsheets_write_them(cell, currency, expected):
    from warehouse.ingest import decimal_sql

    with duckdb.connect() as c:
        (got,) = c.execute(f"SELECT {decimal_sql('v', 'DECIMAL(18, 6)', 'c')} FROM (SELECT CAST(? AS VARCHAR) AS v, "
                           "CAST(? AS VARCHAR) AS c)", [cell, currency]).fetchone()
    assert got == expected


def test_a_large_export_is_loaded_in_one_pass_without_a_staged_copy(con, sample_config, tmp_path, monkeypatch):
    """The clean export goes straight into billing_line_items: stage_lines stays empty, one read of the file."""
    from warehouse import ingest

    n = 5000
    big = tmp_path / "big.csv"
    with duckdb.connect() as c:
        c.execute(
            "COPY (SELECT '0.25' AS BilledCost, 'USD' AS BillingCurrency, 'Usage' AS ChargeCategory, "
            "'2026-10-01T00:00:00Z' AS ChargePeriodStart, '2026-10-02T00:00:00Z' AS ChargePeriodEnd, "
            "'AWS' AS ProviderName, 'row-' || (i + 1) AS ResourceId FROM range($n) t(i)) TO $dst (HEADER)",
            {"n": n, "dst": str(big)},  # named: DuckDB 1.5 binds COPY's TO ? wrongly beside other parameters
        )
    staged_rows = []
    real = ingest.LineSink.finish

    def finish(self, rows_read):
        staged_rows.append(self.con.execute("SELECT count(*) FROM stage_lines").fetchone()[0])
        return real(self, rows_read)

    monkeypatch.setattr(ingest.LineSink, "finish", finish)
    r = ingest_file(con, big, sample_config)
    assert (r.rows_read, r.rows_loaded, r.rows_rejected, r.totals) == (n, n, 0, {"USD": D("0.25") * n})
    assert staged_rows == [0]
    assert con.execute("SELECT count(*) FROM billing_line_items WHERE ResourceId <> 'row-' || x_source_row").fetchone() == (0,)


def test_parquet_with_its_own_file_row_number_column_still_loads(con, sample_config, tmp_path):
    pq = tmp_path / "numbered.parquet"
    with duckdb.connect() as c:  # a column that collides with DuckDB's file_row_number option
        c.execute("COPY (SELECT * FROM (VALUES (7, '1.50', 'i-a'), (3, '2.50', 'i-b')) t(file_row_number, BilledCost, "
                  "ResourceId), (SELECT 'USD' AS BillingCurrency, 'Usage' AS ChargeCategory, "
                  "'2026-10-01T00:00:00Z' AS ChargePeriodStart, '2026-10-02T00:00:00Z' AS ChargePeriodEnd, "
                  "'AWS' AS ProviderName)) TO ? (FORMAT parquet)", [str(pq)])
    r = ingest_file(con, pq, sample_config, fmt="focus")
    assert (r.rows_read, r.rows_loaded) == (2, 2)
    assert lines(con, "x_source_row, ResourceId, BilledCost") == [(1, "i-a", D("1.5")), (2, "i-b", D("2.5"))]
