"""A live aggregator with something in every state, for the HTTP tests of the suite.

A real server (``publiek aggregator serve`` on 127.0.0.1) over a real
database, holding: a published period with five institutions' submissions,
an open period with one, an empty open period, a closed one; a taskforce
user and a privacy officer with tokens; an unused enrollment token; a
registered custodian with one stored sealed sector key. Every route then has
something to answer besides "not found", and every role has credentials.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from aggregator.auth import PRIVACY_OFFICER, TASKFORCE, create_user, issue_token
from aggregator.custodian import store_sealed
from aggregator.enrollment import create_token
from aggregator.intake import Intake
from aggregator.periods import close_period, open_period, publish_period
from protocol.keys import SealPublicKey
from protocol.request_auth import sign_request
from tests.aggregator.conftest import (
    Agent,
    Server,
    enroll_agents,
    make_aggregator,
    seal_with_new_custodian,
    start_server,
)

PUBLISHED, OPEN, EMPTY, CLOSED = "2026-Q3", "2026-Q4", "2027-Q1", "2026-Q2"
PASSWORD = "correct horse battery"


@dataclass
class LiveAggregator:
    server: Server
    db_url: str
    state: Path
    agents: list[Agent]
    taskforce_token: str
    privacy_officer_token: str
    enrollment_token: str
    recipient: SealPublicKey

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def taskforce(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.taskforce_token}"}

    @property
    def privacy_officer(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.privacy_officer_token}"}

    def signed(
        self, target: str, agent: Agent | None = None, method: str = "GET"
    ) -> dict[str, str]:
        """The headers of a request to ``target`` (path and query as sent),
        signed by ``agent`` (default: the first institution)."""
        who = agent or self.agents[0]
        return sign_request(who.signer, who.institution_id, method, target)

    def stop(self) -> None:
        self.server.stop()


def start_live_aggregator(state: Path, db_url: str) -> LiveAggregator:
    """Prepare the state in-process, then serve it from a real server process."""
    agg = make_aggregator(state, db_url)  # opens PUBLISHED
    agents = enroll_agents(
        agg.db, [(f"Theater {i}", "theater", "utrecht", "small") for i in range(5)]
    )
    intake = Intake(agg.db, agg.keyring)
    open_period(agg.db, CLOSED, rho_budget=0.5)
    for agent in agents:
        intake.accept(agent.seal(agent.payload(PUBLISHED), agg.recipient))
        intake.accept(agent.seal(agent.payload(CLOSED), agg.recipient))
    close_period(agg.db, PUBLISHED, k=5)
    publish_period(agg.db, PUBLISHED)
    close_period(agg.db, CLOSED, k=5)
    open_period(agg.db, OPEN, rho_budget=0.5)
    open_period(agg.db, EMPTY, rho_budget=0.5)
    intake.accept(agents[1].seal(agents[1].payload(OPEN), agg.recipient))
    create_user(agg.db, "tf", TASKFORCE, PASSWORD)
    create_user(agg.db, "po", PRIVACY_OFFICER, PASSWORD)
    taskforce = issue_token(agg.db, "tf", valid_for=timedelta(days=1))
    privacy_officer = issue_token(agg.db, "po", valid_for=timedelta(days=1))
    _, enrollment = create_token(
        agg.db, name="Dance", discipline="dance", province="limburg",
        valid_for=timedelta(days=1), size_class="medium",
    )  # fmt: skip
    sealed = seal_with_new_custodian(agg.db, agents[0].institution_id, OPEN, bytes(range(32)))
    store_sealed(agg.db, [sealed])
    recipient = agg.recipient
    agg.db.engine.dispose()
    server = start_server(state, db_url)
    return LiveAggregator(
        server=server, db_url=db_url, state=state, agents=agents,
        taskforce_token=taskforce, privacy_officer_token=privacy_officer,
        enrollment_token=enrollment, recipient=recipient,
    )  # fmt: skip


def problem_type(response: Any) -> str:
    """The problem type of an answer, checking that it is a problem document
    whose status is the answer's."""
    assert response.headers["content-type"].split(";")[0] == "application/problem+json", (
        response.status_code,
        response.text[:300],
    )
    doc = response.json()
    assert doc["status"] == response.status_code, doc
    return str(doc["type"]).removeprefix("urn:publiek:problem:")
