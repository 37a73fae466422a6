"""Household overlaps between institutions, as published (issue 17, ADR 0037).

Post-processing of released household sketches (``dp.sketches``, ADR 0034):
no noise is drawn here and nothing is read from storage, so every function is
pure. Each institution releases one sketch *part* per main discipline of its
households; the parts partition its households, so the institution's sketch is
the sum of its parts (:func:`combined`).

What a crossover cell counts. Every institution noises its sketch itself, so
the aggregator can estimate |A_i ∩ A_j| for two *different* institutions (the
dot product of two independently noised sketches is unbiased) but not how many
distinct households a group of institutions shares with another. The cell for
groups (G1, G2) is therefore

    Σ over pairs of different institutions i ∈ G1, j ∈ G2 of |A_i ∩ A_j|,

"shared households, counted once per pair of institutions" (:data:`CROSSOVER_NOTE`).
It equals the number of distinct shared households when a household rarely
visits several institutions of one group, and exceeds it otherwise. A diagonal
cell (G, G) counts each pair of different institutions of G once. Pairs of an
institution with itself are left out everywhere: its own parts hold disjoint
households by construction, and its sketch times itself would add its noise.

Standard errors. A cell is T = ½ Σ_ab W_ab x_a·x_b over sketch parts a, b with
a symmetric 0/1 weight W (1 for the pairs the cell counts, 0 on same-institution
pairs). With G the parts' true intersections (G_aa = n_a), v_a the noise
variance per bucket and w the width, as in ``aggregator.overlap_estimators``:

* hashing: tr(W·G·W·G) / (2w) (collisions of different households);
* noise against households: Σ_a v_a (W·G·W)_aa;
* noise against noise: ½ Σ_ab W_ab² · w · v_a · v_b.

For two sets this is the pairwise formula of ``overlap_estimators``. G is
plugged in from the sketches (noisy counts; dot products clipped to [0, the
smaller count]; 0 between parts of one institution). The simulation in
tests/aggregator/test_overlaps_simulation.py checks unbiasedness and the 95%
coverage.

What is shown (:func:`shown`, :func:`pooled`, :func:`check_k`,
:func:`check_named_pair`): a figure with its 95% interval, or *too uncertain*
and no number (the benchmarks' rule); never a negative count; groups with
fewer than ``k`` institutions pooled, so that no cell, and no difference of
cells, counts fewer than ``k`` institutions on a side; a named pair only when
both institutions opted in.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from aggregator.estimates import HIDDEN, Shown, published
from aggregator.overlap_estimators import OverlapEstimate, ReachEstimate, intersection, reach
from dp.sketches import NoisySketch
from protocol.errors import (
    NamedOverlapNotOptedIn,
    NamedOverlapOtherNotOptedIn,
    NamedOverlapOtherNotSubmitted,
    NamedOverlapSelfPair,
    NoSketches,
    NotFound,
    OverlapBelowK,
)

DISCIPLINE = "discipline"
PROVINCE = "province"
PEER_GROUP = "peer_group"
SECTOR = "sector"
BY = (DISCIPLINE, PROVINCE, PEER_GROUP)
POOLED = "pooled"
"""The group of every group with fewer than ``k`` institutions (no discipline,
province or peer group is named so)."""
UNKNOWN_GROUP = "unknown"

CROSSOVER_NOTE = (
    "Each cell counts shared households once per pair of different institutions, one in "
    "each group (a diagonal cell: each pair within the group once): a household that visits "
    "several institutions of a group counts for each pair, so the cell is at least the "
    "number of distinct shared households. Groups with fewer than k institutions are "
    "pooled into one group, 'pooled'."
)
OWN_NOTE = (
    "Households the institution shares with the other institutions of each discipline, "
    "province and the sector, counted once per other institution: a household that also "
    "visits two others counts twice. Disciplines and provinces with fewer than k other "
    "institutions are pooled into 'pooled'."
)
REACH_NOTE = (
    "Reach is a lower bound of the distinct households the sector reaches: exact when no "
    "household visits more than two institutions, below the truth otherwise; the mean "
    "number of institutions per household is then an upper bound."
)
CLAMP_NOTE = "Counts are never negative: an interval's lower end below 0 is shown as 0."


class Submitted(Protocol):
    """One institution's counted submission as the overlaps read it (what
    ``aggregator.sketch_inputs`` returns)."""

    @property
    def institution_id(self) -> str: ...

    @property
    def named_overlaps(self) -> bool: ...

    @property
    def parts(self) -> Mapping[str, NoisySketch]: ...


# --- combining sketches ----------------------------------------------------------


def combined(sketches: Sequence[NoisySketch]) -> NoisySketch:
    """The sketch of a group: buckets, households, noise variances and fourth
    cumulants add (independent noise). An institution's sketch is the sum of
    its parts. Its ``rho`` is the largest of the parts': each household is in
    one part of an institution, and institutions hold their own budgets.

    Refused (ValueError) as ``overlap_estimators`` refuses: sketches of
    different configs, or one sketch twice (its noise would count twice)."""
    if not sketches:
        raise ValueError("a group sketch needs at least one sketch")
    if len(sketches) == 1:
        return sketches[0]
    first = sketches[0].config
    for other in sketches[1:]:
        first.check_same(other.config)
    if len({s.buckets for s in sketches}) != len(sketches):
        raise ValueError("a sketch cannot be combined with itself (its noise is not independent)")
    buckets = np.sum([np.asarray(s.buckets, dtype=np.int64) for s in sketches], axis=0)
    mechanisms = sorted({s.mechanism for s in sketches})
    return NoisySketch(
        config=first,
        buckets=tuple(buckets.tolist()),
        households=float(sum(s.households for s in sketches)),
        mechanism="+".join(mechanisms),
        bucket_variance=float(sum(s.bucket_variance for s in sketches)),
        count_variance=float(sum(s.count_variance for s in sketches)),
        bucket_kurtosis=float(sum(s.bucket_kurtosis for s in sketches)),
        rho=max(s.rho for s in sketches),
    )


# --- a period's parts and their products -------------------------------------------


Entry = tuple[str, NoisySketch]
"""One institution's sketch or part (or sum of its parts) on one side of a cell."""


