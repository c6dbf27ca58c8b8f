"""ensure_models_built: a model is rebuilt when it is missing, its sources' content or its SQL changed, and only then."""

from __future__ import annotations

from pathlib import Path

from spendwatch.core.config import load_config
from warehouse import model_state
from warehouse import models as sqlmodels

CONFIG = '[[teams]]\nname = "vision"\n'


def _cfg(tmp_path: Path):
    toml = tmp_path / "spendwatch.toml"
    toml.write_text(CONFIG, encoding="utf-8")
    return load_config(toml)


def _fx(con, day: str, rate: str) -> None:
    con.execute("INSERT INTO fx_rates (rate_date, currency, rate, source) VALUES (?, 'USD', ?, 'ecb')", [day, rate])


def test_only_what_is_stale_is_rebuilt(con, tmp_path):
    cfg = _cfg(tmp_path)
    project = sqlmodels.load_project()
    chosen = project.upstream(["breakeven_table"])  # the prices side: quicker than every model, same rules
    # A fresh warehouse: every model of the selection is missing, so each is built (in dependency order), and stamped.
    first = model_state.ensure_models_built(con, cfg, select=["breakeven_table"])
    assert [r.model for r in first] == chosen and all(r.status == "ok" for r in first)
    assert model_state.stale_models(con, project, ["breakeven_table"]) == []
    # Nothing changed (the config synced again with the same content): nothing to build.
    assert model_state.ensure_models_built(con, cfg, select=["breakeven_table"]) == []
    # A new ECB rate changes fx_rates: the models reading it, and everything downstream of them, are stale.
    _fx(con, "2026-11-02", "1.1")
    stale = model_state.stale_models(con, project, ["breakeven_table"])
    readers = {n for n in chosen if ("raw", "fx_rates") in project.models[n].sources}
    assert readers and readers <= set(stale)
    assert set(stale) == {n for n in chosen if set(project.upstream([n])) & readers}
    assert "stg_gpu_prices" not in stale  # it reads no FX
    rebuilt = model_state.ensure_models_built(con, cfg, select=["stg_fx_rates"])
    assert [r.model for r in rebuilt] == ["stg_fx_rates"]  # a selection rebuilds only itself and its upstream
    assert "stg_fx_rates" not in model_state.stale_models(con, project, ["breakeven_table"])
    assert model_state.ensure_models_built(con, cfg, select=["breakeven_table"])  # the rest of what read FX
    assert model_state.stale_models(con, project, ["breakeven_table"]) == []


def test_an_update_and_a_dropped_table_are_changes(con, tmp_path):
    cfg = _cfg(tmp_path)
    _fx(con, "2026-11-02", "1.1")
    model_state.ensure_models_built(con, cfg, select=["stg_fx_rates"])
    assert model_state.stale_models(con, select=["stg_fx_rates"]) == []
    con.execute("UPDATE fx_rates SET rate = 1.2 WHERE rate_date = '2026-11-02'")  # same row count, new content
    assert model_state.stale_models(con, select=["stg_fx_rates"]) == ["stg_fx_rates"]
    model_state.ensure_models_built(con, cfg, select=["stg_fx_rates"])
    con.execute('DROP TABLE "stg_fx_rates"' if con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'stg_fx_rates'").fetchone()[0] else 'DROP VIEW "stg_fx_rates"')
    assert model_state.stale_models(con, select=["stg_fx_rates"]) == ["stg_fx_rates"]


def test_a_model_built_without_a_stamp_is_stale(con, tmp_path):
    """A build that did not record what it read (e.g. an older spendwatch) is rebuilt once by the next ensure."""
    cfg = _cfg(tmp_path)
    model_state.ensure_models_built(con, cfg, select=["stg_fx_rates"])
    project = sqlmodels.load_project()
    assert sqlmodels.build_model(con, project, "stg_fx_rates").status == "ok"  # replaces the relation: no stamp
    assert model_state.stale_models(con, project, ["stg_fx_rates"]) == ["stg_fx_rates"]
