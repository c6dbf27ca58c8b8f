"""Shared fixtures: a migrated DuckDB warehouse on disk under tmp_path (a copy of one migrated once per run),
the sample config, and the sample organisation's warehouse, built once per test run (``make test`` runs pytest-xdist with two workers)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock

from spendwatch.core.config import load_config
from spendwatch.core.paths import EXAMPLE_CONFIG

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def warehouse_path(tmp_path: Path) -> Path:
    return tmp_path / "warehouse.duckdb"


@pytest.fixture
def con(warehouse_path: Path, new_warehouse):
    from warehouse.db import connect

    c = connect(new_warehouse(warehouse_path))
    yield c
    c.close()


@pytest.fixture
def sample_config():
    return load_config(EXAMPLE_CONFIG)


def built_once(tmp_path_factory, name: str, build: Callable[[Path], None]) -> Path:
    """``build(folder)`` run once per test run, its folder shared by every pytest-xdist worker.

    Without xdist (no ``PYTEST_XDIST_WORKER`` in the environment) the folder is an ordinary session temp
    folder.  Under xdist every worker's base temp folder sits in one folder of this run
    (``getbasetemp().parent``): the first worker to take the lock builds there, the others wait and reuse
    it (the pattern the pytest-xdist documentation gives).  What is built this way is read-only for the
    tests: a test that writes copies the file first.
    """
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        folder = tmp_path_factory.mktemp(name)
        build(folder)
        return folder
    shared = tmp_path_factory.getbasetemp().parent
    folder, done = shared / name, shared / f"{name}.built"
    with FileLock(str(shared / f"{name}.lock")):
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)  # a build that failed half-way is not reused
            folder.mkdir()
            build(folder)
            done.touch()
    return folder


@pytest.fixture(scope="session")
def migrated_warehouse(tmp_path_factory) -> Path:
    """A new warehouse, every migration applied, made once per test run (read-only: tests copy it)."""
    from warehouse.db import connect

    return built_once(tmp_path_factory, "migrated", lambda folder: connect(folder / "warehouse.duckdb").close()) / "warehouse.duckdb"


@pytest.fixture
def new_warehouse(migrated_warehouse: Path) -> Callable[[Path], Path]:
    """``new_warehouse(path)`` puts a new, migrated warehouse file at ``path`` and returns it.

    A copy of ``migrated_warehouse`` (made by ``connect`` on no file), so that the migrations are not applied again
    in every test that needs an empty warehouse (~0.1 CPU-s each, in a few hundred tests).
    """

    def make(path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        assert not path.exists(), f"{path}: a new warehouse would overwrite it"
        shutil.copyfile(migrated_warehouse, path)
        return path

    return make


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory) -> Path:
    """The sample organisation's warehouse, built once per test run (once for all xdist workers), offline:
    config, the recorded prices (with the configured backfill) as of 2026-12-01 06:00, the bundled ECB rates,
    every sample export, every model.

    Shared by the tests that need it: open it read-only, or copy the file before changing anything.
    """
    from bench.sample_cut import build_sample  # the same build the benches use (every export: no cut)

    return built_once(tmp_path_factory, "sample", build_sample) / "warehouse.duckdb"


@pytest.fixture(autouse=True)
def _isolate_env(monkeypatch, tmp_path):
    """No test reads the developer's own warehouse, config or secrets."""
    for var in ("SPENDWATCH_WAREHOUSE", "SPENDWATCH_DATA_PATH", "SPENDWATCH_CONFIG", "SPENDWATCH_PRICE_MODE", "SPENDWATCH_SNAPSHOT_DIR",
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