def present(part: NoisySketch) -> bool:
    """Whether a part counts its institution toward the k rule of its
    discipline: its noisy household count is clear of its noise (the
    too-uncertain rule). An institution sends a part for every discipline it
    declared, an empty one being noise, so having a part says nothing; a part
    of a few households, not clear, still counts in the sums (leaving it out
    would lose its households) but not toward k."""
    return not OverlapEstimate(part.households, math.sqrt(part.count_variance)).too_uncertain


@dataclass(frozen=True, eq=False)
class PeriodSketches:
    """Every counted sketch of a period: each institution's parts by
    discipline, its whole sketch (their sum) and its consent to named pairs."""

    parts: Mapping[str, Mapping[str, NoisySketch]] = field(repr=False)
    wholes: Mapping[str, NoisySketch] = field(repr=False)
    consents: Mapping[str, bool]

    @property
    def width(self) -> int:
        return next(iter(self.wholes.values())).config.width

    def members(self) -> list[str]:
        return sorted(self.wholes)

    def institution(self, institution_id: str) -> NoisySketch:
        """The institution's sketch: the sum of its parts."""
        return self.wholes[institution_id]

    @classmethod
    def of(cls, submitted: Iterable[Submitted]) -> PeriodSketches:
        """``NoSketches`` without any part; ValueError for parts of different
        configs or one part twice (the sketch inputs hold one period's
        sketches, so either is a bug)."""
        parts = {s.institution_id: dict(s.parts) for s in submitted if s.parts}
        if not parts:
            raise NoSketches(
                "the period has no counted household sketch",
                hint="a period carries sketches when it is opened with an overlap share "
                "(publiek aggregator period open --overlap-share) and institutions submit in it",
            )
        every = [p for by_discipline in parts.values() for p in by_discipline.values()]
        for other in every[1:]:
            every[0].config.check_same(other.config)
        if len({p.buckets for p in every}) != len(every):
            raise ValueError("a sketch part appears twice (its noise would count twice)")
        consents = {s.institution_id: s.named_overlaps for s in submitted if s.parts}
        return cls(
            parts={i: parts[i] for i in sorted(parts)},
            wholes={i: combined(list(parts[i].values())) for i in sorted(parts)},
            consents=consents,
        )


