"""Segment model releases from the taskforce to the agent over a live aggregator
(issue 16, ADR 0027): published under the registered model key, named by the
period the taskforce opens (ADR 0030), fetched and verified under the pinned
one, and used for a submission."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.segment_install import CACHE_NAME, release_path
from agent.workspace import Workspace
from aggregator.custodian import register_custodian
from aggregator.enrollment import create_token
from aggregator.settings import Settings
from aggregator.storage import Database
from cli import app
from custodian.state import CustodianState
from demo.run import aggregator_process
from demo.sector import PERIOD, generate_sector, write_exports
from protocol.keys import SigningKey
from tests.aggregator.conftest import make_aggregator
from tests.small_release import small_release, tampered

# End to end over a live aggregator: `pytest -m "not slow"` leaves it out.
pytestmark = pytest.mark.slow

runner = CliRunner()
MODEL_KEY = SigningKey.generate()  # the taskforce's model key, in this test
VERSION = "synthetic-2026.1"


@dataclass
class Live:
    url: str
    settings: Settings
    db: Database
    custodian: CustodianState
    root: Path

    def cli(self, *args: str) -> object:
        return runner.invoke(app, [*args])

    def aggregator(self, *args: str) -> object:
        return runner.invoke(app, ["aggregator", *args, "--state", str(self.settings.state_dir)])

    def enrolled(self, name: str) -> Workspace:
        token = create_token(
            self.db, name=name, discipline="theater", province="utrecht",
            valid_for=timedelta(hours=1),
        )[1]  # fmt: skip
        ws = Workspace(self.root / "agents" / name)
        ran = runner.invoke(app, ["agent", "enroll", "--aggregator", self.url, "--token", token,
                                  "--workspace", str(ws.root)])  # fmt: skip
        assert ran.exit_code == 0, ran.output  # type: ignore[attr-defined]
        return ws


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    root = tmp_path_factory.mktemp("segment-models")
    # The period is opened in the test, once the release it names is published.
    state = make_aggregator(root / "aggregator", period=None)
    custodian = CustodianState(root / "custodian")
    register_custodian(state.db, custodian.init().public)
    with aggregator_process(state.settings, lambda _: None) as url:
        yield Live(url, state.settings, state.db, custodian, root)


def publish(live: Live, data: bytes, name: str) -> object:
    file = live.root / name
    file.write_bytes(data)
    return live.aggregator("segment-model", "publish", str(file))


def ws_args(ws: Workspace) -> list[str]:
    return ["-w", str(ws.root)]


def test_a_published_release_is_fetched_verified_and_used_for_a_submission(
    live: Live, tmp_path: Path
) -> None:
    registered = live.aggregator(
        "segment-model", "register-key", "--key", MODEL_KEY.public.to_text()
    )
    assert registered.exit_code == 0, registered.output  # type: ignore[attr-defined]
    unpublished = live.aggregator("period", "open", PERIOD, "--segment-model", VERSION)
    assert unpublished.exit_code == 2  # type: ignore[attr-defined]
    assert f"segment model {VERSION} is not published" in unpublished.stderr  # type: ignore[attr-defined]
    refused = publish(live, tampered(small_release(MODEL_KEY)), "tampered.segments")
    assert refused.exit_code == 2  # type: ignore[attr-defined]
    assert "altered after it was signed" in refused.stderr  # type: ignore[attr-defined]
    published = publish(live, small_release(MODEL_KEY), f"{VERSION}.segments")
    assert published.exit_code == 0, published.output  # type: ignore[attr-defined]
    opened = live.aggregator("period", "open", PERIOD, "--rho", "0.5")
    assert opened.exit_code == 0, opened.output  # type: ignore[attr-defined]
    assert f"segment model {VERSION}, release" in opened.stdout  # type: ignore[attr-defined]

    sector = generate_sector(institutions=1, households=1500, seed=5)
    spec = sector.institutions[0]
    exports = write_exports(sector, tmp_path / "exports")
    ws = live.enrolled(spec.name)
    ws.install_sector_key(PERIOD, live.custodian.sector_key(PERIOD))
    mapping = tmp_path / "exports" / spec.slug / "mapping.toml"
    ingested = live.cli("agent", "ingest", str(exports[spec.slug]), "-m", str(mapping),
                        *ws_args(ws))  # fmt: skip
    assert ingested.exit_code == 0, ingested.output  # type: ignore[attr-defined]
    # Without the period's model installed, nothing is drawn: the agent names the fix.
    demo = live.cli("agent", "submit", "--period", PERIOD, *ws_args(ws))
    assert demo.exit_code == 2  # type: ignore[attr-defined]
    assert f"releases with segment model {VERSION}" in demo.stderr  # type: ignore[attr-defined]
    assert f"segment-model fetch --version {VERSION}" in demo.stderr  # type: ignore[attr-defined]

    unpinned = live.cli("agent", "segment-model", "fetch", "--version", VERSION, *ws_args(ws))
    assert unpinned.exit_code == 2  # type: ignore[attr-defined]
    assert "no segment model key is pinned" in unpinned.stderr  # type: ignore[attr-defined]
    assert not release_path(ws).exists()

    pinned = live.cli("agent", "segment-model", "pin-key", "--model-key",
                      MODEL_KEY.public.to_text(), *ws_args(ws))  # fmt: skip
    assert pinned.exit_code == 0, pinned.output  # type: ignore[attr-defined]
    unknown = live.cli("agent", "segment-model", "fetch", "--version", "other-2026", *ws_args(ws))
    assert unknown.exit_code == 2  # type: ignore[attr-defined]
    assert "no segment model other-2026 is published" in unknown.stderr  # type: ignore[attr-defined]
    fetched = live.cli("agent", "segment-model", "fetch", "--version", VERSION, *ws_args(ws))
    assert fetched.exit_code == 0, fetched.output  # type: ignore[attr-defined]
    assert f"installed segment model {VERSION} (synthetic)" in fetched.stdout  # type: ignore[attr-defined]
    assert release_path(ws).read_bytes() == small_release(MODEL_KEY)
    # Fetched and verified: the ingest reads its tables from the cache, not verifying again.
    assert (ws.root / CACHE_NAME / "model.json").exists()

    submitted = live.cli("agent", "submit", "--period", PERIOD, *ws_args(ws))
    assert submitted.exit_code == 0, submitted.output  # type: ignore[attr-defined]
    assert f"synthetic segment model ({VERSION})" in submitted.stderr  # type: ignore[attr-defined]
    institution_id = ws.load_config().institution_id
    with sqlite3.connect(live.settings.state_dir / "aggregator.db") as con:
        (payload,) = con.execute(
            "SELECT payload FROM submissions WHERE institution_id = ?", (institution_id,)
        ).fetchone()
    assert json.loads(payload)["segment_model"] == VERSION


def test_a_release_the_aggregator_altered_is_refused_by_the_agent(live: Live) -> None:
    """An aggregator that swaps the stored bytes (or a network in between) gets
    nothing past the agent: it verifies under its own pinned key."""
    version = "synthetic-altered"
    data = small_release(MODEL_KEY, version)
    live.aggregator("segment-model", "register-key", "--key", MODEL_KEY.public.to_text())
    assert publish(live, data, f"{version}.segments").exit_code == 0  # type: ignore[attr-defined]
    with sqlite3.connect(live.settings.state_dir / "aggregator.db") as con:
        con.execute(
            "UPDATE segment_model_releases SET content = ? WHERE version = ?",
            (tampered(data), version),
        )
    ws = live.enrolled("Wantrouwig Theater")
    assert live.cli("agent", "segment-model", "pin-key", "--model-key",
                    MODEL_KEY.public.to_text(), *ws_args(ws)).exit_code == 0  # type: ignore[attr-defined]  # fmt: skip
    fetched = live.cli("agent", "segment-model", "fetch", "--version", version, *ws_args(ws))
    assert fetched.exit_code == 2  # type: ignore[attr-defined]
    assert "altered after it was signed" in fetched.stderr  # type: ignore[attr-defined]
    assert not release_path(ws).exists()
