"""The agent's household sketch (ADR 0036): released when the period config
fixes one, at its weight of the submission's ρ, one part per discipline of
the households the tables count; the consent from ``release.toml``."""

from __future__ import annotations

import polars as pl
import pytest

from agent import ledger
from agent.period_config import check_design
from agent.release import prepare_release
from agent.release_config import release_config
from agent.segments import synthetic_demo_model
from agent.tables import build_release
from agent.workspace import Workspace
from dp.bounding import HOUSEHOLD_KEY
from dp.release_design import DISCIPLINES
from dp.sketches import sketch_rho
from protocol.errors import UsageError
from protocol.messages import PeriodSketch

from .conftest import PERIOD, signed_period_config

MODEL = synthetic_demo_model()
SKETCH = PeriodSketch(width=256, seed=bytes(range(32)), weight=0.25)
BUDGET = 0.0201871


def test_a_period_with_a_sketch_releases_it_at_its_weight_of_rho(workspace: Workspace) -> None:
    signed_period_config(workspace, rho_budget=BUDGET, sketch=SKETCH)
    config = release_config(workspace, PERIOD)
    assert config.sketch == SKETCH and config.share_named_overlaps is False
    payload = prepare_release(workspace, PERIOD, MODEL, config).payload
    sketch = payload.sketch
    assert sketch is not None and payload.named_overlaps is False
    assert [p.discipline for p in sketch.parts] == list(DISCIPLINES)
    assert (sketch.width, sketch.design, sketch.mechanism) == (256, SKETCH.design, config.mechanism)
    assert sketch.rho == sketch_rho(sketch.scale, sketch.count_scale, sketch.mechanism)
    assert sketch.rho == pytest.approx(0.25 * BUDGET, rel=1e-3)
    tables = sum(t.rho for t in payload.tables)
    assert tables == pytest.approx(0.75 * BUDGET, rel=1e-3)
    assert payload.privacy.rho == pytest.approx(tables + sketch.rho, rel=1e-12)
    assert ledger.spent(workspace, PERIOD) == pytest.approx(payload.privacy.rho)
    assert ledger.spent(workspace, PERIOD) <= BUDGET * (1 + 1e-9)


def test_a_lower_rho_in_release_toml_scales_tables_and_sketch_alike(workspace: Workspace) -> None:
    signed_period_config(workspace, rho_budget=BUDGET, sketch=SKETCH)
    (workspace.root / "release.toml").write_text("rho = 0.01\nshare_named_overlaps = true\n")
    config = release_config(workspace, PERIOD)
    payload = prepare_release(workspace, PERIOD, MODEL, config).payload
    assert payload.sketch is not None and payload.named_overlaps is True
    assert payload.sketch.rho == pytest.approx(0.0025, rel=1e-3)
    assert payload.privacy.rho == pytest.approx(0.01, rel=1e-3)


def test_without_a_sketch_in_the_period_config_no_sketch_leaves(workspace: Workspace) -> None:
    signed_period_config(workspace, rho_budget=BUDGET)
    payload = prepare_release(workspace, PERIOD, MODEL, release_config(workspace, PERIOD)).payload
    assert payload.sketch is None
    assert payload.privacy.rho == pytest.approx(BUDGET, rel=1e-3)


@pytest.mark.parametrize("value", ['"yes"', "1"])
def test_share_named_overlaps_must_be_true_or_false(workspace: Workspace, value: str) -> None:
    signed_period_config(workspace)
    (workspace.root / "release.toml").write_text(f"share_named_overlaps = {value}\n")
    with pytest.raises(UsageError, match="share_named_overlaps must be true or false"):
        release_config(workspace, PERIOD)


def test_the_households_sketched_are_the_tables_households_each_once(
    workspace: Workspace,
) -> None:
    config = release_config(workspace, PERIOD)
    requests, households = build_release(
        workspace.load_visits(PERIOD), MODEL, config, period=PERIOD
    )
    by_discipline = next(r for r in requests if r.name == "households_by_discipline")
    assert households.height == households[HOUSEHOLD_KEY].n_unique() == sum(by_discipline.values)
    counts = households.group_by("discipline").len()
    per_code = dict(zip(counts["discipline"].to_list(), counts["len"].to_list(), strict=True))
    assert [per_code.get(i, 0) for i in range(len(DISCIPLINES))] == list(by_discipline.values)
    assert households.schema[HOUSEHOLD_KEY] == pl.Binary


def test_the_agent_takes_a_config_whose_table_weights_leave_room_for_the_sketch(
    workspace: Workspace,
) -> None:
    check_design(signed_period_config(workspace, sketch=SKETCH))
