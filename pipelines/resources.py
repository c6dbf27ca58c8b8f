"""Dagster resources: the warehouse connection and the run's settings, read from the environment."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from spendwatch.core.config import Config, load_config
from warehouse.db import DEFAULT_WAREHOUSE, connect, is_file, migrate, resolve_warehouse
from warehouse.lake import is_lake


class WarehouseResource(DuckDBResource):
    """The DuckDB warehouse (a file, or a MotherDuck ``md:`` DSN), migrated on every connection."""

    @contextmanager
    def open(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if is_lake(self.database):  # a DuckLake: its own connection (extensions loaded from the wheels)
            con = connect(self.database)
            try:
                yield con
            finally:
                con.close()
            return
        if is_file(self.database):
            Path(self.database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        with self.get_connection() as con:
            migrate(con)
            yield con

    @property
    def concurrent_writers(self) -> bool:
        """Whether several steps may write at once (a DuckLake), or one at a time (a DuckDB file, MotherDuck)."""
        return is_lake(self.database)

    def data_dir(self) -> Path:
        """Where raw price payloads are archived: beside the warehouse file (data/ for md: DSNs and lakes)."""
        if not is_file(self.database):
            return DEFAULT_WAREHOUSE.parent
        return Path(self.database).expanduser().resolve().parent


class SpendwatchSettings(dg.ConfigurableResource):
    """Where spendwatch.toml is, and how prices are refreshed (operator knobs, never secrets)."""

    config_path: str | None = None
    price_mode: str = "auto"  # auto | live | snapshot | offline
    snapshot_dir: str | None = None

    def load(self) -> Config:
        return load_config(self.config_path)


class ProviderKeys(dg.ConfigurableResource):
    """Admin API keys for live usage pulls.  Only ever from the environment; never logged."""

    openai_admin_key: str | None = None
    anthropic_admin_key: str | None = None
    runpod_api_key: str | None = None


def _env_or_none(name: str):
    return dg.EnvVar(name) if os.environ.get(name) else None


def build_resources() -> dict:
    """The resources for this environment, chosen in one place from environment variables."""
    database = dg.EnvVar("SPENDWATCH_WAREHOUSE") if os.environ.get("SPENDWATCH_WAREHOUSE") else resolve_warehouse()
    config_path = dg.EnvVar("SPENDWATCH_CONFIG") if os.environ.get("SPENDWATCH_CONFIG") else None
    return {
        "warehouse": WarehouseResource(database=database),
        "settings": SpendwatchSettings(
            config_path=config_path,
            price_mode=os.environ.get("SPENDWATCH_PRICE_MODE", "auto"),
            snapshot_dir=os.environ.get("SPENDWATCH_SNAPSHOT_DIR") or None,
        ),
        "provider_keys": ProviderKeys(
            openai_admin_key=_env_or_none("OPENAI_ADMIN_KEY"),
            anthropic_admin_key=_env_or_none("ANTHROPIC_ADMIN_API_KEY"),
            runpod_api_key=_env_or_none("RUNPOD_API_KEY"),
        ),
    }
