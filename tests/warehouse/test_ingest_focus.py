"""The FOCUS loader and the dedicated-invoice loader, from the fixtures in tests/fixtures/focus (one pass and the
cheap paths: test_ingest_one_pass.py).

Expected values are worked out by hand from the fixture rows (shown in the comments) or
summed independently with Python's csv + Decimal; never read back from the loaders.
"""

from __future__ import annotations

import csv
import gzip
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from spendwatch.core.errors import UsageError
from warehouse.ingest import detect_format, ingest_file
from warehouse.ingest.contract import UnreadableFile
from warehouse.loaders.focus import canonical_name, map_columns
from tests.warehouse.test_ingest_attribution import team_lines

FOCUS = Path(__file__).resolve().parents[1] / "fixtures" / "focus"
AWS = FOCUS / "aws_focus_1.2_2026-10.csv"
CENT = Decimal("0.01")
D = Decimal


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def rejects(con) -> list[tuple]:
    return con.execute("SELECT row_number, column_name, reason, raw FROM ingest_rejects "
                       "ORDER BY row_number, column_name, reason").fetchall()


def lines(con, cols: str) -> list[tuple]:
    return con.execute(f"SELECT {cols} FROM billing_line_items ORDER BY x_source_row").fetchall()


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --------------------------------------------------------------------------- headers


@pytest.mark.parametrize(
    "header, column",
    [
        ("BilledCost", "BilledCost"),
        (" ProviderName", "ServiceProviderName"),
        ("\ufeffBilledCost", "BilledCost"),
        ("F:ChargeType", "ChargeCategory"),
        ("focus.BilledCost", "BilledCost"),
        ("ResourceID", "ResourceId"),
        ("SkuPriceid", "SkuPriceId"),
        ("PublisherName", "HostProviderName"),
        ("ServiceProviderName", "ServiceProviderName"),
        ("AmortizedCost", "EffectiveCost"),
        ("UsageQuantity", "ConsumedQuantity"),
        ("x_foo", None),
        ("x_ServiceCode", None),
    ],
)
def test_header_names(header, column):
    assert canonical_name(header) == column


def test_current_names_win_over_old_aliases():
    cmap = map_columns(["ProviderName", "ServiceProviderName", "BilledCurrency", "BillingCurrency", "ChargeType"])
    assert cmap.source["ServiceProviderName"] == "ServiceProviderName"
    assert cmap.source["BillingCurrency"] == "BillingCurrency"
    assert cmap.source["ChargeCategory"] == "ChargeType"


# --------------------------------------------------------------------------- our fixtures


def test_aws_focus_1_2_maps_every_column(con, sample_config):
    r = ingest_file(con, AWS, sample_config)
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (10, 10, 0)
    first = con.execute(
        "SELECT BillingAccountId, BillingAccountName, SubAccountId, SubAccountName, BillingCurrency, BilledCost, "
        "EffectiveCost, ListCost, ContractedCost, ListUnitPrice, ContractedUnitPrice, PricingQuantity, PricingUnit, "
        "ConsumedQuantity, ConsumedUnit, ChargeCategory, ChargeClass, ChargeDescription, ChargeFrequency, "
        "ChargePeriodStart, ChargePeriodEnd, BillingPeriodStart, BillingPeriodEnd, InvoiceId, InvoiceIssuerName, "
        "ServiceProviderName, HostProviderName, ServiceName, ServiceCategory, ResourceId, ResourceName, ResourceType, "
        "RegionId, RegionName, SkuId, SkuPriceId, CommitmentDiscountId, Tags->>'team', x_provider, x_product_kind, "
        "x_gpu_class, x_source_format, x_source_row FROM billing_line_items WHERE x_source_row = 1").fetchone()
    assert first == (
        "431927506184", "acme-ai-payer", "588302117746", "acme-ai-ml", "USD", D("24.144"), D("24.144"), D("24.144"),
        D("24.144"), D("1.006"), D("1.006"), D("24"), "Hours", D("24"), "Hours", "Usage", None,
        "$1.006 per On Demand Linux g5.xlarge Instance Hour", "Usage-Based", ts("2026-10-01"), ts("2026-10-02"),
        ts("2026-10-01"), ts("2026-11-01"), "EUINGB26-1034567", "Amazon Web Services EMEA SARL", "AWS", "AWS",
        "Amazon Elastic Compute Cloud", "Compute", "i-0a1b2c3d4e5f60718", "vision-train-1", "Instance", "us-east-1",
        "US East (N. Virginia)", "ZV9JJYFC5QE6ECVB", "ZV9JJYFC5QE6ECVB.JRTCKXETXF.6YS6EN2CT7", None, "vision", "aws",
        "other", None, "focus", 1,
    )
    # S3 at 7 decimals is kept exactly (DECIMAL(38, 18)); tax and credit keep their categories and signs.
    assert lines(con, "BilledCost, ChargeCategory") [6:] == [
        (D("1.1353467"), "Usage"), (D("10.116"), "Usage"), (D("27.58"), "Tax"), (D("-50"), "Credit")]


