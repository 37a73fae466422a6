"""Free text and impossible numbers where structure belongs (issue 14), against a
real server on 127.0.0.1 and through ``publiek aggregator import``, on SQLite
and on PostgreSQL.

The attack run found that an enrolled institution could store a cell value of
2^70, 10^15 or 10^400 (after which closing the period, the benchmarks, the
groups and the public downloads answered 500), a 1 MiB segment model or one
holding an e-mail address and a postcode, a ``created_at`` that is no date,
bounds the design does not name or that are booleans, labels and table names
with a trailing newline, and members no schema names. Each case here is
correctly sealed and signed by an enrolled institution, so it reaches the
schema and intake's checks (ADR 0021); each must answer a 4xx problem document
over HTTP and exit 2 with one ``error:`` line on import, store nothing, and
leave the sector working: the other institutions (and the attacker itself)
submit, the period closes, and the benchmarks, groups and downloads answer.
The request bodies that are not envelopes (token request, enrollment,
sector-key upload) are held to their schemas the same way.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from aggregator.auth import TASKFORCE, create_user
from aggregator.intake import Intake
from aggregator.settings import make_state_private
from aggregator.storage import Database, Institution, LogEntry, SealedSectorKeyRecord, Submission
from cli import app
from protocol.encoding import b64encode, canonical_bytes
from protocol.envelope import SIGNATURE_DOMAIN, SUITE, SUITE_NAME, envelope_info
from protocol.errors import PubliekError
from protocol.keys import SealPublicKey
from protocol.messages import Envelope, EnvelopeHeader
from tests.file_modules import load_module

TESTS = Path(__file__).resolve().parents[1]


# The aggregator tests' real databases and servers (tests/aggregator/conftest.py),
# and its PostgreSQL fixture, for this module's PostgreSQL runs.
KIT = load_module("publiek_aggregator_kit", TESTS / "aggregator" / "conftest.py")
postgres = KIT.postgres

# Live servers and PostgreSQL: `pytest -m "not slow"` leaves this out.
pytestmark = pytest.mark.slow

PASSWORD = "a long test passphrase"
SENTINEL = -987654321  # a cell value whose digits are replaced by a raw literal


@dataclass
class World:
    state: Path
    db_url: str
    url: str
    client: httpx.Client
    agents: list[Any]
    recipient: SealPublicKey
    taskforce: dict[str, str]

    @property
    def attacker(self) -> Any:
        return self.agents[1]

    def stored(self) -> tuple[int, ...]:
        """What any request could have written: submissions, log, keys, enrollments."""
        db = Database(self.db_url)
        try:
            with db.session() as s:
                return tuple(
                    s.scalar(query) or 0
                    for query in (
                        select(func.count()).select_from(Submission),
                        select(func.count()).select_from(LogEntry),
                        select(func.count()).select_from(SealedSectorKeyRecord),
                        select(func.count()).where(Institution.signing_key.is_not(None)),
                    )
                )
        finally:
            db.engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    state = tmp_path_factory.mktemp(f"wire-{request.param}")
    db_url = KIT.fresh_database_url(request, state)
    agg = KIT.make_aggregator(state, db_url)
    agents = KIT.enroll_agents(
        agg.db, [(f"Schouwburg {i}", "theater", "utrecht", "small") for i in range(6)]
    )
    # One institution submitted before the attack: its submission must survive it.
    Intake(agg.db, agg.keyring).accept(agents[0].seal(agents[0].payload(), agg.recipient))
    create_user(agg.db, "tf", TASKFORCE, PASSWORD)
    recipient = agg.recipient
    make_state_private(agg.settings)  # so the import command prints its own line only
    agg.db.engine.dispose()
    server = KIT.start_server(state, db_url)
    client = httpx.Client(base_url=server.url, timeout=60)
    token = client.post("/v1/auth/tokens", json={"username": "tf", "password": PASSWORD})
    try:
        yield World(
            state=state, db_url=db_url, url=server.url, client=client, agents=agents,
            recipient=recipient,
            taskforce={"authorization": f"Bearer {token.json()['token']}"},
        )  # fmt: skip
    finally:
        client.close()
        server.stop()


# --- hostile submissions ---------------------------------------------------------


def seal_raw(
    world: World,
    payload_bytes: bytes,
    *,
    plaintext_extra: bytes = b"",
    envelope_extra: dict[str, Any] | None = None,
) -> bytes:
    """An envelope carrying ``payload_bytes`` exactly, sealed to the aggregator and
    signed by the attacker's enrolled key, as a hostile agent would build it."""
    agent = world.attacker
    ids = json.loads(payload_bytes.replace(str(SENTINEL).encode(), b"0"))
    header = EnvelopeHeader(
        suite=SUITE_NAME,
        kem_key_id=world.recipient.key_id,
        signer_key_id=agent.signer.public.key_id,
        institution_id=ids["institution_id"],
        period=ids["period"],
        submission_id=ids["submission_id"],
    )
    signed = b"[" + canonical_bytes(header.to_dict()) + b"," + payload_bytes + b"]"
    signature = b64encode(agent.signer.sign(SIGNATURE_DOMAIN, signed)).encode()
    plaintext = b'{"payload":' + payload_bytes + plaintext_extra + b',"signature":"'
    plaintext += signature + b'"}'
    sealed = SUITE.encrypt(plaintext, world.recipient.to_crypto(), info=envelope_info(header))
    envelope = Envelope(header=header, sealed=sealed).to_dict()
    return canonical_bytes({**envelope, **(envelope_extra or {})})


