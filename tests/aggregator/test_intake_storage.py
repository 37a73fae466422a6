"""Intake and storage on SQLite and PostgreSQL: every rule, nothing half-written."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, select

from aggregator import translog
from aggregator.intake import Intake
from aggregator.periods import close_period
from aggregator.storage import LogEntry, Submission
from protocol.errors import (
    InsufficientPrivacyBudget,
    PeriodNotOpen,
    SubmissionConflict,
)
from protocol.messages import Receipt
from protocol.translog import verify_chain

SPEC = [("Theater Een", "theater", "utrecht", "small")]


def counts(agg: Any) -> tuple[int, int]:
    with agg.db.session() as s:
        subs = s.scalar(select(func.count()).select_from(Submission))
        logs = s.scalar(select(func.count()).select_from(LogEntry))
    return int(subs or 0), int(logs or 0)


def test_an_accepted_submission_is_stored_with_its_log_entry(aggregator: Any, kit: Any) -> None:
    (agent,) = kit.enroll(aggregator.db, SPEC)
    receipt = Intake(aggregator.db, aggregator.keyring).accept(
        agent.seal(agent.payload(), aggregator.recipient)
    )
    assert receipt.log_index == 0
    assert counts(aggregator) == (1, 1)


def test_the_same_envelope_twice_returns_the_same_receipt(aggregator: Any, kit: Any) -> None:
    (agent,) = kit.enroll(aggregator.db, SPEC)
    envelope = agent.seal(agent.payload(), aggregator.recipient)
    intake = Intake(aggregator.db, aggregator.keyring)
    assert intake.accept(envelope) == intake.accept(envelope)
    assert counts(aggregator) == (1, 1)


def test_a_reused_submission_id_with_other_bytes_is_a_conflict(aggregator: Any, kit: Any) -> None:
    (agent,) = kit.enroll(aggregator.db, SPEC)
    payload = agent.payload()
    intake = Intake(aggregator.db, aggregator.keyring)
    intake.accept(agent.seal(payload, aggregator.recipient))
    other = type(payload)(**{**payload.__dict__, "created_at": "2026-01-01T00:00:00+00:00"})
    with pytest.raises(SubmissionConflict):
        intake.accept(agent.seal(other, aggregator.recipient))
    assert counts(aggregator) == (1, 1)


def test_a_late_submission_after_close_is_refused_and_not_stored(aggregator: Any, kit: Any) -> None:
    (agent,) = kit.enroll(aggregator.db, SPEC)
    close_period(aggregator.db, kit.PERIOD, k=5)
    with pytest.raises(PeriodNotOpen):
        Intake(aggregator.db, aggregator.keyring).accept(
            agent.seal(agent.payload(), aggregator.recipient)
        )
    assert counts(aggregator) == (0, 0)


def test_a_submission_beyond_the_budget_is_refused(aggregator: Any, kit: Any) -> None:
    (agent,) = kit.enroll(aggregator.db, SPEC)
    intake = Intake(aggregator.db, aggregator.keyring)
    intake.accept(agent.seal(agent.payload(rho=0.4), aggregator.recipient))
    with pytest.raises(InsufficientPrivacyBudget):
        intake.accept(agent.seal(agent.payload(rho=0.4), aggregator.recipient))
    assert counts(aggregator) == (1, 1)


@pytest.mark.slow  # 0.4 s or more: outside the inner loop (ADR 0032)
def test_concurrent_intake_stores_each_submission_once_with_a_valid_chain(
    aggregator: Any, kit: Any
) -> None:
    agents = kit.enroll(
        aggregator.db, [(f"Museum {i}", "museum", "zeeland", "medium") for i in range(12)]
    )
    envelopes = [a.seal(a.payload(), aggregator.recipient) for a in agents]
    intake = Intake(aggregator.db, aggregator.keyring)
    receipts: list[Receipt] = []
    errors: list[BaseException] = []

    def send(envelope: bytes) -> None:
        try:
            receipts.append(intake.accept(envelope))
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(e,)) for e in envelopes * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert counts(aggregator) == (12, 12)
    assert len({r.submission_id for r in receipts}) == 12
    with aggregator.db.session() as s:
        entries = translog.entries(s)
    assert [e["log_index"] for e in entries] == list(range(12))
    verify_chain(entries)  # raises on a broken index, link or hash


def test_a_batch_is_chained_in_order_and_each_envelope_gets_its_own_answer(
    aggregator: Any, kit: Any
) -> None:
    one, two = kit.enroll(
        aggregator.db,
        [
            ("Theater Een", "theater", "utrecht", "small"),
            ("Theater Twee", "theater", "utrecht", "small"),
        ],
    )
    first = one.seal(one.payload(rho=0.4), aggregator.recipient)
    over_budget = one.seal(one.payload(rho=0.4), aggregator.recipient)
    other = two.seal(two.payload(), aggregator.recipient)
    outcomes = Intake(aggregator.db, aggregator.keyring).accept_batch(
        [first, b"not an envelope", over_budget, other, first]
    )
    assert [type(o).__name__ for o in outcomes] == [
        "Receipt", "MalformedMessage", "InsufficientPrivacyBudget", "Receipt", "Receipt",
    ]  # fmt: skip
    assert isinstance(outcomes[0], Receipt) and isinstance(outcomes[3], Receipt)
    assert (outcomes[0].log_index, outcomes[3].log_index) == (0, 1)
    assert outcomes[4] == outcomes[0]  # the same envelope twice in one batch: stored once
    assert counts(aggregator) == (2, 2)
    with aggregator.db.session() as s:
        verify_chain(translog.entries(s))


def test_a_batch_after_earlier_batches_continues_the_chain(aggregator: Any, kit: Any) -> None:
    agents = kit.enroll(
        aggregator.db, [(f"Museum {i}", "museum", "zeeland", "medium") for i in range(4)]
    )
    intake = Intake(aggregator.db, aggregator.keyring)
    intake.accept(agents[0].seal(agents[0].payload(), aggregator.recipient))
    later = intake.accept_batch([a.seal(a.payload(), aggregator.recipient) for a in agents[1:]])
    assert [r.log_index for r in later if isinstance(r, Receipt)] == [1, 2, 3]
    with aggregator.db.session() as s:
        verify_chain(translog.entries(s))


@pytest.mark.parametrize(
    ("junk", "refusal"),
    [(b"1e999999", "MalformedMessage"), (b"[" * 100_000, "DeepJson"),
     (b'"\\ud800"', "MalformedMessage")],
    ids=["huge-number", "deep", "surrogate"],
)  # fmt: skip
def test_junk_in_a_batch_is_refused_alone_and_the_others_are_stored(
    aggregator: Any, kit: Any, junk: bytes, refusal: str
) -> None:
    agents = kit.enroll(
        aggregator.db, [(f"Museum {i}", "museum", "zeeland", "medium") for i in range(2)]
    )
    one, two = (a.seal(a.payload(), aggregator.recipient) for a in agents)
    outcomes = Intake(aggregator.db, aggregator.keyring).accept_batch([one, junk, two])
    assert [type(o).__name__ for o in outcomes] == ["Receipt", refusal, "Receipt"]
    assert counts(aggregator) == (2, 2)
