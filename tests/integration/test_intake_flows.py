"""The protocol's flows against a real aggregator process on 127.0.0.1.

Enrollment tokens, revocation, key rotation, the custodian relay, retries
and the offline export/import path, each as the commands and modules a
person would use.
"""

from __future__ import annotations

import json
import secrets
import socket
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from agent.client import AggregatorClient
from agent.enrollment import enroll
from agent.receipts import keep_receipt
from agent.sector_keys import fetch_sector_key
from agent.workspace import Workspace
from aggregator.auth import PRIVACY_OFFICER, TASKFORCE, create_user, issue_token
from aggregator.custodian import register_custodian, store_sealed
from aggregator.enrollment import create_token
from aggregator.settings import Settings
from aggregator.storage import Database
from cli import app
from custodian.distribute import distribute
from custodian.state import CustodianState
from demo.run import aggregator_process
from demo.sector import PERIOD, generate_sector, write_exports
from dp.measurements import table_rho
from dp.release_design import MAX_VISITS, TABLE_DESIGN, TableDesign, labels, sensitivity
from protocol.encoding import b64encode, canonical_bytes
from protocol.envelope import seal_submission
from protocol.errors import (
    InstitutionRevoked,
    InvalidPayload,
    InvalidSignature,
    InvalidToken,
    RetiredKey,
    SegmentModelMismatch,
    Unauthenticated,
    UnknownKey,
    UnknownPeriod,
)
from protocol.keys import SealPublicKey, SigningKey
from protocol.messages import PrivacySpend, Receipt, ReleasedTable, SubmissionPayload
from protocol.request_auth import sign_request
from protocol.sector_keys import seal_sector_key
from protocol.translog import RECEIPT_DOMAIN
from tests.aggregator.conftest import make_aggregator
from tests.ingest.ingest_fixtures import GOOD_ROWS, HEADER, MAPPING

# End to end over a live aggregator: `pytest -m "not slow"` leaves it out.
pytestmark = pytest.mark.slow

runner = CliRunner()
BOUNDS = {MAX_VISITS: 12}


@dataclass
class Aggregator:
    url: str
    settings: Settings
    db: Database
    custodian: CustodianState
    root: Path
    officer_token: str
    taskforce_token: str

    def token(self, name: str, valid_for: timedelta = timedelta(hours=1)) -> str:
        return create_token(
            self.db, name=name, discipline="theater", province="utrecht", valid_for=valid_for
        )[1]

    def agent(self, name: str) -> Workspace:
        ws = Workspace(self.root / "agents" / name)
        enroll(ws, self.url, self.token(name), custodian_key=self.custodian.init().public.to_text())
        return ws

    def rows(self, table: str) -> int:
        with sqlite3.connect(self.settings.state_dir / "aggregator.db") as con:
            return int(con.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


@pytest.fixture(scope="module")
def aggregator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Aggregator]:
    root = tmp_path_factory.mktemp("flows")
    state = make_aggregator(root / "aggregator", period=PERIOD, rho_budget=0.5)
    settings, db = state.settings, state.db
    custodian = CustodianState(root / "custodian")
    register_custodian(db, custodian.init().public)
    create_user(db, "po", PRIVACY_OFFICER, "a long test passphrase")
    token = issue_token(db, "po", valid_for=timedelta(hours=1))
    create_user(db, "tf", TASKFORCE, "a long test passphrase")
    tf_token = issue_token(db, "tf", valid_for=timedelta(hours=1))
    with aggregator_process(settings, lambda _: None) as url:
        yield Aggregator(
            url=url, settings=settings, db=db, custodian=custodian, root=root,
            officer_token=token, taskforce_token=tf_token,
        )  # fmt: skip


def first_key(design: TableDesign) -> tuple[str, ...]:
    """The first cell of the table's key set: intake checks every label against it."""
    return tuple(
        labels(d, segment_model="synthetic-demo-2026", period=PERIOD)[0] for d in design.dimensions
    )


