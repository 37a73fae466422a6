"""A mistyped workspace is refused, not created; the installed segment model is the
one releases use, and ingest names the demo model while it is what they would use
(issue 15, ADR 0025)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.segment_install import (
    DEMO_INSTALLED,
    NOT_INSTALLED,
    installed_path,
    model_for_release,
)
from agent.segments import synthetic_demo_model
from agent.workspace import Workspace
from cli import app
from tests.ingest.ingest_fixtures import GOOD_ROWS, HEADER, MAPPING

runner = CliRunner()


def _ingest(tmp_path: Path, workspace: Path) -> object:
    export = tmp_path / "export.csv"
    export.write_text("\n".join([HEADER, *GOOD_ROWS]) + "\n", encoding="utf-8")
    (tmp_path / "map.toml").write_text(MAPPING, encoding="utf-8")
    return runner.invoke(
        app,
        ["agent", "ingest", str(export), "-m", str(tmp_path / "map.toml"), "-w", str(workspace)],
    )


def test_an_ingest_into_a_mistyped_workspace_creates_nothing(tmp_path: Path) -> None:
    ran = _ingest(tmp_path, tmp_path / "publeik")
    assert ran.exit_code == 2  # type: ignore[attr-defined]
    assert "is not an agent workspace" in ran.stderr  # type: ignore[attr-defined]
    assert "publiek agent init" in ran.stderr  # type: ignore[attr-defined]
    assert not (tmp_path / "publeik").exists()


def test_an_existing_folder_that_is_no_workspace_is_refused_too(tmp_path: Path) -> None:
    (tmp_path / "var").mkdir()
    ran = _ingest(tmp_path, tmp_path / "var")
    assert ran.exit_code == 2  # type: ignore[attr-defined]
    assert list((tmp_path / "var").iterdir()) == []


def test_init_makes_an_unenrolled_workspace_and_is_idempotent(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    first = runner.invoke(app, ["agent", "init", "-w", str(ws)])
    assert first.exit_code == 0 and "created the unenrolled workspace" in first.stdout
    again = runner.invoke(app, ["agent", "init", "-w", str(ws)])
    assert again.exit_code == 0 and "nothing changed" in again.stdout
    ran = _ingest(tmp_path, ws)
    assert ran.exit_code == 0, ran.output  # type: ignore[attr-defined]
    assert NOT_INSTALLED in ran.stderr  # type: ignore[attr-defined]


@pytest.mark.slow  # 0.4 s or more: outside the inner loop (ADR 0032)
def test_the_installed_model_is_used_and_named(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["agent", "init", "-w", str(ws)]).exit_code == 0
    model_file = tmp_path / "model.json"
    synthetic_demo_model().save(model_file)
    installed = runner.invoke(
        app, ["agent", "segment-model", "install", str(model_file), "-w", str(ws)]
    )
    assert installed.exit_code == 0, installed.output
    assert "installed segment model synthetic-demo-2026" in installed.stdout
    assert model_for_release(Workspace(ws), None).digest == synthetic_demo_model().digest
    status = runner.invoke(app, ["agent", "status", "-w", str(ws)])
    assert "segment model: synthetic-demo-2026 (the synthetic demo model)" in status.stdout
    ran = _ingest(tmp_path, ws)
    assert DEMO_INSTALLED in ran.stderr  # type: ignore[attr-defined]


def test_a_changed_model_file_is_refused_and_nothing_is_installed(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["agent", "init", "-w", str(ws)]).exit_code == 0
    doc = synthetic_demo_model().to_doc()
    doc["segments"] = list(doc["segments"])[::-1]  # type: ignore[call-overload]
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(doc), encoding="utf-8")
    ran = runner.invoke(app, ["agent", "segment-model", "install", str(changed), "-w", str(ws)])
    assert ran.exit_code == 2 and "does not have the segments" in ran.stderr
    assert not installed_path(Workspace(ws)).exists()
