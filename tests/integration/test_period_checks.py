"""A release is drawn only for a period that will accept it (issue 12).

Against a real aggregator process on 127.0.0.1: ``agent submit`` checks the
signed period config and the institution's standing before drawing noise, so
a submission to an unknown or published period, by a revoked institution or
over a budget the aggregator already counts, spends nothing in the agent's
ledger; a retry of an accepted submission still gets its receipt. Only
commands and modules an operator would use; the first tests use nothing
newer than the CLI, so they also run against the code before issue 12
(where they fail: the ledger is charged for a release nobody accepts).
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agent.client import AggregatorClient
from agent.enrollment import enroll
from agent.ingest import ingest_exports
from agent.ingest.mapping import Mapping
from agent.ledger import spent
from agent.segments import synthetic_demo_model
from agent.submit import submit_period
from agent.workspace import Workspace
from aggregator.enrollment import create_token
from aggregator.periods import close_period, open_period, publish_period
from aggregator.settings import Settings
from aggregator.storage import Database
from cli import app
from demo.run import aggregator_process
from demo.sector import PERIOD, Sector, generate_sector, write_exports
from dp.measurements import GAUSSIAN, TableRequest, release_tables, rho_for_epsilon
from dp.release_design import (
    DEFAULT_BOUNDS,
    TABLE_DESIGN,
    TableDesign,
    labels,
    rho_share,
    sensitivity,
)
from protocol.envelope import parse_envelope, seal_submission
from protocol.keys import SealPublicKey, SecretBytes, SigningKey
from protocol.messages import SubmissionPayload
from tests.aggregator.conftest import make_aggregator

# End to end over a live aggregator: `pytest -m "not slow"` leaves it out.
pytestmark = pytest.mark.slow

runner = CliRunner()
NAMES = tuple(f"Zaal {n}" for n in range(1, 11))
SECTOR_KEY = SecretBytes(bytes(range(32)))


@dataclass
class World:
    url: str
    settings: Settings
    db: Database
    sector: Sector
    exports: dict[str, Path]
    root: Path
    used: int = 0

    def agent(self) -> Workspace:
        """A newly enrolled agent with one institution's export ingested for PERIOD."""
        spec, name = self.sector.institutions[self.used], NAMES[self.used]
        self.used += 1
        token = create_token(
            self.db, name=name, discipline=spec.discipline, province=spec.province,
            valid_for=timedelta(hours=1),
        )[1]  # fmt: skip
        ws = Workspace(self.root / "agents" / spec.slug / "ws")
        enroll(ws, self.url, token)
        # This world has no custodian: the key stands in for the fetched one.
        ws.install_sector_key(PERIOD, SECTOR_KEY)
        mapping = Mapping.load(self.root / "exports" / spec.slug / "mapping.toml")
        ingest_exports([self.exports[spec.slug]], mapping, ws)
        return ws

    def state(self) -> list[str]:
        return ["--state", str(self.settings.state_dir)]


def ledger_rows(ws: Workspace) -> int:
    with sqlite3.connect(ws.db_path) as con:
        return int(con.execute("SELECT COUNT(*) FROM releases").fetchone()[0])


def submit(ws: Workspace, period: str = PERIOD) -> Any:
    return runner.invoke(app, ["agent", "submit", "--period", period, "-w", str(ws.root)])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """An aggregator where PERIOD is not opened yet (the tests open it in turn)."""
    root = tmp_path_factory.mktemp("period-checks")
    state = make_aggregator(root / "aggregator", period=None)
    settings, db = state.settings, state.db
    sector = generate_sector(institutions=len(NAMES), households=900, seed=12)
    exports = write_exports(sector, root / "exports")
    with aggregator_process(settings, lambda _: None) as url:
        yield World(url=url, settings=settings, db=db, sector=sector, exports=exports, root=root)


def test_a_submit_to_an_unknown_period_spends_nothing(world: World) -> None:
    ws = world.agent()
    refused = submit(ws)
    assert refused.exit_code == 2
    assert (
        f"period {PERIOD} has not been opened at the aggregator; nothing was drawn"
        in refused.stderr
    )
    assert ledger_rows(ws) == 0  # before issue 12: one release drawn and charged


