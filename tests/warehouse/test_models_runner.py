"""The dbt_like_sql runner: graph from refs, cycle and missing-ref errors, failed builds keep the old table."""

from pathlib import Path

import duckdb
import pytest

from warehouse.models import ModelError, build, load_project


def _write(root: Path, rel: str, text: str) -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p


@pytest.fixture
def proj(tmp_path):
    root = tmp_path / "models"
    _write(root, "staging/stg_a.sql", "-- Raw numbers, cleaned.\nSELECT n FROM {{ source('raw', 'numbers') }} WHERE n IS NOT NULL\n")
    _write(root, "marts/m_sum.sql", "-- The total of stg_a.\nSELECT sum(n) AS total FROM {{ ref('stg_a') }}\n")
    _write(root, "marts/m_both.sql", "-- Both, joined.\n-- materialized: view\nSELECT a.n, s.total FROM {{ ref('stg_a') }} a, {{ ref('m_sum') }} s\n")
    return root


def test_graph_is_derived_from_refs(proj):
    p = load_project(proj)
    assert p.models["m_both"].refs == ("stg_a", "m_sum")
    assert p.models["stg_a"].sources == (("raw", "numbers"),)
    assert p.order.index("stg_a") < p.order.index("m_sum") < p.order.index("m_both")
    assert p.models["m_sum"].description == "The total of stg_a."
    assert p.models["m_both"].materialized == "view"
    assert p.models["m_sum"].group == "marts"


def test_cycle_is_an_error_naming_the_file(tmp_path):
    root = tmp_path / "m"
    _write(root, "a.sql", "-- A.\nSELECT * FROM {{ ref('b') }}\n")
    _write(root, "b.sql", "-- B.\nSELECT * FROM {{ ref('a') }}\n")
    with pytest.raises(ModelError, match=r"dependency cycle") as e:
        load_project(root)
    assert "a.sql" in str(e.value) and "b.sql" in str(e.value)


def test_missing_ref_is_an_error_naming_the_file(tmp_path):
    root = tmp_path / "m"
    _write(root, "marts/x.sql", "-- X.\nSELECT * FROM {{ ref('nope') }}\n")
    with pytest.raises(ModelError, match=r"x\.sql: ref\('nope'\) names a model that does not exist"):
        load_project(root)


@pytest.mark.parametrize(
    "body, message",
    [
        ("-- Two.\nSELECT 1; SELECT 2\n", "exactly one SELECT"),
        ("-- Del.\nDELETE FROM t\n", "must be a SELECT"),
        ("SELECT 1\n", "header comment"),
        ("-- Var.\nSELECT {{ threshold }}\n", "template error"),
        ("-- Src.\nSELECT * FROM {{ source('elsewhere', 't') }}\n", "unknown source"),
    ],
)
def test_invalid_models_are_clear_errors(tmp_path, body, message):
    root = tmp_path / "m"
    _write(root, "bad.sql", body)
    with pytest.raises(ModelError, match=message) as e:
        load_project(root)
    assert "bad.sql" in str(e.value)


def test_build_in_order_and_failed_model_keeps_old_table(tmp_path, proj):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("CREATE TABLE numbers AS SELECT * FROM (VALUES (1), (2), (NULL), (4)) t(n)")
    results = build(con, load_project(proj))
    assert [r.status for r in results] == ["ok", "ok", "ok"]
    assert con.execute("SELECT total FROM m_sum").fetchone()[0] == 7
    assert con.execute("SELECT count(*) FROM m_both").fetchone()[0] == 3

    # Break stg_a: its previous table must survive, and dependants are skipped (not rebuilt on bad data).
    (proj / "staging/stg_a.sql").write_text("-- Broken.\nSELECT n / 'x'::INTEGER AS n FROM {{ source('raw', 'numbers') }}\n")
    con.execute("INSERT INTO numbers VALUES (100)")
    results = {r.model: r for r in build(con, load_project(proj))}
    assert results["stg_a"].status == "failed" and "stg_a.sql" in results["stg_a"].error
    assert results["m_sum"].status == "skipped"
    assert con.execute("SELECT count(*) FROM stg_a").fetchone()[0] == 3  # the old version, without 100
    assert con.execute("SELECT total FROM m_sum").fetchone()[0] == 7


def test_select_builds_upstream_only(tmp_path, proj):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("CREATE TABLE numbers AS SELECT 5 AS n")
    results = build(con, load_project(proj), select=["m_sum"])
    assert [r.model for r in results] == ["stg_a", "m_sum"]
    with pytest.raises(ModelError, match="unknown model"):
        build(con, load_project(proj), select=["missing"])


def test_project_models_all_load():
    p = load_project()
    assert {"stg_line_items", "fct_spend_daily", "team_monthly_spend", "threshold_flags"} <= set(p.models)
