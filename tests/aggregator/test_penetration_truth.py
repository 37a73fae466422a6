"""Penetration and not-yet-visitors against a known truth: synthetic
institutions drawn from a known population, their tables noised by OpenDP at
the ρ share such a table gets, estimated, and every interval compared with
the truth (bench/penetration_accuracy.py runs the same at a larger size and
writes docs/benchmarks.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.file_modules import load_module

pytestmark = pytest.mark.slow  # ~5 s: a dozen releases of 36 institutions

ROOT = Path(__file__).resolve().parents[2]
bench = load_module("penetration_accuracy", ROOT / "bench" / "penetration_accuracy.py")


@pytest.fixture(scope="module")
def cells() -> list[Any]:
    return list(bench.simulate(seed=5, replicates=12))


def test_enough_cells_to_measure_coverage_to_half_a_point(cells: list[Any]) -> None:
    assert len(cells) >= 2_000


def test_penetration_intervals_hold_the_truth_in_93_to_97_percent_of_cells(
    cells: list[Any],
) -> None:
    assert 0.93 <= bench.coverage(cells).penetration <= 0.97
    assert 0.93 <= bench.coverage(cells, shown_only=True).penetration <= 0.97


def test_not_yet_visitor_intervals_hold_the_truth_in_93_to_97_percent_of_cells(
    cells: list[Any],
) -> None:
    assert 0.93 <= bench.coverage(cells).not_yet_visitors <= 0.97
    assert 0.93 <= bench.coverage(cells, shown_only=True).not_yet_visitors <= 0.97


def test_profile_index_intervals_hold_the_truth_in_93_to_97_percent_of_cells(
    cells: list[Any],
) -> None:
    assert 0.93 <= bench.coverage(cells, shown_only=True).index <= 0.97
