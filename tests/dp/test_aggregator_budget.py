"""Over a real HTTP server: the aggregator records each submission's declared
spend and rejects one that would bring the institution over the period
budget with ``insufficient-privacy-budget``, storing nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from agent.client import AggregatorClient
from agent.enrollment import enroll
from agent.release import prepare_release, seal_to_outbox
from agent.segments import synthetic_demo_model
from agent.tables import ReleaseConfig
from agent.workspace import Workspace
from aggregator.enrollment import create_token
from aggregator.storage import Database, LogEntry, Submission
from demo.run import aggregator_process
from protocol.errors import InsufficientPrivacyBudget
from tests.agent.visit_files import write_visit_file
from tests.aggregator.conftest import make_aggregator

# End to end over a live aggregator: `pytest -m "not slow"` leaves it out.
pytestmark = pytest.mark.slow

PERIOD = "2026-Q3"
# The agent's own ledger would allow two releases; the aggregator's period
# budget (0.3) allows one of ρ = 0.25.
AGENT_CONFIG = ReleaseConfig(rho=0.25, period_budget=1.0)


def _visits(workspace: Workspace, name: str) -> None:
    visits = [
        {
            "visit_date": date(2026, 7, 1) + timedelta(days=n % 92),
            "household_key": hashlib.sha256(f"{name}/{n}".encode()).digest(),
            "pc4": str(3500 + n % 20),
            "tickets": 2,
        }
        for n in range(60)
    ]
    write_visit_file(workspace, name, PERIOD, visits)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Database, str]]:
    root = tmp_path_factory.mktemp("budget")
    state = make_aggregator(root / "aggregator", period=PERIOD, rho_budget=0.3)
    settings, db = state.settings, state.db
    _, token = create_token(
        db, name="Theater Budget", discipline="theater", province="utrecht",
        valid_for=timedelta(hours=1),
    )  # fmt: skip
    with aggregator_process(settings, lambda _: None) as url:
        yield url, db, token


def _counts(db: Database) -> tuple[int, int]:
    with db.session() as s:
        return (
            int(s.scalar(select(func.count()).select_from(Submission)) or 0),
            int(s.scalar(select(func.count()).select_from(LogEntry)) or 0),
        )


def test_an_over_budget_submission_is_rejected_and_nothing_is_stored(
    server: tuple[str, Database, str], tmp_path: Path
) -> None:
    url, db, token = server
    workspace = Workspace(tmp_path / "agent")
    enroll(workspace, url, token)
    model = synthetic_demo_model()
    _visits(workspace, "export-1")
    first = prepare_release(workspace, PERIOD, model, AGENT_CONFIG)
    with AggregatorClient(url) as client:
        key = client.current_key()
        client.submit(seal_to_outbox(workspace, first.payload, key).read_bytes())
    assert _counts(db) == (1, 1)

    _visits(workspace, "export-2")  # new inputs: the agent draws a second release
    second = prepare_release(workspace, PERIOD, model, AGENT_CONFIG)
    assert not second.reused
    envelope = seal_to_outbox(workspace, second.payload, key).read_bytes()
    response = httpx.post(
        f"{url}/v1/submissions",
        content=envelope,
        headers={"content-type": "application/json"},
        timeout=30,
    )
    problem = response.json()
    assert response.status_code == 409
    assert problem["type"] == InsufficientPrivacyBudget.problem_type()
    assert problem["type"].endswith("insufficient-privacy-budget")
    assert "0.25 of 0.3 already spent" in problem["detail"]
    assert _counts(db) == (1, 1)
    with AggregatorClient(url) as client, pytest.raises(InsufficientPrivacyBudget):
        client.submit(envelope)
    assert _counts(db) == (1, 1)


def test_a_retry_of_the_accepted_submission_still_gets_its_receipt(
    server: tuple[str, Database, str], tmp_path: Path
) -> None:
    url, db, _ = server
    with db.session() as s:
        stored = s.scalars(select(Submission)).first()
        assert stored is not None
        envelope = stored.envelope
    with AggregatorClient(url) as client:
        receipt = client.submit(bytes(envelope))
    assert receipt["submission_id"] == stored.submission_id
    assert _counts(db) == (1, 1)
