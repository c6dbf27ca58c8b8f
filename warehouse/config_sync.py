"""Mirror spendwatch.toml into the ``config`` schema, so SQL models read config as data."""

from __future__ import annotations

import duckdb

from spendwatch.core.config import Config
from warehouse import lake
from warehouse.anomalies import sync_anomaly_settings
from warehouse.decision_config import sync_decisions


def sync_config(con: duckdb.DuckDBPyConnection, cfg: Config) -> dict[str, int]:
    """Replace the config tables with the current file's content, in one transaction."""
    def work() -> list:
        for t in ("settings", "teams", "dedicated_servers", "throughput", "attribution_rules"):
            con.execute(f"DELETE FROM config.{t}")
        con.execute(
            "INSERT INTO config.settings VALUES (?, ?, ?, ?, ?)",
            [cfg.reporting_currency, cfg.defaults.monthly_threshold, cfg.audit.tolerance_pct, cfg.audit.tolerance_abs, str(cfg.path) if cfg.path else None],
        )
        sync_anomaly_settings(con, cfg)
        con.executemany(
            "INSERT INTO config.teams VALUES (?, ?, ?, ?, ?, ?)",
            [[t.name, t.lead, cfg.threshold(t.name), cfg.reporting_currency, cfg.webhook_env(t.name), t.slack_channel] for t in cfg.teams],
        )
        if cfg.dedicated_servers:
            con.executemany(
                "INSERT INTO config.dedicated_servers VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [[s.id, s.provider, s.team, s.gpu, s.gpu_count, s.monthly_price, s.currency, s.since] for s in cfg.dedicated_servers],
            )
        rows = [[t.model_class, t.gpu, t.tokens_per_second, t.utilisation, m] for t in cfg.throughput for m in (t.models or ["*"])]
        if rows:
            con.executemany("INSERT INTO config.throughput VALUES (?, ?, ?, ?, ?)", rows)
        # In file order: the ordinal decides which matching rule wins.  One INSERT of parallel
        # lists (an organisation may have thousands of rules; executemany goes row by row).
        rules = cfg.attribution
        con.execute(
            "INSERT INTO config.attribution_rules (ordinal, match_kind, match_value, tag_key, provider, team) "
            "SELECT unnest(range(len($m))), unnest($m), unnest($v), unnest($k), unnest($p), unnest($t)",
            {"m": [r.match for r in rules], "v": [r.value for r in rules], "k": [r.tag_key for r in rules],
             "p": [r.provider for r in rules], "t": [r.team for r in rules]},
        )
        sync_decisions(con, cfg)
        return rows

    # On a lake two runs may sync at once: the later commit conflicts and syncs again.
    rows = lake.transaction(con, work)
    return {"teams": len(cfg.teams), "dedicated_servers": len(cfg.dedicated_servers), "throughput": len(rows),
            "attribution_rules": len(cfg.attribution)}