def payload(ws: Workspace, scale: float = 7.0) -> SubmissionPayload:
    """Every table of the release design, one cell each, the whole submission
    costing what one table at ``scale`` and sensitivity 1 would (ρ = 1 / 2σ²),
    split over the tables by the design's weights as intake requires."""
    total = 1 / (2 * scale**2)
    tables = []
    for design in TABLE_DESIGN:
        sens = sensitivity(design.name, BOUNDS, "discrete_gaussian")
        sigma = sens / (2 * design.weight * total) ** 0.5
        tables.append(
            ReleasedTable(
                name=design.name, measure=design.measure, dimensions=design.dimensions,
                keys=(first_key(design),), values=(5,),
                mechanism="discrete_gaussian", scale=sigma, sensitivity=sens,
                rho=table_rho(sens, "discrete_gaussian", sigma),  # what intake recomputes
                ci95=5.0,
            )
        )  # fmt: skip
    return SubmissionPayload(
        institution_id=ws.load_config().institution_id,
        period=PERIOD,
        submission_id=secrets.token_hex(16),
        created_at="2026-10-01T00:00:00+00:00",
        segment_model="synthetic-demo-2026",
        catchment_origin=None,
        bounds=dict(BOUNDS),
        tables=tuple(tables),
        privacy=PrivacySpend(rho=sum(t.rho for t in tables), epsilon=1.0, delta=1e-7),
    )


def seal_for(ws: Workspace, recipient: SealPublicKey) -> bytes:
    envelope, _ = seal_submission(
        payload(ws), signer=SigningKey.load(ws.signing_key_path), recipient=recipient
    )
    return envelope


def current_key(url: str) -> SealPublicKey:
    from agent.client import AggregatorClient

    with AggregatorClient(url) as client:
        return client.current_key()


def post(url: str, envelope: bytes) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/submissions",
        content=envelope,
        headers={"content-type": "application/json"},
        timeout=30,
    )


def test_an_enrollment_token_works_only_once(aggregator: Aggregator) -> None:
    token = aggregator.token("Token Eenmaal")
    enroll(Workspace(aggregator.root / "once-a"), aggregator.url, token)
    with pytest.raises(InvalidToken):
        enroll(Workspace(aggregator.root / "once-b"), aggregator.url, token)


def test_a_token_pasted_with_spaces_and_a_line_break_around_it_enrolls(
    aggregator: Aggregator,
) -> None:
    token = aggregator.token("Geplakt Theater")
    config = enroll(Workspace(aggregator.root / "pasted"), aggregator.url, f"  {token}\r\n")
    assert config.institution_id == "geplakt-theater"


def test_enrolling_a_trial_workspace_removes_the_trial_and_keeps_its_settings(
    aggregator: Aggregator, tmp_path: Path
) -> None:
    """`agent init`, a trial ingest with a local key, then `agent enroll`: the trial's
    households match nobody's, so they go; the operator's [ingest] settings stay."""
    ws = tmp_path / "trial"
    assert runner.invoke(app, ["agent", "init", "-w", str(ws)]).exit_code == 0
    (ws / "agent.toml").write_text("[ingest]\nmax_rejected = 0.5\n", encoding="utf-8")
    export, mapping = tmp_path / "export.csv", tmp_path / "map.toml"
    export.write_text("\n".join([HEADER, *GOOD_ROWS]) + "\n", encoding="utf-8")
    mapping.write_text(MAPPING, encoding="utf-8")
    args = ["agent", "ingest", str(export), "-m", str(mapping), "-w", str(ws)]
    assert runner.invoke(app, args).exit_code == 0
    assert "local (a trial" in runner.invoke(app, ["agent", "status", "-w", str(ws)]).stdout
    enrolled = runner.invoke(
        app,
        ["agent", "enroll", "--aggregator", aggregator.url, "-w", str(ws)],
        env={"PUBLIEK_ENROLL_TOKEN": aggregator.token("Proef Theater")},
    )
    assert enrolled.exit_code == 0, enrolled.output
    assert "removed the trial ingest of 1 export" in enrolled.stdout
    workspace = Workspace(ws)
    assert workspace.load_visits("2026-Q3").height == 0
    assert not list((ws / "keys").glob("local-sector-*"))
    assert "max_rejected = 0.5" in (ws / "agent.toml").read_text(encoding="utf-8")
    assert workspace.load_config().institution_id == "proef-theater"
    again = runner.invoke(app, args)  # ingested again only with the shared key
    assert again.exit_code == 2 and "sector-key fetch" in again.stderr


