"""CLI progress (spendwatch.progress): silent off a terminal, counting models and files on one."""

from __future__ import annotations

import io
import shutil

from spendwatch import operations
from spendwatch.core.config import load_config
from spendwatch.core.paths import EXAMPLE_CONFIG
from warehouse.db import connect


def test_progress_is_silent_off_a_terminal_and_counts_on_one(sample_warehouse, tmp_path):
    from spendwatch.progress import track
    from warehouse.models import load_project

    quiet = io.StringIO()  # not a terminal
    with track("models", total=3, stream=quiet) as t:
        assert not t.active
        t.advance("a")
    assert quiet.getvalue() == "" and t.done == 1

    path = tmp_path / "progress.duckdb"
    shutil.copy(sample_warehouse, path)
    shown = io.StringIO()
    project = load_project()
    con = connect(path)
    try:
        with track("building models", total=len(project.order), enabled=True, stream=shown) as t:
            assert t.active
            results = operations.build_models(con, on_model=t.on_model)
        with track("ingesting", total=1, enabled=True, stream=shown) as f:
            cfg = load_config(EXAMPLE_CONFIG)
            operations.ingest(con, cfg, [cfg.export_paths()[0] / "modal_billing_2026-09_2026-11.csv"], progress=f.on_file)
    finally:
        con.close()
    assert t.done == len(results) == len(project.order) and t.failed == 0
    assert f.done == 1 and f.failed == 0  # already ingested: a result all the same
