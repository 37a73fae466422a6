"""The noise OpenDP adds has the variance the release states.

Each test pools the noise of repeated releases of an all-zero table and
compares the mean square with the stated variance. The tolerance is fixed in
advance from the exact noise distribution so that a correct implementation
fails with probability below 1e-6:

* truncation: with T chosen so that P(any |noise| > T) < 1e-7, every squared
  draw lies in [0, T²];
* Bernstein's inequality for n bounded draws, P(|mean - μ| ≥ t) ≤
  2·exp(-n t² / (2(v + T² t / 3))), solved for t at probability 5e-7, with v
  the exact variance of a squared draw.
"""

from __future__ import annotations

import math

import pytest

from dp.measurements import (
    GAUSSIAN,
    LAPLACE,
    TableRequest,
    ci95,
    noise_std,
    opendp_ci95,
    release_tables,
)

CELLS = 25_000
RELEASES = 4  # 100,000 draws per mechanism


def _pmf(mechanism: str, scale: float) -> dict[int, float]:
    span = int(80 * scale) + 10
    if mechanism == GAUSSIAN:
        weights = {k: math.exp(-(k * k) / (2 * scale * scale)) for k in range(-span, span + 1)}
    else:
        weights = {k: math.exp(-abs(k) / scale) for k in range(-span, span + 1)}
    total = sum(weights.values())
    return {k: w / total for k, w in weights.items()}


def _tolerance(mechanism: str, scale: float, n: int) -> tuple[float, float]:
    """(stated variance, allowed |mean square - variance|)."""
    pmf = _pmf(mechanism, scale)
    tail = 1e-7 / n
    bound = min(t for t in range(len(pmf)) if sum(p for k, p in pmf.items() if abs(k) > t) < tail)
    second = sum(k**2 * p for k, p in pmf.items())
    fourth = sum(k**4 * p for k, p in pmf.items())
    v, m, log = fourth - second**2, float(bound**2), math.log(2 / 5e-7)
    a = 2 * m * log / 3
    t = (a + math.sqrt(a * a + 8 * n * v * log)) / (2 * n)
    return noise_std(mechanism, scale) ** 2, t


@pytest.mark.slow
@pytest.mark.parametrize("mechanism", [GAUSSIAN, LAPLACE])
def test_empirical_variance_of_repeated_releases_matches_the_stated_scale(mechanism: str) -> None:
    request = TableRequest(
        name="zeros",
        measure="households",
        dimensions=("cell",),
        keys=tuple((str(i),) for i in range(CELLS)),
        values=(0,) * CELLS,
        sensitivity=1.0,
        rho=0.02,
    )
    draws: list[int] = []
    scales = set()
    for _ in range(RELEASES):
        (table,), _spend = release_tables([request], mechanism=mechanism)
        draws.extend(table.values)
        scales.add(table.scale)
    (scale,) = scales
    stated, tolerance = _tolerance(mechanism, scale, len(draws))
    mean_square = sum(x * x for x in draws) / len(draws)
    assert tolerance < 0.1 * stated  # the test can tell a wrong scale from the right one
    assert abs(mean_square - stated) <= tolerance


def test_the_stated_variance_is_the_exact_variance_of_the_noise_distribution() -> None:
    for mechanism in (GAUSSIAN, LAPLACE):
        for scale in (5.0, 20.0):
            exact = sum(k * k * p for k, p in _pmf(mechanism, scale).items())
            assert noise_std(mechanism, scale) ** 2 == pytest.approx(exact, rel=1e-9)


@pytest.mark.parametrize("mechanism", [GAUSSIAN, LAPLACE])
@pytest.mark.parametrize("scale", [1.0, 5.1, 7.2, 30.0, 359.0])
def test_the_stated_95_percent_half_width_is_the_smallest_that_covers_95_percent(
    mechanism: str, scale: float
) -> None:
    pmf = _pmf(mechanism, scale)
    t = ci95(mechanism, scale)

    def coverage(width: float) -> float:
        return sum(p for k, p in pmf.items() if abs(k) <= width)

    assert coverage(t) >= 0.95 > coverage(t - 1)
    assert t <= opendp_ci95(mechanism, scale)  # never wider than OpenDP's bound
