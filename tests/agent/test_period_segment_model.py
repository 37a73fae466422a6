"""The agent releases with the segment model its period names (ADR 0030), and
says on the wire which PC4 its catchment bands were counted from."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent import ledger
from agent.export import export_release
from agent.period_config import check_segment_model
from agent.release import prepare_release
from agent.release_config import release_config
from agent.segment_install import model_of
from agent.segments import SegmentModel, synthetic_demo_model
from agent.tables import ReleaseConfig
from agent.workspace import Workspace
from protocol.errors import UsageError
from protocol.keys import SigningKey
from protocol.segment_release import verify_release
from tests.small_release import small_release

from .conftest import PERIOD, signed_period_config

MODEL_KEY = SigningKey.generate()
VERSION = "synthetic-2026.1"


def release_model() -> SegmentModel:
    return model_of(
        verify_release(small_release(MODEL_KEY), model_key=MODEL_KEY.public, where="test")
    )


def test_the_demo_model_fits_a_period_that_names_it(workspace: Workspace) -> None:
    check_segment_model(signed_period_config(workspace), synthetic_demo_model())


@pytest.mark.slow  # 0.4 s or more: outside the inner loop (ADR 0032)
def test_the_release_the_period_names_fits_by_version_and_digest(workspace: Workspace) -> None:
    model = release_model()
    config = signed_period_config(
        workspace, segment_model=VERSION, segment_model_digest=model.digest
    )
    check_segment_model(config, model)


def test_another_model_is_refused_naming_the_command_that_installs_the_periods(
    workspace: Workspace,
) -> None:
    config = signed_period_config(workspace, segment_model=VERSION, segment_model_digest="a" * 64)
    with pytest.raises(UsageError, match=f"releases with segment model {VERSION}") as refused:
        check_segment_model(config, synthetic_demo_model())
    assert f"publiek agent segment-model fetch --version {VERSION}" in str(refused.value)


def test_another_release_of_the_same_version_is_refused(workspace: Workspace) -> None:
    config = signed_period_config(workspace, segment_model=VERSION, segment_model_digest="a" * 64)
    with pytest.raises(UsageError, match=r"this workspace's model is synthetic-2026\.1 \(release"):
        check_segment_model(config, release_model())


def test_a_release_model_is_refused_for_a_period_of_the_demo_model(workspace: Workspace) -> None:
    with pytest.raises(UsageError, match="without an installed model"):
        check_segment_model(signed_period_config(workspace), release_model())


def test_the_offline_export_refuses_another_model_before_drawing(
    workspace: Workspace, tmp_path: Path
) -> None:
    signed_period_config(workspace, segment_model=VERSION, segment_model_digest="a" * 64)
    out = tmp_path / "release.envelope"
    with pytest.raises(UsageError, match="nothing was drawn"):
        export_release(workspace, PERIOD, out, synthetic_demo_model(), key_set={})
    assert ledger.spent(workspace, PERIOD) == 0
    assert not out.exists()


@pytest.mark.slow  # 0.4 s or more: outside the inner loop (ADR 0032)
@pytest.mark.parametrize(("home_pc4", "origin"), [("3511", "3511"), (None, None)])
def test_a_release_states_the_pc4_its_catchment_bands_were_counted_from(
    workspace: Workspace, home_pc4: str | None, origin: str | None
) -> None:
    config = ReleaseConfig(rho=0.01, period_budget=0.02, home_pc4=home_pc4)
    payload = prepare_release(workspace, PERIOD, synthetic_demo_model(), config).payload
    assert payload.catchment_origin == origin


def test_a_home_pc4_that_is_no_pc4_is_refused_in_release_toml(workspace: Workspace) -> None:
    signed_period_config(workspace)
    (workspace.root / "release.toml").write_text('home_pc4 = "3511AB"\n')
    with pytest.raises(UsageError, match="four-digit PC4"):
        release_config(workspace, PERIOD)
