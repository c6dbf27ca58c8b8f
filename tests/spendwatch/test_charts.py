"""The same figures in Dagster materialization metadata: key results and the PNG charts of spendwatch.charts."""

from __future__ import annotations

from warehouse.db import connect


def test_model_metadata_key_results_and_charts(sample_warehouse):
    import base64

    from pipelines.model_metadata import HOOKS, extra_metadata
    from warehouse.models import load_project

    con = connect(sample_warehouse, read_only=True)
    try:
        project = load_project()
        assert set(HOOKS) <= set(project.models)
        meta = {name: extra_metadata(name, con) for name in project.order}
    finally:
        con.close()
    assert [n for n, m in meta.items() if "key_result_error" in m] == []
    flags = meta["threshold_flags"]
    # README: in November search (crossed 20 Nov) and assistant (23 Nov) are over the threshold
    assert flags["latest_month"].value == "2026-11" and flags["teams_over"].value == 2
    assert "2026-11-20" in flags["key_result"].value and "2026-11-23" in flags["key_result"].value
    # README: six planted discrepancies (one FOCUS line, five RunPod records), all above tolerance
    assert meta["invoice_audit"]["findings_above_tolerance"].value == 6
    assert "EUINGB26-1038822" in meta["invoice_audit"]["key_result"].value
    for name in ("team_monthly_spend", "breakeven"):
        md = meta[name]["chart"].value
        assert md.startswith("![") and "](data:image/png;base64," in md
        png = base64.b64decode(md.split("base64,", 1)[1].rstrip(")"))
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert meta["breakeven"]["dedicated_cheaper"].value == 1  # vision's RTX 4090 only (README)
