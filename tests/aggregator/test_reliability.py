"""Reliability against real servers: concurrency, a killed process, a lost database, a full disk."""

from __future__ import annotations

import resource
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import select

from aggregator import translog
from aggregator.storage import Database, LogEntry, Submission
from protocol.translog import verify_chain

pytestmark = pytest.mark.slow  # real servers killed, disks filled, fifty agents

AGENTS = 50
JSON = {"content-type": "application/json"}


def world(kit: Any, state: Path, db_url: str, n: int) -> tuple[Any, list[bytes]]:
    agg = kit.make_aggregator(state, db_url)
    agents = kit.enroll(agg.db, [(f"Venue {i}", "music", "utrecht", "medium") for i in range(n)])
    envelopes = [a.seal(a.payload(), agg.recipient) for a in agents]
    agg.db.engine.dispose()
    return agg, envelopes


def post_all(url: str, envelopes: list[bytes], workers: int = AGENTS) -> list[httpx.Response]:
    def post(envelope: bytes) -> httpx.Response:
        with httpx.Client(timeout=60) as client:
            return client.post(f"{url}/v1/submissions", content=envelope, headers=JSON)

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(post, envelopes))


def stored(db_url: str) -> tuple[set[str], set[str]]:
    db = Database(db_url)
    with db.session() as s:
        subs = set(s.scalars(select(Submission.submission_id)))
        logged = set(s.scalars(select(LogEntry.submission_id)))
        entries = translog.entries(s)
    db.engine.dispose()
    verify_chain(entries)  # raises on a broken index, link or hash
    assert [e["log_index"] for e in entries] == list(range(len(entries)))
    return subs, logged


def test_fifty_agents_at_once_store_every_submission_exactly_once(
    tmp_path: Path, db_url: str, kit: Any, server_factory: Any
) -> None:
    _, envelopes = world(kit, tmp_path / "state", db_url, AGENTS)
    server = server_factory(tmp_path / "state", db_url)
    # Every agent sends its envelope twice at the same moment (a retry racing the original).
    responses = post_all(server.url, envelopes * 2, workers=2 * AGENTS)
    assert [r.status_code for r in responses] == [200] * (2 * AGENTS)
    receipts = [r.json() for r in responses]
    assert receipts[:AGENTS] == receipts[AGENTS:]
    subs, logged = stored(db_url)
    assert len(subs) == AGENTS
    assert subs == logged


def test_killing_the_server_during_intake_leaves_no_partial_submission(
    tmp_path: Path, kit: Any, server_factory: Any
) -> None:
    db_url = f"sqlite:///{tmp_path / 'aggregator.db'}"
    _, envelopes = world(kit, tmp_path / "state", db_url, AGENTS)
    server = server_factory(tmp_path / "state", db_url)

    def post(envelope: bytes) -> int:
        try:
            with httpx.Client(timeout=30) as client:
                return client.post(
                    f"{server.url}/v1/submissions", content=envelope, headers=JSON
                ).status_code
        except httpx.TransportError:
            return 0

    with ThreadPoolExecutor(AGENTS) as pool:
        futures = [pool.submit(post, e) for e in envelopes]
        # Kill -9 as soon as the first writes have committed, while others are in flight.
        while sum(1 for f in futures if f.done()) < 3:
            time.sleep(0.002)
        server.proc.kill()
        server.proc.wait()
        codes = [f.result() for f in futures]
    assert 0 in codes, "the kill came after intake had finished"
    with sqlite3.connect(tmp_path / "aggregator.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    subs, logged = stored(db_url)
    assert subs == logged
    assert 0 < len(subs) < AGENTS
    # The next start is clean: resending everything stores each submission once.
    again = server_factory(tmp_path / "state", db_url)
    assert {r.status_code for r in post_all(again.url, envelopes)} == {200}
    subs, logged = stored(db_url)
    assert len(subs) == AGENTS
    assert subs == logged


def test_a_lost_database_connection_answers_503_and_stores_nothing(
    tmp_path: Path, postgres: Any, kit: Any, server_factory: Any
) -> None:
    db_url = kit.new_postgres_database(postgres)
    name = db_url.rsplit("/", 1)[1]
    _, envelopes = world(kit, tmp_path / "state", db_url, 2)
    server = server_factory(tmp_path / "state", db_url)
    with psycopg.connect(postgres.admin_dsn, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        r = httpx.post(
            f"{server.url}/v1/submissions", content=envelopes[0], headers=JSON, timeout=30
        )
        assert r.status_code == 503
        assert _problem_type(r) == "urn:publiek:problem:service-unavailable"
        assert httpx.get(f"{server.url}/readyz", timeout=30).status_code == 503
        admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
    assert stored(db_url) == (set(), set())
    ok = httpx.post(f"{server.url}/v1/submissions", content=envelopes[0], headers=JSON, timeout=30)
    assert ok.status_code == 200
    assert len(stored(db_url)[0]) == 1


def _problem_type(response: httpx.Response) -> str:
    assert response.headers["content-type"].startswith("application/problem+json")
    return str(response.json()["type"])


def test_a_full_disk_answers_503_and_stores_nothing(
    tmp_path: Path, kit: Any, server_factory: Any
) -> None:
    db_url = f"sqlite:///{tmp_path / 'aggregator.db'}"
    _, envelopes = world(kit, tmp_path / "state", db_url, 2)
    server = server_factory(tmp_path / "state", db_url)
    # The kernel refuses every write beyond 1 KiB for the server process: to
    # SQLite this is the disk-full condition (EFBIG), mid-transaction.
    _, hard = resource.prlimit(server.proc.pid, resource.RLIMIT_FSIZE)
    resource.prlimit(server.proc.pid, resource.RLIMIT_FSIZE, (1024, hard))
    r = httpx.post(f"{server.url}/v1/submissions", content=envelopes[0], headers=JSON, timeout=30)
    assert r.status_code == 503
    assert _problem_type(r) == "urn:publiek:problem:service-unavailable"
    assert stored(db_url) == (set(), set())
    resource.prlimit(server.proc.pid, resource.RLIMIT_FSIZE, (hard, hard))
    ok = httpx.post(f"{server.url}/v1/submissions", content=envelopes[0], headers=JSON, timeout=30)
    assert ok.status_code == 200
    assert len(stored(db_url)[0]) == 1
