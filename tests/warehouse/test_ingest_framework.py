"""The ingest framework: discovery, detection, exactly-once, restatement, rollback, attribution, totals.

Expected figures are read from the fixture files with Python's csv + Decimal (or worked
out by hand in the comments), never from the code under test.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import shutil
import sys
import types
from decimal import Decimal
from pathlib import Path

import pytest

from spendwatch.core.config import UNALLOCATED, Config
from spendwatch.core.errors import SpendwatchError, UsageError
from warehouse import ingest
from warehouse.ingest import deliveries, load, staging
from warehouse.ingest import (
    FRAMEWORK_COLUMNS,
    STAGE_COLUMNS,
    Loader,
    create_stage_tables,
    detect_format,
    discover_loaders,
    ingest_file,
    ingest_paths,
    iter_export_files,
)
from warehouse.ingest.contract import UnreadableFile

FOCUS = Path(__file__).resolve().parents[1] / "fixtures" / "focus"
AWS = FOCUS / "aws_focus_1.2_2026-10.csv"
AZURE = FOCUS / "azure_focus_1.0_2026-10.csv"
MARKETPLACE = FOCUS / "marketplace_focus_1.3_2026-11.csv"
CENT = Decimal("0.01")


# --------------------------------------------------------------------------- helpers


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def snapshot(con) -> dict[str, list[tuple]]:
    """Everything ingest writes, in a stable order."""
    return {
        "lines": con.execute("SELECT * FROM billing_line_items ORDER BY x_line_id").fetchall(),
        "files": con.execute("SELECT * FROM ingested_files ORDER BY file_hash").fetchall(),
        "rejects": con.execute(
            "SELECT * FROM ingest_rejects ORDER BY file_hash, row_number, column_name, reason"
        ).fetchall(),
    }


def org(rules: list[dict], teams: tuple[str, ...] = ("vision", "research", "assistant", "search", "platform")) -> Config:
    return Config.model_validate({"teams": [{"name": t} for t in teams], "attribution": rules})


def edited_copy(src: Path, dst: Path, old: str, new: str) -> Path:
    text = src.read_text(encoding="utf-8")
    assert text.count(old) >= 1, old
    dst.write_text(text.replace(old, new, 1), encoding="utf-8")
    return dst


# A loader defined by the test: it reads a JSON array of line objects with read_json and
# stages them, so attribution can be tested on every key column.
FAKE_COLUMNS = (
    "BillingAccountId", "SubAccountId", "ResourceId", "Tags", "x_provider", "x_project_id",
    "x_workspace_id", "x_api_key_id", "x_endpoint_id", "BilledCost", "x_natural_key",
)


def _fake_stage(con, path: Path) -> int:
    cols = ", ".join(FAKE_COLUMNS)
    con.execute(
        f"INSERT INTO stage_lines ({cols}, BillingCurrency, ChargeCategory, ChargePeriodStart, ChargePeriodEnd, "
        "x_product_kind, x_source_row) "
        f"SELECT {cols}, 'USD', 'Usage', TIMESTAMP '2026-10-01', TIMESTAMP '2026-10-02', 'other', "
        "CAST(row_number() OVER () AS INTEGER) FROM read_json(?, columns = "
        "{BillingAccountId: 'VARCHAR', SubAccountId: 'VARCHAR', ResourceId: 'VARCHAR', Tags: 'JSON', "
        "x_provider: 'VARCHAR', x_project_id: 'VARCHAR', x_workspace_id: 'VARCHAR', x_api_key_id: 'VARCHAR', "
        "x_endpoint_id: 'VARCHAR', BilledCost: 'DECIMAL(18,6)', x_natural_key: 'VARCHAR'})",
        [str(path)],
    )
    return con.execute("SELECT count(*) FROM stage_lines").fetchone()[0]


FAKE_TYPES = ("{BillingAccountId: 'VARCHAR', SubAccountId: 'VARCHAR', ResourceId: 'VARCHAR', Tags: 'JSON', "
              "x_provider: 'VARCHAR', x_project_id: 'VARCHAR', x_workspace_id: 'VARCHAR', x_api_key_id: 'VARCHAR', "
              "x_endpoint_id: 'VARCHAR', BilledCost: 'DECIMAL(18,6)', x_natural_key: 'VARCHAR'}")
DIRECT_COLUMNS = (*FAKE_COLUMNS, "BillingCurrency", "ChargeCategory", "ChargePeriodStart", "ChargePeriodEnd",
                  "x_product_kind", "x_source_row")


def _direct_select(source_row: str = "row_number() OVER ()") -> str:
    """The direct sink's SELECT of the fake lines, numbering each row by ``source_row``."""
    return (f"SELECT {', '.join(FAKE_COLUMNS)}, 'USD' AS BillingCurrency, 'Usage' AS ChargeCategory, "
            "TIMESTAMP '2026-10-01' AS ChargePeriodStart, TIMESTAMP '2026-10-02' AS ChargePeriodEnd, "
            f"'other' AS x_product_kind, CAST({source_row} AS INTEGER) AS x_source_row "
            f"FROM read_json($path, columns = {FAKE_TYPES})")


