"""A period names its segment model release (ADR 0030): the taskforce opens it
with a published release (or the built-in demo model), intake refuses any
other model, and the benchmarks never combine two."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from aggregator import benchmarks
from aggregator.intake import Intake
from aggregator.penetration_inputs import stored_population
from aggregator.periods import get_period, open_period, period_config
from aggregator.segment_models import publish_release, register_model_key
from aggregator.storage import Period, SegmentModelRelease, Submission
from cli import app
from protocol.errors import MalformedMessage, NotFound, SegmentModelMismatch, UsageError
from protocol.keys import SigningKey
from protocol.messages import DEMO_SEGMENT_MODEL
from protocol.period_config import verify_period_config
from tests.small_release import small_release

MODEL_KEY = SigningKey.generate()
VERSION = "synthetic-2026.1"
SPECS = [(f"Theater M{i}", "theater", "utrecht", "small") for i in range(3)]


def publish(agg: Any) -> str:
    register_model_key(agg.db, MODEL_KEY.public)
    release, _ = publish_release(agg.db, small_release(MODEL_KEY), where="test")
    return release.digest


def stored(agg: Any) -> int:
    with agg.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Submission)) or 0)


def test_without_a_published_release_a_period_names_the_demo_model_and_no_digest(
    sqlite_aggregator: Any,
) -> None:
    config = period_config(get_period(sqlite_aggregator.db, "2026-Q3"),
                           sqlite_aggregator.keyring.receipt_key())  # fmt: skip
    assert (config.segment_model, config.segment_model_digest) == (DEMO_SEGMENT_MODEL, None)
    verify_period_config(config, sqlite_aggregator.keyring.receipt_key().public)


@pytest.mark.slow  # 0.4 s or more: outside the inner loop (ADR 0032)
def test_by_default_a_period_names_the_release_published_last_with_its_digest(
    sqlite_aggregator: Any,
) -> None:
    digest = publish(sqlite_aggregator)
    open_period(sqlite_aggregator.db, "2026-Q4", rho_budget=0.5)
    config = period_config(get_period(sqlite_aggregator.db, "2026-Q4"),
                           sqlite_aggregator.keyring.receipt_key())  # fmt: skip
    assert (config.segment_model, config.segment_model_digest) == (VERSION, digest)


def test_the_demo_model_can_still_be_named_once_a_release_is_published(
    sqlite_aggregator: Any,
) -> None:
    publish(sqlite_aggregator)
    opened = open_period(
        sqlite_aggregator.db, "2026-Q4", rho_budget=0.5, segment_model=DEMO_SEGMENT_MODEL
    )
    assert (opened.segment_model, opened.segment_model_digest) == (DEMO_SEGMENT_MODEL, None)


def test_a_period_naming_a_model_not_published_here_is_refused(
    sqlite_aggregator: Any, tmp_path: Path
) -> None:
    with pytest.raises(UsageError, match=f"segment model {VERSION} is not published"):
        open_period(sqlite_aggregator.db, "2026-Q4", rho_budget=0.5, segment_model=VERSION)
    state = ["--state", str(sqlite_aggregator.settings.state_dir)]
    ran = CliRunner().invoke(
        app, ["aggregator", "period", "open", "2027-Q1", "--segment-model", VERSION, *state]
    )
    assert ran.exit_code == 2
    assert "publiek aggregator segment-model publish" in ran.stderr


def test_a_period_naming_an_unknown_model_is_refused(sqlite_aggregator: Any) -> None:
    with pytest.raises(UsageError, match="not one this release of Publiek knows"):
        open_period(sqlite_aggregator.db, "2026-Q4", rho_budget=0.5, segment_model="other-2026")


def test_intake_refuses_a_submission_of_another_model_than_the_periods(
    sqlite_aggregator: Any, kit: Any
) -> None:
    (agent,) = kit.enroll(sqlite_aggregator.db, SPECS[:1])
    other = dataclasses.replace(agent.payload(), segment_model=VERSION)
    with pytest.raises(SegmentModelMismatch, match="releases with segment model synthetic-demo"):
        Intake(sqlite_aggregator.db, sqlite_aggregator.keyring).accept(
            agent.seal(other, sqlite_aggregator.recipient)
        )
    assert stored(sqlite_aggregator) == 0


def test_two_segment_models_are_never_combined_in_one_benchmark(
    sqlite_aggregator: Any, kit: Any
) -> None:
    """A period opened before periods named a model takes any model at intake;
    its benchmarks count the model of its first stored submission and leave the
    other out, with the reason, like a poisoned submission (ADR 0020)."""
    db = sqlite_aggregator.db
    with db.session() as s:
        s.execute(update(Period).values(segment_model=None, segment_model_digest=None))
    agents = kit.enroll(db, SPECS)
    intake = Intake(db, sqlite_aggregator.keyring)
    for agent in agents[:2]:
        intake.accept(agent.seal(agent.payload(), sqlite_aggregator.recipient))
    late = dataclasses.replace(agents[2].payload(), segment_model=VERSION)
    intake.accept(agents[2].seal(late, sqlite_aggregator.recipient))
    assert stored(sqlite_aggregator) == 3

    with db.session() as s:
        result = benchmarks.compute(s, kit.PERIOD, k=1)
    [left_out] = result.left_out
    assert (left_out.submission_id, left_out.institution_id) == (
        late.submission_id,
        agents[2].institution_id,
    )
    assert "two segment models are never combined" in left_out.reason
    assert agents[2].institution_id not in result.assignment


def test_submissions_stored_under_another_model_than_the_period_names_are_left_out(
    sqlite_aggregator: Any, kit: Any
) -> None:
    """Stored before the period named its model: the period's model is the one
    counted, whatever came first."""
    db = sqlite_aggregator.db
    agents = kit.enroll(db, SPECS[:2])
    intake = Intake(db, sqlite_aggregator.keyring)
    for agent in agents:
        intake.accept(agent.seal(agent.payload(), sqlite_aggregator.recipient))
    with db.session() as s:
        s.execute(update(Period).values(segment_model=VERSION, segment_model_digest="a" * 64))
        result = benchmarks.compute(s, kit.PERIOD, k=1)
    assert {x.institution_id for x in result.left_out} == {a.institution_id for a in agents}
    assert result.assignment == {}


def test_the_population_is_built_only_from_a_release_that_matches_its_listing(
    sqlite_aggregator: Any,
) -> None:
    """The population cache is keyed by the listed digest: a row whose bytes are
    another release than its listing says is refused, never cached under it."""
    publish(sqlite_aggregator)
    with sqlite_aggregator.db.session() as s:
        s.execute(
            update(SegmentModelRelease)
            .where(SegmentModelRelease.version == VERSION)
            .values(digest="0" * 64)
        )
    with sqlite_aggregator.db.session() as s, pytest.raises(MalformedMessage, match="listing"):
        stored_population(s, VERSION)
    with sqlite_aggregator.db.session() as s, pytest.raises(NotFound, match="demo model"):
        stored_population(s, DEMO_SEGMENT_MODEL)