def test_an_expired_token_is_refused(aggregator: Aggregator) -> None:
    token = aggregator.token("Verlopen Theater", valid_for=timedelta(seconds=-1))
    with pytest.raises(InvalidToken):
        enroll(Workspace(aggregator.root / "expired"), aggregator.url, token)


def test_token_create_prints_only_the_token(aggregator: Aggregator) -> None:
    ran = runner.invoke(
        app,
        ["aggregator", "token", "create", "--institution", "Cli Podium", "--discipline", "music",
         "--province", "utrecht", "--state", str(aggregator.settings.state_dir)],
    )  # fmt: skip
    assert ran.exit_code == 0
    assert len(ran.stdout.strip().splitlines()) == 1 and len(ran.stdout.strip()) >= 40


def test_revocation_makes_every_later_submission_fail(aggregator: Aggregator) -> None:
    ws = aggregator.agent("Ingetrokken Zaal")
    accepted = seal_for(ws, current_key(aggregator.url))
    receipt = post(aggregator.url, accepted)
    assert receipt.status_code == 200
    ran = runner.invoke(
        app,
        ["aggregator", "institution", "revoke", ws.load_config().institution_id,
         "--state", str(aggregator.settings.state_dir)],
    )  # fmt: skip
    assert ran.exit_code == 0
    refused = post(aggregator.url, seal_for(ws, current_key(aggregator.url)))
    assert refused.status_code == 403
    assert refused.json()["type"] == InstitutionRevoked.problem_type()
    # The envelope accepted before the revocation still gets its receipt back.
    again = post(aggregator.url, accepted)
    assert (again.status_code, again.json()) == (200, receipt.json())


def test_a_retry_of_the_same_envelope_never_stores_twice(aggregator: Aggregator) -> None:
    ws = aggregator.agent("Dubbel Podium")
    envelope = seal_for(ws, current_key(aggregator.url))
    before = aggregator.rows("submissions")
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: post(aggregator.url, envelope), range(4)))
    assert {a.status_code for a in answers} == {200}
    assert len({json.dumps(a.json(), sort_keys=True) for a in answers}) == 1
    assert aggregator.rows("submissions") == before + 1


def test_key_rotation_overlaps_then_refuses_the_retired_key(aggregator: Aggregator) -> None:
    ws = aggregator.agent("Roterend Theater")
    state = ["--state", str(aggregator.settings.state_dir)]
    old = current_key(aggregator.url)
    new_id = runner.invoke(app, ["aggregator", "key", "create", *state]).stdout.strip()
    keys = httpx.get(f"{aggregator.url}/v1/keys").json()["keys"]
    assert {k["key_id"]: (k["state"], k["current"]) for k in keys}[new_id] == ("pending", False)
    sealed_to_old = seal_for(ws, old)
    assert runner.invoke(app, ["aggregator", "key", "activate", new_id, *state]).exit_code == 0
    assert current_key(aggregator.url).key_id == new_id
    receipt = post(aggregator.url, sealed_to_old)
    assert receipt.status_code == 200  # overlap: old still active
    assert runner.invoke(app, ["aggregator", "key", "retire", old.key_id, *state]).exit_code == 0
    refused = post(aggregator.url, seal_for(ws, old))
    assert (refused.status_code, refused.json()["type"]) == (422, RetiredKey.problem_type())
    # Accepted before the retirement: the very same bytes get the stored receipt.
    again = post(aggregator.url, sealed_to_old)
    assert (again.status_code, again.json()) == (200, receipt.json())
    assert post(aggregator.url, seal_for(ws, current_key(aggregator.url))).status_code == 200


def test_the_last_active_key_cannot_be_retired(aggregator: Aggregator) -> None:
    only = current_key(aggregator.url).key_id
    ran = runner.invoke(
        app, ["aggregator", "key", "retire", only, "--state", str(aggregator.settings.state_dir)]
    )
    assert ran.exit_code == 2 and "only active key" in ran.stderr