def test_list_columns_are_kept_as_given(con, sample_config):
    ingest_file(con, AWS, sample_config)
    # ListCost is DECIMAL(38, 18): the S3 line's 1.1353467 is stored exactly.
    given = [(D(r["ListCost"]) if r["ListCost"] else None,
              D(r["ListUnitPrice"]) if r["ListUnitPrice"] else None,
              D(r["PricingQuantity"]) if r["PricingQuantity"] else None, r["InvoiceId"], r["ChargeClass"] or None)
             for r in csv_rows(AWS)]
    assert lines(con, "ListCost, ListUnitPrice, PricingQuantity, InvoiceId, ChargeClass") == given


def test_azure_focus_1_0_provider_and_product_kind(con, sample_config):
    ingest_file(con, FOCUS / "azure_focus_1.0_2026-10.csv", sample_config)
    assert team_lines(con, sample_config, "x_provider, x_product_kind, BillingCurrency, BilledCost, team") == [
        ("azure", "other", "EUR", D("81.5136"), "research"),
        ("azure", "hosted_api", "EUR", D("42.9186"), "assistant"),  # AI and Machine Learning, 1K Tokens
        ("azure", "other", "EUR", D("4.1728"), "research"),
        ("azure", "other", "EUR", D("3.9672"), "unallocated"),      # no tags
    ]


def test_focus_1_3_provider_names_are_used_as_is(con, sample_config):
    ingest_file(con, FOCUS / "marketplace_focus_1.3_2026-11.csv", sample_config)
    assert team_lines(con, sample_config, "ServiceProviderName, HostProviderName, x_provider, x_product_kind, BilledCost, team") == [
        ("Anthropic", "Amazon Web Services", "anthropic", "hosted_api", D("37.20"), "search"),
        ("Anthropic", "Amazon Web Services", "anthropic", "hosted_api", D("32.25"), "search"),
    ]


def test_dirty_export_is_cleaned(con, sample_config):
    # Its slash dates (9/1/26) read either way: the order is given, as spendwatch asks for it.
    r = ingest_file(con, FOCUS / "dirty_focus_2026-09.csv", sample_config, date_order="mdy")
    assert (r.rows_read, r.rows_loaded, r.rows_rejected, r.rows_noted) == (4, 4, 0, 1)
    # Row 2's odd spellings load, each with a note (its spaced tag keys do not collide: no note).
    assert con.execute("SELECT row_number, column_name, note FROM ingest_notes ORDER BY row_number, rowid").fetchall() == [
        (2, "BillingCurrency", 'BillingCurrency " usd " read as USD'),
        (2, "ChargeCategory", 'ChargeCategory "usage" read as Usage')]
    got = team_lines(con, sample_config, "BilledCost, BillingCurrency, ChargeCategory, ChargePeriodStart, ChargePeriodEnd, ListCost, "
                     "SkuPriceId, ResourceId, Tags->>'team', json_keys(Tags), team")
    assert got == [
        # "1,234.50", dates "2026-09-01 00:00:00", brace-less tags
        (D("1234.50"), "USD", "Usage", ts("2026-09-01"), ts("2026-09-02"), D("1234.50"),
         "4T3ZDSGVKW2WMG3Y.JRTCKXETXF.6YS6EN2CT7", "i-07c9e1f2a3b4c5d6e", "research", ["team", "env"], "research"),
        # "$10.25 ", " usd ", "usage", 9/1/26, keys " team " and "Name " trimmed, NULL SkuPriceId
        (D("10.25"), "USD", "Usage", ts("2026-09-01"), ts("2026-09-02"), D("10.25"), None,
         "arn:aws:sagemaker:us-east-1:588302117746:notebook-instance/vision-nb", "vision", ["team", "Name"], "vision"),
        # +02:00 offsets converted to UTC, NULL resource and tags
        (D("0.4032"), "USD", "Usage", ts("2026-09-01"), ts("2026-09-02"), D("0.4032"), None, None, None, None,
         "unallocated"),
        # 1.5E+1 and bare dates
        (D("15"), "USD", "Purchase", ts("2026-09-01"), ts("2026-10-01"), None, None, None, None, None, "unallocated"),
    ]