def _merged(entries: Iterable[Entry]) -> list[Entry]:
    """One entry per institution (the sum of its entries), in institution
    order: pairs within an institution are never counted, so its parts on
    one side act as one sketch, and a side holds at most one entry per
    institution."""
    by_institution: dict[str, list[NoisySketch]] = defaultdict(list)
    for institution_id, sketch in entries:
        by_institution[institution_id].append(sketch)
    return [(i, combined(by_institution[i])) for i in sorted(by_institution)]


def sum_of_pairs(left: Iterable[Entry], right: Iterable[Entry] | None = None) -> OverlapEstimate:
    """Σ x_a·x_b over entries a ∈ left, b ∈ right of different institutions
    (``right`` None: each pair within ``left`` once), with its standard
    error (module docstring). Entries of one institution on a side are
    summed first (:func:`_merged`)."""
    lefts = _merged(left)
    rights = [] if right is None else _merged(right)
    entries = lefts + rights
    if not entries:
        return OverlapEstimate(0.0, 0.0)
    inst = np.array([i for i, _ in entries])
    if right is None:
        weight = np.not_equal.outer(inst, inst).astype(np.float64)
    else:
        n = len(lefts)
        weight = np.zeros((len(entries), len(entries)))
        weight[:n, n:] = np.not_equal.outer(inst[:n], inst[n:])
        weight[n:, :n] = weight[:n, n:].T
    vectors = np.array([e.buckets for _, e in entries], dtype=np.float64)
    raw = vectors @ vectors.T
    value = 0.5 * float((raw * weight).sum())
    sizes = np.maximum([e.households for _, e in entries], 0.0)
    plug = np.clip(raw, 0.0, np.minimum.outer(sizes, sizes))
    np.fill_diagonal(plug, sizes)
    plug[np.equal.outer(inst, inst) & ~np.eye(len(entries), dtype=bool)] = 0.0
    noise = np.array([e.bucket_variance for _, e in entries])
    width = entries[0][1].config.width
    wg = weight @ plug
    hashing = float((wg * wg.T).sum()) / (2 * width)
    against_households = float(noise @ (wg * weight).sum(axis=1))
    against_noise = 0.5 * width * float(noise @ (weight**2) @ noise)
    return OverlapEstimate(value, math.sqrt(max(hashing + against_households + against_noise, 0.0)))


# --- publication rules ---------------------------------------------------------------


def check_k(institutions: int, k: int, *, what: str) -> None:
    """The k rule for a whole answer: raise ``OverlapBelowK`` when ``what``
    counts fewer than ``k`` institutions (every part of it would)."""
    if institutions < k:
        raise OverlapBelowK(
            f"{what} counts {institutions} institutions, fewer than k = {k}: an overlap over "
            "them could single one out",
            hint="overlaps are published once at least k institutions have sent a sketch",
        )


def listed(left: int, right: int, k: int) -> bool:
    """The k rule for one cell: at least ``k`` institutions on each side."""
    return left >= k and right >= k


def pooled(members: Mapping[str, set[str]], k: int) -> dict[str, str]:
    """Each group's shown name: its own, or :data:`POOLED` when it counts
    fewer than ``k`` institutions. When the pooled groups together still count
    fewer than ``k`` (and more than none), the smallest other groups join them
    until they reach ``k`` or none is left: otherwise the sum of the shown
    groups, subtracted from a total, would give what fewer than ``k``
    institutions share (complementary suppression). A pool that counts no
    institution (disciplines nobody has: their parts are noise) takes no
    other group; it is not shown (:func:`crossover`, :func:`own_view`)."""
    names = {g: g for g in members}
    small = [g for g, m in members.items() if len(m) < k]
    if not small:
        return names
    pool: set[str] = set().union(*(members[g] for g in small))
    rest = sorted((g for g in members if g not in small), key=lambda g: (len(members[g]), g))
    while pool and len(pool) < k and rest:
        joined = rest.pop(0)
        small.append(joined)
        pool |= members[joined]
    names.update(dict.fromkeys(small, POOLED))
    return names