def test_custodian_sector_key_reaches_agents_and_the_aggregator_holds_only_ciphertext(
    aggregator: Aggregator,
) -> None:
    a, b = aggregator.agent("Sleutel Een"), aggregator.agent("Sleutel Twee")
    ran = runner.invoke(
        app,
        ["custodian", "distribute", "--period", PERIOD, "--aggregator", aggregator.url,
         "--state", str(aggregator.custodian.root), "--trust-new",
         "--token", aggregator.taskforce_token],
    )  # fmt: skip
    assert ran.exit_code == 0, ran.output
    for ws in (a, b):
        fetch_sector_key(ws, PERIOD)
        assert ws.sector_key(PERIOD) == aggregator.custodian.sector_key(PERIOD)
        assert ws.sector_key_path(PERIOD).stat().st_mode & 0o777 == 0o600
    raw = aggregator.custodian.sector_key(PERIOD).reveal()
    stored = (aggregator.settings.state_dir / "aggregator.db").read_bytes()
    assert raw not in stored and raw.hex().encode() not in stored


def test_an_aggregator_substituted_sector_key_is_refused_by_the_agent(
    aggregator: Aggregator,
) -> None:
    ws = aggregator.agent("Wantrouwig Museum")
    impostor = SigningKey.generate()  # the aggregator's own "custodian"
    register_custodian(aggregator.db, impostor.public)
    from protocol.keys import SealPrivateKey, SecretBytes

    forged = seal_sector_key(
        SecretBytes(bytes(32)),
        period=PERIOD,
        institution_id=ws.load_config().institution_id,
        recipient=SealPrivateKey.load(ws.seal_key_path).public,
        custodian=impostor,
    )
    store_sealed(aggregator.db, [forged])
    with pytest.raises(UnknownKey):
        fetch_sector_key(ws, PERIOD)
    assert not ws.sector_key_path(PERIOD).exists()


def test_custodian_seals_to_unapproved_or_changed_keys_only_after_approval(
    aggregator: Aggregator, tmp_path: Path
) -> None:
    custodian = CustodianState(tmp_path / "strict-custodian")
    register_custodian(aggregator.db, custodian.init().public)
    ws = aggregator.agent("Nieuw Podium")
    institution_id = ws.load_config().institution_id
    args = ["custodian", "distribute", "--period", PERIOD, "--aggregator", aggregator.url,
            "--state", str(custodian.root), "--token", aggregator.taskforce_token]  # fmt: skip
    first = runner.invoke(app, args)
    assert f"not approved yet: {institution_id}" in first.stdout
    assert "publiek custodian approve --institution ID --key-id KEY_ID" in first.stdout
    custodian.approve(institution_id, "0" * 32)  # a key id the aggregator does not show
    second = runner.invoke(app, args)
    assert f"KEY CHANGED, refused: {institution_id}" in second.stdout