def test_every_reject_reason_names_row_and_column(con, sample_config):
    r = ingest_file(con, FOCUS / "rejects_focus_2026-09.csv", sample_config)
    # Rejected: rows 2-4, 6-8, 11-13 (their money, currency, dates or identity cannot be read).
    assert (r.rows_read, r.rows_loaded, r.rows_rejected, r.rows_noted) == (14, 5, 9, 3)
    assert rejects(con) == [
        (2, "BilledCost", "BilledCost is not a number", "n/a"),
        (3, "BillingCurrency", "unknown currency code (not ISO 4217)", "XYZ"),
        (4, "ChargePeriodEnd", "ChargePeriodEnd is before ChargePeriodStart", "2026-09-04T00:00:00Z"),
        (6, "ChargePeriodStart", "ChargePeriodStart is not a date/time", "2026-09-31T00:00:00Z"),
        (7, "BilledCost", "BilledCost is empty", None),
        (8, "BilledCost", "BilledCost currency symbol does not match BillingCurrency USD", "€4.61"),
        (11, "BillingPeriodEnd", "BillingPeriodEnd is before BillingPeriodStart", "2026-09-01T00:00:00Z"),
        (12, "ServiceProviderName", "ServiceProviderName is empty", None),
        (13, "BilledCost", "BilledCost is not a number", "abc"),
        (13, "BillingCurrency", "unknown currency code (not ISO 4217)", "EURO"),
        (13, "ChargePeriodEnd", "ChargePeriodEnd is before ChargePeriodStart", "2026-09-13T00:00:00Z"),
    ]
    # Tag dirt and a ChargeCategory FOCUS does not define are no reason to lose money: rows 5, 9
    # and 10 load, each with a note.  Row 5 keeps "Refund" as written; row 10's "team" (written
    # without spaces) wins over " team"; row 9's tags are not loaded.
    assert team_lines(con, sample_config, "x_source_row, BilledCost, ChargeCategory, Tags->>'team', team") == [
        (1, D("4.608"), "Usage", "platform", "platform"), (5, D("4.608"), "Refund", None, "unallocated"),
        (9, D("4.608"), "Usage", None, "unallocated"), (10, D("4.608"), "Usage", "platform", "platform"),
        (14, D("4.608"), "Usage", "platform", "platform")]
    assert con.execute("SELECT row_number, column_name, note, raw FROM ingest_notes ORDER BY row_number").fetchall() == [
        (5, "ChargeCategory", 'ChargeCategory "Refund" is not a FOCUS value (Usage, Purchase, Tax, Credit, Adjustment): '
         "kept as written", "Refund"),
        (9, "Tags", "Tags is not a JSON object: not loaded (the cell is kept here)", '["team", "platform"]'),
        (10, "Tags", "Tags has keys that are equal once trimmed: the key written without spaces kept (else the first)",
         '{"team": "platform", " team": "vision"}')]
    assert con.execute("SELECT rows_read, rows_loaded, rows_rejected, rows_noted FROM ingested_files").fetchone() == (
        14, 5, 9, 3)


def test_namespaced_headers_load(con, sample_config, tmp_path):
    p = tmp_path / "ns.csv"
    p.write_text(
        "focus.BilledCost,focus.BillingCurrency,focus.ChargeCategory,focus.ChargePeriodStart,focus.ChargePeriodEnd,"
        "focus.ProviderName,aws:ResourceId\n"
        "4.608,USD,Usage,2026-10-01T00:00:00Z,2026-10-02T00:00:00Z,AWS,i-0d53449e5dbb5c330\n",
        encoding="utf-8",
    )
    assert detect_format(p) == "focus"
    assert ingest_file(con, p, sample_config).rows_loaded == 1
    assert lines(con, "BilledCost, ResourceId, x_provider") == [(D("4.608"), "i-0d53449e5dbb5c330", "aws")]


# --------------------------------------------------------------------------- gzip and Parquet