def shown(estimate: OverlapEstimate, *, digits: int = 0) -> Shown:
    """``estimate`` as published: too uncertain (``OverlapEstimate.too_uncertain``:
    half-width over half the estimate, or not positive) shows no number;
    otherwise rounded to ``digits``, the lower end never below 0
    (:data:`CLAMP_NOTE`; a clear estimate's lower end is above half of it)."""
    if estimate.too_uncertain or not math.isfinite(estimate.std):
        return HIDDEN
    return published(estimate.estimate, estimate.ci95_low, estimate.ci95_high, digits=digits)


def check_named_pair(own: str, other: str, consents: Mapping[str, bool]) -> None:
    """A named pair's overlap is shown only when both institutions submitted
    a sketch in the period and both opted in (``named_overlaps``); raise the
    denial otherwise. The asking institution's own consent is checked before
    anything about the other, so one that did not opt in learns nothing about
    the others."""
    if own == other:
        raise NamedOverlapSelfPair(
            "an institution's overlap with itself is its own household count",
            hint="ask for another institution's id, or read the own view's figures",
        )
    if own not in consents:
        raise NotFound(f"{own} has no counted sketch in this period")
    if not consents[own]:
        raise NamedOverlapNotOptedIn(
            f"{own} did not opt in to named overlaps in its submission for this period",
            hint="a named overlap needs both institutions' consent, given per period in the "
            "submission: set share_named_overlaps = true in the agent's release.toml before it "
            "submits a later period (this one is published and closed to new submissions)",
        )
    if other not in consents:
        raise NamedOverlapOtherNotSubmitted(
            f"{other} has no counted sketch in this period",
            hint="a named overlap needs a sketch from both institutions in the same period",
        )
    if not consents[other]:
        raise NamedOverlapOtherNotOptedIn(
            f"{other} did not opt in to named overlaps for this period",
            hint="a named overlap needs both institutions' consent",
        )


@dataclass(frozen=True)
class Side:
    """One group as shown: its entries and the institutions it counts toward k."""

    entries: list[Entry]
    institutions: set[str]


def _grouped(labelled: Iterable[tuple[str, Entry, bool]], k: int) -> dict[str, Side]:
    """Entries by shown group (:func:`pooled`; named groups in order,
    ``pooled`` last). ``labelled``: (group, entry, whether the entry counts
    its institution toward k)."""
    rows = list(labelled)
    members: dict[str, set[str]] = defaultdict(set)
    for group, (institution_id, _), counts in rows:
        # a group without a counted institution is still a group (pooled)
        members[group].update([institution_id] if counts else [])
    names = pooled(members, k)
    sides: dict[str, Side] = {}
    for group, entry, counts in rows:
        side = sides.setdefault(names[group], Side([], set()))
        side.entries.append(entry)
        if counts:
            side.institutions.add(entry[0])
    return {g: sides[g] for g in sorted(sides, key=lambda g: (g == POOLED, g))}


# --- crossover matrices ---------------------------------------------------------------


@dataclass(frozen=True)
class Crossover:
    """A crossover matrix: its groups (shown names, in order), the institutions
    each counts, and the cells for group pairs (i ≤ j by group order)."""

    by: str
    groups: tuple[str, ...]
    institutions: tuple[int, ...]
    cells: Mapping[tuple[str, str], OverlapEstimate]

    def cell(self, a: str, b: str) -> OverlapEstimate:
        order = {g: i for i, g in enumerate(self.groups)}
        return self.cells[(a, b) if order[a] <= order[b] else (b, a)]


