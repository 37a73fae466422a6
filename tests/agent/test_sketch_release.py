"""The agent's household sketch (ADR 0036): released when the period config
fixes one, at its weight of the submission's ρ, one part per declared
discipline (by default the enrolled one alone) of the households the tables
count; the consent and the declared parts from ``release.toml``."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from agent import ledger
from agent.period_config import check_design
from agent.release import prepare_release
from agent.release_config import release_config
from agent.segments import synthetic_demo_model
from agent.sketch_release import part_hashes, sketch_parts
from agent.tables import build_release
from agent.workspace import Workspace
from cli import app
from dp.bounding import HOUSEHOLD_KEY
from dp.release_design import DISCIPLINES
from dp.sketches import exact_parts, hashed, sketch_config, sketch_rho
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
    # By default one part, the enrolled discipline's: the whole institution.
    assert [p.discipline for p in sketch.parts] == ["theater"]
    assert abs(sketch.parts[0].households - 120) < 12 * sketch.count_scale
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


def test_declared_disciplines_get_a_part_each_in_key_set_order(workspace: Workspace) -> None:
    signed_period_config(workspace, rho_budget=BUDGET, sketch=SKETCH)
    (workspace.root / "release.toml").write_text('sketch_disciplines = ["dance", "music"]\n')
    config = release_config(workspace, PERIOD)
    assert config.sketch_disciplines == ("music", "dance")
    payload = prepare_release(workspace, PERIOD, MODEL, config).payload
    assert payload.sketch is not None
    # The enrolled discipline (theater) is added: it holds the undeclared rest.
    assert [p.discipline for p in payload.sketch.parts] == ["theater", "music", "dance"]
    assert payload.sketch.rho == pytest.approx(0.25 * BUDGET, rel=1e-3)


def test_other_declared_parts_are_another_release(workspace: Workspace) -> None:
    signed_period_config(workspace, rho_budget=BUDGET, sketch=SKETCH)
    (workspace.root / "release.toml").write_text("rho = 0.005\n")
    first = prepare_release(workspace, PERIOD, MODEL, release_config(workspace, PERIOD))
    (workspace.root / "release.toml").write_text('rho = 0.005\nsketch_disciplines = ["music"]\n')
    other = prepare_release(workspace, PERIOD, MODEL, release_config(workspace, PERIOD))
    assert not other.reused and other.payload.submission_id != first.payload.submission_id


def test_the_parts_are_the_enrolled_discipline_plus_the_declared_ones() -> None:
    assert sketch_parts(None, "music") == ("music",)
    assert sketch_parts(("film", "theater"), "music") == ("theater", "music", "film")
    assert sketch_parts(("music",), "music") == ("music",)
    with pytest.raises(UsageError, match="enrolled discipline 'circus'"):
        sketch_parts(None, "circus")


def test_an_undeclared_main_discipline_goes_into_the_enrolled_part() -> None:
    codes = [DISCIPLINES.index(d) for d in ("theater", "music", "dance", "film", "music")]
    household_keys = [bytes([n]) * 32 for n in range(len(codes))]
    households = pl.DataFrame(
        {HOUSEHOLD_KEY: household_keys, "discipline": codes},
        schema={HOUSEHOLD_KEY: pl.Binary, "discipline": pl.Int64},
    )
    config = sketch_config(PERIOD, SKETCH)
    hashes = hashed(config, household_keys)
    parts = part_hashes(households, config, ("theater", "music"), "theater")
    assert sorted(parts) == ["music", "theater"]
    assert sorted(parts["theater"].to_list()) == sorted(hashes.gather([0, 2, 3]).to_list())
    assert sorted(parts["music"].to_list()) == sorted(hashes.gather([1, 4]).to_list())


@pytest.mark.parametrize("main", ["theater", "music", "dance"])
def test_one_household_more_moves_one_bucket_of_one_part(main: str) -> None:
    """Sensitivity 1 over all parts, also for a household folded into the
    enrolled discipline's part (dance is not declared here)."""
    config = sketch_config(PERIOD, SKETCH)
    declared = ("theater", "music")

    def frame(n: int) -> pl.DataFrame:
        return pl.DataFrame(
            {
                HOUSEHOLD_KEY: [bytes([k]) * 32 for k in range(n)],
                "discipline": [
                    *(DISCIPLINES.index(("theater", "music", "film")[k % 3]) for k in range(n - 1)),
                    DISCIPLINES.index(main),
                ],
            },
            schema={HOUSEHOLD_KEY: pl.Binary, "discipline": pl.Int64},
        )

    before = exact_parts(config, part_hashes(frame(60)[:-1], config, declared, "theater"), declared)
    after = exact_parts(config, part_hashes(frame(60), config, declared, "theater"), declared)
    vector = np.asarray(after[0]) - np.asarray(before[0])
    counts = np.asarray(after[1]) - np.asarray(before[1])
    assert int(np.abs(vector).sum()) == 1 and int(np.abs(counts).sum()) == 1
    part = "music" if main == "music" else "theater"
    assert counts[declared.index(part)] == 1
    assert int(np.flatnonzero(vector)[0]) // SKETCH.width == declared.index(part)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('["circus"]', "sketch_disciplines names 'circus', not a discipline of the key set"),
        ("[]", "sketch_disciplines must be a non-empty list of disciplines"),
        ('"theater"', "sketch_disciplines must be a non-empty list of disciplines"),
        ('["music", "music"]', "sketch_disciplines names a discipline twice"),
    ],
)
def test_bad_sketch_disciplines_are_refused_naming_the_file_and_the_labels(
    workspace: Workspace, value: str, message: str
) -> None:
    signed_period_config(workspace)
    path = workspace.root / "release.toml"
    path.write_text(f"sketch_disciplines = {value}\n")
    with pytest.raises(UsageError, match=message) as refused:
        release_config(workspace, PERIOD)
    assert str(path) in str(refused.value)
    assert refused.value.hint is not None and ", ".join(DISCIPLINES) in refused.value.hint


def test_a_bad_sketch_disciplines_exits_2(workspace: Workspace) -> None:
    signed_period_config(workspace)
    (workspace.root / "release.toml").write_text('sketch_disciplines = ["circus"]\n')
    ran = CliRunner().invoke(
        app, ["agent", "budget", "--period", PERIOD, "--workspace", str(workspace.root)]
    )
    assert ran.exit_code == 2, ran.output
    assert "release.toml" in ran.stderr and "sketch_disciplines" in ran.stderr
    assert "theater, music, dance" in ran.stderr
