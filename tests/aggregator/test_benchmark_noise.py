"""Sector intervals propagate each cell's own noise variance, per mechanism."""

from __future__ import annotations

import math

from aggregator.benchmarks import TableInput, group_cells
from dp.measurements import noise_std, sum_ci95


def table(mechanism: str, scale: float) -> TableInput:
    return TableInput(
        name="households_by_province",
        measure="households",
        dimensions=("province",),
        keys=(("utrecht",),),
        values=(100,),
        noise_std=noise_std(mechanism, scale),
    )


def half_width(mechanism: str, scale: float, institutions: int = 5) -> float:
    tables = {f"i{n}": {"households_by_province": table(mechanism, scale)} for n in range(5)}
    (cell,) = group_cells(tuple(tables)[:institutions], tables, k=5)
    return float(cell["ci95_high"] - cell["ci95_low"]) / 2


def test_gaussian_cells_sum_their_variances() -> None:
    assert math.isclose(half_width("discrete_gaussian", 4.0), sum_ci95([4.0] * 5), abs_tol=0.1)


def test_laplace_cells_enter_with_about_twice_the_variance() -> None:
    laplace, gaussian = half_width("discrete_laplace", 4.0), half_width("discrete_gaussian", 4.0)
    assert 1.35 < laplace / gaussian < 1.45  # √2 ≈ 1.414 for b = 4
