"""Fixtures for the aggregator tests: real databases, real servers.

PostgreSQL is a throwaway server from Debian's package, initialised in a
temporary folder and listening on 127.0.0.1 at a free port for this test
session only (as the ``postgres`` user when the tests run as root, since
PostgreSQL refuses to run as root). Nothing is mocked.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
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
    # No fsync and small WAL: a throwaway server (its WAL otherwise grows to some 150 MB).
    options = (
        f"-k {sockets} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c full_page_writes=off -c min_wal_size=32MB -c max_wal_size=64MB"
    )
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


def fresh_database_url(request: pytest.FixtureRequest, folder: Path) -> str:
    """A fresh, empty database of the kind ``request.param`` names: a SQLite
    file in ``folder``, or a new database on the session's PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{folder / 'aggregator.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return new_postgres_database(server)


# The PostgreSQL runs are slow (a server, a database each); SQLite stays in the inner loop.
@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of each kind."""
    return fresh_database_url(request, tmp_path)


# --- a sector of enrolled institutions with real DP submissions -------------

PERIOD = "2026-Q3"
PROVINCES = ("utrecht", "zeeland", "groningen", "limburg")
MONTHS = ("07", "08", "09")
SEGMENT_MODEL = "synthetic-demo-2026"


@dataclass
class Agent:
    """An enrolled institution as the aggregator sees it, plus its secret key."""

    institution_id: str
    discipline: str
    province: str
    size_class: str
    signer: Any

    def payload(self, period: str = PERIOD, *, rho: float = 0.1) -> Any:
        """A submission of the release design's tables with real OpenDP noise,
        ``rho`` split by the design's weights. Households by province and visits
        by discipline × month carry values of the issue-5 shape; every other
        table one cell, the first key of its key set (intake checks that every
        label is in its dimension's key set, not that every key is sent)."""
        from dp.measurements import GAUSSIAN, TableRequest, release_tables
        from dp.release_design import (
            DEFAULT_MAX_VISITS,
            MAX_VISITS,
            TABLE_DESIGN,
            labels,
            months_of,
            rho_share,
            sensitivity,
        )
        from protocol.messages import SubmissionPayload

        base = 100 + (sum(map(ord, self.institution_id)) % 50)
        bounds = {MAX_VISITS: DEFAULT_MAX_VISITS}  # what the period config fixes
        shaped = {
            "households_by_province": (
                tuple((p,) for p in PROVINCES),
                tuple(base * (i + 1) for i in range(len(PROVINCES))),
            ),
            "visits_by_discipline_month": (
                tuple((self.discipline, m) for m in months_of(period)),
                tuple(base + 10 * i for i in range(len(MONTHS))),
            ),
        }
        requests = []
        for design in TABLE_DESIGN:
            first = tuple(
                labels(d, segment_model=SEGMENT_MODEL, period=period)[0] for d in design.dimensions
            )
            keys, values = shaped.get(design.name, ((first,), (base,)))
            requests.append(
                TableRequest(
                    name=design.name,
                    measure=design.measure,
                    dimensions=design.dimensions,
                    keys=keys,
                    values=values,
                    sensitivity=sensitivity(design.name, bounds, GAUSSIAN),
                    rho=rho_share(design.name, rho),
                )
            )
        tables, spend = release_tables(requests)
        return SubmissionPayload(
            institution_id=self.institution_id,
            period=period,
            submission_id=secrets.token_hex(16),
            created_at=datetime.now(UTC).replace(microsecond=0).isoformat(),
            segment_model=SEGMENT_MODEL,
            catchment_origin=None,
            bounds=bounds,
            tables=tables,
            privacy=spend,
        )

    def seal(self, payload: Any, recipient: Any) -> bytes:
        from protocol.envelope import seal_submission

        envelope, _ = seal_submission(payload, signer=self.signer, recipient=recipient)
        return bytes(envelope)


def enroll_agents(db: Any, specs: list[tuple[str, str, str, str]]) -> list[Agent]:
    """Register and enroll institutions directly in the database (no HTTP)."""
    from aggregator.enrollment import create_token, redeem_token
    from protocol.keys import SealPrivateKey, SigningKey

    agents = []
    for name, discipline, province, size in specs:
        iid, token = create_token(
            db, name=name, discipline=discipline, province=province,
            valid_for=timedelta(hours=1), size_class=size,
        )  # fmt: skip
        signer = SigningKey.generate()
        redeem_token(db, token, signer.public, SealPrivateKey.generate().public)
        agents.append(Agent(iid, discipline, province, size, signer))
    return agents


def seal_with_new_custodian(db: Any, institution_id: str, period: str, key: bytes) -> Any:
    """Register a new custodian and seal ``key`` for ``period`` to the
    institution's enrolled sealing key: a sealed sector key such as a
    custodian uploads, for a test to store or send."""
    from aggregator.custodian import register_custodian
    from aggregator.storage import Institution
    from protocol.keys import SealPublicKey, SecretBytes, SigningKey
    from protocol.sector_keys import seal_sector_key

    custodian = SigningKey.generate()
    register_custodian(db, custodian.public)
    with db.session() as s:
        row = s.get(Institution, institution_id)
        assert row is not None and row.sealing_key is not None
        sealing = SealPublicKey.from_text(row.sealing_key)
    return seal_sector_key(
        SecretBytes(key), period=period, institution_id=institution_id,
        recipient=sealing, custodian=custodian,
    )  # fmt: skip


@dataclass
class Aggregator:
    """Aggregator state (database, keys) prepared in-process."""

    settings: Any
    db: Any
    keyring: Any

    @property
    def recipient(self) -> Any:
        from protocol.keys import SealPublicKey

        active = [k for k in self.keyring.published() if k["state"] == "active"]
        return SealPublicKey.from_text(active[0]["public_key"])


def make_aggregator(
    state: Path,
    db_url: str | None = None,
    *,
    k: int = 5,
    period: str | None = PERIOD,
    rho_budget: float = 0.5,
) -> Aggregator:
    """A schema, the aggregator's keys and (unless ``period`` is None) one open
    period; ``db_url`` None is the state folder's own SQLite database."""
    from aggregator.keyring import Keyring
    from aggregator.periods import open_period
    from aggregator.settings import Settings
    from aggregator.storage import Database

    state.mkdir(parents=True, exist_ok=True)
    if db_url is None:
        settings = Settings(state_dir=state, k=k)
    else:
        settings = Settings(state_dir=state, database_url=db_url, k=k)
    db = Database(settings.db_url)
    db.create_schema()
    keyring = Keyring(settings, db)
    keyring.ensure()
    if period is not None:
        open_period(db, period, rho_budget=rho_budget)
    return Aggregator(settings, db, keyring)


def copy_aggregator(built: Aggregator, state: Path, db_url: str) -> Aggregator:
    """A copy of the SQLite aggregator ``built`` under ``state``, its database at
    the SQLite ``db_url``: the state folder (the
    aggregator's keys) copied with its modes, the database by SQLite's backup.
    For tests that each change a state which is costly to build (enrolled
    institutions, real DP submissions through the intake)."""
    from aggregator.keyring import Keyring
    from aggregator.storage import Database, sqlite_file

    built_file = sqlite_file(built.settings.db_url)
    assert built_file is not None, "only a SQLite aggregator is copied"
    shutil.copytree(built.settings.state_dir, state)
    db = Database(db_url)
    raw = db.engine.raw_connection()
    try:
        with closing(sqlite3.connect(built_file)) as source:
            source.backup(raw.driver_connection)
    finally:
        raw.close()
    settings = replace(built.settings, state_dir=state, database_url=db_url)
    return Aggregator(settings, db, Keyring(settings, db))


@pytest.fixture
def aggregator(tmp_path: Path, db_url: str) -> Iterator[Aggregator]:
    agg = make_aggregator(tmp_path / "state", db_url)
    yield agg
    agg.db.engine.dispose()


@pytest.fixture
def sqlite_aggregator(tmp_path: Path) -> Iterator[Aggregator]:
    agg = make_aggregator(tmp_path / "state", f"sqlite:///{tmp_path / 'aggregator.db'}")
    yield agg
    agg.db.engine.dispose()


# --- a real server process -----------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_server(
    state: Path, db_url: str, *, k: int = 5, workers: int = 1, host: str = "127.0.0.1"
) -> Server:
    address = state / f"server-{next(_counter)}.json"
    cmd = [
        sys.executable, "-m", "cli", "aggregator", "serve", "--state", str(state),
        "--database", db_url, "--host", host, "--port", "0",
        "--address-file", str(address), "--k", str(k), "--workers", str(workers),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = (state / "server.log").open("ab")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    log.close()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {(state / 'server.log').read_text()[-2000:]}")
        if address.exists():
            url = str(json.loads(address.read_text())["url"])
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    return Server(proc, url)
            except httpx.TransportError:
                pass
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("server did not become ready")


@pytest.fixture
def server_factory() -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def start(state: Path, db_url: str, **kwargs: Any) -> Server:
        server = start_server(state, db_url, **kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def kit() -> SimpleNamespace:
    """The helpers above, for test modules (which cannot import conftest)."""
    return SimpleNamespace(
        PERIOD=PERIOD,
        enroll=enroll_agents,
        seal_with_new_custodian=seal_with_new_custodian,
        make_aggregator=make_aggregator,
        copy_aggregator=copy_aggregator,
        start_server=start_server,
        new_postgres_database=new_postgres_database,
    )