def _fake_direct_stage(con, path: Path, lines=None) -> int:
    """The same lines as _fake_stage, handed to the framework's direct sink (a line with a
    null x_natural_key is rejected, with the reason given in its ``ResourceId``)."""
    n = lines.insert(_direct_select(), {"path": str(path)}, DIRECT_COLUMNS)
    con.execute(
        "INSERT INTO stage_rejects SELECT r.x_source_row, 'x_natural_key', s.ResourceId, NULL FROM stage_rejected r "
        f"JOIN (SELECT CAST(row_number() OVER () AS INTEGER) AS rn, ResourceId FROM read_json(?, columns = {FAKE_TYPES})) s "
        "ON s.rn = r.x_source_row WHERE s.ResourceId <> 'no reason'",
        [str(path)],
    )
    return n


STAGES = {"staged": _fake_stage, "direct": _fake_direct_stage}


def fake_module(name: str = "fake_lines", stage=_fake_stage, sniff=lambda path, head: False, priority: int = 0):
    m = types.ModuleType(name)
    m.FORMAT = name
    m.PRIORITY = priority
    m.sniff = sniff
    m.stage = stage
    return m


@pytest.fixture
def with_fake_loaders(monkeypatch):
    """Add test loaders next to the real ones."""

    def install(*modules):
        from warehouse.ingest import formats

        real = formats.discover_loaders

        def patched():
            found = dict(real())
            for m in modules:
                found[m.FORMAT] = Loader(m.FORMAT, m, m.PRIORITY)
            return found

        monkeypatch.setattr(formats, "discover_loaders", patched)
        monkeypatch.setattr(load, "discover_loaders", patched)

    return install


def write_lines(tmp_path: Path, name: str, lines: list[dict]) -> Path:
    base = {c: None for c in FAKE_COLUMNS}
    out = []
    for i, line in enumerate(lines, 1):
        out.append({**base, "BilledCost": "1.00", "x_provider": "openai", "x_natural_key": f"{name}-{i}", **line})
    p = tmp_path / f"{name}.json"
    p.write_text(json.dumps(out), encoding="utf-8")
    return p


# --------------------------------------------------------------------------- discovery and detection


def test_discovery_finds_every_loader_module_and_their_formats():
    found = discover_loaders()
    expected = {"focus", "dedicated_invoice", "openai_costs", "openai_usage", "anthropic_cost", "anthropic_usage",
                "runpod_billing", "modal_billing", "fireworks_billing", "together_billing"}
    assert expected <= set(found)
    for fmt, loader in found.items():
        assert loader.module.FORMAT == fmt
    assert found["dedicated_invoice"].priority > found["focus"].priority


def test_a_new_loader_module_is_discovered_without_editing_the_framework(tmp_path, monkeypatch):
    import warehouse.loaders as pkg

    extra = tmp_path / "extra_loaders"
    extra.mkdir()
    (extra / "acme_bill.py").write_text(
        "FORMAT = 'acme_bill'\n"
        "def sniff(path, head):\n    return head.startswith(b'ACME-BILL')\n"
        "def stage(con, path):\n    return 0\n",
        encoding="utf-8",
    )
    (extra / "_helpers.py").write_text("FORMAT = 'not_a_loader'\n", encoding="utf-8")
    monkeypatch.setattr(pkg, "__path__", [*pkg.__path__, str(extra)])
    try:
        found = discover_loaders()
        assert "acme_bill" in found and "not_a_loader" not in found
        bill = tmp_path / "bill.txt"
        bill.write_bytes(b"ACME-BILL v1\n")
        assert detect_format(bill) == "acme_bill"
    finally:
        sys.modules.pop("warehouse.loaders.acme_bill", None)


