"""Consistent, non-negative estimates of a group's tables, with intervals.

A peer group's table is the sum of its institutions' noisy tables. Summed
noisy counts can be negative, the tables that describe the same units
disagree about how many there are, and a margin released beside its product
table (``households_by_segment`` beside ``households_by_segment_discipline``)
is a second, independent measurement of the product's row sums. This module
turns the noisy sums into one set of estimates that a reader can act on. It
is post-processing of differentially private values, so it costs no budget.

The structure is read from the tables themselves, never from their names:

* all tables of one measure (``households``, ``visits``) are partitions of
  the same units (dp/release_design.py), so they estimate one common total;
* a table whose dimensions are a strict subset of another's (same measure,
  and its keys exactly the projections of the other's keys) is that
  table's *margin*; a table that is nobody's margin is *maximal*.

Steps, per measure:

1. **Generalised least squares.** The unknowns are the cells of the maximal
   tables; every cell of every table is an observation (a margin cell
   observes the sum of its parent's cells) with independent noise of the
   given variance, so GLS is weighted least squares with weights
   1/variance. Maximal tables are constrained to agree on their common
   margin (on the total when they share no dimension). The constrained
   solution is found by reparametrising over the null space of the
   constraints; its covariance Σ gives every cell's standard deviation,
   sqrt(aᵀΣa) for a cell that sums the unknowns in ``a``. The GLS estimate is
   unbiased and, among linear unbiased estimates, has the smallest variance
   for every cell, the common total included: it combines all tables that
   estimate that total.
2. **Non-negative and consistent, without moving what is shown.** The
   total is clipped at 0. A cell is *clear* when its GLS estimate is at
   least twice its 95% half-width (it will be shown); clear cells keep
   their GLS values, so their intervals stay valid. In every table of at
   most one dimension the other cells take up the rest of the total,
   projected (Euclidean) onto {x ≥ 0, Σx = rest} (:func:`settle`). Every
   maximal product table is fitted to those one-dimensional margins by
   iterative proportional fitting (IPF) of its uncertain cells to what the
   clear ones leave, started from their GLS estimates clipped at 0 plus a
   floor of 1e-9·total per cell (so that a row whose cells were all clipped
   to 0 but whose margin is positive is filled in proportion to the other
   margins); a dimension without its own one-dimensional table uses the
   product's GLS margin, settled the same way. Where the uncertain cells
   cannot take up the rest (a negative rest), the whole table is projected
   or fitted instead. Every maximal table is then published as fitted and
   every margin as the sums of its fitted parent, so that margins add up
   exactly. (Where the clipped product can hardly carry its margins, IPF
   stops after 1,000 rounds a little off its targets; the margins, being
   the product's sums, stay exactly additive.)
3. **Intervals.** A cell's 95% interval is its post-processed estimate ±
   z·std, z from OpenDP's Gaussian accuracy (the sum of many independent
   discrete noises is close to Gaussian; ``dp.measurements.sum_ci95``),
   with the lower end clipped at 0. A cell is *too uncertain* when the
   half-width exceeds half the estimate (relative error over 50%, the
   statistical-office rule), which includes every estimate of 0, or when
   it was not clear at GLS (a value only the fitting lifted is not a
   measurement): it is shown as "too uncertain" instead of as a number. Coverage of the
   intervals of the cells that are shown is measured by simulation
   (tests/aggregator/test_estimates.py, bench/dp_accuracy.py).

Deterministic: the same input gives the same output (no randomness here;
ties follow the given order of tables and keys).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import numpy.typing as npt

from dp.measurements import sum_ci95

Vector = npt.NDArray[np.float64]

# z of a two-sided 95% Gaussian interval, from OpenDP (accuracy at scale 1).
Z95 = sum_ci95([1.0])
RELATIVE_LIMIT = 0.5  # half-width above this share of the estimate: too uncertain
_FLOOR = 1e-9  # IPF start floor per cell, as a share of the total
_IPF_TOLERANCE = 1e-10  # margins fitted to this share of the total
_IPF_ITERATIONS = 1000


@dataclass(frozen=True)
class ObservedTable:
    """One table summed over a group's institutions.

    ``values`` are the sums of the institutions' noisy values per cell and
    ``variances`` the sums of their noise variances (independent noise adds
    in variance); both in ``keys`` order."""

    name: str
    measure: str
    dimensions: tuple[str, ...]
    keys: tuple[tuple[str, ...], ...]
    values: tuple[float, ...]
    variances: tuple[float, ...]

    def __post_init__(self) -> None:
        if not len(self.keys) == len(self.values) == len(self.variances):
            raise ValueError(f"{self.name}: keys, values and variances differ in length")
        if len(set(self.keys)) != len(self.keys):
            raise ValueError(f"{self.name}: a key occurs twice")
        if any(len(k) != len(self.dimensions) for k in self.keys):
            raise ValueError(f"{self.name}: a key does not match the dimensions")
        if not all(math.isfinite(v) for v in self.values):
            raise ValueError(f"{self.name}: values must be finite")
        if not all(math.isfinite(v) and v > 0 for v in self.variances):
            raise ValueError(f"{self.name}: every cell needs a positive, finite noise variance")

    def __repr__(self) -> str:  # values stay out of logs
        return f"ObservedTable(name={self.name!r}, cells={len(self.keys)})"


@dataclass(frozen=True)
class CellEstimate:
    """One post-processed cell: what may be published about it."""

    estimate: float  # >= 0, post-processed
    ci95_low: float  # >= 0
    ci95_high: float
    std: float  # GLS standard deviation
    too_uncertain: bool  # 95% half-width > half the estimate (also when the estimate is 0)


def estimate_tables(observed: Sequence[ObservedTable]) -> dict[str, tuple[CellEstimate, ...]]:
    """Post-processed estimates of every table, keyed by table name, cells in
    the table's key order (module docstring for the method).

    The caller vouches that the tables of one measure partition the same
    units (the same institutions, every key of every table present)."""
    names = [t.name for t in observed]
    if len(set(names)) != len(names):
        raise ValueError("every observed table needs its own name")
    out: dict[str, tuple[CellEstimate, ...]] = {}
    for measure in sorted({t.measure for t in observed}):
        out.update(_estimate_measure([t for t in observed if t.measure == measure]))
    return {name: out[name] for name in names}


def margin_map(child: ObservedTable, parent: ObservedTable) -> list[int] | None:
    """For each cell of ``parent``, the index of the ``child`` cell it adds
    to; ``None`` when ``child`` is not a margin of ``parent``."""
    if not set(child.dimensions) < set(parent.dimensions):
        return None
    picks = [parent.dimensions.index(d) for d in child.dimensions]
    position = {k: i for i, k in enumerate(child.keys)}
    out = []
    for key in parent.keys:
        index = position.get(tuple(key[j] for j in picks))
        if index is None:
            return None
        out.append(index)
    return out if len(set(out)) == len(child.keys) else None


def _group_index(keys: Sequence[tuple[str, ...]], picks: Sequence[int]) -> tuple[list[int], int]:
    """Each key's group when grouped by the dimensions at ``picks``, in first-seen order."""
    groups: dict[tuple[str, ...], int] = {}
    index = [groups.setdefault(tuple(k[j] for j in picks), len(groups)) for k in keys]
    return index, len(groups)