def test_once_open_a_submit_spends_exactly_the_period_budget(world: World) -> None:
    # k = 1: this small world publishes PERIOD later with three institutions
    open_period(world.db, PERIOD, rho_budget=Settings(state_dir=world.root).period_rho, k=1)
    ws = world.agent()
    accepted = submit(ws)
    assert accepted.exit_code == 0, accepted.output
    assert "synthetic demo segment model" in accepted.stderr  # issue 15: named on every run
    assert spent(ws, PERIOD) == pytest.approx(rho_for_epsilon(1.0, 1e-7))
    assert (ws.root / "period-configs" / f"{PERIOD}.json").exists()
    again = submit(ws)  # same inputs: resent, no new noise
    assert again.exit_code == 0 and "stored release reused" in again.stdout
    status = runner.invoke(app, ["agent", "status", "-w", str(ws.root)])
    assert status.exit_code == 0, status.output
    assert f"period {PERIOD}: sector key fetched" in status.stdout
    assert "receipt: log index" in status.stdout and "ingested exports: 1" in status.stdout


def test_a_revoked_institution_draws_nothing(world: World) -> None:
    ws = world.agent()
    institution = ws.load_config().institution_id
    assert (
        runner.invoke(
            app, ["aggregator", "institution", "revoke", institution, *world.state()]
        ).exit_code
        == 0
    )
    refused = submit(ws)
    assert refused.exit_code == 2 and "revoked" in refused.stderr
    assert ledger_rows(ws) == 0


def first_key(design: TableDesign) -> tuple[str, ...]:
    """The first cell of the table's key set: intake checks every label against it."""
    return tuple(
        labels(d, segment_model="synthetic-demo-2026", period=PERIOD)[0] for d in design.dimensions
    )


def test_a_budget_the_aggregator_counts_as_spent_draws_nothing(world: World) -> None:

    ws = world.agent()
    # half the budget, spent by a release made elsewhere
    half = Settings(state_dir=world.root).period_rho / 2
    requests = [
        TableRequest(
            name=t.name, measure=t.measure, dimensions=t.dimensions,
            keys=(first_key(t),), values=(5,),
            sensitivity=sensitivity(t.name, DEFAULT_BOUNDS, GAUSSIAN), rho=rho_share(t.name, half),
        )
        for t in TABLE_DESIGN
    ]  # fmt: skip
    tables, spend = release_tables(requests)
    rho = spend.rho
    other = SubmissionPayload(
        institution_id=ws.load_config().institution_id, period=PERIOD,
        submission_id=secrets.token_hex(16), created_at="2026-10-01T00:00:00+00:00",
        segment_model="synthetic-demo-2026", catchment_origin=None,
        bounds=dict(DEFAULT_BOUNDS),
        tables=tables, privacy=spend,
    )  # fmt: skip
    with AggregatorClient(world.url) as client:
        envelope, _ = seal_submission(
            other, signer=SigningKey.load(ws.signing_key_path), recipient=client.current_key()
        )
        client.submit(envelope)
    refused = submit(ws)
    assert refused.exit_code == 2, refused.output
    assert f"ρ {rho:g} of" in refused.stderr and "nothing was drawn" in refused.stderr
    assert ledger_rows(ws) == 0


def test_a_local_cap_above_the_budget_is_refused_before_drawing(world: World) -> None:
    ws = world.agent()
    (ws.root / "release.toml").write_text("rho = 0.5\n")
    refused = submit(ws)
    assert refused.exit_code == 2
    assert "rho 0.5 is above the period's budget" in refused.stderr
    assert ledger_rows(ws) == 0


def test_offline_export_needs_the_signed_period_config(world: World, tmp_path: Path) -> None:

    ws = world.agent()
    wsa = ["-w", str(ws.root)]
    out = ["--period", PERIOD, "--out", str(tmp_path / "release.envelope")]
    missing = runner.invoke(app, ["agent", "export", *out, *wsa])
    assert missing.exit_code == 2 and "no signed period config" in missing.stderr
    assert ledger_rows(ws) == 0
    config = tmp_path / "config.json"
    ran = runner.invoke(
        app, ["aggregator", "period", "config", PERIOD, "--out", str(config), *world.state()]
    )
    assert ran.exit_code == 0, ran.output
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps({**json.loads(config.read_text()), "rho_budget": 5.0}))
    refused = runner.invoke(app, ["agent", "export", *out, "--period-config", str(forged), *wsa])
    assert refused.exit_code == 2 and "signature" in refused.stderr
    assert ledger_rows(ws) == 0
    ran = runner.invoke(app, ["agent", "export", *out, "--period-config", str(config), *wsa])
    assert ran.exit_code == 0, ran.output
    assert ledger_rows(ws) == 1
    assert (ws.root / "period-configs" / f"{PERIOD}.json").exists()
    again = runner.invoke(app, ["agent", "export", *out, *wsa])  # now from the cache
    assert again.exit_code == 0 and ledger_rows(ws) == 1


