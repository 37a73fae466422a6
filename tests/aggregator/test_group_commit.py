"""Group commit: requests arriving together share one transaction, each gets its own answer."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from aggregator import translog
from aggregator.group_commit import GroupCommit
from aggregator.intake import Intake
from aggregator.storage import Submission
from protocol.errors import InsufficientPrivacyBudget, MalformedMessage
from protocol.messages import Receipt
from protocol.translog import verify_chain

MUSEUMS = [(f"Museum {i}", "museum", "zeeland", "medium") for i in range(21)]


class Transactions:
    """Counts, per committed transaction, the submissions it stored, and can hold
    the first transaction that stores one open until :meth:`release`."""

    def __init__(self, engine: Engine) -> None:
        self.stored: list[int] = []  # one entry per committed transaction that stored any
        self.holding = threading.Event()
        self._released = threading.Event()
        self._engine = engine
        self._listeners = [
            ("after_cursor_execute", self._executed),
            ("commit", self._committed),
            ("rollback", self._rolled_back),
        ]
        for name, listener in self._listeners:
            event.listen(engine, name, listener)

    def release(self) -> None:
        self._released.set()

    def remove(self) -> None:
        self._released.set()
        for name, listener in self._listeners:
            event.remove(self._engine, name, listener)

    def _executed(self, conn: Connection, cursor: Any, statement: str, *_: Any) -> None:
        if not statement.lstrip().upper().startswith("INSERT INTO SUBMISSIONS"):
            return
        conn.info["submissions"] = conn.info.get("submissions", 0) + cursor.rowcount
        if not self.holding.is_set():
            self.holding.set()
            self._released.wait(timeout=60)

    def _committed(self, conn: Connection) -> None:
        if stored := conn.info.pop("submissions", 0):
            self.stored.append(stored)

    def _rolled_back(self, conn: Connection) -> None:
        conn.info.pop("submissions", None)


@pytest.fixture
def transactions(aggregator: Any) -> Iterator[Transactions]:
    counted = Transactions(aggregator.db.engine)
    yield counted
    counted.remove()


def test_submissions_that_arrive_during_a_commit_are_stored_in_one_transaction(
    aggregator: Any, kit: Any, transactions: Transactions
) -> None:
    """ADR 0010's claim, made so that a writer with a transaction per submission
    fails it: while the writer is inside the first commit, seven more requests
    queue up; the next transaction stores all seven."""
    agents = kit.enroll(aggregator.db, MUSEUMS[:8])
    envelopes = [a.seal(a.payload(), aggregator.recipient) for a in agents]
    committer = GroupCommit(Intake(aggregator.db, aggregator.keyring))

    async def scenario() -> list[Receipt]:
        first = asyncio.create_task(committer.submit(envelopes[0]))
        assert await asyncio.to_thread(transactions.holding.wait, 30)
        rest = [asyncio.create_task(committer.submit(e)) for e in envelopes[1:]]
        await asyncio.sleep(0)  # each of them has queued its envelope
        transactions.release()
        return await asyncio.gather(first, *rest)

    receipts = asyncio.run(scenario())
    assert [r.log_index for r in receipts] == list(range(8))
    assert transactions.stored == [1, 7]


@pytest.mark.slow
def test_concurrent_requests_are_stored_once_each_and_answered_individually(
    sqlite_aggregator: Any, kit: Any
) -> None:
    agg = sqlite_aggregator
    agents = kit.enroll(agg.db, MUSEUMS[:20])
    envelopes = [a.seal(a.payload(rho=0.4), agg.recipient) for a in agents]
    spender = agents[0]
    over_budget = spender.seal(spender.payload(rho=0.4), agg.recipient)
    committer = GroupCommit(Intake(agg.db, agg.keyring), max_batch=8)

    async def send_all() -> list[Receipt | BaseException]:
        sends = [committer.submit(e) for e in [*envelopes, b"{}", over_budget, *envelopes]]
        return await asyncio.gather(*sends, return_exceptions=True)

    answers = asyncio.run(send_all())
    receipts, bad, refused, again = answers[:20], answers[20], answers[21], answers[22:]
    assert all(isinstance(r, Receipt) for r in receipts)
    assert again == receipts  # a resent envelope gets its first receipt back
    assert isinstance(bad, MalformedMessage)
    assert isinstance(refused, InsufficientPrivacyBudget)
    with agg.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Submission)) == 20
        entries = translog.entries(s)
    assert sorted(r.log_index for r in receipts if isinstance(r, Receipt)) == list(range(20))
    verify_chain(entries)


def test_a_failed_batch_fails_every_request_in_it_and_the_writer_goes_on(
    sqlite_aggregator: Any, kit: Any
) -> None:
    agg = sqlite_aggregator
    agents = kit.enroll(agg.db, MUSEUMS[:3])
    envelopes = [a.seal(a.payload(), agg.recipient) for a in agents]
    committer = GroupCommit(Intake(agg.db, agg.keyring))
    with agg.db.engine.begin() as conn:  # the keys cannot be read: the whole batch fails
        conn.exec_driver_sql("ALTER TABLE aggregator_keys RENAME TO gone")

    async def send(batch: list[bytes]) -> list[Receipt | BaseException]:
        return await asyncio.gather(*map(committer.submit, batch), return_exceptions=True)

    failed = asyncio.run(send(envelopes[:2]))
    assert all(isinstance(a, OperationalError) for a in failed)
    with agg.db.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE gone RENAME TO aggregator_keys")
    assert all(isinstance(a, Receipt) for a in asyncio.run(send(envelopes)))


@pytest.mark.slow  # 0.4 s or more: outside the inner loop (ADR 0032)
def test_requests_given_up_by_their_clients_do_not_stop_the_writer(
    sqlite_aggregator: Any, kit: Any
) -> None:
    agg = sqlite_aggregator
    agents = kit.enroll(agg.db, MUSEUMS[:21])
    envelopes = [a.seal(a.payload(), agg.recipient) for a in agents]
    committer = GroupCommit(Intake(agg.db, agg.keyring), max_batch=4)

    async def scenario() -> Receipt:
        waiting = [asyncio.create_task(committer.submit(e)) for e in envelopes[:20]]
        await asyncio.sleep(0)  # queued; a client that disconnects cancels its request
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)
        return await asyncio.wait_for(committer.submit(envelopes[20]), timeout=30)

    assert isinstance(asyncio.run(scenario()), Receipt)
