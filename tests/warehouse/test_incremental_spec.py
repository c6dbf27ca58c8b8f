"""The incremental header lines of a model: a source read month by month, a lookback, and watched small inputs.

A tiny project of three models in a temporary folder runs on a real DuckDB file with the sample AWS export
(September to November 2026) ingested:

* ``m_lines``: per month and currency, the billed cost and line count of the raw lines; incremental, reading the
  raw table by its ChargePeriodStart (``incremental_input: raw.billing_line_items ChargePeriodStart``);
* ``m_flags``: a note per month from a table the test writes (a small input, rebuilt whole each time);
* ``m_report``: per month, the month's cost, the previous month's cost (a one-month lookback over ``m_lines``)
  and the month's note (``incremental_watch: m_flags month``).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from warehouse import models as sqlmodels
from warehouse.db import connect
from warehouse.ingest import ingest_file

from .test_incremental_models import AWS, restated_november

SEP, OCT, NOV = date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)

M_LINES = """-- incremental: charge_month
-- incremental_input: raw.billing_line_items ChargePeriodStart
-- The raw lines' billed cost per month and currency.
SELECT CAST(date_trunc('month', ChargePeriodStart) AS DATE) AS charge_month, BillingCurrency AS currency,
       sum(BilledCost) AS cost, count(*) AS lines
FROM {{ source('raw', 'billing_line_items') }}
GROUP BY ALL
"""
M_FLAGS = """-- A note per month, from a table the test writes.
SELECT month, note FROM {{ source('raw', 'test_flags') }}
"""
M_REPORT = """-- incremental: month
-- incremental_input: m_lines charge_month
-- incremental_lookback: 1
-- incremental_watch: m_flags month
-- Each month's cost, the month before's, and the month's note.
SELECT l.charge_month AS month, l.currency, l.cost, p.cost AS previous_cost, f.note
FROM {{ ref('m_lines') }} l
LEFT JOIN {{ ref('m_lines') }} p ON p.currency = l.currency AND p.charge_month = CAST(l.charge_month - INTERVAL 1 MONTH AS DATE)
LEFT JOIN {{ ref('m_flags') }} f ON f.month = l.charge_month
"""


def write_project(folder: Path, **extra: str) -> Path:
    folder.mkdir()
    for name, text in {"m_lines": M_LINES, "m_flags": M_FLAGS, "m_report": M_REPORT, **extra}.items():
        (folder / f"{name}.sql").write_text(text)
    return folder


def aws_cost_by_month(path: Path) -> dict[date, Decimal]:
    """The export's own billed cost per charge month, read straight from the CSV (not through the warehouse)."""
    with duckdb.connect() as c:
        return dict(c.execute(
            "SELECT CAST(date_trunc('month', CAST(ChargePeriodStart AS TIMESTAMP)) AS DATE), sum(CAST(BilledCost AS DECIMAL(38, 10))) "
            "FROM read_csv(?, all_varchar = true) GROUP BY 1", [str(path)]).fetchall())


@pytest.fixture
def org(tmp_path, sample_config):
    con = connect(tmp_path / "warehouse.duckdb")
    con.execute("CREATE TABLE test_flags (month DATE, note VARCHAR)")
    ingest_file(con, AWS, sample_config)
    project = sqlmodels.load_project(write_project(tmp_path / "models"))
    assert all(r.status == "ok" and r.months is None for r in sqlmodels.build(con, project, incremental=True))
    yield con, project
    con.close()


def rebuilt(con, project) -> dict[str, list | None]:
    results = sqlmodels.build(con, project, incremental=True)
    assert all(r.status == "ok" for r in results), [r.error for r in results if r.error]
    return {r.model: r.months for r in results if r.model != "m_flags"}


def report(con) -> dict[date, tuple]:
    return {m: (cost, prev, note) for m, cost, prev, note in
            con.execute("SELECT month, cost, previous_cost, note FROM m_report WHERE currency = 'USD'").fetchall()}