def test_an_envelope_sealed_to_a_since_retired_key_is_resealed_with_the_same_release(
    world: World, tmp_path: Path
) -> None:
    ws = world.agent()
    config = tmp_path / "config.json"
    ran = runner.invoke(
        app, ["aggregator", "period", "config", PERIOD, "--out", str(config), *world.state()]
    )
    assert ran.exit_code == 0, ran.output
    out = ["--out", str(tmp_path / "release.envelope"), "--period-config", str(config)]
    ran = runner.invoke(app, ["agent", "export", "--period", PERIOD, *out, "-w", str(ws.root)])
    assert ran.exit_code == 0, ran.output
    (envelope,) = ws.outbox_dir.glob("*.envelope")
    old = parse_envelope(envelope.read_bytes()).header.kem_key_id
    new = runner.invoke(app, ["aggregator", "key", "create", *world.state()]).stdout.strip()
    assert runner.invoke(app, ["aggregator", "key", "activate", new, *world.state()]).exit_code == 0
    assert runner.invoke(app, ["aggregator", "key", "retire", old, *world.state()]).exit_code == 0
    sent = submit(ws)  # before issue 15: retired-key on every submit until moved by hand
    assert sent.exit_code == 0, sent.output
    assert "stored release reused" in sent.stdout
    assert ledger_rows(ws) == 1  # the same release: no new noise, no new spending
    assert list(ws.outbox_dir.glob("*.envelope")) == [envelope]
    assert parse_envelope(envelope.read_bytes()).header.kem_key_id == new


class RotatingClient(AggregatorClient):
    """An agent's client during which the aggregator rotates its key once: right
    after the agent fetched the current key, before it sends the envelope sealed
    to it (the race between an agent and the taskforce's key rotation)."""

    def __init__(self, url: str, rotate: Callable[[str], None]) -> None:
        super().__init__(url)
        self.rotate: Callable[[str], None] | None = rotate

    def current_key(self) -> SealPublicKey:
        key = super().current_key()
        if self.rotate is not None:
            rotate, self.rotate = self.rotate, None
            rotate(key.key_id)
        return key


def test_a_key_retired_between_fetch_and_send_is_resealed_to_the_key_published_after(
    world: World,
) -> None:
    ws = world.agent()
    created: list[str] = []

    def rotate(fetched: str) -> None:
        new = runner.invoke(app, ["aggregator", "key", "create", *world.state()]).stdout.strip()
        for step in (["activate", new], ["retire", fetched]):
            ran = runner.invoke(app, ["aggregator", "key", *step, *world.state()])
            assert ran.exit_code == 0, ran.output
        created.append(new)

    with RotatingClient(world.url, rotate) as client:
        # before the fix: resealed to the key just refused, and refused again
        done = submit_period(ws, PERIOD, synthetic_demo_model(), client=client)
    assert done.receipt["log_index"] >= 0
    (envelope,) = ws.outbox_dir.glob("*.envelope")
    assert parse_envelope(envelope.read_bytes()).header.kem_key_id == created[0]
    assert ledger_rows(ws) == 1


def test_a_submit_to_a_published_period_spends_nothing_and_a_retry_still_works(
    world: World,
) -> None:
    early, late = world.agent(), world.agent()
    accepted = submit(early)
    assert accepted.exit_code == 0, accepted.output
    assert ledger_rows(early) == 1
    close_period(world.db, PERIOD, k=1)
    publish_period(world.db, PERIOD)
    refused = submit(late)
    assert refused.exit_code == 2
    assert "published" in refused.stderr
    assert ledger_rows(late) == 0  # before issue 12: one release drawn and charged
    retry = submit(early)  # the same inputs: the stored release is resent, its receipt returned
    assert retry.exit_code == 0, retry.output
    assert "stored release reused" in retry.stdout
    assert ledger_rows(early) == 1
