"""Overlap estimates from released household sketches (ADR 0034).

Post-processing only (numpy on released values, no noise is drawn here), so
the aggregator may run it on any sketches of one period; it lives here, not
in dp/, because the agent does not install numpy (ADR 0015). Each estimate comes
with a standard error from two sources: the noise (known variance per bucket
and per count, from the release) and the sketch itself (hash collisions, whose
variance follows from the set sizes and the width). Notation: a sketch holds
x = a + n, a the exact signed bucket sums, n the noise of variance v per
bucket; ``households`` is the noisy count with variance c.

* **Intersection** |A ∩ B| ≈ x_A · x_B: unbiased, since signs of different
  households are independent (their products average to 0) and the two
  institutions' noises are independent of each other and of the data.
  Variance ≈ (n_A·n_B + I²)/w (collisions) + n_A·v_B + n_B·v_A (noise against
  households) + w·v_A·v_B (noise against noise).
* **Union of two** n_A + n_B − |A ∩ B|, the counts' variances added.
* **Reach** over many sets (the union of many, the sector's distinct
  households): with F1 = Σ n_i (household-institution pairs) and F2 =
  ‖Σ x_i‖² − w·Σ v_i (an unbiased estimate of Σ_h u_h², u_h the number of
  sets holding household h), reach = (3·F1 − F2)/2 = Σ_h (1 − C(u_h − 1, 2)).
  That is exactly the number of distinct households when none is in more than
  two of the sets, and a lower bound otherwise (second-order inclusion–
  exclusion): noise added by each institution separately leaves no unbiased
  estimator of many-set unions with a usable variance (ADR 0034).
* **Mean institutions per household** F1 / reach (an upper bound when reach
  is a lower bound), its standard error by the delta method.

Sketches of different periods, widths, seeds or designs are refused with a
ValueError (:meth:`dp.sketches.SketchConfig.check_same`), and so is a sketch
combined with itself or with a copy of itself (its noise would not be
independent).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dp.measurements import sum_ci95
from dp.sketches import NoisySketch

Z95 = sum_ci95([1.0])  # two-sided 95% Gaussian z, from OpenDP (as aggregator/estimates.py)
RELATIVE_LIMIT = 0.5  # the benchmarks' rule: a 95% half-width ≤ half the estimate


@dataclass(frozen=True)
class OverlapEstimate:
    """One estimate, its standard error and its 95% interval."""

    estimate: float
    std: float

    @property
    def ci95_low(self) -> float:
        return self.estimate - Z95 * self.std

    @property
    def ci95_high(self) -> float:
        return self.estimate + Z95 * self.std

    @property
    def too_uncertain(self) -> bool:
        """The 95% half-width exceeds half the estimate (also when it is ≤ 0)."""
        return self.estimate <= 0 or Z95 * self.std > RELATIVE_LIMIT * self.estimate


def _checked(sketches: Sequence[NoisySketch]) -> None:
    if len(sketches) < 2:
        raise ValueError("an overlap needs at least two sketches")
    first = sketches[0].config
    for other in sketches[1:]:
        first.check_same(other.config)
    # By value, not identity: the same release loaded twice is two objects with one
    # noise draw, while two independent releases never share every noisy bucket.
    if len({s.buckets for s in sketches}) != len(sketches):
        raise ValueError("a sketch cannot be combined with itself (its noise is not independent)")


def _vector(sketch: NoisySketch) -> npt.NDArray[np.float64]:
    return np.asarray(sketch.buckets, dtype=np.float64)


def _intersection_variance(
    n_a: float, n_b: float, overlap: float, a: NoisySketch, b: NoisySketch
) -> float:
    width = a.config.width
    n_a, n_b = max(n_a, 0.0), max(n_b, 0.0)
    overlap = min(max(overlap, 0.0), n_a, n_b)
    return (
        (n_a * n_b + overlap * overlap) / width
        + n_a * b.bucket_variance
        + n_b * a.bucket_variance
        + width * a.bucket_variance * b.bucket_variance
    )


def intersection(a: NoisySketch, b: NoisySketch) -> OverlapEstimate:
    """Households in both sets."""
    _checked([a, b])
    value = float(_vector(a) @ _vector(b))
    variance = _intersection_variance(a.households, b.households, value, a, b)
    return OverlapEstimate(value, math.sqrt(variance))


def union(a: NoisySketch, b: NoisySketch) -> OverlapEstimate:
    """Households in either set: n_A + n_B − |A ∩ B|."""
    both = intersection(a, b)
    value = a.households + b.households - both.estimate
    variance = a.count_variance + b.count_variance + both.std**2
    return OverlapEstimate(value, math.sqrt(variance))


def pairwise_intersections(
    sketches: Sequence[NoisySketch],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """All pairwise intersections (a crossover matrix) and their standard
    errors, as two m × m matrices with NaN on the diagonal: one matrix product."""
    _checked(sketches)
    vectors = np.stack([_vector(s) for s in sketches])
    values = vectors @ vectors.T
    sizes = np.maximum([s.households for s in sketches], 0.0)
    noise = np.array([s.bucket_variance for s in sketches])
    width = sketches[0].config.width
    overlap = np.clip(values, 0.0, np.minimum.outer(sizes, sizes))
    variance = (
        (np.outer(sizes, sizes) + overlap**2) / width
        + np.outer(sizes, noise)
        + np.outer(noise, sizes)
        + width * np.outer(noise, noise)
    )
    np.fill_diagonal(values, np.nan)
    np.fill_diagonal(variance, np.nan)
    return values, np.sqrt(variance)


@dataclass(frozen=True)
class ReachEstimate:
    """Reach over many sets and the mean number of sets per household."""

    reach: OverlapEstimate
    mean_institutions: OverlapEstimate
    pairs: OverlapEstimate  # F1: household-institution pairs, Σ n_i


def reach(sketches: Sequence[NoisySketch]) -> ReachEstimate:
    """Distinct households over many sets (the union of many), see the module."""
    _checked(sketches)
    width = sketches[0].config.width
    f1 = float(sum(s.households for s in sketches))
    var_f1 = float(sum(s.count_variance for s in sketches))
    noise = float(sum(s.bucket_variance for s in sketches))
    kurtosis = float(sum(s.bucket_kurtosis for s in sketches))
    total = np.sum([_vector(s) for s in sketches], axis=0)
    f2 = float(total @ total) - width * noise
    f2_plug = max(f2, f1, 0.0)
    var_f2 = 2 * f2_plug**2 / width + 4 * f2_plug * noise + width * (2 * noise**2 + kurtosis)
    value = (3 * f1 - f2) / 2
    var_reach = (9 * var_f1 + var_f2) / 4
    if value > 0:
        d_f1 = 1 / value - 1.5 * f1 / value**2
        d_f2 = 0.5 * f1 / value**2
        mean = OverlapEstimate(f1 / value, math.sqrt(d_f1**2 * var_f1 + d_f2**2 * var_f2))
    else:
        mean = OverlapEstimate(math.nan, math.inf)
    return ReachEstimate(
        reach=OverlapEstimate(value, math.sqrt(var_reach)),
        mean_institutions=mean,
        pairs=OverlapEstimate(f1, math.sqrt(var_f1)),
    )
