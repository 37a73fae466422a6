"""The agent's budget ledger: refuses over-budget releases, never re-draws,
and cannot be edited after the fact."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent import ledger, period_config
from agent.inspect import format_inspection, inspect_submission
from agent.release import prepare_release
from agent.segments import synthetic_demo_model
from agent.tables import ReleaseConfig
from agent.workspace import Workspace
from cli import app
from protocol.envelope import seal_submission
from protocol.errors import InsufficientPrivacyBudget, UnsupportedVersion
from protocol.keys import SealPrivateKey, SigningKey
from protocol.messages import SubmissionPayload

from .conftest import PERIOD, signed_period_config

MODEL = synthetic_demo_model()
CONFIG = ReleaseConfig(rho=0.25, period_budget=0.5)


@pytest.mark.slow  # 0.4 s or more: outside the inner loop (ADR 0032)
def test_repeating_the_same_release_reuses_the_stored_noise_and_spends_nothing(
    workspace: Workspace,
) -> None:
    first = prepare_release(workspace, PERIOD, MODEL, CONFIG)
    again = prepare_release(workspace, PERIOD, MODEL, CONFIG)
    assert not first.reused and again.reused
    assert again.payload == first.payload  # same noisy values, same submission id
    assert ledger.spent(workspace, PERIOD) == pytest.approx(0.25)
    assert len(ledger.entries(workspace, PERIOD)) == 1


def test_a_release_beyond_the_period_budget_is_refused_saying_spent_and_left(
    workspace: Workspace, add_visits: Callable[[str], None]
) -> None:
    prepare_release(workspace, PERIOD, MODEL, CONFIG)
    add_visits("export-2")
    prepare_release(workspace, PERIOD, MODEL, CONFIG)  # new inputs: a second release fits
    add_visits("export-3")
    with pytest.raises(InsufficientPrivacyBudget) as refused:
        prepare_release(workspace, PERIOD, MODEL, CONFIG)
    assert "ρ 0.5 of 0.5 spent, 0 left" in refused.value.detail
    assert "needs 0.25" in refused.value.detail
    assert len(ledger.entries(workspace, PERIOD)) == 2


def test_a_refused_release_records_nothing(workspace: Workspace) -> None:
    with pytest.raises(InsufficientPrivacyBudget):
        prepare_release(workspace, PERIOD, MODEL, ReleaseConfig(rho=0.6, period_budget=0.5))
    assert ledger.entries(workspace) == []


def test_the_stored_release_is_reused_even_after_the_budget_is_spent(
    workspace: Workspace,
) -> None:
    first = prepare_release(workspace, PERIOD, MODEL, ReleaseConfig(rho=0.5, period_budget=0.5))
    again = prepare_release(workspace, PERIOD, MODEL, ReleaseConfig(rho=0.5, period_budget=0.5))
    assert again.reused and again.payload.submission_id == first.payload.submission_id


def test_the_ledger_is_append_only(workspace: Workspace) -> None:
    prepare_release(workspace, PERIOD, MODEL, CONFIG)
    with (
        ledger.connect(workspace) as db,
        pytest.raises(sqlite3.IntegrityError, match="append-only"),
    ):
        db.execute("UPDATE releases SET rho = 0")
    with (
        ledger.connect(workspace) as db,
        pytest.raises(sqlite3.IntegrityError, match="append-only"),
    ):
        db.execute("DELETE FROM releases")
    assert ledger.spent(workspace, PERIOD) == pytest.approx(0.25)


def test_the_total_spend_is_composed_by_opendp_and_reported_as_rho_epsilon_delta(
    workspace: Workspace,
) -> None:
    payload = prepare_release(workspace, PERIOD, MODEL, CONFIG).payload
    assert payload.privacy.rho == pytest.approx(0.25, rel=1e-9)
    assert sum(t.rho for t in payload.tables) == pytest.approx(payload.privacy.rho, rel=1e-9)
    assert 3.5 < payload.privacy.epsilon < 4.0 and payload.privacy.delta == 1e-7


def test_agent_budget_shows_the_ledger(workspace: Workspace) -> None:
    # the default release config: one submission spends the default budget (ε = 1)
    payload = prepare_release(workspace, PERIOD, MODEL, ReleaseConfig()).payload
    result = CliRunner().invoke(app, ["agent", "budget", "--workspace", str(workspace.root)])
    assert result.exit_code == 0
    assert f"period {PERIOD}: ρ 0.0201871 of 0.0201871 spent, 0 left" in result.output
    assert payload.submission_id in result.output


def test_agent_budget_refuses_a_folder_that_is_not_a_workspace(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["agent", "budget", "--workspace", str(tmp_path / "none")])
    assert result.exit_code == 2
    assert "is not an agent workspace" in result.output
    assert not (tmp_path / "none").exists()


def test_the_budget_is_rechecked_when_recording_a_drawn_release(workspace: Workspace) -> None:
    # Two releases drawn at once both pass the early check; the second to be
    # recorded is refused inside the ledger's write lock.
    first = prepare_release(workspace, PERIOD, MODEL, ReleaseConfig(rho=0.3, period_budget=0.5))
    drawn_meanwhile = replace(first.payload, submission_id="ab" * 16)
    with pytest.raises(InsufficientPrivacyBudget, match=r"0\.3 of 0\.5 spent"):
        ledger.record(workspace, "another-digest", drawn_meanwhile, budget=0.5)
    assert [e.submission_id for e in ledger.entries(workspace)] == [first.payload.submission_id]


def _as_written_before_the_upgrade(
    workspace: Workspace, payload: SubmissionPayload, version: str = "publiek/1"
) -> None:
    """Make the ledger's one row what an agent of an earlier version wrote: that
    version's payload (no ``catchment_origin``, which publiek/3 added, nor
    ``sketch`` and ``named_overlaps``, which publiek/4 added) in Python's
    json.dumps (publiek/1's encoding; the ledger keeps the bytes it was given,
    so for publiek/2 and 3 only the member set matters here)."""
    earlier = {**payload.to_dict(), "version": version}
    del earlier["sketch"], earlier["named_overlaps"]
    if version != "publiek/3":
        del earlier["catchment_origin"]
    blob = json.dumps(earlier, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    with sqlite3.connect(workspace.db_path) as db:
        db.execute("DROP TRIGGER releases_no_update")  # put back by the next ledger.connect
        db.execute("UPDATE releases SET plaintext = ?", (blob.encode(),))


def test_a_release_drawn_under_publiek_1_is_shown_and_counted_but_never_resent(
    workspace: Workspace,
) -> None:
    drawn = prepare_release(workspace, PERIOD, MODEL, CONFIG).payload
    _as_written_before_the_upgrade(workspace, drawn)
    [entry] = ledger.entries(workspace, PERIOD)
    assert entry.payload.version == "publiek/1"
    assert entry.payload.tables == drawn.tables and entry.payload.privacy.delta == 1e-7
    assert ledger.spent(workspace, PERIOD) == pytest.approx(0.25)
    with pytest.raises(UnsupportedVersion, match="drawn under publiek/1"):
        prepare_release(workspace, PERIOD, MODEL, CONFIG)  # the same inputs: no new draw
    with pytest.raises(UnsupportedVersion):
        seal_submission(
            entry.payload, signer=SigningKey.generate(), recipient=SealPrivateKey.generate().public
        )
    shown = format_inspection(inspect_submission(workspace, drawn.submission_id))
    assert "drawn under publiek/1" in shown
    assert len(ledger.entries(workspace)) == 1


def test_a_release_drawn_under_publiek_2_reads_back_without_a_catchment_origin(
    workspace: Workspace,
) -> None:
    drawn = prepare_release(workspace, PERIOD, MODEL, CONFIG).payload
    _as_written_before_the_upgrade(workspace, drawn, "publiek/2")
    [entry] = ledger.entries(workspace, PERIOD)
    assert (entry.payload.version, entry.payload.catchment_origin) == ("publiek/2", None)
    assert "catchment_origin" not in entry.payload.to_dict()
    assert ledger.spent(workspace, PERIOD) == pytest.approx(0.25)
    with pytest.raises(UnsupportedVersion, match="drawn under publiek/2"):
        prepare_release(workspace, PERIOD, MODEL, CONFIG)


def test_a_release_drawn_under_publiek_3_reads_back_without_a_sketch(
    workspace: Workspace,
) -> None:
    drawn = prepare_release(workspace, PERIOD, MODEL, CONFIG).payload
    _as_written_before_the_upgrade(workspace, drawn, "publiek/3")
    [entry] = ledger.entries(workspace, PERIOD)
    assert entry.payload.version == "publiek/3"
    assert (entry.payload.sketch, entry.payload.named_overlaps) == (None, False)
    assert entry.payload.catchment_origin == drawn.catchment_origin
    assert {"sketch", "named_overlaps"}.isdisjoint(entry.payload.to_dict())
    assert ledger.spent(workspace, PERIOD) == pytest.approx(0.25)
    with pytest.raises(UnsupportedVersion, match="drawn under publiek/3"):
        prepare_release(workspace, PERIOD, MODEL, CONFIG)


def test_a_period_config_cached_under_publiek_1_counts_as_absent(workspace: Workspace) -> None:
    signed_period_config(workspace)
    path = period_config.cache_path(workspace, PERIOD)
    doc = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**doc, "version": "publiek/1"}), encoding="utf-8")
    assert period_config.cached(workspace, PERIOD) is None
