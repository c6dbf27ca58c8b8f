"""The assumptions of the decision models ([decisions], per-team commitments, self-host equivalents) as config tables.

Called by ``sync_config`` inside its transaction.  The tables are (re)created here rather than by a
migration: they hold nothing but the current file, rewritten whole at every sync.
"""

from __future__ import annotations

import duckdb

from spendwatch.core.config import Config

_TABLES = {
    "decision_settings": "max_commitment_months INTEGER, redundancy_servers INTEGER, ops_cost_per_server_month DECIMAL(18, 2), "
                         "cache_read_weight DECIMAL(9, 6), tax_in_thresholds BOOLEAN, serverless_cpu_cores_per_gpu DECIMAL(9, 3), "
                         "serverless_memory_gib_per_gpu DECIMAL(9, 3), fx_stale_business_days INTEGER",
    "team_decisions": "team VARCHAR, max_commitment_months INTEGER, production BOOLEAN",
    "selfhost_equivalents": "model_pattern VARCHAR, model_class VARCHAR, caveat VARCHAR",
    "open_weight_models": "model_pattern VARCHAR",
}


def sync_decisions(con: duckdb.DuckDBPyConnection, cfg: Config) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS config")
    for name, cols in _TABLES.items():
        con.execute(f"CREATE OR REPLACE TABLE config.{name} ({cols})")
    d = cfg.decisions
    con.execute("INSERT INTO config.decision_settings VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [d.max_commitment_months, d.redundancy_servers, d.ops_cost_per_server_month, d.cache_read_weight, d.tax_in_thresholds,
                 d.serverless_cpu_cores_per_gpu, d.serverless_memory_gib_per_gpu, d.fx_stale_business_days])
    con.executemany("INSERT INTO config.team_decisions VALUES (?, ?, ?)",
                    [[t.name, cfg.max_commitment(t.name), t.production] for t in cfg.teams])
    eq = cfg.equivalents()
    if eq:
        con.executemany("INSERT INTO config.selfhost_equivalents VALUES (?, ?, ?)", [list(e) for e in eq])
    if d.open_weight_models:
        con.executemany("INSERT INTO config.open_weight_models VALUES (?)", [[m] for m in d.open_weight_models])
