"""Fixtures for the aggregator tests: real databases, real servers.

PostgreSQL is a throwaway server from Debian's package, initialised in a
temporary folder and listening on 127.0.0.1 at a free port for this test
session only (as the ``postgres`` user when the tests run as root, since
PostgreSQL refuses to run as root). Nothing is mocked.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

_counter = itertools.count()


def pg_bindir() -> Path:
    """The server binaries of Debian's postgresql package (newest version)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: p.parts[-3])
    if not found:
        raise RuntimeError("PostgreSQL is not installed: run `make test` (it installs it)")
    return found[-1].parent


@dataclass(frozen=True)
class PostgresServer:
    bindir: Path
    data: Path
    port: int
    log: Path

    @property
    def admin_dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=publiek dbname=postgres"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://publiek@127.0.0.1:{self.port}/{database}"

    def pg_ctl(self, *args: str) -> None:
        subprocess.run(
            _as_postgres([str(self.bindir / "pg_ctl"), "-D", str(self.data), *args]),
            check=True,
            capture_output=True,
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    bindir = pg_bindir()
    root = tmp_path_factory.mktemp("pg")
    data, sockets = root / "data", root / "sock"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
        root.chmod(0o755)
        for parent in root.parents:
            if parent == Path("/"):
                break
            parent.chmod(parent.stat().st_mode | 0o011)
    port = _free_port()
    subprocess.run(
        _as_postgres(
            [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "publiek", "-E", "UTF8"]
        ),
        check=True,
        capture_output=True,
    )
    options = f"-k {sockets} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        _as_postgres(
            [str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"),
             "-w", "start"]
        ),
        check=True,
        capture_output=True,
    )  # fmt: skip
    server = PostgresServer(bindir=bindir, data=data, port=port, log=root / "log")
    try:
        yield server
    finally:
        subprocess.run(
            _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            check=False,
            capture_output=True,
        )


def new_postgres_database(server: PostgresServer) -> str:
    name = f"t{os.getpid()}_{next(_counter)}"
    with psycopg.connect(server.admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server.url(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'aggregator.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return new_postgres_database(server)
