"""A signed segment model release in a workspace: pinned key, install, use (ADR 0027)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from agent.segment_install import (
    SYNTHETIC_INSTALLED,
    installed_path,
    model_for_release,
    release_path,
)
from agent.segments import demo_warning, synthetic_demo_model
from agent.workspace import Workspace
from cli import app
from protocol.errors import InvalidSignature
from protocol.keys import SigningKey, fingerprint
from tests.agent.test_workspace_and_model import _ingest
from tests.small_release import small_release, tampered

runner = CliRunner()
KEY = SigningKey.generate()


def agent(*args: str) -> object:
    return runner.invoke(app, ["agent", *args])


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["agent", "init", "-w", str(ws)]).exit_code == 0
    return ws


def install(ws: Path, file: Path) -> object:
    return agent("segment-model", "install", str(file), "-w", str(ws))


def pin(ws: Path, key: SigningKey) -> object:
    return agent("segment-model", "pin-key", "--model-key", key.public.to_text(), "-w", str(ws))


@pytest.mark.slow  # 0.4 s or more: outside the inner loop (ADR 0032)
def test_a_release_is_installed_only_under_the_pinned_key(ws: Path, tmp_path: Path) -> None:
    file = tmp_path / "synthetic-2026.1.segments"
    file.write_bytes(small_release(KEY))
    unpinned = install(ws, file)
    assert unpinned.exit_code == 2  # type: ignore[attr-defined]
    assert "no segment model key is pinned" in unpinned.stderr  # type: ignore[attr-defined]
    assert not release_path(Workspace(ws)).exists()

    pinned = pin(ws, KEY)
    assert f"model key {fingerprint(KEY.public)} pinned" in pinned.stdout  # type: ignore[attr-defined]
    assert pin(ws, KEY).exit_code == 0  # type: ignore[attr-defined]
    other = pin(ws, SigningKey.generate())
    assert other.exit_code == 2  # type: ignore[attr-defined]
    assert "another model key" in other.stderr  # type: ignore[attr-defined]

    bad = tmp_path / "tampered.segments"
    bad.write_bytes(tampered(small_release(KEY)))
    refused = install(ws, bad)
    assert refused.exit_code == 2  # type: ignore[attr-defined]
    assert "altered after it was signed" in refused.stderr  # type: ignore[attr-defined]
    foreign = tmp_path / "foreign.segments"
    foreign.write_bytes(small_release(SigningKey.generate()))
    assert "not by the pinned model key" in install(ws, foreign).stderr  # type: ignore[attr-defined]
    assert not release_path(Workspace(ws)).exists()

    done = install(ws, file)
    assert done.exit_code == 0, done.output  # type: ignore[attr-defined]
    assert "installed segment model synthetic-2026.1" in done.stdout  # type: ignore[attr-defined]
    assert "synthetic segment model (synthetic-2026.1)" in done.stderr  # type: ignore[attr-defined]


@pytest.mark.slow  # 0.4 s or more: outside the inner loop (ADR 0032)
def test_an_installed_release_is_the_model_releases_use(ws: Path, tmp_path: Path) -> None:
    file = tmp_path / "synthetic-2026.1.segments"
    file.write_bytes(small_release(KEY))
    assert pin(ws, KEY).exit_code == 0  # type: ignore[attr-defined]
    assert install(ws, file).exit_code == 0  # type: ignore[attr-defined]
    model = model_for_release(Workspace(ws), None)
    assert model.version == "synthetic-2026.1" and model.synthetic
    sums = model.shares.group_by("pc4").agg(pl.col("share").sum())
    assert sums["share"].min() > 0.999 and sums["share"].max() < 1.001
    assert model.shares["households"].sum() > 0
    # the release's PC4 centroids, for the catchment bands; one per PC4 of the shares
    assert model.centroids is not None
    assert model.centroids.columns == ["pc4", "lat", "lon", "province"]
    assert model.centroids["pc4"].dtype == pl.Int64
    assert set(model.centroids["pc4"]) == set(model.shares["pc4"].cast(pl.Int64))
    warning = demo_warning(model)
    assert warning is not None and "synthetic" in warning

    status = agent("status", "-w", str(ws))
    assert f"segment model key: {fingerprint(KEY.public)}" in status.stdout  # type: ignore[attr-defined]
    assert "segment model: synthetic-2026.1 (synthetic), release " in status.stdout  # type: ignore[attr-defined]
    ran = _ingest(tmp_path, ws)
    assert SYNTHETIC_INSTALLED.format(version="synthetic-2026.1") in ran.stderr  # type: ignore[attr-defined]

    # One model at a time: a /1 model file replaces the release.
    json_file = tmp_path / "model.json"
    synthetic_demo_model().save(json_file)
    assert install(ws, json_file).exit_code == 0  # type: ignore[attr-defined]
    assert installed_path(Workspace(ws)).exists() and not release_path(Workspace(ws)).exists()
    assert model_for_release(Workspace(ws), None).centroids is None  # a /1 file has none


def test_a_release_file_given_for_one_release_is_verified_too(ws: Path, tmp_path: Path) -> None:
    file = tmp_path / "t.segments"
    file.write_bytes(tampered(small_release(KEY)))
    assert pin(ws, KEY).exit_code == 0  # type: ignore[attr-defined]
    with pytest.raises(InvalidSignature, match="altered after it was signed"):
        model_for_release(Workspace(ws), file)
