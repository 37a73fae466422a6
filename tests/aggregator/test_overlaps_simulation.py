"""Crossover cells, own views and reach (aggregator/overlaps.py) against a
known truth, by simulation.

Six institutions in two provinces, three disciplines; an institution with two
disciplines sends two parts that partition its households. Households are
random 64-bit hashes (what the keyed hash of unknown keys is), a fresh draw
and seed per trial; each visits one institution, half of them a second and
some a third, so that groups hold households counted for several pairs. The
noise is drawn in numpy with OpenDP's moments (tests/aggregator/overlap_sectors.py).
Tolerances fixed in advance, as there:
the mean error within 3 standard errors of the mean, the coverage of the 95%
intervals within 93–97% over 1,000 trials, the stated error within 0.8–1.25 of
the real one.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import polars as pl
import pytest

from aggregator.overlap_estimators import OverlapEstimate
from aggregator.overlaps import (
    DISCIPLINE,
    PROVINCE,
    SECTOR,
    PeriodSketches,
    crossover,
    own_view,
    sector_reach,
)
from dp.measurements import GAUSSIAN, LAPLACE, rho_for_epsilon
from dp.sketches import SketchConfig, from_hashes
from tests.aggregator.overlap_sectors import (
    PROVINCE_OF,
    WIDTH,
    Part,
    Sent,
    exact_buckets,
    sector,
)

TRIALS = 1000


def test_the_numpy_sketch_is_the_agents() -> None:
    rng = np.random.default_rng(1)
    hashes = np.unique(rng.integers(0, 2**64 - 1, 3000, dtype=np.uint64, endpoint=True))
    exact = from_hashes(SketchConfig("2026-Q3", WIDTH, bytes(32)), pl.Series(hashes))
    assert exact_buckets(hashes, WIDTH).tolist() == list(exact.buckets)


def true_cells(
    keys: list[Part], holds: np.ndarray, label: dict[Part, str]
) -> dict[tuple[str, str], int]:
    """Σ over pairs of parts of different institutions, one in each group (a
    diagonal: each pair within the group once), of their shared households."""
    shared = np.rint(holds.T.astype(np.float64) @ holds.astype(np.float64))  # BLAS, exact
    out: dict[tuple[str, str], int] = {}
    for (x, kx), (y, ky) in combinations(enumerate(keys), 2):
        if kx[0] != ky[0]:
            left, right = sorted((label[kx], label[ky]))
            out[(left, right)] = out.get((left, right), 0) + int(shared[x, y])
    return out


def check(results: list[tuple[OverlapEstimate, float]]) -> None:
    errors = np.array([e.estimate - truth for e, truth in results])
    stds = np.array([e.std for e, _ in results])
    assert abs(errors.mean()) <= 3 * errors.std() / np.sqrt(len(errors))  # unbiased
    covered = np.mean([e.ci95_low <= truth <= e.ci95_high for e, truth in results])
    assert 0.93 <= covered <= 0.97, covered
    assert 0.8 <= stds.mean() / errors.std() <= 1.25  # the stated error is the real one


MECHANISMS = [(GAUSSIAN, rho_for_epsilon(1.0, 1e-7)), (LAPLACE, 0.5)]


def trials(
    mechanism: str, rho: float, seed: int
) -> list[tuple[list[Sent], list[Part], np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [sector(rng, mechanism, rho) for _ in range(TRIALS)]


@pytest.mark.slow  # 0.4 s or more: outside the inner loop (ADR 0032)
@pytest.mark.parametrize(("mechanism", "rho"), MECHANISMS)
def test_crossover_cells_are_unbiased_and_their_intervals_cover(mechanism: str, rho: float) -> None:
    by_discipline: dict[tuple[str, str], list[tuple[OverlapEstimate, float]]] = {}
    by_province: dict[tuple[str, str], list[tuple[OverlapEstimate, float]]] = {}
    for sent, keys, holds in trials(mechanism, rho, 31):
        s = PeriodSketches.of(sent)
        for by, out, label in (
            (DISCIPLINE, by_discipline, {key: key[1] for key in keys}),
            (PROVINCE, by_province, {key: PROVINCE_OF[key[0]] for key in keys}),
        ):
            matrix = crossover(s, by, k=1, group_of=PROVINCE_OF)
            for pair, truth in true_cells(keys, holds, label).items():
                out.setdefault(pair, []).append((matrix.cell(*pair), truth))
    assert len(by_discipline) == 6 and len(by_province) == 3
    for results in [*by_discipline.values(), *by_province.values()]:
        check(results)


@pytest.mark.slow  # 0.4 s or more: outside the inner loop (ADR 0032)
def test_own_view_sides_are_unbiased_and_their_intervals_cover() -> None:
    mechanism, rho = MECHANISMS[0]
    sides: dict[tuple[str, str], list[tuple[OverlapEstimate, float]]] = {}
    for sent, keys, holds in trials(mechanism, rho, 32):
        s = PeriodSketches.of(sent)
        own = holds[:, [n for n, (inst, _) in enumerate(keys) if inst == "b"]].any(axis=1)
        for side in own_view(s, "b", k=1, province_of=PROVINCE_OF):
            truth = sum(
                int((own & holds[:, n]).sum())
                for n, (inst, discipline) in enumerate(keys)
                if inst != "b"
                and (
                    side.kind == SECTOR
                    or (side.kind == DISCIPLINE and discipline == side.name)
                    or (side.kind == PROVINCE and PROVINCE_OF[inst] == side.name)
                )
            )
            sides.setdefault((side.kind, side.name), []).append((side.overlap, truth))
    assert len(sides) == 1 + 3 + 2
    for results in sides.values():
        check(results)


def test_reach_counts_every_institution_once() -> None:
    """Reach over the institutions' sketches (sums of their parts) equals
    reach over the parts: the parts are disjoint."""
    sent, _, holds = sector(np.random.default_rng(33), *MECHANISMS[0])
    s = PeriodSketches.of(sent)
    estimate = sector_reach(s, k=5)
    distinct = int(holds.any(axis=1).sum())
    assert estimate.reach.estimate <= distinct + 4 * estimate.reach.std  # a lower bound
    assert estimate.pairs.estimate == pytest.approx(int(holds.sum()), abs=200)