def test_offline_export_import_receipt_and_audit(aggregator: Aggregator, tmp_path: Path) -> None:
    sector = generate_sector(institutions=1, households=1500, seed=3)
    spec = sector.institutions[0]
    exports = write_exports(sector, tmp_path / "agents")
    ws = Workspace(tmp_path / "offline")
    token = aggregator.token(spec.name)
    ran = runner.invoke(
        app,
        ["agent", "enroll", "--aggregator", aggregator.url, "--token", token,
         "--workspace", str(ws.root)],
    )  # fmt: skip
    assert ran.exit_code == 0, ran.output
    wsa = ["--workspace", str(ws.root)]
    # As `agent sector-key fetch` installs it (fetching is tested above).
    ws.install_sector_key(PERIOD, aggregator.custodian.sector_key(PERIOD))
    mapping = tmp_path / "agents" / spec.slug / "mapping.toml"
    assert runner.invoke(app, ["agent", "ingest", str(exports[spec.slug]), "-m", str(mapping),
                               *wsa]).exit_code == 0  # fmt: skip
    envelope = tmp_path / "release.envelope"
    state = ["--state", str(aggregator.settings.state_dir)]
    config = tmp_path / "period-config.json"  # handed out by the taskforce
    ran = runner.invoke(app, ["aggregator", "period", "config", PERIOD, "--out", str(config),
                              *state])  # fmt: skip
    assert ran.exit_code == 0, ran.output
    ran = runner.invoke(app, ["agent", "export", "--period", PERIOD, "--out", str(envelope),
                              "--period-config", str(config), *wsa])  # fmt: skip
    assert ran.exit_code == 0, ran.output
    receipt = tmp_path / "receipt.json"
    ran = runner.invoke(
        app, ["aggregator", "import", str(envelope), "--receipt-out", str(receipt), *state]
    )
    assert ran.exit_code == 0, ran.output
    assert runner.invoke(app, ["agent", "receipt", "add", str(receipt), *wsa]).exit_code == 0
    with sqlite3.connect(ws.db_path) as con:
        assert con.execute("SELECT COUNT(*) FROM receipts").fetchone()[0] == 1
    # What the privacy officer is handed: the kept receipt, exported from the workspace.
    kept = tmp_path / "kept-receipt.json"
    ran = runner.invoke(app, ["agent", "receipt", "export", "--period", PERIOD, "--out", str(kept),
                              *wsa])  # fmt: skip
    assert ran.exit_code == 0, ran.output
    assert json.loads(kept.read_text()) == json.loads(receipt.read_text())
    audit = runner.invoke(
        app,
        ["audit", "verify-log", "--aggregator", aggregator.url, "--receipt", str(kept),
         "--token", aggregator.officer_token],
    )  # fmt: skip
    assert audit.exit_code == 0, audit.output
    assert "receipt ok" in audit.stdout
    none = runner.invoke(app, ["agent", "receipt", "export", "--period", "2026-Q1", "--out",
                               str(tmp_path / "none.json"), *wsa])  # fmt: skip
    assert none.exit_code == 2 and "no receipt for 2026-Q1" in none.stderr


def test_audit_finds_an_altered_saved_log(aggregator: Aggregator, tmp_path: Path) -> None:
    ws = aggregator.agent("Audit Zaal")
    assert post(aggregator.url, seal_for(ws, current_key(aggregator.url))).status_code == 200
    officer = {"authorization": f"Bearer {aggregator.officer_token}"}
    log = httpx.get(f"{aggregator.url}/v1/log", headers=officer).json()
    saved = tmp_path / "log.json"
    saved.write_text(json.dumps(log))
    assert runner.invoke(app, ["audit", "verify-log", "--log", str(saved)]).exit_code == 0
    log["entries"][0]["institution_id"] = "iemand-anders"
    saved.write_text(json.dumps(log))
    ran = runner.invoke(app, ["audit", "verify-log", "--log", str(saved)])
    assert ran.exit_code == 2
    assert "entry 0 was altered" in ran.stderr


def test_audit_with_a_wrong_token_reports_the_servers_problem_on_one_line(
    aggregator: Aggregator,
) -> None:
    ran = runner.invoke(
        app, ["audit", "verify-log", "--aggregator", aggregator.url, "--token", "wrong"]
    )
    assert ran.exit_code == 2
    lines = ran.stderr.strip().splitlines()
    assert len(lines) == 1, ran.stderr
    assert "401 (unauthenticated)" in lines[0]
    assert "the API token is unknown" in lines[0]
    assert "wrong" not in lines[0], "the token is never echoed"


def test_audit_of_an_aggregator_that_is_not_there_says_so_on_one_line() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    ran = runner.invoke(app, ["audit", "verify-log", "--aggregator", url, "--token", "t"])
    assert ran.exit_code == 2
    line = f"error: cannot reach the aggregator at {url} (ConnectError)"
    assert ran.stderr.strip().splitlines() == [
        f"{line} — check the URL and the network, then run the command again"
    ]


def test_the_custodian_with_a_wrong_token_gets_the_servers_problem(
    aggregator: Aggregator,
) -> None:
    with pytest.raises(Unauthenticated, match="unauthenticated"):
        distribute(aggregator.custodian, aggregator.url, PERIOD, token="wrong")


def test_the_agent_client_raises_the_servers_problem_class(aggregator: Aggregator) -> None:
    with AggregatorClient(aggregator.url) as client, pytest.raises(UnknownPeriod):
        client.period_config("2031-Q1")


