"""``agent status`` (issue 15): what the workspace is, read only."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from agent.workspace import Workspace
from cli import app
from tests.agent.conftest import PERIOD

runner = CliRunner()


def test_status_names_the_enrollment_and_the_periods(workspace: Workspace) -> None:
    ran = runner.invoke(app, ["agent", "status", "-w", str(workspace.root)])
    assert ran.exit_code == 0, ran.output
    assert "enrolled as stadsschouwburg-test (theater, utrecht)" in ran.stdout
    assert "custodian key: none pinned" in ran.stdout
    assert f"period {PERIOD}: sector key missing" in ran.stdout
    assert "not released yet" in ran.stdout


def test_status_of_a_folder_that_does_not_exist_creates_nothing(tmp_path: Path) -> None:
    ran = runner.invoke(app, ["agent", "status", "-w", str(tmp_path / "typo")])
    assert ran.exit_code == 2 and "does not exist" in ran.stderr
    assert not (tmp_path / "typo").exists()
