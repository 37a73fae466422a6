"""``publiek agent inspect`` shows what left and checks the envelope against it."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from agent.inspect import inspect_submission
from agent.release import prepare_release, seal_to_outbox
from agent.segments import synthetic_demo_model
from agent.tables import ReleaseConfig, table_names
from agent.workspace import Workspace
from cli import app
from protocol.encoding import canonical_bytes
from protocol.keys import SealPrivateKey

from .conftest import PERIOD

MODEL = synthetic_demo_model()


def _release(workspace: Workspace) -> str:
    return prepare_release(workspace, PERIOD, MODEL, ReleaseConfig()).payload.submission_id


def test_a_release_not_yet_sealed_shows_what_would_leave(workspace: Workspace) -> None:
    inspection = inspect_submission(workspace, _release(workspace))
    assert not inspection.sealed and inspection.checks == ()
    assert tuple(t.name for t in inspection.payload.tables) == table_names()


def test_a_sealed_envelope_matches_its_kept_plaintext(workspace: Workspace) -> None:
    submission_id = _release(workspace)
    payload = inspect_submission(workspace, submission_id).payload
    seal_to_outbox(workspace, payload, SealPrivateKey.generate().public)
    inspection = inspect_submission(workspace, submission_id)
    assert inspection.sealed and inspection.matches
    assert len(inspection.checks) == 4  # no receipt stored yet


def test_an_altered_kept_plaintext_no_longer_matches(workspace: Workspace) -> None:
    submission_id = _release(workspace)
    payload = inspect_submission(workspace, submission_id).payload
    envelope = seal_to_outbox(workspace, payload, SealPrivateKey.generate().public)
    kept = envelope.with_suffix(".plaintext.json")
    doc = json.loads(kept.read_bytes())
    doc["payload"]["tables"][0]["values"][0] += 1
    kept.write_bytes(canonical_bytes(doc))
    inspection = inspect_submission(workspace, submission_id)
    assert not inspection.matches
    failed = {c.what for c in inspection.checks if not c.ok}
    assert "kept plaintext carries the ledger's payload" in failed


def test_per_table_spends_recompose_to_the_declared_total(workspace: Workspace) -> None:
    inspection = inspect_submission(workspace, _release(workspace))
    assert inspection.recomputed.rho == pytest.approx(inspection.payload.privacy.rho, rel=1e-9)
    assert inspection.recomputed.epsilon == pytest.approx(
        inspection.payload.privacy.epsilon, rel=1e-9
    )
    for table, spend in zip(inspection.payload.tables, inspection.table_spends, strict=True):
        assert spend.rho == pytest.approx(table.rho, rel=1e-9)


def test_the_inspect_command_prints_tables_bounds_spend_and_verdict(workspace: Workspace) -> None:
    submission_id = _release(workspace)
    payload = inspect_submission(workspace, submission_id).payload
    envelope = seal_to_outbox(workspace, payload, SealPrivateKey.generate().public)
    result = CliRunner().invoke(
        app, ["agent", "inspect", str(envelope), "--workspace", str(workspace.root)]
    )
    assert result.exit_code == 0, result.output
    for text in (
        "segment model synthetic-demo-2026",
        "catchment origin (the institution's own PC4) none",
        "max_visits_per_household=12",
        "table households_by_returning",
        "discrete_gaussian",
        "sealed envelope matches this plaintext",
    ):
        assert text in result.output


def test_an_envelope_without_its_kept_plaintext_does_not_match(workspace: Workspace) -> None:
    submission_id = _release(workspace)
    payload = inspect_submission(workspace, submission_id).payload
    envelope = seal_to_outbox(workspace, payload, SealPrivateKey.generate().public)
    envelope.with_suffix(".plaintext.json").unlink()
    result = CliRunner().invoke(
        app, ["agent", "inspect", submission_id, "--workspace", str(workspace.root)]
    )
    assert result.exit_code == 1
    assert "DOES NOT match" in result.output


@pytest.mark.slow
def test_a_discrete_laplace_release_also_shows_its_pure_dp_epsilon(workspace: Workspace) -> None:
    config = ReleaseConfig(mechanism="discrete_laplace")
    submission_id = prepare_release(workspace, PERIOD, MODEL, config).payload.submission_id
    inspection = inspect_submission(workspace, submission_id)
    assert inspection.pure_epsilon is not None
    # ρ = ε²/2 per table under pure → zCDP: the composed pure ε is Σ √(2ρ_table)
    tables = inspection.payload.tables
    assert inspection.pure_epsilon == pytest.approx(sum((2 * t.rho) ** 0.5 for t in tables))
    assert inspection.pure_epsilon < inspection.payload.privacy.epsilon