def test_a_restated_month_is_read_from_the_raw_lines_alone_and_reaches_the_month_after(org, sample_config, tmp_path):
    con, project = org
    cost = aws_cost_by_month(AWS)
    assert report(con) == {SEP: (cost[SEP], None, None), OCT: (cost[OCT], cost[SEP], None), NOV: (cost[NOV], cost[OCT], None)}
    assert rebuilt(con, project) == {"m_lines": [], "m_report": []}  # nothing delivered since

    # October delivered again with every cost doubled: m_lines rebuilds October; m_report October (its cost) and
    # November (its previous month's cost), never September.
    ingest_file(con, restated_november(tmp_path, "2026-10"), sample_config)
    assert rebuilt(con, project) == {"m_lines": [OCT], "m_report": [OCT, NOV]}
    assert report(con) == {SEP: (cost[SEP], None, None), OCT: (2 * cost[OCT], cost[SEP], None),
                           NOV: (cost[NOV], 2 * cost[OCT], None)}


def test_a_changed_row_of_a_watched_input_rebuilds_its_month(org):
    con, project = org
    cost = aws_cost_by_month(AWS)
    # A note for November only: no line changed, so m_lines rebuilds nothing; m_report rebuilds November (the
    # last month, so the lookback adds none after it).
    con.execute("INSERT INTO test_flags VALUES (DATE '2026-11-01', 'closed late')")
    assert rebuilt(con, project) == {"m_lines": [], "m_report": [NOV]}
    assert report(con)[NOV] == (cost[NOV], cost[OCT], "closed late")

    # The note moves to September: September's rows change (a note) and November's (none); with the lookback,
    # the month after September is rebuilt too.
    con.execute("UPDATE test_flags SET month = DATE '2026-09-01'")
    assert rebuilt(con, project) == {"m_lines": [], "m_report": [SEP, OCT, NOV]}
    assert report(con) == {SEP: (cost[SEP], None, "closed late"), OCT: (cost[OCT], cost[SEP], None),
                           NOV: (cost[NOV], cost[OCT], None)}

    # A note for a month with no line (August): the month is new to the watched input, so it is rebuilt (it holds
    # no report row), and nothing else changes.
    con.execute("INSERT INTO test_flags VALUES (DATE '2026-08-01', 'before the data')")
    assert rebuilt(con, project)["m_report"] == [date(2026, 8, 1), SEP]
    assert date(2026, 8, 1) not in report(con)

    incremental = con.execute("SELECT * FROM m_report ORDER BY ALL").fetchall()
    assert all(r.months is None for r in sqlmodels.build(con, project) if r.model == "m_report")
    assert con.execute("SELECT * FROM m_report ORDER BY ALL").fetchall() == incremental


@pytest.mark.parametrize("header, message", [
    ("-- incremental_input: m_missing charge_month", "incremental_input must name a model this model refs or a source it reads"),
    ("-- incremental_input: raw.other_table ChargePeriodStart", "incremental_input must name a model this model refs or a source it reads"),
    ("-- incremental_input: m_lines charge month", "incremental_input must name a model this model refs or a source it reads"),
    ("-- incremental_input: m_lines 1st", "incremental_input must name a model this model refs or a source it reads"),
    ("-- incremental_input: m_lines charge_month\n-- incremental_watch: m_flags", "incremental_watch lists '<model> <month column>' pairs"),
    ("-- incremental_input: m_lines charge_month\n-- incremental_watch: m_other month", "incremental_watch lists '<model> <month column>' pairs"),
    ("-- incremental_lookback: 1", "incremental_lookback must be a whole number of months, with an incremental_input"),
    ("-- incremental_input: m_lines charge_month\n-- incremental_lookback: 1\n-- incremental_rows: month charge_month",
     "incremental_rows names the model's key column and its input's"),
    ("-- incremental_rows: month charge_month", "incremental_rows names the model's key column and its input's"),
])
def test_a_bad_incremental_header_names_the_file_and_the_line(tmp_path, header, message):
    bad = M_REPORT.replace("-- incremental_input: m_lines charge_month\n-- incremental_lookback: 1\n-- incremental_watch: m_flags month\n",
                           header + "\n")
    folder = write_project(tmp_path / "models", m_report=bad)
    with pytest.raises(sqlmodels.ModelError) as e:
        sqlmodels.load_project(folder)
    assert str(e.value).startswith(f"{folder / 'm_report.sql'}: ") and message in str(e.value)