def test_gzip_csv_loads_like_the_plain_file(con, sample_config, tmp_path):
    gz = tmp_path / "aws.csv.gz"
    gz.write_bytes(gzip.compress(AWS.read_bytes()))
    r = ingest_file(con, gz, sample_config)
    expected = sum(D(row["BilledCost"]) for row in csv_rows(AWS))
    assert r.format == "focus" and r.rows_loaded == 10
    assert r.totals["USD"].quantize(CENT) == expected.quantize(CENT)


def test_typed_parquet_loads_like_the_csv(con, sample_config, tmp_path):
    pq = tmp_path / "aws.parquet"
    with duckdb.connect() as c:  # typed columns: DOUBLE costs, TIMESTAMPTZ periods, as a BI tool would write
        c.execute("COPY (SELECT * FROM read_csv($src)) TO $dst (FORMAT parquet)", {"src": str(AWS), "dst": str(pq)})
        assert dict(c.execute("SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(?))",
                              [str(pq)]).fetchall())["ChargePeriodStart"] == "TIMESTAMP WITH TIME ZONE"
    assert detect_format(pq) == "focus"
    r = ingest_file(con, pq, sample_config)
    assert (r.rows_read, r.rows_loaded) == (10, 10)
    assert team_lines(con, sample_config, "BilledCost, ChargePeriodStart, team") [:3] == [
        (D("24.144"), ts("2026-10-01"), "vision"), (D("20.623"), ts("2026-10-02"), "vision"),
        (D("68.064"), ts("2026-10-01"), "research")]


def test_parquet_tags_as_a_map(con, sample_config, tmp_path):
    pq = tmp_path / "litellm.parquet"
    with duckdb.connect() as c:
        c.execute(
            "COPY (SELECT CAST(12.5 AS DECIMAL(18, 6)) AS BilledCost, 'USD' AS BillingCurrency, 'Usage' AS ChargeCategory, "
            "TIMESTAMP '2026-11-01' AS ChargePeriodStart, TIMESTAMP '2026-11-02' AS ChargePeriodEnd, "
            "'OpenAI' AS ProviderName, MAP {'team': 'assistant', 'user': 'sam'} AS Tags) TO ? (FORMAT parquet)",
            [str(pq)],
        )
    ingest_file(con, pq, sample_config)
    assert team_lines(con, sample_config, "BilledCost, x_provider, x_product_kind, Tags->>'team', team") == [
        (D("12.5"), "openai", "hosted_api", "assistant", "assistant")]


def test_validator_parquet_sample_is_rejected_for_missing_columns(con, sample_config):
    r = ingest_file(con, FOCUS / "validator_sample.parquet", sample_config)
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (2, 0, 2)
    assert {c for _, c, reason, _ in rejects(con) if reason.startswith("missing mandatory column")} == {
        "BilledCost", "BillingCurrency", "ChargePeriodStart", "ChargePeriodEnd", "ServiceProviderName"}


# --------------------------------------------------------------------------- FOCUS specification examples


def test_offsets_with_a_space_and_a_lowercase_z_are_dates(con, sample_config, tmp_path):
    p = write(tmp_path, "zones.csv", (
        "BilledCost,BillingCurrency,ChargeCategory,ChargePeriodStart,ChargePeriodEnd,ProviderName\n"
        "1.00,USD,Usage,2026-09-01 00:00:00 +0200,2026-09-02 00:00:00 -0500,AWS\n"
        "2.00,USD,Usage,2026-09-01t00:00:00z,2026-09-02T00:00:00z,AWS\n"
    ))
    r = ingest_file(con, p, sample_config)
    assert (r.rows_loaded, r.rows_rejected) == (2, 0)
    # +02:00 at midnight is 22:00 UTC the day before; -05:00 at midnight is 05:00 UTC.
    assert lines(con, "ChargePeriodStart, ChargePeriodEnd") == [
        (ts("2026-08-31 22:00"), ts("2026-09-02 05:00")), (ts("2026-09-01"), ts("2026-09-02"))]


def test_spec_saas_example_with_dollar_amounts_and_us_dates(con, sample_config):
    r = ingest_file(con, FOCUS / "simple_saas_agreements_c.csv", sample_config, date_order="mdy")
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (3, 3, 0)
    # "$10,100.00 " ... with periods 4/1/25-5/1/25, 5/1/25-6/1/25, 6/1/25-7/1/25
    assert lines(con, "BilledCost, ListUnitPrice, PricingQuantity, ChargePeriodStart, ChargePeriodEnd, "
                      "ServiceProviderName, HostProviderName, x_provider") == [
        (D("10100"), D("20"), D("505"), ts("2025-04-01"), ts("2025-05-01"), "ACMECORP", "ACMECORP", "acmecorp"),
        (D("13000"), D("20"), D("650"), ts("2025-05-01"), ts("2025-06-01"), "ACMECORP", "ACMECORP", "acmecorp"),
        (D("12700"), D("20"), D("635"), ts("2025-06-01"), ts("2025-07-01"), "ACMECORP", "ACMECORP", "acmecorp"),
    ]