def changed(change: Callable[[dict[str, Any]], None]) -> Callable[[World], bytes]:
    """A case: the attacker's real payload, changed in place, sealed and signed."""

    def build(world: World) -> bytes:
        doc = world.attacker.payload().to_dict()
        change(doc)
        return seal_raw(world, canonical_bytes(doc))

    return build


def literal(text: str) -> Callable[[World], bytes]:
    """A case: a cell value written as the JSON number ``text``, exactly as sent."""

    def build(world: World) -> bytes:
        doc = world.attacker.payload().to_dict()
        doc["tables"][0]["values"][0] = SENTINEL
        raw = canonical_bytes(doc).replace(str(SENTINEL).encode(), text.encode(), 1)
        return seal_raw(world, raw)

    return build


def first_table(doc: dict[str, Any]) -> dict[str, Any]:
    table: dict[str, Any] = doc["tables"][0]
    return table


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        target = doc
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return change


def _append_to_first_label(doc: dict[str, Any]) -> None:
    first_table(doc)["keys"][0][0] += "\n"


def _append_to_first_table_name(doc: dict[str, Any]) -> None:
    first_table(doc)["name"] += "\n"


# (id, how to build the envelope, expected status, expected problem slug)
CASES: list[tuple[str, Callable[[World], bytes], int, str]] = [
    # Cell values: beyond I-JSON as an exact integer the plaintext is not canonical
    # JSON at all; as a double, or an exact 10^15, it is outside the table's range.
    ("cell-2^70", literal(str(2**70)), 400, "malformed-message"),
    ("cell-2^70-as-double", changed(_set(("tables", 0, "values", 0), float(2**70))), 422,
     "invalid-payload"),
    ("cell-10^15", changed(_set(("tables", 0, "values", 0), 10**15)), 422, "invalid-payload"),
    ("cell-10^400", literal("1" + "0" * 400), 400, "malformed-message"),
    ("segment-model-1MiB", changed(_set(("segment_model",), "x" * 2**20)), 422,
     "invalid-payload"),
    ("segment-model-email-postcode",
     changed(_set(("segment_model",), "synthetic-demo-2026 j.jansen@example.nl 1234AB")), 422,
     "invalid-payload"),
    ("created-at-dutch-date", changed(_set(("created_at",), "1-10-2026 09:00")), 422,
     "invalid-payload"),
    ("created-at-naive", changed(_set(("created_at",), "2026-10-01T09:00:00")), 422,
     "invalid-payload"),
    ("created-at-trailing-newline",
     changed(_set(("created_at",), "2026-10-01T09:00:00+00:00\n")), 422, "invalid-payload"),
    ("bounds-unknown-key",
     changed(_set(("bounds",), {"max_visits_per_household": 12, "household_of": 1})), 422,
     "refused-declaration"),
    ("bounds-boolean", changed(_set(("bounds",), {"max_visits_per_household": True})), 422,
     "invalid-payload"),
    ("table-name-trailing-newline", changed(_append_to_first_table_name), 422,
     "invalid-payload"),
    ("label-trailing-newline", changed(_append_to_first_label), 422, "invalid-payload"),
    ("label-outside-key-set", changed(_set(("tables", 0, "keys", 0, 0), "jan-jansen-1234ab")),
     422, "invalid-payload"),
    ("payload-unknown-key", changed(_set(("note",), "j.jansen@example.nl")), 422,
     "invalid-payload"),
    ("table-unknown-key", changed(_set(("tables", 0, "note"), "free text")), 422,
     "invalid-payload"),
    ("privacy-unknown-key", changed(_set(("privacy", "note"), "free text")), 422,
     "invalid-payload"),
    ("plaintext-unknown-key",
     lambda w: seal_raw(w, canonical_bytes(w.attacker.payload().to_dict()),
                        plaintext_extra=b',"note":"free text"'), 400, "malformed-message"),
    ("envelope-unknown-key",
     lambda w: seal_raw(w, canonical_bytes(w.attacker.payload().to_dict()),
                        envelope_extra={"note": "free text"}), 400, "malformed-message"),
]  # fmt: skip
IDS = [case[0] for case in CASES]


