"""``spendwatch models list | build``: the models in build order, and a build that leaves them current."""

from __future__ import annotations

from spendwatch.cli import main
from warehouse import models as sqlmodels
from warehouse.db import connect
from warehouse.model_state import stale_models


def test_list_names_every_model_in_build_order(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    order = sqlmodels.load_project().order
    found = [out.find(f"│ {name} ") for name in order]
    assert all(i >= 0 for i in found) and found == sorted(found)


def test_build_a_selection_then_it_is_current(tmp_path, capsys):
    wh = tmp_path / "w.duckdb"
    assert main(["models", "build", "--select", "stg_fx_rates", "--warehouse", str(wh)]) == 0
    out = capsys.readouterr().out
    assert "stg_fx_rates" in out and "ok" in out
    con = connect(wh)
    try:
        assert stale_models(con, select=["stg_fx_rates"]) == []  # stamped: the next review does not build it again
    finally:
        con.close()