@pytest.mark.parametrize(
    "name, fmt",
    [
        ("aws_focus_1.2_2026-10.csv", "focus"),
        ("azure_focus_1.0_2026-10.csv", "focus"),
        ("marketplace_focus_1.3_2026-11.csv", "focus"),
        ("dirty_focus_2026-09.csv", "focus"),
        ("simple_saas_agreements_c.csv", "focus"),
        ("validator_multiple_failure_example_namespaced.csv", "focus"),
        ("validator_sample.parquet", "focus"),
    ],
)
def test_detect_format_from_content(name, fmt, tmp_path):
    # The name must not matter: copy under a meaningless name.
    p = tmp_path / "export.bin"
    shutil.copy(FOCUS / name, p)
    assert detect_format(p) == fmt


def test_detect_format_reads_through_gzip(tmp_path):
    p = tmp_path / "aws.csv.gz"
    p.write_bytes(gzip.compress(AWS.read_bytes()))
    assert detect_format(p) == "focus"


def test_unrecognised_content_is_a_usage_error_naming_the_file(tmp_path):
    p = tmp_path / "mystery.csv"
    shutil.copy(FOCUS / "validator_all_fail.csv", p)  # header "x_foo": no FOCUS column
    with pytest.raises(UsageError, match=r"mystery\.csv: unrecognised export format \(known formats: .*focus"):
        detect_format(p)


def test_two_loaders_claiming_a_file_are_decided_by_priority_or_refused(tmp_path, with_fake_loaders):
    p = tmp_path / "x.txt"
    p.write_text("HELLO\n", encoding="utf-8")
    claims = lambda path, head: head.startswith(b"HELLO")  # noqa: E731
    with_fake_loaders(fake_module("hello_a", sniff=claims), fake_module("hello_b", sniff=claims, priority=5))
    assert detect_format(p) == "hello_b"
    with_fake_loaders(fake_module("hello_a", sniff=claims), fake_module("hello_b", sniff=claims))
    with pytest.raises(UsageError, match=r"x\.txt: content matches several export formats \(hello_a, hello_b\)"):
        detect_format(p)


def test_unknown_explicit_format_is_a_usage_error(con, sample_config):
    with pytest.raises(UsageError, match="unknown format 'nope'"):
        ingest_file(con, AWS, sample_config, fmt="nope")


# --------------------------------------------------------------------------- stage tables


def test_stage_columns_are_billing_line_items_minus_framework_columns(con):
    table = [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'billing_line_items' "
        "ORDER BY ordinal_position").fetchall()]
    assert list(STAGE_COLUMNS) == [c for c in table if c not in FRAMEWORK_COLUMNS]