def assert_problem(response: httpx.Response, status: int, slug: str) -> None:
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("application/problem+json")
    doc = response.json()
    assert doc["type"] == f"urn:publiek:problem:{slug}" and doc["status"] == status


@pytest.mark.parametrize(("name", "build", "status", "slug"), CASES, ids=IDS)
def test_a_hostile_submission_over_http_is_a_problem_and_stores_nothing(
    world: World, name: str, build: Callable[[World], bytes], status: int, slug: str
) -> None:
    envelope = build(world)
    before = world.stored()
    response = world.client.post(
        "/v1/submissions", content=envelope, headers={"content-type": "application/json"}
    )
    assert_problem(response, status, slug)
    assert world.stored() == before, f"{name} stored something"


@pytest.mark.parametrize(("name", "build", "status", "slug"), CASES, ids=IDS)
def test_a_hostile_submission_on_import_exits_2_with_one_line_and_stores_nothing(
    world: World,
    tmp_path: Path,
    name: str,
    build: Callable[[World], bytes],
    status: int,
    slug: str,
) -> None:
    file = tmp_path / f"{name}.envelope"
    file.write_bytes(build(world))
    before = world.stored()
    command = ["aggregator", "import", str(file), "--state", str(world.state),
               "--database", world.db_url]  # fmt: skip
    ran = CliRunner().invoke(app, command)
    assert ran.exit_code == 2, ran.output
    lines = ran.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), ran.stderr
    assert world.stored() == before, f"{name} stored something on import"
    # --verbose raises the error itself: the same class as over HTTP.
    raised = CliRunner().invoke(app, ["-v", *command]).exception
    assert isinstance(raised, PubliekError)
    assert (raised.status, raised.slug) == (status, slug)


def test_refusals_do_not_quote_what_was_sent(world: World) -> None:
    """The e-mail address and the postcode go nowhere: not into the answer either."""
    build = {case[0]: case[1] for case in CASES}["segment-model-email-postcode"]
    response = world.client.post(
        "/v1/submissions", content=build(world), headers={"content-type": "application/json"}
    )
    assert "jansen" not in response.text and "1234AB" not in response.text