def test_the_agent_refuses_a_receipt_not_signed_by_the_aggregators_receipt_key(
    aggregator: Aggregator,
) -> None:
    ws = aggregator.agent("Bewijs Zaal")
    genuine = post(aggregator.url, seal_for(ws, current_key(aggregator.url))).json()
    forger = SigningKey.generate()
    body = {**Receipt.from_dict(genuine).body(), "aggregator_key_id": forger.public.key_id}
    forged = {**body, "signature": b64encode(forger.sign(RECEIPT_DOMAIN, canonical_bytes(body)))}
    with pytest.raises(InvalidSignature):
        keep_receipt(ws, forged, submission_id=genuine["submission_id"])
    kept = keep_receipt(ws, genuine, submission_id=genuine["submission_id"])
    assert kept.signature == Receipt.from_dict(genuine).signature


def test_only_the_taskforce_reads_the_custodian_roster(aggregator: Aggregator) -> None:
    aggregator.agent("Rooster Zaal")
    anonymous = httpx.get(f"{aggregator.url}/v1/custodian/recipients")
    officer = httpx.get(
        f"{aggregator.url}/v1/custodian/recipients",
        headers={"authorization": f"Bearer {aggregator.officer_token}"},
    )
    assert (anonymous.status_code, officer.status_code) == (401, 403)


def test_an_institution_cannot_fetch_another_institutions_sealed_key(
    aggregator: Aggregator,
) -> None:
    mine, theirs = aggregator.agent("Eigen Zaal"), aggregator.agent("Andere Zaal")
    other = theirs.load_config().institution_id
    path = f"/v1/sector-keys/{PERIOD}/{other}"
    headers = sign_request(
        SigningKey.load(mine.signing_key_path), mine.load_config().institution_id, "GET", path
    )
    assert httpx.get(f"{aggregator.url}{path}").status_code == 401
    assert httpx.get(f"{aggregator.url}{path}", headers=headers).status_code == 403


def test_a_sealed_key_for_a_former_agent_key_is_refused(aggregator: Aggregator) -> None:
    from protocol.keys import SealPrivateKey, SecretBytes

    ws = aggregator.agent("Oude Sleutel Zaal")
    stale = seal_sector_key(
        SecretBytes(bytes(32)),
        period=PERIOD,
        institution_id=ws.load_config().institution_id,
        recipient=SealPrivateKey.generate().public,  # not the agent's current key
        custodian=aggregator.custodian.signing_key(),
    )
    with pytest.raises(InvalidPayload):
        store_sealed(aggregator.db, [stale])


def test_an_understated_privacy_cost_is_refused_and_nothing_stored(
    aggregator: Aggregator,
) -> None:
    import dataclasses

    ws = aggregator.agent("Zuinig Theater")
    honest = payload(ws)
    table = dataclasses.replace(honest.tables[0], rho=honest.tables[0].rho / 10)
    tables = (table, *honest.tables[1:])
    cheat = dataclasses.replace(
        honest,
        tables=tables,
        privacy=PrivacySpend(rho=sum(t.rho for t in tables), epsilon=0.1, delta=1e-7),
    )
    envelope, _ = seal_submission(
        cheat, signer=SigningKey.load(ws.signing_key_path), recipient=current_key(aggregator.url)
    )
    before = aggregator.rows("submissions")
    refused = post(aggregator.url, envelope)
    assert (refused.status_code, refused.json()["type"]) == (422, InvalidPayload.problem_type())
    assert aggregator.rows("submissions") == before


def test_a_submission_made_with_another_segment_model_than_the_periods_is_refused(
    aggregator: Aggregator,
) -> None:
    """The period names the demo model; a payload of another model the protocol
    knows is refused with its own problem type, and nothing is stored (ADR 0030)."""
    import dataclasses

    ws = aggregator.agent("Ander Model Theater")
    other = dataclasses.replace(payload(ws), segment_model="synthetic-2026.1")
    envelope, _ = seal_submission(
        other, signer=SigningKey.load(ws.signing_key_path), recipient=current_key(aggregator.url)
    )
    before = aggregator.rows("submissions")
    refused = post(aggregator.url, envelope)
    assert (refused.status_code, refused.json()["type"]) == (
        409,
        SegmentModelMismatch.problem_type(),
    )
    assert "segment model synthetic-demo-2026" in refused.json()["detail"]
    assert aggregator.rows("submissions") == before
