"""The release config: the signed period config, capped lower by ``release.toml``."""

from __future__ import annotations

import dataclasses
import json

import pytest
from typer.testing import CliRunner

from agent import period_config
from agent.release import prepare_release
from agent.release_config import release_config
from agent.segments import synthetic_demo_model
from agent.tables import ReleaseConfig
from agent.workspace import Workspace
from cli import app
from dp.measurements import LAPLACE, rho_for_epsilon
from dp.release_design import DEFAULT_BOUNDS, MAX_VISITS
from protocol.errors import InvalidPayload, InvalidSignature, UsageError
from protocol.keys import SigningKey

from .conftest import PERIOD, signed_period_config

BUDGET = 0.0201871
CONFIG = """
rho = 0.005
period_budget = 0.01

[periods."2026-Q4"]
epsilon = 0.5
"""


def test_the_period_config_sets_budget_mechanism_delta_and_bounds(workspace: Workspace) -> None:
    signed_period_config(workspace, rho_budget=BUDGET, mechanism=LAPLACE)
    config = release_config(workspace, PERIOD)
    assert (config.rho, config.period_budget) == (BUDGET, BUDGET)  # one submission spends it
    assert (config.mechanism, config.delta) == (LAPLACE, 1e-7)
    assert config.max_visits == DEFAULT_BOUNDS[MAX_VISITS]


def test_without_a_period_config_or_file_the_built_in_defaults_apply(
    workspace: Workspace,
) -> None:
    assert release_config(workspace, PERIOD) == ReleaseConfig()


def test_release_toml_caps_lower_per_period(workspace: Workspace) -> None:
    (workspace.root / "release.toml").write_text(CONFIG)
    signed_period_config(workspace, period="2026-Q3")
    signed_period_config(workspace, period="2026-Q4")
    q3 = release_config(workspace, "2026-Q3")
    q4 = release_config(workspace, "2026-Q4")
    assert (q3.rho, q3.period_budget) == (0.005, 0.01)
    assert q4.rho == q4.period_budget == pytest.approx(rho_for_epsilon(0.5, 1e-7))


def test_a_period_budget_cap_alone_also_caps_the_submission(workspace: Workspace) -> None:
    (workspace.root / "release.toml").write_text("period_budget = 0.01\n")
    signed_period_config(workspace)
    config = release_config(workspace, PERIOD)
    assert (config.rho, config.period_budget) == (0.01, 0.01)


@pytest.mark.parametrize(
    ("line", "asked"),
    [("rho = 0.5", "rho 0.5"), ("period_budget = 0.03", "period_budget 0.03"),
     ("epsilon = 2.0", "epsilon 2")],
)  # fmt: skip
def test_raising_the_budget_is_refused_naming_both_figures(
    workspace: Workspace, line: str, asked: str
) -> None:
    (workspace.root / "release.toml").write_text(line + "\n")
    signed_period_config(workspace, rho_budget=BUDGET)
    with pytest.raises(UsageError) as refused:
        release_config(workspace, PERIOD)
    assert asked in str(refused.value)
    assert f"budget ρ {BUDGET:g}" in str(refused.value)
    assert "never raise" in str(refused.value)


@pytest.mark.parametrize("line", ['mechanism = "discrete_laplace"', "delta = 1e-6",
                                  "max_visits = 50"])  # fmt: skip
def test_what_the_taskforce_fixes_cannot_be_set_locally(workspace: Workspace, line: str) -> None:
    (workspace.root / "release.toml").write_text(line + "\n")
    signed_period_config(workspace)
    with pytest.raises(UsageError, match="set by the taskforce's period config"):
        release_config(workspace, PERIOD)


def test_an_unknown_setting_is_refused_by_name(workspace: Workspace) -> None:
    (workspace.root / "release.toml").write_text("rhoo = 0.1\n")
    with pytest.raises(UsageError, match="rhoo"):
        release_config(workspace, PERIOD)


def test_a_cached_config_not_signed_by_the_trusted_key_is_refused(workspace: Workspace) -> None:
    signed_period_config(workspace, key=SigningKey.generate())
    with pytest.raises(InvalidSignature):
        release_config(workspace, PERIOD)
    path = period_config.cache_path(workspace, PERIOD)
    signed_period_config(workspace)
    doc = json.loads(path.read_text())
    path.write_text(json.dumps({**doc, "rho_budget": 1.0}))  # edited by hand
    with pytest.raises(InvalidSignature):
        release_config(workspace, PERIOD)


def test_a_config_of_another_release_design_is_refused(workspace: Workspace) -> None:
    from protocol.period_config import sign_period_config

    from .conftest import AGGREGATOR_KEY

    config = signed_period_config(workspace, cache=False)
    other = sign_period_config(dataclasses.replace(config, design="publiek-tables/9"),
                               AGGREGATOR_KEY)  # fmt: skip
    period_config.save(workspace, other)
    with pytest.raises(UsageError, match="publiek-tables/9"):
        release_config(workspace, PERIOD)


@pytest.mark.slow  # 0.4 s or more: outside the inner loop (ADR 0032)
def test_agent_budget_reports_the_capped_period_budget(workspace: Workspace) -> None:
    (workspace.root / "release.toml").write_text(CONFIG)
    signed_period_config(workspace)
    prepare_release(workspace, PERIOD, synthetic_demo_model(), release_config(workspace, PERIOD))
    result = CliRunner().invoke(app, ["agent", "budget", "--workspace", str(workspace.root)])
    assert result.exit_code == 0, result.output
    assert f"period {PERIOD}: ρ 0.005 of 0.01 spent, 0.005 left" in result.output


def test_month_periods_are_refused(workspace: Workspace) -> None:
    with pytest.raises(InvalidPayload, match="quarters only"):
        release_config(workspace, "2026-M07")