@pytest.mark.parametrize("name", ["virtual_currency_pricing_model_a2.csv", "saas_spend_agreements_a2.csv"])
def test_spec_examples_load_fully_and_reconcile(con, sample_config, name):
    path = FOCUS / name
    rows = csv_rows(path)  # utf-8-sig: the a2 file starts with a byte-order mark
    r = ingest_file(con, path, sample_config, date_order="mdy")  # the spec's m/d/yy dates all read either way
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (len(rows), len(rows), 0)
    assert r.totals == {"USD": sum(D(x["BilledCost"]) for x in rows)}


def test_spec_example_without_currency_and_provider_is_rejected_row_by_row(con, sample_config):
    r = ingest_file(con, FOCUS / "commitment_discount_usage_scenario_3.csv", sample_config)
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (2, 0, 2)
    assert rejects(con) == [
        (row, col, f"missing mandatory column {col}", None)
        for row in (1, 2) for col in ("BillingCurrency", "ServiceProviderName")
    ]


def test_spec_example_impossible_hour(con, sample_config):
    ingest_file(con, FOCUS / "commitment_discount_purchase_scenario_3.csv", sample_config)
    assert (4, "ChargePeriodEnd", "ChargePeriodEnd is not a date/time", "2023-02-01T30:00:00Z") in rejects(con)


# --------------------------------------------------------------------------- FOCUS validator samples


def test_validator_namespaced_sample_rejects_like_the_plain_one(con, sample_config, tmp_path):
    ingest_file(con, FOCUS / "validator_multiple_failure_example_namespaced.csv", sample_config)
    namespaced = rejects(con)
    from warehouse.db import connect

    other = connect(tmp_path / "other.duckdb")
    ingest_file(other, FOCUS / "validator_multiple_failure_examples.csv", sample_config)
    assert namespaced == rejects(other)
    other.close()
    # F:ChargeType is read as ChargeCategory: its values a, b, c are no FOCUS value, which alone
    # rejects nothing (a loaded row would get a note); these rows lack money and dates.
    assert not [row for row, col, _, _ in namespaced if col == "ChargeCategory"]
    assert con.execute("SELECT row_number, raw FROM ingest_notes WHERE column_name = 'ChargeCategory'").fetchall() == []


def test_validator_blank_billed_cost_and_spaced_header(con, sample_config):
    r = ingest_file(con, FOCUS / "validator_billedCostTest.csv", sample_config)
    assert (r.rows_read, r.rows_rejected) == (2, 2)
    got = rejects(con)
    assert (1, "ServiceProviderName", "ServiceProviderName is empty", None) in got  # " ProviderName" was found
    assert not [x for x in got if x[1] == "BilledCost"]  # "0.0" is a valid cost


def test_validator_focus_0_5_sample(con, sample_config):
    r = ingest_file(con, FOCUS / "validator_all_pass_0.5.csv", sample_config)
    # Its BillingPeriodStart (06-30) is after its BillingPeriodEnd (06-01): both rows rejected.
    assert (r.rows_read, r.rows_rejected) == (2, 2)
    assert rejects(con) == [(n, "BillingPeriodEnd", "BillingPeriodEnd is before BillingPeriodStart",
                             "2023-06-01T00:00:00Z") for n in (1, 2)]


def test_validator_bad_charge_type_needs_an_explicit_format(con, sample_config):
    path = FOCUS / "validator_fail_charge_type_bad_value.csv"  # a single ChargeType column
    with pytest.raises(UsageError, match="unrecognised export format"):
        detect_format(path)
    r = ingest_file(con, path, sample_config, fmt="focus")
    assert (r.rows_read, r.rows_rejected) == (3, 3)  # no money, currency, dates or provider
    assert {col for _, col, _, _ in rejects(con)} == {
        "BilledCost", "BillingCurrency", "ChargePeriodStart", "ChargePeriodEnd", "ServiceProviderName"}


