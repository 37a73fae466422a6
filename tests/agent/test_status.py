"""``agent status`` (issue 15): what the workspace is, read only."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from agent.workspace import Workspace
from cli import app
from protocol.keys import SigningKey, fingerprint
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
    assert ran.exit_code == 2 and "is not an agent workspace" in ran.stderr
    assert not (tmp_path / "typo").exists()


def test_a_missing_custodian_key_is_pinned_without_enrolling_again(
    workspace: Workspace, tmp_path: Path
) -> None:
    key = SigningKey.generate().public
    ran = runner.invoke(
        app, ["agent", "pin-custodian", "-w", str(workspace.root), "--custodian-key", key.to_text()]
    )
    assert ran.exit_code == 0, ran.output
    assert f"custodian key {fingerprint(key)} pinned" in ran.stdout
    status = runner.invoke(app, ["agent", "status", "-w", str(workspace.root)])
    assert f"custodian key: {fingerprint(key)}" in status.stdout
    other = SigningKey.generate().public.to_text()
    refused = runner.invoke(
        app, ["agent", "pin-custodian", "-w", str(workspace.root), "--custodian-key", other]
    )
    assert refused.exit_code == 2 and "already pinned" in refused.stderr
    typo = runner.invoke(
        app, ["agent", "pin-custodian", "-w", str(tmp_path / "typo"), "--custodian-key", other]
    )
    assert typo.exit_code == 2 and "is not an agent workspace" in typo.stderr
    assert not (tmp_path / "typo").exists()


def test_status_names_the_catchment_origin_or_what_to_set(workspace: Workspace) -> None:
    def origin() -> str:
        ran = runner.invoke(app, ["agent", "status", "-w", str(workspace.root)])
        assert ran.exit_code == 0, ran.output
        return next(line for line in ran.stdout.splitlines() if line.startswith("catchment"))

    assert origin().startswith("catchment origin: none (set home_pc4 in release.toml")
    (workspace.root / "release.toml").write_text('home_pc4 = "3511"\n', encoding="utf-8")
    assert origin() == "catchment origin: PC4 3511 (release.toml home_pc4)"
    (workspace.root / "release.toml").write_text("home_pc4 = \n", encoding="utf-8")
    assert origin() == "catchment origin: release.toml does not read as TOML"


def test_status_names_the_household_sketch_parts(workspace: Workspace) -> None:
    """The parts are public config (ADR 0036): status shows which there are."""

    def parts() -> str:
        ran = runner.invoke(app, ["agent", "status", "-w", str(workspace.root)])
        assert ran.exit_code == 0, ran.output
        return next(line for line in ran.stdout.splitlines() if line.startswith("household"))

    assert parts() == (
        "household sketch parts: theater alone (the enrolled discipline; "
        "release.toml sketch_disciplines)"
    )
    (workspace.root / "release.toml").write_text('sketch_disciplines = ["dance", "music"]\n')
    assert parts() == (
        "household sketch parts: theater, music, dance (release.toml sketch_disciplines); "
        "theater's part also holds undeclared main disciplines"
    )
    (workspace.root / "release.toml").write_text('sketch_disciplines = ["circus"]\n')
    assert "outside the key set" in parts()
