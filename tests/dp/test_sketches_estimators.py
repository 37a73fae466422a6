"""Overlap estimators (aggregator/overlap_estimators.py) against a known truth.

Households are drawn as random 64-bit hashes (what the keyed hash of unknown
keys is), a fresh draw per trial standing for a fresh period seed; the noise
is drawn in numpy with the moments of OpenDP's (rounded normal for the
discrete Gaussian, a difference of geometric variables for the discrete
Laplace; tests/dp/test_sketches.py checks OpenDP's own noise against the
declared moments), which keeps a thousand trials under a second. Tolerances
are fixed in advance: the mean error within 3 standard errors of the mean,
the coverage of the stated 95% intervals within 93–97% over 1,000 trials
(±2.9 binomial standard deviations).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from aggregator.overlap_estimators import (
    OverlapEstimate,
    intersection,
    pairwise_intersections,
    reach,
    union,
)
from dp.measurements import GAUSSIAN, LAPLACE, rho_for_epsilon
from dp.sketches import NoisySketch, SketchConfig, width_for
from tests.file_modules import load_module

# The bench's release with numpy noise of OpenDP's moments, so that the tests
# check the simulation the figures in docs/benchmarks.md come from.
noisy = load_module(
    "overlap_accuracy", Path(__file__).resolve().parents[2] / "bench" / "overlap_accuracy.py"
).simulated

RHO = rho_for_epsilon(1.0, 1e-7)
TRIALS = 1000
MECHANISMS = [(GAUSSIAN, RHO), (LAPLACE, 0.5)]


def universe(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.unique(rng.integers(0, np.iinfo(np.uint64).max, n, dtype=np.uint64, endpoint=True))


def check(results: list[tuple[OverlapEstimate, float]], *, bias: float = 0.0) -> None:
    """``bias``: a known bias allowed besides the 3 standard errors."""
    errors = np.array([e.estimate - truth for e, truth in results])
    stds = np.array([e.std for e, _ in results])
    assert abs(errors.mean()) <= 3 * errors.std() / np.sqrt(len(errors)) + bias  # unbiased
    covered = np.mean([e.ci95_low <= truth <= e.ci95_high for e, truth in results])
    assert 0.93 <= covered <= 0.97, covered
    assert 0.8 <= stds.mean() / errors.std() <= 1.25  # the stated error is the real one


def two_sets(
    seed: int, mechanism: str, rho: float, n: int, share: float
) -> list[tuple[NoisySketch, NoisySketch, int]]:
    rng = np.random.default_rng(seed)
    overlap = int(share * n)
    width = width_for(n, rho=rho, mechanism=mechanism)
    pairs = []
    for _ in range(TRIALS):
        cfg = SketchConfig("2026-Q3", width, rng.bytes(32))
        hashes = universe(rng, 2 * n - overlap)
        rng.shuffle(hashes)
        a = noisy(hashes[:n], cfg, mechanism, rho, rng)
        b = noisy(hashes[n - overlap :], cfg, mechanism, rho, rng)
        pairs.append((a, b, len(np.intersect1d(hashes[:n], hashes[n - overlap :]))))
    return pairs


@pytest.mark.slow
@pytest.mark.parametrize(("mechanism", "rho"), MECHANISMS)
@pytest.mark.parametrize("share", [0.1, 0.3])
def test_intersection_is_unbiased_and_its_intervals_cover(
    mechanism: str, rho: float, share: float
) -> None:
    pairs = two_sets(11, mechanism, rho, 4000, share)
    check([(intersection(a, b), truth) for a, b, truth in pairs])


@pytest.mark.slow
@pytest.mark.parametrize(("mechanism", "rho"), MECHANISMS)
def test_union_of_two_is_unbiased_and_its_intervals_cover(mechanism: str, rho: float) -> None:
    pairs = two_sets(12, mechanism, rho, 4000, 0.3)
    check([(union(a, b), 2 * 4000 - truth) for a, b, truth in pairs])


def many_sets(
    seed: int, trials: int, visits: Callable[[np.random.Generator, int], np.ndarray]
) -> list[tuple[list[NoisySketch], int, int]]:
    """Eight institutions; ``visits`` gives each household's set of
    institutions as a boolean row."""
    rng = np.random.default_rng(seed)
    mechanism, rho, households = LAPLACE, 0.5, 6000
    width = width_for(2000, rho=rho, mechanism=mechanism)
    out = []
    for _ in range(trials):
        cfg = SketchConfig("2026-Q3", width, rng.bytes(32))
        hashes = universe(rng, households)
        member = visits(rng, len(hashes))
        sketches = [noisy(hashes[member[:, i]], cfg, mechanism, rho, rng) for i in range(8)]
        out.append((sketches, int(member.any(axis=1).sum()), int(member.sum())))
    return out


def at_most_two(rng: np.random.Generator, n: int) -> np.ndarray:
    member = np.zeros((n, 8), dtype=bool)
    first = rng.integers(0, 8, n)
    member[np.arange(n), first] = True
    second = rng.integers(0, 8, n)
    twice = rng.random(n) < 0.4
    member[np.arange(n)[twice], second[twice]] = True
    return member


@pytest.mark.slow
def test_reach_over_many_sets_is_unbiased_when_no_household_is_in_three() -> None:
    runs = many_sets(21, TRIALS, at_most_two)
    estimates = [reach(s) for s, _, _ in runs]
    check([(e.reach, truth) for e, (_, truth, _) in zip(estimates, runs, strict=True)])
    # a ratio F1 / R is not unbiased: the delta method's second-order bias,
    # ratio · (σ_R / R)², is allowed besides the 3 standard errors
    known = np.mean(
        [e.mean_institutions.estimate * (e.reach.std / e.reach.estimate) ** 2 for e in estimates]
    )
    check(
        [
            (e.mean_institutions, pairs / truth)
            for e, (_, truth, pairs) in zip(estimates, runs, strict=True)
        ],
        bias=float(known),
    )


@pytest.mark.slow  # a simulation, about a second
def test_reach_is_a_lower_bound_when_households_visit_three_or_more() -> None:
    def three(rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.random((n, 8)) < 0.35  # many households in three sets or more

    runs = many_sets(22, 40, three)
    shortfall = [reach(s).reach.estimate - truth for s, truth, _ in runs]
    assert np.mean(shortfall) < -3 * np.std(shortfall) / np.sqrt(len(shortfall))


def test_the_pairwise_matrix_is_the_pairwise_intersections() -> None:
    sketches, _, _ = many_sets(23, 1, at_most_two)[0]
    values, stds = pairwise_intersections(sketches)
    one = intersection(sketches[2], sketches[5])
    assert values[2, 5] == pytest.approx(one.estimate)
    assert stds[5, 2] == pytest.approx(one.std)
    assert np.isnan(values[3, 3])