# --------------------------------------------------------------------------- row numbers in a large file


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_row_numbers_follow_the_file_in_a_multi_chunk_export(con, sample_config, tmp_path, kind):
    n = 300_000  # several of DuckDB's row groups and parallel scan chunks
    big = tmp_path / f"big.{kind}"
    options = "(HEADER)" if kind == "csv" else "(FORMAT parquet, ROW_GROUP_SIZE 40000)"
    with duckdb.connect() as c:
        c.execute(
            "COPY (SELECT CASE WHEN i % 100000 = 77 THEN 'n/a' ELSE '0.25' END AS BilledCost, 'USD' AS BillingCurrency, "
            "'Usage' AS ChargeCategory, '2026-10-01T00:00:00Z' AS ChargePeriodStart, "
            "'2026-10-02T00:00:00Z' AS ChargePeriodEnd, 'AWS' AS ProviderName, 'row-' || (i + 1) AS ResourceId "
            f"FROM range($n) t(i)) TO $dst {options}",  # named: DuckDB 1.5 binds COPY's TO ? wrongly beside others
            {"n": n, "dst": str(big)},
        )
    r = ingest_file(con, big, sample_config)
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (n, n - 3, 3)
    # ResourceId row-<k> was written as the k-th data row.
    assert con.execute("SELECT count(*) FROM billing_line_items WHERE ResourceId <> 'row-' || x_source_row").fetchone() == (0,)
    assert [x[0] for x in rejects(con)] == [78, 100078, 200078]
    assert r.totals["USD"] == D("0.25") * (n - 3)


# --------------------------------------------------------------------------- dedicated invoices