def _estimate_measure(tables: list[ObservedTable]) -> dict[str, tuple[CellEstimate, ...]]:
    ordered = sorted(tables, key=lambda t: t.name)
    parent: dict[str, tuple[ObservedTable, list[int]]] = {}
    maximal = [t for t in ordered if not any(margin_map(t, p) is not None for p in ordered)]
    for t in ordered:
        if t not in maximal:
            parent[t.name] = next((p, m) for p in maximal if (m := margin_map(t, p)) is not None)
    offset: dict[str, int] = {}
    n = 0
    for p in maximal:
        offset[p.name] = n
        n += len(p.keys)

    def design(t: ObservedTable) -> Vector:
        """Rows: the table's cells as sums of the unknowns."""
        rows = np.zeros((len(t.keys), n))
        if t.name in offset:
            rows[np.arange(len(t.keys)), offset[t.name] + np.arange(len(t.keys))] = 1.0
        else:
            p, m = parent[t.name]
            rows[m, offset[p.name] + np.arange(len(p.keys))] = 1.0
        return rows

    a_of = {t.name: design(t) for t in ordered}
    a = np.vstack([a_of[t.name] for t in ordered])
    y = np.concatenate([np.asarray(t.values, dtype=float) for t in ordered])
    w = 1.0 / np.concatenate([np.asarray(t.variances, dtype=float) for t in ordered])
    information = a.T @ (w[:, None] * a)
    basis = _null_space(_constraints(maximal, offset, n), n)
    reduced = basis.T @ information @ basis
    covariance = basis @ np.linalg.solve(reduced, basis.T)
    covariance = (covariance + covariance.T) / 2
    x = covariance @ (a.T @ (w * y))

    first = maximal[0]
    total = max(float(x[offset[first.name] : offset[first.name] + len(first.keys)].sum()), 0.0)
    fitted = {t.name: a_of[t.name] @ x for t in ordered}
    stds = {
        t.name: np.sqrt(
            np.clip(np.einsum("ij,jk,ik->i", a_of[t.name], covariance, a_of[t.name]), 0.0, None)
        )
        for t in ordered
    }
    clear = {t.name: _measured(fitted[t.name], stds[t.name]) for t in ordered}
    final = _non_negative(ordered, maximal, parent, fitted, clear=clear, total=total)
    return {
        t.name: tuple(
            _cell(float(e), float(sd), clear=bool(c))
            for e, sd, c in zip(final[t.name], stds[t.name], clear[t.name], strict=True)
        )
        for t in ordered
    }


