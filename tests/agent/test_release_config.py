"""``release.toml``: the workspace's per-period choice of budget and mechanism."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from agent.release import prepare_release
from agent.release_config import release_config
from agent.segments import synthetic_demo_model
from agent.tables import ReleaseConfig
from agent.workspace import Workspace
from cli import app
from dp.measurements import LAPLACE, rho_for_epsilon
from protocol.errors import UsageError

from .conftest import PERIOD

CONFIG = """
rho = 0.1
period_budget = 0.3

[periods."2026-Q4"]
epsilon = 1.0
mechanism = "discrete_laplace"
"""


def test_without_a_file_the_documented_defaults_apply(workspace: Workspace) -> None:
    assert release_config(workspace, PERIOD) == ReleaseConfig()


def test_a_period_table_overrides_the_top_level_settings(workspace: Workspace) -> None:
    (workspace.root / "release.toml").write_text(CONFIG)
    q3 = release_config(workspace, "2026-Q3")
    q4 = release_config(workspace, "2026-Q4")
    assert (q3.rho, q3.period_budget, q3.mechanism) == (0.1, 0.3, ReleaseConfig().mechanism)
    assert q4.mechanism == LAPLACE
    assert q4.rho == q4.period_budget == pytest.approx(rho_for_epsilon(1.0, 1e-7))


def test_an_unknown_setting_is_refused_by_name(workspace: Workspace) -> None:
    (workspace.root / "release.toml").write_text("rhoo = 0.1\n")
    with pytest.raises(UsageError, match="rhoo"):
        release_config(workspace, PERIOD)


def test_agent_budget_reports_the_configured_period_budget(workspace: Workspace) -> None:
    (workspace.root / "release.toml").write_text(CONFIG)
    prepare_release(workspace, PERIOD, synthetic_demo_model(), release_config(workspace, PERIOD))
    result = CliRunner().invoke(app, ["agent", "budget", "--workspace", str(workspace.root)])
    assert result.exit_code == 0, result.output
    assert f"period {PERIOD}: ρ 0.1 of 0.3 spent, 0.2 left" in result.output
