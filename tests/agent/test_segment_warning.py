"""The demo segment model is named on every release (issue 15)."""

from __future__ import annotations

from pathlib import Path

from agent.segments import SegmentModel, demo_warning, synthetic_demo_model

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_model_warns_in_one_line_pointing_to_the_docs() -> None:
    warning = demo_warning(synthetic_demo_model())
    assert warning is not None and "\n" not in warning
    assert "synthetic demo segment model" in warning and "docs/segment-model.md" in warning
    assert (ROOT / "docs" / "segment-model.md").exists()


def test_a_model_loaded_from_its_file_is_checked_like_the_demo_one(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    synthetic_demo_model().save(path)
    assert demo_warning(SegmentModel.load(path)) is not None  # same version: still the demo