def test_stage_tables_have_the_types_of_billing_line_items(con):
    create_stage_tables(con)
    types_of = lambda t: dict(con.execute(  # noqa: E731
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?", [t]).fetchall())
    stage, final = types_of("stage_lines"), types_of("billing_line_items")
    assert set(stage) == set(STAGE_COLUMNS)
    assert all(stage[c] == final[c] for c in STAGE_COLUMNS)
    assert [r[0] for r in con.execute("DESCRIBE stage_rejects").fetchall()] == ["row_number", "column_name", "reason", "raw"]


# --------------------------------------------------------------------------- exactly once


def test_same_file_twice_changes_nothing(con, sample_config):
    first = ingest_file(con, AWS, sample_config)
    before = snapshot(con)
    second = ingest_file(con, AWS, sample_config)
    assert not first.skipped_duplicate and second.skipped_duplicate
    assert second.file_hash == first.file_hash == hashlib.sha256(AWS.read_bytes()).hexdigest()
    assert second.rows_loaded == 0 and second.format == "focus"
    assert snapshot(con) == before


def test_same_content_under_another_name_is_a_duplicate(con, sample_config, tmp_path):
    ingest_file(con, AWS, sample_config)
    copy = tmp_path / "renamed.csv"
    shutil.copy(AWS, copy)
    assert ingest_file(con, copy, sample_config).skipped_duplicate


def test_result_and_record_account_for_every_row(con, sample_config):
    n = len(csv_rows(AWS))  # 10 data rows
    r = ingest_file(con, AWS, sample_config)
    assert (r.rows_read, r.rows_loaded, r.rows_rejected, r.rows_replaced) == (n, n, 0, 0)
    rec = con.execute("SELECT file_path, format, rows_read, rows_loaded, rows_rejected, rows_replaced, "
                      "period_start, period_end FROM ingested_files").fetchone()
    assert rec[0] == str(AWS.resolve()) and rec[1:6] == ("focus", n, n, 0, 0)
    assert str(rec[6]) == "2026-10-01 00:00:00" and str(rec[7]) == "2026-11-01 00:00:00"
    assert (r.period_start, r.period_end) == (rec[6], rec[7])


def test_line_ids_are_the_file_hash_prefix_and_the_row(con, sample_config):
    h = hashlib.sha256(AWS.read_bytes()).hexdigest()
    ingest_file(con, AWS, sample_config)
    ids = con.execute("SELECT x_line_id, x_source_row, x_source_hash FROM billing_line_items ORDER BY x_source_row").fetchall()
    assert ids == [(f"{h[:16]}-{i:010d}", i, h) for i in range(1, 11)]


# --------------------------------------------------------------------------- restatement


def test_restated_export_replaces_the_rows_it_restates(con, sample_config, tmp_path):
    ingest_file(con, AWS, sample_config)
    # AWS re-delivers October with the first g5.xlarge day corrected (24.144 -> 22.132, 22 hours).
    restated = edited_copy(AWS, tmp_path / "aws_restated.csv", "24.144,431927506184", "22.132,431927506184")
    r = ingest_file(con, restated, sample_config)
    # Every row of the first delivery has its key in the new one (rows 4 and 5 share one key).
    assert r.rows_replaced == 10 and r.rows_loaded == 10
    assert con.execute("SELECT count(*), count(DISTINCT x_source_hash) FROM billing_line_items").fetchone() == (10, 1)
    expected = sum(Decimal(row["BilledCost"]) for row in csv_rows(restated))
    (total,) = con.execute("SELECT sum(BilledCost) FROM billing_line_items").fetchone()
    assert total.quantize(CENT) == expected.quantize(CENT)
    assert con.execute("SELECT rows_replaced FROM ingested_files WHERE file_path = ?",
                       [str(restated.resolve())]).fetchone() == (10,)


def test_a_correction_restates_its_whole_scope(con, sample_config, tmp_path):
    # The AWS export holds one billing account and one billing period: that is its scope.
    # A later delivery for the same account and period with only the S3 line is the whole
    # truth for it, so the nine other lines of the first delivery go (to the archive).
    ingest_file(con, AWS, sample_config)
    assert {(r["BillingAccountId"], r["BillingPeriodStart"]) for r in csv_rows(AWS)} == {
        ("431927506184", "2026-10-01T00:00:00Z")}
    rows = AWS.read_text(encoding="utf-8").splitlines()
    part = tmp_path / "aws_s3_only.csv"
    part.write_text("\n".join([rows[0], rows[7].replace("1.1353467,", "1.2000000,", 1)]) + "\n", encoding="utf-8")
    r = ingest_file(con, part, sample_config)
    assert (r.rows_loaded, r.rows_replaced) == (1, 10)
    assert con.execute("SELECT ResourceId, BilledCost FROM billing_line_items").fetchall() == [
        ("acme-ml-datasets", Decimal("1.2"))]
    assert con.execute("SELECT count(*) FROM billing_line_items_archive").fetchone() == (10,)


def test_duplicates_inside_one_file_are_kept(con, sample_config):
    ingest_file(con, AWS, sample_config)
    # Rows 4 and 5 are the same m6i.xlarge day billed twice: both stay, with one natural key.
    dup = con.execute("SELECT count(*), count(DISTINCT x_natural_key), sum(BilledCost) FROM billing_line_items "
                      "WHERE ResourceId = 'i-0d53449e5dbb5c330'").fetchone()
    assert dup == (2, 1, Decimal("9.216000"))


def test_a_billing_period_spelled_otherwise_is_the_same_scope(con, sample_config, tmp_path):
    ingest_file(con, AWS, sample_config)
    rows = AWS.read_text(encoding="utf-8").splitlines()
    # The same tax line, dates written as 10/1/26 and without T/Z: still October's scope.
    tax = rows[9].replace("2026-11-01T00:00:00Z,2026-10-01T00:00:00Z,Tax", "11/1/26,10/1/26,Tax")
    tax = tax.replace("One-Time,2026-11-01T00:00:00Z,2026-10-01T00:00:00Z", "One-Time,2026-11-01 00:00:00,2026-10-01")
    assert tax != rows[9]
    p = tmp_path / "tax.csv"
    p.write_text(rows[0] + "\n" + tax + "\n", encoding="utf-8")
    assert ingest_file(con, p, sample_config, date_order="mdy").rows_replaced == 10


# --------------------------------------------------------------------------- rollback


def test_a_crash_mid_file_leaves_everything_unchanged(con, sample_config, monkeypatch, tmp_path):
    ingest_file(con, AZURE, sample_config)
    before = snapshot(con)
    real_insert = staging.insert_lines

    def insert_then_crash(*a, **k):
        real_insert(*a, **k)  # the lines are in billing_line_items (inside the transaction)...
        raise RuntimeError("power cut")

    monkeypatch.setattr(staging, "insert_lines", insert_then_crash)
    monkeypatch.setattr(load, "insert_lines", insert_then_crash)
    with pytest.raises(RuntimeError, match="power cut"):
        ingest_file(con, AWS, sample_config)
    assert snapshot(con) == before
    monkeypatch.setattr(staging, "insert_lines", real_insert)
    monkeypatch.setattr(load, "insert_lines", real_insert)
    assert ingest_file(con, AWS, sample_config).rows_loaded == 10  # not mistaken for a duplicate


def test_a_crash_after_deleting_restated_rows_restores_them(con, sample_config, monkeypatch, tmp_path):
    ingest_file(con, AWS, sample_config)
    before = snapshot(con)
    restated = edited_copy(AWS, tmp_path / "aws_restated.csv", "24.144,431927506184", "22.132,431927506184")
    real = deliveries.record_scopes

    def replace_then_crash(*a, **k):
        assert real(*a, **k) == 10
        raise RuntimeError("disk full")

    monkeypatch.setattr(deliveries, "record_scopes", replace_then_crash)
    with pytest.raises(RuntimeError, match="disk full"):
        ingest_file(con, restated, sample_config)
    assert snapshot(con) == before


def test_a_crash_inside_the_loader_leaves_no_trace(con, sample_config, monkeypatch):
    from warehouse.loaders import focus

    real = focus.stage

    def stage_then_crash(c, path):
        real(c, path)
        raise duckdb_error()

    def duckdb_error():
        import duckdb

        return duckdb.IOException("read failed half-way")

    monkeypatch.setattr(focus, "stage", stage_then_crash)
    with pytest.raises(UnreadableFile, match=r"aws_focus_1\.2_2026-10\.csv: cannot read as focus: .*read failed"):
        ingest_file(con, AWS, sample_config)
    assert snapshot(con) == {"lines": [], "files": [], "rejects": []}
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchone() == (0,)


def test_loader_that_loses_rows_is_refused(con, sample_config, tmp_path, with_fake_loaders):
    def lossy(c, path):
        _fake_stage(c, path)
        return 3  # claims three rows read, staged two

    with_fake_loaders(fake_module("lossy", stage=lossy))
    p = write_lines(tmp_path, "two", [{}, {}])
    with pytest.raises(SpendwatchError, match="read 3 rows but staged 2 and rejected 0"):
        ingest_file(con, p, org([]), fmt="lossy")
    assert snapshot(con) == {"lines": [], "files": [], "rejects": []}


def test_loader_that_both_loads_and_rejects_a_row_is_refused(con, tmp_path, with_fake_loaders):
    def both(c, path):
        n = _fake_stage(c, path)
        c.execute("INSERT INTO stage_rejects VALUES (1, 'BilledCost', 'bad', 'x')")
        return n

    with_fake_loaders(fake_module("both", stage=both))
    with pytest.raises(SpendwatchError, match="row 1 was both loaded and rejected"):
        ingest_file(con, write_lines(tmp_path, "one", [{}]), org([]), fmt="both")


def test_staged_loader_that_numbers_a_row_twice_is_refused(con, tmp_path, with_fake_loaders):
    # Without an index on x_line_id (migration 006) the framework's own check is what keeps
    # two staged lines from sharing one line id.
    def repeats(c, path):
        n = _fake_stage(c, path)
        c.execute("UPDATE stage_lines SET x_source_row = 1")
        return n

    with_fake_loaders(fake_module("repeats", stage=repeats))
    with pytest.raises(SpendwatchError, match="loader staged lines without a unique x_source_row"):
        ingest_file(con, write_lines(tmp_path, "two", [{}, {}]), org([]), fmt="repeats")
    assert snapshot(con) == {"lines": [], "files": [], "rejects": []}


def test_direct_loader_rejects_are_recorded_and_kept_out(con, tmp_path, with_fake_loaders):
    with_fake_loaders(fake_module("direct", stage=_fake_direct_stage))
    p = write_lines(tmp_path, "three", [{}, {"x_natural_key": None, "ResourceId": "BilledCost is not a number"}, {}])
    r = ingest_file(con, p, org([]), fmt="direct")
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (3, 2, 1)
    assert r.totals == {"USD": Decimal("2.00")}  # 1.00 on each loaded line
    assert con.execute("SELECT x_source_row, x_natural_key, x_source_format FROM billing_line_items "
                       "ORDER BY 1").fetchall() == [(1, "three-1", "direct"), (3, "three-3", "direct")]
    assert con.execute("SELECT row_number, reason FROM ingest_rejects").fetchall() == [(2, "BilledCost is not a number")]
    assert con.execute("SELECT rows_read, rows_loaded, rows_rejected FROM ingested_files").fetchone() == (3, 2, 1)


def test_direct_loader_that_drops_a_row_without_a_reason_is_refused(con, tmp_path, with_fake_loaders):
    with_fake_loaders(fake_module("direct", stage=_fake_direct_stage))
    p = write_lines(tmp_path, "two", [{}, {"x_natural_key": None, "ResourceId": "no reason"}])
    with pytest.raises(SpendwatchError, match="row 2 was rejected by the loader without a reason"):
        ingest_file(con, p, org([]), fmt="direct")
    assert snapshot(con) == {"lines": [], "files": [], "rejects": []}


def test_direct_loader_that_both_loads_and_rejects_a_row_is_refused(con, tmp_path, with_fake_loaders):
    def both(c, path, lines):
        n = _fake_direct_stage(c, path, lines)
        c.execute("INSERT INTO stage_rejects VALUES (1, 'BilledCost', 'bad', 'x')")
        return n

    with_fake_loaders(fake_module("both", stage=both))
    with pytest.raises(SpendwatchError, match="row 1 was both loaded and rejected"):
        ingest_file(con, write_lines(tmp_path, "one", [{}]), org([]), fmt="both")


def test_direct_loader_that_loses_rows_or_inserts_twice_is_refused(con, tmp_path, with_fake_loaders):
    def lossy(c, path, lines):
        return _fake_direct_stage(c, path, lines) + 1

    def twice(c, path, lines):
        _fake_direct_stage(c, path, lines)
        return _fake_direct_stage(c, path, lines)

    with_fake_loaders(fake_module("lossy", stage=lossy), fake_module("twice", stage=twice))
    p = write_lines(tmp_path, "two", [{}, {}])
    with pytest.raises(SpendwatchError, match="read 3 rows but staged 2 and rejected 0"):
        ingest_file(con, p, org([]), fmt="lossy")
    with pytest.raises(SpendwatchError, match="inserted its lines twice"):
        ingest_file(con, p, org([]), fmt="twice")
    assert snapshot(con) == {"lines": [], "files": [], "rejects": []}


def test_direct_loader_that_numbers_a_row_twice_is_refused(con, tmp_path, with_fake_loaders):
    # billing_line_items has no index on x_line_id (migration 006), so the framework itself
    # must refuse a loader whose row numbers repeat: two lines would share one line id.
    def repeats(c, path, lines):
        return lines.insert(_direct_select(source_row="7"), {"path": str(path)}, DIRECT_COLUMNS)

    with_fake_loaders(fake_module("repeats", stage=repeats))
    with pytest.raises(SpendwatchError, match="numbered row 7 more than once"):
        ingest_file(con, write_lines(tmp_path, "two", [{}, {}]), org([]), fmt="repeats")
    assert snapshot(con) == {"lines": [], "files": [], "rejects": []}


def test_a_file_whose_hash_prefix_clashes_with_an_ingested_one_is_refused(con, sample_config, tmp_path, monkeypatch):
    # Line ids are the first 16 hex digits of the file's sha256 and the row; two different
    # files sharing those 16 digits (odds ~n^2/2^65) would give two lines one id.
    first = ingest_file(con, AWS, sample_config)
    other = tmp_path / "azure.csv"
    shutil.copy(AZURE, other)
    real = load.file_sha256
    monkeypatch.setattr(load, "file_sha256", lambda p: first.file_hash[:16] + "0" * 48 if p == other else real(p))
    before = snapshot(con)
    with pytest.raises(UsageError, match="sha256 starts like that of the ingested .*aws_focus_1.2_2026-10.csv"):
        ingest_file(con, other, sample_config)
    assert snapshot(con) == before


def test_direct_loader_delivery_replaces_its_scopes_only(con, tmp_path, with_fake_loaders):
    # The fake loader declares no SCOPE: the default is (provider, day); its lines are all 2026-10-01.
    with_fake_loaders(fake_module("direct", stage=_fake_direct_stage))
    ingest_file(con, write_lines(tmp_path, "a", [{}, {}, {"x_provider": "anthropic"}]), org([]), fmt="direct")
    # A later delivery with openai's lines of that day (one line twice: same-file duplicates stay).
    again = [{"BilledCost": "2.00"}, {"x_natural_key": "b-1"}, {"x_provider": "openai", "BilledCost": "5.00"}]
    r = ingest_file(con, write_lines(tmp_path, "b", again), org([]), fmt="direct")
    assert (r.rows_loaded, r.rows_replaced) == (3, 2)
    assert sorted(con.execute("SELECT x_provider, x_natural_key, BilledCost FROM billing_line_items").fetchall()) == [
        ("anthropic", "a-3", Decimal("1")), ("openai", "b-1", Decimal("1")), ("openai", "b-1", Decimal("2")),
        ("openai", "b-3", Decimal("5"))]
    assert con.execute("SELECT rows_replaced FROM ingested_files ORDER BY ingested_at").fetchall() == [(0,), (2,)]


def test_settings_are_restored_and_memory_limit_never_raised(con, sample_config):
    con.execute("SET memory_limit = '300MB'")
    con.execute("SET preserve_insertion_order = false")
    before = con.execute("SELECT current_setting('memory_limit'), current_setting('preserve_insertion_order')").fetchone()
    ingest_file(con, AWS, sample_config)
    after = con.execute("SELECT current_setting('memory_limit'), current_setting('preserve_insertion_order')").fetchone()
    assert after == before


# --------------------------------------------------------------------------- totals


def test_totals_per_currency_reconcile_to_the_cent(con, sample_config):
    expected: dict[str, Decimal] = {}
    for f in (AWS, AZURE, MARKETPLACE):
        for row in csv_rows(f):
            expected[row["BillingCurrency"]] = expected.get(row["BillingCurrency"], Decimal(0)) + Decimal(row["BilledCost"])
    got: dict[str, Decimal] = {}
    for f in (AWS, AZURE, MARKETPLACE):
        for cur, amount in ingest_file(con, f, sample_config).totals.items():
            got[cur] = got.get(cur, Decimal(0)) + amount
    in_db = dict(con.execute("SELECT BillingCurrency, sum(BilledCost) FROM billing_line_items GROUP BY 1").fetchall())
    assert set(expected) == set(got) == set(in_db) == {"USD", "EUR"}
    for cur in expected:
        assert got[cur].quantize(CENT) == expected[cur].quantize(CENT) == in_db[cur].quantize(CENT)


# --------------------------------------------------------------------------- many files


def test_ingest_paths_walks_folders_sorted_skipping_dotfiles_and_readmes(con, sample_config, tmp_path):
    root = tmp_path / "exports"
    (root / "aws").mkdir(parents=True)
    (root / ".cache").mkdir()
    shutil.copy(AWS, root / "aws" / "2026-10.csv")
    shutil.copy(AZURE, root / "azure-2026-10.csv")
    shutil.copy(MARKETPLACE, root / ".cache" / "marketplace.csv")
    shutil.copy(MARKETPLACE, root / ".hidden.csv")
    (root / "README.md").write_text("# what is in here\n", encoding="utf-8")
    (root / "readme.txt").write_text("notes\n", encoding="utf-8")
    assert [f.relative_to(root).as_posix() for f in iter_export_files([root])] == ["aws/2026-10.csv", "azure-2026-10.csv"]
    seen = []
    results = ingest_paths(con, [root], sample_config, progress=seen.append)
    assert [r.path.name for r in results] == ["2026-10.csv", "azure-2026-10.csv"]
    assert seen == results and all(r.error is None for r in results)


def test_ingest_paths_collects_or_raises_on_a_bad_file(con, sample_config, tmp_path):
    root = tmp_path / "exports"
    root.mkdir()
    shutil.copy(AWS, root / "a.csv")
    shutil.copy(FOCUS / "validator_all_fail.csv", root / "b_unknown.csv")
    shutil.copy(AZURE, root / "c.csv")
    results = ingest_paths(con, [root, tmp_path / "missing"], sample_config, errors="collect")
    by_name = {r.path.name: r for r in results}
    assert by_name["missing"].error == f"{tmp_path / 'missing'}: no such file or folder"
    assert "b_unknown.csv: unrecognised export format" in by_name["b_unknown.csv"].error
    assert by_name["a.csv"].rows_loaded == 10 and by_name["c.csv"].rows_loaded == 4

    fresh = tmp_path / "w2.duckdb"
    from warehouse.db import connect

    con2 = connect(fresh)
    with pytest.raises(UsageError, match=r"b_unknown\.csv: unrecognised export format"):
        ingest_paths(con2, [root], sample_config)
    # Files before the bad one stay ingested; the ones after are not attempted.
    assert con2.execute("SELECT count(*) FROM ingested_files").fetchone() == (1,)
    con2.close()


def test_unreadable_file_is_a_one_line_usage_error(con, sample_config, tmp_path):
    bad = tmp_path / "broken.csv.gz"
    bad.write_bytes(gzip.compress(AWS.read_bytes())[:200])  # truncated gzip
    with pytest.raises(UsageError) as e:
        ingest_file(con, bad, sample_config, fmt="focus")
    assert "broken.csv.gz" in str(e.value) and "\n" not in str(e.value)
    assert snapshot(con) == {"lines": [], "files": [], "rejects": []}


def test_empty_file_is_refused_and_header_only_export_is_recorded(con, sample_config, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(UnreadableFile, match=r"empty\.csv: empty file"):
        ingest_file(con, empty, sample_config, fmt="focus")
    header_only = tmp_path / "header.csv"
    header_only.write_text(AWS.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    r = ingest_file(con, header_only, sample_config)
    assert (r.format, r.rows_read, r.rows_loaded, r.totals) == ("focus", 0, 0, {})
    assert con.execute("SELECT rows_read, period_start FROM ingested_files").fetchall() == [(0, None)]


def test_duckdb_csv_errors_are_summarised_without_the_offending_line():
    # DuckDB's CSV errors quote the bad row (export content, possibly over several lines)
    # between the line number and the reason; the one-line summary keeps number and reason.
    err = Exception('Invalid Input Error: CSV Error on Line: 3\nOriginal Line: 1.50,"two\nlines",AWS\n'
                    "Invalid unicode (byte sequence mismatch) detected. This file is not utf-8 encoded.\n\n"
                    "Possible Solution: Set the correct encoding\n  file = x.csv\n  delimiter = ,")
    assert ingest.error_summary(err) == ("Invalid Input Error: CSV Error on Line: 3: Invalid unicode (byte sequence "
                                         "mismatch) detected. This file is not utf-8 encoded.")
    assert ingest.error_summary(Exception("Conversion Error: Could not convert\nmore")) == "Conversion Error: Could not convert"
