"""A throwaway PostgreSQL on 127.0.0.1 for the DuckLake tests, and a fresh lake (catalog database + data folder) per test.

The server is Debian's ``postgresql`` (``.ci/run`` installs it): initdb and pg_ctl in a temporary folder,
trust authentication on loopback only, stopped at the end of the session.  The lake also needs the ``lake`` extra's
DuckDB and extension wheels (``make test-lake`` installs them in ``.venv-lake``).  Without either the tests skip,
except when ``SPENDWATCH_REQUIRE_LAKE=1`` (``make test-lake``, CI), where a missing one is a failure.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class PgServer:
    bindir: Path
    port: int
    as_user: list[str]  # ["runuser", "-u", "postgres", "--"] when the tests run as root (initdb refuses root)

    def run(self, *args: str) -> None:
        done = subprocess.run([*self.as_user, *args], capture_output=True, text=True, cwd="/")
        if done.returncode:
            raise RuntimeError(f"{' '.join(args)}: exit {done.returncode}: {done.stderr.strip()[-2000:]}")

    def create_database(self) -> str:
        name = "lake_" + uuid.uuid4().hex[:12]
        self.run(str(self.bindir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return name

    def conninfo(self, dbname: str) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={dbname}"


def _missing(why: str) -> None:
    if os.environ.get("SPENDWATCH_REQUIRE_LAKE") == "1":
        pytest.fail(f"SPENDWATCH_REQUIRE_LAKE=1 but {why}")
    pytest.skip(f"{why}; the DuckLake tests need it (make test-lake)")


@pytest.fixture(scope="session")
def pg_server():
    from spendwatch.core.errors import SpendwatchError
    from warehouse.lake import EXTENSIONS, extension_file

    try:
        for package, name in EXTENSIONS:
            extension_file(package, name)
    except SpendwatchError as e:
        _missing(f"the DuckLake extensions are not installed for this DuckDB ({e})")
    bindir = _bindir()
    if bindir is None:
        _missing("no PostgreSQL server binaries (apt-get install postgresql)")
    # Not under pytest's tmp folder: as root, the server runs as the postgres user, who cannot enter root's folders.
    root = Path(tempfile.mkdtemp(prefix="spendwatch-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
    data = root / "data"
    server = PgServer(bindir, _free_port(), as_user)
    server.run(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
    server.run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-o",
               f"-p {server.port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", "start")
    try:
        yield server
    finally:
        server.run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


@dataclass(frozen=True)
class Lake:
    location: str  # SPENDWATCH_WAREHOUSE
    data_path: Path  # SPENDWATCH_DATA_PATH

    @property
    def env(self) -> dict[str, str]:
        return {"SPENDWATCH_WAREHOUSE": self.location, "SPENDWATCH_DATA_PATH": str(self.data_path)}


@pytest.fixture
def lake(pg_server: PgServer, tmp_path: Path, monkeypatch) -> Lake:
    """A new, empty lake; SPENDWATCH_DATA_PATH points at its data folder for this test."""
    made = Lake("ducklake:postgres:" + pg_server.conninfo(pg_server.create_database()), tmp_path / "lake_data")
    monkeypatch.setenv("SPENDWATCH_DATA_PATH", str(made.data_path))
    return made