# --- request bodies that are not envelopes ------------------------------------------

GOOD_KEY = "A" * 43


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/auth/tokens", {"username": "tf", "password": PASSWORD, "otp": "123456"}),
        ("/v1/auth/tokens", {"username": "tf\n", "password": PASSWORD}),
        ("/v1/auth/tokens", {"username": "tf", "password": 12345678901234}),
        ("/v1/auth/tokens", {"username": ["tf"], "password": PASSWORD}),
        ("/v1/auth/tokens", ["tf", PASSWORD]),
        ("/v1/enrollments", {"token": "t" * 43, "signing_key": GOOD_KEY,
                             "sealing_key": GOOD_KEY, "contact": "j.jansen@example.nl"}),
        ("/v1/enrollments", {"token": "t" * 43 + "\n", "signing_key": GOOD_KEY,
                             "sealing_key": GOOD_KEY}),
        ("/v1/enrollments", {"token": 7, "signing_key": GOOD_KEY, "sealing_key": GOOD_KEY}),
        ("/v1/enrollments", {"token": "t" * 43, "signing_key": GOOD_KEY}),
    ],
    ids=[
        "token-unknown-key", "token-username-newline", "token-password-number",
        "token-username-list", "token-not-an-object", "enrollment-unknown-key",
        "enrollment-token-newline", "enrollment-token-number", "enrollment-missing-key",
    ],
)  # fmt: skip
def test_a_request_body_off_its_schema_is_malformed_and_stores_nothing(
    world: World, path: str, body: Any
) -> None:
    before = world.stored()
    assert_problem(world.client.post(path, json=body), 400, "malformed-message")
    assert world.stored() == before


@pytest.mark.parametrize(
    "body",
    [
        {"sealed_keys": [], "period": "2026-Q3"},
        {"sealed_keys": {"vector-theater": "..."}},
        {"sealed_keys": 5},
        {"sealed_keys": [{"version": "publiek/2", "note": "free text"}]},
        [],
    ],
    ids=["unknown-key", "object-not-list", "number", "item-unknown-key", "not-an-object"],
)
def test_a_sector_key_upload_off_its_schema_is_malformed_and_stores_nothing(
    world: World, body: Any
) -> None:
    before = world.stored()
    response = world.client.post("/v1/sector-keys", json=body, headers=world.taskforce)
    assert_problem(response, 400, "malformed-message")
    assert world.stored() == before


# --- and the sector carries on --------------------------------------------------------


def test_everyone_submits_and_the_period_closes_publishes_and_downloads(world: World) -> None:
    """Runs after the attacks above (same module-scoped world): every institution,
    the attacker included, submits; the period closes; its benchmarks, groups and
    public downloads answer."""
    for agent in world.agents:
        envelope = agent.seal(agent.payload(), world.recipient)
        response = world.client.post(
            "/v1/submissions", content=envelope, headers={"content-type": "application/json"}
        )
        assert response.status_code == 200, response.text
    period = KIT.PERIOD
    assert world.stored()[:2] == (len(world.agents) + 1, len(world.agents) + 1)
    closed = world.client.post(f"/v1/periods/{period}/close", headers=world.taskforce)
    assert closed.status_code == 200, closed.text
    benchmarks = world.client.get(f"/v1/periods/{period}/benchmarks", headers=world.taskforce)
    assert benchmarks.status_code == 200 and benchmarks.json()["cells"], benchmarks.text
    published = world.client.post(f"/v1/periods/{period}/publish", headers=world.taskforce)
    assert published.status_code == 200, published.text
    assert world.client.get(f"/v1/periods/{period}/groups").status_code == 200
    csv = world.client.get(f"/v1/periods/{period}/benchmarks.csv")
    assert csv.status_code == 200 and csv.text.count("\n") > 1
    parquet = world.client.get(f"/v1/periods/{period}/benchmarks.parquet")
    assert parquet.status_code == 200
    assert pl.read_parquet(io.BytesIO(parquet.content)).height > 0
