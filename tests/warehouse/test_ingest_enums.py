"""Odd spellings of FOCUS enum values load, with a note; a value FOCUS does not define is kept as written.

A row is rejected only when its money, currency, dates or identity cannot be read: a
ChargeCategory "Refund", a ChargeFrequency "usage based" or a ChargeClass "CORRECTION" is no
reason to lose the money.  The models select only the values they know, so such a line still
counts in spend.  Totals are worked out by hand in the comments.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from spendwatch.cli import main
from warehouse.db import connect
from warehouse.ingest import ingest_file
from warehouse.models import build, load_project
from warehouse.config_sync import sync_config

D = Decimal

HEAD = ("BilledCost,BillingCurrency,ChargeCategory,ChargeFrequency,ChargeClass,ServiceCategory,ChargePeriodStart,"
        "ChargePeriodEnd,ProviderName,ResourceId,ListUnitPrice,PricingQuantity,ListCost\n")
ROWS = [  # BilledCost, ChargeCategory, ChargeFrequency, ChargeClass, ServiceCategory, start day
    ("10.00", "Usage", "Usage-Based", "", "Compute", 1),             # 1: as FOCUS writes them
    ("20.00", "usage", "usage based", "", "compute", 2),             # 2: three odd spellings (3 notes, 1 row)
    ("-5.00", "Refund", "One-Time", "", "Compute", 3),               # 3: no FOCUS category: kept, noted
    ("7.50", " TAX ", "RECURRING", "", "Other", 4),                  # 4: Tax and Recurring, spelt oddly
    ("-2.50", "Credit", "One_Time", "CORRECTION", "Compute", 5),     # 5: a correction, spelt oddly
    ("1.25", "Usage", "Hourly", "", "Databases", 6),                 # 6: no FOCUS frequency: kept, noted
]


def write_export(folder: Path) -> Path:
    p = folder / "odd_enums.csv"
    body = "".join(
        f"{cost},GBP,{cat},{freq},{cls},{svc},2026-10-0{day}T00:00:00Z,2026-10-0{day + 1}T00:00:00Z,AWS,i-{day},"
        f"1.00,1,1.00\n" for cost, cat, freq, cls, svc, day in ROWS)
    p.write_text(HEAD + body, encoding="utf-8")
    return p


def test_odd_enum_spellings_load_normalised_and_unknown_values_as_written(con, sample_config, tmp_path):
    r = ingest_file(con, write_export(tmp_path), sample_config)
    # Nothing is rejected; rows 2, 3, 4, 5, 6 carry notes.  10 + 20 - 5 + 7.50 - 2.50 + 1.25 = 31.25
    assert (r.rows_read, r.rows_loaded, r.rows_rejected, r.rows_noted) == (6, 6, 0, 5)
    assert r.totals == {"GBP": D("31.25")}
    assert con.execute("SELECT x_source_row, ChargeCategory, ChargeFrequency, ChargeClass, ServiceCategory "
                       "FROM billing_line_items ORDER BY x_source_row").fetchall() == [
        (1, "Usage", "Usage-Based", None, "Compute"),
        (2, "Usage", "Usage-Based", None, "Compute"),
        (3, "Refund", "One-Time", None, "Compute"),
        (4, "Tax", "Recurring", None, "Other"),
        (5, "Credit", "One-Time", "Correction", "Compute"),
        (6, "Usage", "Hourly", None, "Databases"),
    ]
    assert con.execute("SELECT row_number, column_name, note, raw FROM ingest_notes ORDER BY row_number, column_name"
                       ).fetchall() == [
        (2, "ChargeCategory", 'ChargeCategory "usage" read as Usage', "usage"),
        (2, "ChargeFrequency", 'ChargeFrequency "usage based" read as Usage-Based', "usage based"),
        (2, "ServiceCategory", 'ServiceCategory "compute" read as Compute', "compute"),
        (3, "ChargeCategory", 'ChargeCategory "Refund" is not a FOCUS value (Usage, Purchase, Tax, Credit, Adjustment): '
                              "kept as written", "Refund"),
        (4, "ChargeCategory", 'ChargeCategory " TAX " read as Tax', " TAX "),
        (4, "ChargeFrequency", 'ChargeFrequency "RECURRING" read as Recurring', "RECURRING"),
        (5, "ChargeClass", 'ChargeClass "CORRECTION" read as Correction', "CORRECTION"),
        (5, "ChargeFrequency", 'ChargeFrequency "One_Time" read as One-Time', "One_Time"),
        (6, "ChargeFrequency", 'ChargeFrequency "Hourly" is not a FOCUS value (One-Time, Recurring, Usage-Based): '
                               "kept as written", "Hourly"),
    ]


def test_the_models_count_an_unknown_category_as_spend_and_select_only_known_values(con, sample_config, tmp_path):
    ingest_file(con, write_export(tmp_path), sample_config)
    sync_config(con, sample_config)
    assert all(r.status == "ok" for r in build(con, load_project(), select=["stg_line_items", "stg_data_horizon"]))
    kinds = con.execute("SELECT source_row, charge_category, product_kind, team FROM stg_line_items ORDER BY source_row"
                        ).fetchall()
    # Row 4 ("TAX" read as Tax) is the organisation's tax; the Refund line is an ordinary billed line.
    assert kinds == [(1, "Usage", "other", "unallocated"), (2, "Usage", "other", "unallocated"),
                     (3, "Refund", "other", "unallocated"), (4, "Tax", "tax", "(organisation)"),
                     (5, "Credit", "other", "unallocated"), (6, "Usage", "other", "unallocated")]
    # October's billed money is every line's: 31.25 (see above), the Refund's -5.00 included.
    assert con.execute("SELECT sum(billed_cost) FROM stg_line_items WHERE charge_month = DATE '2026-10-01'"
                       ).fetchone() == (D("31.25"),)
    # The usage horizon reads Usage lines only: the last one (row 6) ends 7 October.
    (until,) = con.execute("SELECT data_until FROM stg_data_horizon WHERE provider = 'aws'").fetchone()
    assert until.isoformat() == "2026-10-07T00:00:00"


def test_spendwatch_ingest_counts_the_noted_rows_per_file(tmp_path, capsys):
    warehouse = tmp_path / "w.duckdb"
    export = write_export(tmp_path)
    assert main(["ingest", str(export), "--format-output", "json", "--warehouse", str(warehouse)]) == 0
    (out,) = json.loads(capsys.readouterr().out)
    assert (out["rows_loaded"], out["rows_rejected"], out["rows_noted"]) == (6, 0, 5)
    assert main(["ingest", str(export.with_name("again.csv")), "--warehouse", str(warehouse)]) == 2  # no such file
    export.with_name("again.csv").write_bytes(export.read_bytes() + b"\n")
    assert main(["ingest", str(export.with_name("again.csv")), "--warehouse", str(warehouse)]) == 0
    assert "again.csv: 5 row(s) loaded with a data-quality note" in capsys.readouterr().out
    con = connect(warehouse)
    assert con.execute("SELECT file_path LIKE '%again.csv', rows_noted FROM ingested_files ORDER BY 1").fetchall() == [
        (False, 5), (True, 5)]
    con.close()