def test_what_a_model_was_built_from_reads_the_same_in_every_process():
    """The state of an incremental model (its SQL and every upstream model's) must not depend on the process: the
    build order comes from sets of refs, whose order changes with Python's hash seed.  Two processes with other
    seeds give the same digests, or every daily run would rebuild the models in full."""
    import os
    import subprocess
    import sys

    code = ("from warehouse.models import load_project; from warehouse.incremental import sql_sha; p = load_project(); "
            "print(sorted((n, sql_sha(p.lineage(n))) for n, m in p.models.items() if m.incremental), p.order)")
    root = Path(__file__).resolve().parents[2]
    runs = [subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2", "3")]
    digests = [r.split("] [")[0] for r in runs]
    assert digests[0] == digests[1] == digests[2]
    assert len({r.split("] [")[1] for r in runs}) > 1  # the build orders did differ: the test tests something


M_ROWS = """-- incremental: charge_month
-- incremental_input: raw.billing_line_items ChargePeriodStart
-- incremental_rows: line_id x_line_id
-- One row per raw line: its id, month and billed cost.
SELECT x_line_id AS line_id, CAST(date_trunc('month', ChargePeriodStart) AS DATE) AS charge_month, BilledCost AS cost
FROM {{ source('raw', 'billing_line_items') }}
"""


def test_a_model_of_one_row_per_line_keeps_the_rows_of_lines_still_there(tmp_path, sample_config):
    """``incremental_rows``: a rebuilt month deletes the rows of lines gone and adds the new lines' rows; the rows of
    lines still there are not rewritten (their DuckDB rowid stays)."""
    con = connect(tmp_path / "warehouse.duckdb")
    con.execute("CREATE TABLE test_flags (month DATE, note VARCHAR)")
    ingest_file(con, AWS, sample_config)
    project = sqlmodels.load_project(write_project(tmp_path / "models", m_rows=M_ROWS))
    sqlmodels.build(con, project)
    cost = aws_cost_by_month(AWS)

    def rows(month) -> dict[str, tuple[int, Decimal]]:
        return {k: (r, c) for k, r, c in con.execute("SELECT line_id, rowid, cost FROM m_rows WHERE charge_month = ?", [month]).fetchall()}

    november = rows(NOV)
    # One more November line from another billing account (its own delivery scope): November is rebuilt, its lines
    # already held keep their rows, and the new line's row is added.
    extra = tmp_path / "focus_aws_other_account.csv"
    with duckdb.connect() as c:
        c.execute("COPY (SELECT * REPLACE ('999999999999' AS BillingAccountId, '12.34' AS BilledCost) FROM read_csv($src, all_varchar = true) "
                  "WHERE BillingPeriodStart LIKE '2026-11%' LIMIT 1) TO $dst (HEADER)", {"src": str(AWS), "dst": str(extra)})
    ingest_file(con, extra, sample_config)
    assert rebuilt(con, project)["m_rows"] == [NOV]
    after = rows(NOV)
    assert {k: v for k, v in after.items() if k in november} == november  # same rows, same rowids
    (new,) = [v for k, v in after.items() if k not in november]
    assert new[1] == Decimal("12.34") and len(after) == len(november) + 1

    # October restated with every cost doubled: its old lines are archived, the new ones have new ids.
    october = rows(OCT)
    ingest_file(con, restated_november(tmp_path, "2026-10"), sample_config)
    assert rebuilt(con, project)["m_rows"] == [OCT]
    restated = rows(OCT)
    assert not set(restated) & set(october) and len(restated) == len(october)
    assert sum(c for _, c in restated.values()) == 2 * cost[OCT]

    incremental = con.execute("SELECT line_id, charge_month, cost FROM m_rows ORDER BY ALL").fetchall()
    sqlmodels.build(con, project)
    assert con.execute("SELECT line_id, charge_month, cost FROM m_rows ORDER BY ALL").fetchall() == incremental
    con.close()


def test_a_new_migration_makes_the_next_build_a_full_one(org):
    """A migration may rewrite stored lines in place (migration 007 rewrote natural keys), which no ingest does: the
    one-row-per-line models could not see it month by month, so after a migration every incremental model is built
    in full once."""
    con, project = org
    assert rebuilt(con, project) == {"m_lines": [], "m_report": []}
    con.execute("INSERT INTO schema_migrations VALUES (999, 'a_later_migration', TIMESTAMP '2026-12-06 12:00:00')")
    assert rebuilt(con, project) == {"m_lines": None, "m_report": None}
    assert rebuilt(con, project) == {"m_lines": [], "m_report": []}