def _constraints(maximal: list[ObservedTable], offset: dict[str, int], n: int) -> Vector:
    """Rows c with c·x = 0: every pair of maximal tables agrees on its common
    margin, or on the total when the pair shares no dimension (or their keys
    do not project onto the same margin keys)."""
    rows: list[Vector] = []
    for p, q in combinations(maximal, 2):
        common = [d for d in p.dimensions if d in q.dimensions]
        on_p = [tuple(k[p.dimensions.index(d)] for d in common) for k in p.keys]
        on_q = [tuple(k[q.dimensions.index(d)] for d in common) for k in q.keys]
        if set(on_p) != set(on_q):
            on_p, on_q = [()] * len(p.keys), [()] * len(q.keys)
        for g in sorted(set(on_p)):
            row = np.zeros(n)
            row[[offset[p.name] + i for i, k in enumerate(on_p) if k == g]] = 1.0
            row[[offset[q.name] + i for i, k in enumerate(on_q) if k == g]] = -1.0
            rows.append(row)
    return np.array(rows) if rows else np.zeros((0, n))


def _null_space(constraints: Vector, n: int) -> Vector:
    """An orthonormal basis of {x : Cx = 0} (the identity without constraints)."""
    if constraints.shape[0] == 0:
        return np.eye(n)
    _, singular, vt = np.linalg.svd(constraints)
    rank = int((singular > 1e-10 * singular[0]).sum())
    return np.asarray(vt[rank:].T, dtype=float)


def project_to_simplex(values: Vector, total: float) -> Vector:
    """Euclidean projection onto {x ≥ 0, Σx = total} (sort-based, exact)."""
    if values.size == 0:
        return values.copy()
    if total <= 0:
        return np.zeros_like(values)
    u = np.sort(values)[::-1]
    cumulative = np.cumsum(u) - total
    steps = np.arange(1, values.size + 1)
    last = int(np.nonzero(u - cumulative / steps > 0)[0][-1])
    theta = cumulative[last] / (last + 1)
    return np.asarray(np.clip(values - theta, 0.0, None), dtype=float)


def settle(values: Vector, clear: npt.NDArray[np.bool_], total: float) -> Vector:
    """Non-negative values that add up to ``total``, changing only the cells
    that are not ``clear``.

    A clear cell (its GLS estimate at least twice its 95% half-width) is
    what will be shown, so it keeps its unbiased GLS value and its interval
    stays valid; the cells too uncertain to show take up the rest of the
    total, projected onto the simplex. Shifting every cell instead (a plain
    projection) moves the shown cells by the positive noise of the many
    structurally empty ones: coverage of ``visits_by_discipline`` fell to
    88-90% that way (docs/benchmarks.md). Where the uncertain cells cannot
    take up the rest (none of them, or a negative rest), the whole table is
    projected."""
    rest = total - float(values[clear].sum())
    if clear.all() or rest < 0 or not math.isfinite(rest):
        return project_to_simplex(values, total)
    out = values.copy()
    out[~clear] = project_to_simplex(values[~clear], rest)
    return out


def _non_negative(
    ordered: list[ObservedTable],
    maximal: list[ObservedTable],
    parent: dict[str, tuple[ObservedTable, list[int]]],
    fitted: dict[str, Vector],
    *,
    clear: dict[str, npt.NDArray[np.bool_]],
    total: float,
) -> dict[str, Vector]:
    projected = {
        t.name: settle(fitted[t.name], clear[t.name], total)
        for t in ordered
        if len(t.dimensions) <= 1
    }
    final: dict[str, Vector] = {}
    for p in maximal:
        if len(p.dimensions) <= 1:
            final[p.name] = projected[p.name]
            continue
        groups, targets = [], []
        for j, d in enumerate(p.dimensions):
            index, size = _group_index(p.keys, [j])
            one = next(
                (
                    (t, m)
                    for t in ordered
                    if t.dimensions == (d,) and (m := margin_map(t, p)) is not None
                ),
                None,
            )
            target = np.zeros(size)
            if one is not None:
                table, m = one
                for i, g in enumerate(index):
                    target[g] = projected[table.name][m[i]]
            else:
                own = _sums(index, fitted[p.name], size)
                target = project_to_simplex(own, total)
            groups.append(np.asarray(index))
            targets.append(target)
        final[p.name] = _fit_product(fitted[p.name], clear[p.name], groups, targets, total)
    for t in ordered:
        if t.name not in final:  # a margin: the sums of its fitted parent, exactly
            p, m = parent[t.name]
            final[t.name] = _sums(m, final[p.name], len(t.keys))
    return final


