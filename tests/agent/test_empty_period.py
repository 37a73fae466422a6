"""Whether a submission exists does not depend on the data: a period without
visits releases noisy zeros for every table of the design, spending its ρ
like any other release."""

from __future__ import annotations

import pytest

from agent import ledger
from agent.release import prepare_release
from agent.segments import synthetic_demo_model
from agent.tables import ReleaseConfig
from agent.workspace import Workspace
from dp.release_design import table_names

pytestmark = pytest.mark.slow  # a release of every table through OpenDP

MODEL = synthetic_demo_model()
EMPTY = "2026-Q4"  # the workspace fixture only holds visits of 2026-Q3


def test_a_period_without_visits_releases_noisy_zeros_for_every_table(
    workspace: Workspace,
) -> None:
    assert workspace.load_visits(EMPTY).height == 0
    release = prepare_release(workspace, EMPTY, MODEL, ReleaseConfig(rho=0.25, period_budget=0.5))
    payload = release.payload
    assert not release.reused
    assert tuple(t.name for t in payload.tables) == table_names()
    values = [v for t in payload.tables for v in t.values]
    # every cell is noise around zero: not all zero, and none beyond 6 noise scales
    assert any(values)
    for table in payload.tables:
        assert all(abs(v) <= 6 * table.scale for v in table.values), table.name
    assert payload.privacy.rho == pytest.approx(0.25)
    assert ledger.spent(workspace, EMPTY) == pytest.approx(0.25)
    again = prepare_release(workspace, EMPTY, MODEL, ReleaseConfig(rho=0.25, period_budget=0.5))
    assert again.reused and again.payload == payload