INVOICES = """invoice_id,provider,account_id,server_id,server_name,gpu_model,gpu_count,period_start,period_end,amount,currency,description,used_hours
GG-202609-4471,gigagpu,GG-ACME-0042,gg-4090-01,gg-4090-01 London 1x RTX 4090,RTX 4090,1,2026-09-01,2026-10-01,249.00,GBP,Dedicated GPU server RTX 4090 24GB - September 2026,118.5
GG-202610-4584,GigaGPU,GG-ACME-0042,gg-4090-01,gg-4090-01 London 1x RTX 4090,RTX4090-24GB,1,2026-10-01,2026-11-01,249.00,GBP,Dedicated GPU server RTX 4090 24GB - October 2026,
R2026100187,Hetzner,K0481516,gex130-7,GEX130 #2213487,RTX 6000 Ada,1,2026-10-01,2026-11-01,838.00,eur,GEX130 dedicated server October 2026,612
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_dedicated_invoice_maps_to_purchase_lines(con, sample_config, tmp_path):
    p = write(tmp_path, "invoices.csv", INVOICES)
    assert detect_format(p) == "dedicated_invoice"
    r = ingest_file(con, p, sample_config)
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (3, 3, 0)
    assert r.totals == {"GBP": D("498.00"), "EUR": D("838.00")}
    assert team_lines(con, sample_config, "InvoiceId, x_provider, InvoiceIssuerName, BillingAccountId, ResourceId, ResourceName, "
                      "x_gpu_class, x_gpu_count, ChargePeriodStart, ChargePeriodEnd, BilledCost, BillingCurrency, "
                      "ChargeCategory, ChargeFrequency, PricingQuantity, PricingUnit, ConsumedQuantity, ConsumedUnit, "
                      "x_gpu_seconds, x_product_kind, team, attribution_rule") == [
        ("GG-202609-4471", "gigagpu", "gigagpu", "GG-ACME-0042", "gg-4090-01", "gg-4090-01 London 1x RTX 4090",
         "RTX4090-24GB", 1, ts("2026-09-01"), ts("2026-10-01"), D("249.00"), "GBP", "Purchase", "Recurring", D(1),
         "Month", D("118.5"), "Hours", D("426600"), "dedicated_gpu", "platform", "attribution[5]"),
        ("GG-202610-4584", "gigagpu", "GigaGPU", "GG-ACME-0042", "gg-4090-01", "gg-4090-01 London 1x RTX 4090",
         "RTX4090-24GB", 1, ts("2026-10-01"), ts("2026-11-01"), D("249.00"), "GBP", "Purchase", "Recurring", D(1),
         "Month", None, None, None, "dedicated_gpu", "platform", "attribution[5]"),
        ("R2026100187", "hetzner", "Hetzner", "K0481516", "gex130-7", "GEX130 #2213487", "RTX6000ADA-48GB", 1,
         ts("2026-10-01"), ts("2026-11-01"), D("838.00"), "EUR", "Purchase", "Recurring", D(1), "Month", D("612"),
         "Hours", D("2203200"), "dedicated_gpu", "unallocated", None),
    ]


def test_quoted_line_breaks_inside_cells_load_and_rows_count_records(con, sample_config, tmp_path):
    # A cell may hold a line break when quoted (RFC 4180): a FOCUS description over two lines
    # and a Tags object written across lines.  Rows are numbered by record, not by line.
    p = write(tmp_path, "multiline.csv", (
        "BilledCost,BillingCurrency,ChargeCategory,ChargeDescription,ChargePeriodStart,ChargePeriodEnd,ProviderName,Tags\n"
        '1.50,USD,Usage,"GPU hours\nus-east-1",2026-10-01T00:00:00Z,2026-10-02T00:00:00Z,AWS,"{""team"":\n ""vision""}"\n'
        "2.25,USD,Usage,plain,2026-10-01T00:00:00Z,2026-10-02T00:00:00Z,AWS,\n"
        "abc,USD,Usage,plain,2026-10-01T00:00:00Z,2026-10-02T00:00:00Z,AWS,\n"
    ))
    r = ingest_file(con, p, sample_config)
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (3, 2, 1)
    assert team_lines(con, sample_config, "x_source_row, BilledCost, ChargeDescription, team") == [
        (1, D("1.50"), "GPU hours\nus-east-1", "vision"), (2, D("2.25"), "plain", "unallocated")]
    assert rejects(con) == [(3, "BilledCost", "BilledCost is not a number", "abc")]


def test_dedicated_invoice_with_a_quoted_line_break_loads(con, sample_config, tmp_path):
    header, first, *_ = INVOICES.splitlines()
    two_lines = first.replace("Dedicated GPU server RTX 4090 24GB - September 2026",
                              '"Dedicated GPU server\nRTX 4090 24GB - September 2026"')
    r = ingest_file(con, write(tmp_path, "inv.csv", f"{header}\n{two_lines}\n"), sample_config)
    assert (r.rows_read, r.rows_loaded, r.totals) == (1, 1, {"GBP": D("249.00")})
    assert lines(con, "ChargeDescription") == [("Dedicated GPU server\nRTX 4090 24GB - September 2026",)]


def test_dedicated_invoice_rejects(con, sample_config, tmp_path):
    header = INVOICES.splitlines()[0]
    body = [
        "I-1,hetzner,K1,s1,,RTX 4090,1,2026-10-01,2026-11-01,abc,EUR,,",        # amount not a number
        "I-2,hetzner,K1,s1,,RTX 4090,1,2026-10-01,2026-11-01,-10.00,EUR,,",     # negative
        "I-3,hetzner,K1,s1,,RTX 4090,1,2026-10-01,2026-11-01,10.00,EURO,,",     # currency
        "I-4,hetzner,K1,s1,,Voodoo5 6000,1,2026-10-01,2026-11-01,10.00,EUR,,",  # unknown GPU
        "I-5,hetzner,K1,s1,,RTX 4090,0,2026-10-01,2026-11-01,10.00,EUR,,",      # gpu_count
        "I-6,hetzner,K1,s1,,RTX 4090,1,01/10/2026,2026-11-01,10.00,EUR,,",      # date format
        "I-7,hetzner,K1,s1,,RTX 4090,1,2026-11-01,2026-10-01,10.00,EUR,,",      # end before start
        "I-8,hetzner,K1,s1,,RTX 4090,1,2026-10-01,2026-11-01,10.00,EUR,,745",   # October has 744 hours
        "I-9,hetzner,K1,,,RTX 4090,1,2026-10-01,2026-11-01,10.00,EUR,,",        # server_id empty
        "I-10,hetzner,K1,s1,,RTX 4090,1,2026-10-01,2026-11-01,10.00,EUR,,744",  # valid: every hour used
    ]
    r = ingest_file(con, write(tmp_path, "bad.csv", "\n".join([header, *body]) + "\n"), sample_config)
    # The GPU and the hours are no reason to lose the rental: rows 4, 5, 8 load with a note (item 4).
    assert (r.rows_read, r.rows_loaded, r.rows_rejected, r.rows_noted) == (10, 4, 6, 3)
    assert r.totals == {"EUR": D("40.00")}  # rows 4, 5, 8, 10: 4 x 10.00
    assert rejects(con) == [
        (1, "amount", "amount is not a decimal number", "abc"),
        (2, "amount", "amount is negative (credits are not part of this format)", "-10.00"),
        (3, "currency", "unknown currency code (not ISO 4217)", "EURO"),
        (6, "period_start", "period_start is not a YYYY-MM-DD date", "01/10/2026"),
        (7, "period_end", "period_end must be after period_start (it is exclusive)", "2026-10-01"),
        (9, "server_id", "server_id is empty", None),
    ]
    assert con.execute("SELECT row_number, column_name, raw FROM ingest_notes ORDER BY row_number").fetchall() == [
        (4, "gpu_model", "Voodoo5 6000"), (5, "gpu_count", "0"), (8, "used_hours", "745")]


def test_dedicated_invoice_fractional_gpu_count_is_noted_not_rounded(con, sample_config, tmp_path):
    header = INVOICES.splitlines()[0]
    rows = [f"I-{n},hetzner,K1,s{n},,RTX 4090,{count},2026-10-01,2026-11-01,10.00,EUR,rental," for n, count in
            ((1, "1.5"), (2, "2.4"), (3, "2"))]
    r = ingest_file(con, write(tmp_path, "frac.csv", "\n".join([header, *rows]) + "\n"), sample_config)
    assert (r.rows_loaded, r.rows_rejected, r.rows_noted) == (3, 0, 2)
    assert lines(con, "x_source_row, x_gpu_count") == [(1, None), (2, None), (3, 2)]
    assert con.execute("SELECT row_number, note FROM ingest_notes ORDER BY row_number").fetchall() == [
        (n, f"gpu_count {c} is not a whole number >= 1: GPU count unknown (x_gpu_count NULL)")
        for n, c in ((1, "1.5"), (2, "2.4"))]


def test_corrected_invoice_replaces_and_same_file_duplicates_stay(con, sample_config, tmp_path):
    ingest_file(con, write(tmp_path, "sep.csv", INVOICES), sample_config)
    header = INVOICES.splitlines()[0]
    corrected = ("GG-202610-4584C,gigagpu,GG-ACME-0042,gg-4090-01,,RTX4090-24GB,1,2026-10-01,2026-11-01,"
                 "224.10,GBP,October 2026 less 10% SLA credit,")
    setup_fee = "R2026100188,Hetzner,K0481516,gex130-7,,RTX 6000 Ada,1,2026-10-01,2026-11-01,79.00,EUR,Setup fee,"
    hetzner = INVOICES.splitlines()[3]
    r = ingest_file(con, write(tmp_path, "oct.csv", "\n".join([header, corrected, hetzner, setup_fee]) + "\n"),
                    sample_config)
    # The corrected GigaGPU October row replaces the old one; the Hetzner row replaces its earlier
    # copy; the setup fee (same server and period, same file) is kept beside the rental.
    assert (r.rows_loaded, r.rows_replaced) == (3, 2)
    assert dict(con.execute("SELECT BillingCurrency, sum(BilledCost) FROM billing_line_items GROUP BY 1").fetchall()) == {
        "GBP": D("473.10"), "EUR": D("917.00")}


def test_dedicated_invoice_with_another_header_is_unreadable(con, sample_config, tmp_path):
    p = write(tmp_path, "inv.csv", INVOICES.replace("used_hours", "hours_used", 1))
    with pytest.raises(UnreadableFile, match=r"inv\.csv: not a dedicated-invoice CSV: the header must be exactly"):
        ingest_file(con, p, sample_config, fmt="dedicated_invoice")


def test_dedicated_invoice_gzip(con, sample_config, tmp_path):
    gz = tmp_path / "inv.csv.gz"
    gz.write_bytes(gzip.compress(INVOICES.encode()))
    assert detect_format(gz) == "dedicated_invoice"
    assert ingest_file(con, gz, sample_config).rows_loaded == 3


def test_lead_sample_exports_load_without_rejects(con, sample_config, tmp_path):
    exports = Path(__file__).resolve().parents[2] / "examples" / "exports"
    for name in ("focus_aws_2026-09_2026-11.csv", "dedicated_invoices_2026-09_2026-11.csv"):
        path = exports / name
        if not path.exists():
            pytest.skip(f"{name} not generated")
        rows = csv_rows(path)
        r = ingest_file(con, path, sample_config)
        assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (len(rows), len(rows), 0)
        key = "BilledCost" if "BilledCost" in rows[0] else "amount"
        assert sum(r.totals.values()) == sum(D(x[key]) for x in rows)
