"""Shared fixtures: a migrated DuckDB warehouse on disk under tmp_path, and the sample config."""

from __future__ import annotations

from pathlib import Path

import pytest

from spendwatch.core.config import load_config
from spendwatch.core.paths import EXAMPLE_CONFIG

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def warehouse_path(tmp_path: Path) -> Path:
    return tmp_path / "warehouse.duckdb"


@pytest.fixture
def con(warehouse_path: Path):
    from warehouse.db import connect

    c = connect(warehouse_path)
    yield c
    c.close()


@pytest.fixture
def sample_config():
    return load_config(EXAMPLE_CONFIG)


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory) -> Path:
    """The sample organisation's warehouse, built once, offline: config, the recorded prices (with the configured
    backfill) as of 2026-12-01 06:00, the bundled ECB rates, every sample export, every model.

    Shared by the tests that need it: open it read-only, or copy the file before changing anything.
    """
    from datetime import datetime

    from spendwatch import operations
    from warehouse.db import connect

    path = tmp_path_factory.mktemp("sample") / "warehouse.duckdb"
    cfg = load_config(EXAMPLE_CONFIG)
    con = connect(path)
    try:
        operations.sync(con, cfg)
        operations.refresh_prices(con, mode="offline", as_of=datetime(2026, 12, 1, 6, 0), backfills=cfg.price_backfills())
        operations.refresh_fx(con, mode="offline")
        assert [r.error for r in operations.ingest(con, cfg, cfg.export_paths()) if r.error] == []
        assert all(r.status == "ok" for r in operations.build_models(con))
    finally:
        con.close()
    return path


@pytest.fixture(autouse=True)
def _isolate_env(monkeypatch, tmp_path):
    """No test reads the developer's own warehouse, config or secrets."""
    for var in ("SPENDWATCH_WAREHOUSE", "SPENDWATCH_CONFIG", "SPENDWATCH_PRICE_MODE", "SPENDWATCH_SNAPSHOT_DIR",
                "OPENAI_ADMIN_KEY", "ANTHROPIC_ADMIN_API_KEY", "RUNPOD_API_KEY", "LAMBDA_API_KEY", "TOGETHER_API_KEY",
                "SLACK_WEBHOOK_URL", "SLACK_BOT_TOKEN", "DAGSTER_HOME",
                "SPENDWATCH_METADATA_CHARTS"):  # spendwatch run sets it for its process
        # setenv first so monkeypatch records the variable and restores (removes) it after the test,
        # even when the code under test sets it (the CLI turns --warehouse/--config into the environment).
        monkeypatch.setenv(var, "")
        monkeypatch.delenv(var)


_LOOPBACK_PREFIXES = ("127.", "::1", "localhost", "0:0:0:0:0:0:0:1")


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch, request):
    """Tests never touch the internet: resolving or connecting to anything but loopback fails at once, loudly.

    A test that reaches for a real host (a live price page left in ``auto`` mode, say) gets an OSError naming
    the host, exactly what a machine without network gives, without the DNS wait; the host is also recorded so
    ``test_no_test_reached_for_the_internet`` style checks can see it.
    """
    import socket

    real_getaddrinfo = socket.getaddrinfo

    def guarded(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name and not name.startswith(_LOOPBACK_PREFIXES):
            request.node.user_properties.append(("internet", name))
            raise socket.gaierror(socket.EAI_NONAME, f"tests never touch the internet: {name}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