def crossover(
    s: PeriodSketches, by: str, *, k: int, group_of: Mapping[str, str] | None = None
) -> Crossover:
    """The crossover matrix ``by`` discipline (the parts' disciplines) or by a
    grouping of whole institutions (``group_of``: institution → province or
    peer group; one missing counts as :data:`UNKNOWN_GROUP`). Groups of fewer
    than ``k`` institutions are pooled (:func:`pooled`); ``OverlapBelowK`` when
    the period has fewer than ``k`` institutions with a sketch."""
    if by not in BY:
        raise ValueError(f"unknown crossover {by!r}")
    check_k(len(s.members()), k, what="the period's sketches")
    if by == DISCIPLINE:
        labelled = [
            (discipline, (i, part), present(part))
            for i, by_discipline in s.parts.items()
            for discipline, part in by_discipline.items()
        ]
    else:
        if group_of is None:
            raise ValueError(f"a crossover by {by} needs each institution's {by}")
        labelled = [(group_of.get(i, UNKNOWN_GROUP), (i, s.wholes[i]), True) for i in s.wholes]
    sides = {g: side for g, side in _grouped(labelled, k).items() if side.institutions}
    groups = list(sides)
    cells = {}
    for n, left in enumerate(groups):
        for right in groups[n:]:
            cells[(left, right)] = sum_of_pairs(
                sides[left].entries, None if left == right else sides[right].entries
            )
    return Crossover(by, tuple(groups), tuple(len(sides[g].institutions) for g in groups), cells)


# --- reach and the own view --------------------------------------------------------------


def sector_reach(s: PeriodSketches, *, k: int) -> ReachEstimate:
    """Distinct households over every institution's sketch (a lower bound:
    :data:`REACH_NOTE`) and the mean number of institutions per household."""
    members = s.members()
    # max(k, 2): reach is over several institutions (one alone is its own count)
    check_k(len(members), max(k, 2), what="the period's sketches")
    return reach([s.institution(i) for i in members])


@dataclass(frozen=True)
class OwnSide:
    """The institution's overlap with the other institutions of one discipline,
    province or the sector, and how many others that side counts."""

    kind: str  # DISCIPLINE, PROVINCE or SECTOR
    name: str
    institutions: int
    overlap: OverlapEstimate


def own_view(
    s: PeriodSketches, institution_id: str, *, k: int, province_of: Mapping[str, str]
) -> list[OwnSide]:
    """The institution's overlap with each discipline (the others' parts of
    it), each province and the sector (all others), each side of at least
    ``k`` other institutions (smaller sides pooled). ``NotFound`` when the
    institution sent no sketch, ``OverlapBelowK`` when fewer than ``k`` others
    did."""
    if institution_id not in s.wholes:
        raise NotFound(f"{institution_id} has no counted sketch in this period")
    own = [(institution_id, s.wholes[institution_id])]
    others = [i for i in s.wholes if i != institution_id]
    check_k(len(others), k, what="the other institutions' sketches")
    sides = [
        OwnSide(SECTOR, SECTOR, len(others), sum_of_pairs(own, [(i, s.wholes[i]) for i in others]))
    ]
    by_discipline = [
        (discipline, (i, part), present(part))
        for i in others
        for discipline, part in s.parts[i].items()
    ]
    by_province = [(province_of.get(i, UNKNOWN_GROUP), (i, s.wholes[i]), True) for i in others]
    for kind, labelled in ((DISCIPLINE, by_discipline), (PROVINCE, by_province)):
        for name, side in _grouped(labelled, k).items():
            if not side.institutions:
                continue  # a pool of noise: no institution has households there
            overlap = sum_of_pairs(own, side.entries)
            sides.append(OwnSide(kind, name, len(side.institutions), overlap))
    return sides


def named_pair(s: PeriodSketches, own: str, other: str) -> OverlapEstimate:
    """Households two institutions share, after :func:`check_named_pair`."""
    check_named_pair(own, other, s.consents)
    return intersection(s.institution(own), s.institution(other))