def _fit_product(
    values: Vector,
    clear: npt.NDArray[np.bool_],
    groups: list[npt.NDArray[np.int_]],
    targets: list[Vector],
    total: float,
) -> Vector:
    """A product table fitted non-negatively to its margins' ``targets``.

    As in :func:`settle`, the clear cells keep their GLS values and only the
    uncertain ones are fitted (by IPF) to what the margins leave for them;
    where a margin leaves a negative rest, or a positive rest in a row or
    column without uncertain cells to take it, the whole table is fitted."""
    floor = _FLOOR * max(total, 1.0) / len(values)
    rests = [
        t - _sums(i, np.where(clear, values, 0.0), t.size)
        for i, t in zip(groups, targets, strict=True)
    ]
    loose_in = [
        _sums(i, (~clear).astype(float), t.size) > 0 for i, t in zip(groups, targets, strict=True)
    ]
    slack = _IPF_TOLERANCE * max(total, 1.0)
    reachable = all(
        float(r.min()) >= -slack and bool(np.all(has | (r <= slack)))
        for r, has in zip(rests, loose_in, strict=True)
    )
    if clear.any() and reachable:
        out = values.copy()
        loose = ~clear
        if loose.any():
            start = np.clip(values[loose], 0.0, None) + floor
            rest = [np.clip(r, 0.0, None) for r in rests]
            out[loose] = _ipf(start, [i[loose] for i in groups], rest, total)
        return out
    return _ipf(np.clip(values, 0.0, None) + floor, groups, targets, total)


def _ipf(
    start: Vector, groups: list[npt.NDArray[np.int_]], targets: list[Vector], total: float
) -> Vector:
    """Iterative proportional fitting of ``start`` to the target sums per group."""
    x = start.copy()
    tolerance = _IPF_TOLERANCE * max(total, 1.0)
    for _ in range(_IPF_ITERATIONS):
        for index, target in zip(groups, targets, strict=True):
            sums = _sums(index, x, target.size)
            factor = np.divide(target, sums, out=np.zeros_like(target), where=sums > 0)
            x = x * factor[index]
        worst = max(
            float(np.abs(_sums(i, x, t.size) - t).max())
            for i, t in zip(groups, targets, strict=True)
        )
        if worst <= tolerance:
            break
    return x


def _sums(index: Sequence[int] | npt.NDArray[np.int_], values: Vector, size: int) -> Vector:
    """Sums of ``values`` per group (``index`` gives each value's group)."""
    return np.asarray(np.bincount(index, weights=values, minlength=size), dtype=float)


def _measured(estimate: Any, std: Any) -> Any:
    """The statistical-office rule, for one value or elementwise: the 95%
    half-width is at most half the estimate (relative error ≤ 50%)."""
    return Z95 * std <= RELATIVE_LIMIT * estimate


def _cell(estimate: float, std: float, *, clear: bool) -> CellEstimate:
    """A cell shown only when its GLS estimate was clear of the 50% rule: a
    value that only the non-negative step lifted over the line is a fit to the
    margins, not a measurement, and its interval would not cover (a reviewer
    found 39 of 52 such intervals covering)."""
    estimate = max(estimate, 0.0)
    half = Z95 * std
    return CellEstimate(
        estimate=estimate,
        ci95_low=max(estimate - half, 0.0),
        ci95_high=estimate + half,
        std=std,
        too_uncertain=not clear or estimate <= 0 or not _measured(estimate, std),
    )


@dataclass(frozen=True)
class Shown:
    """A figure as published: a number with its interval, or too uncertain and
    no number (the benchmarks' rule). Penetration and overlaps publish their
    figures in this one shape."""

    estimate: float | None
    ci95_low: float | None
    ci95_high: float | None
    too_uncertain: bool

    def to_dict(self) -> dict[str, float | bool | None]:
        return {
            "estimate": self.estimate,
            "ci95_low": self.ci95_low,
            "ci95_high": self.ci95_high,
            "too_uncertain": self.too_uncertain,
        }


HIDDEN = Shown(None, None, None, too_uncertain=True)


def published(estimate: float, low: float, high: float, *, digits: int) -> Shown:
    """A clear figure as published: rounded to ``digits`` decimals, the lower
    end of its interval never below 0 (a count cannot be negative)."""
    return Shown(round(estimate, digits), round(max(low, 0.0), digits), round(high, digits), False)
