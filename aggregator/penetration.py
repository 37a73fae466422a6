"""Penetration, audience profiles and not-yet-visitors (issue 16, ADR 0031).

Visiting households are compared with the households they are drawn from:
the segment model's population (``protocol.segment_release``), summed over
the same areas the agents counted their visitors by. Everything here is
post-processing of differentially private tables and of a public population,
so it costs no budget, and it is pure: the reading of stored submissions is
in ``aggregator.penetration_inputs``.

Definitions (per segment ``s``; docs/benchmarks.md and ADR 0031 say why):

* **Visiting households.** Until household overlaps between institutions are
  measured, a group's visiting households are the sum over its members: a
  household that visits two members counts twice (:data:`DOUBLE_COUNTED`).
* **Peer group**, at a cumulative radius ``r`` (``dp.catchments.RADII``,
  default :data:`DEFAULT_RADIUS`): each member ``i`` counts its visitors in
  its own catchment (the bands of ``households_by_segment_catchment`` within
  ``r``, from its own PC4); penetration_s = Σ_i visitors_i,s ÷ Σ_i
  population_s(catchment_i) × 100 and not-yet-visitors_s = Σ_i
  population_s(catchment_i) − Σ_i visitors_i,s.
* **Sector**: the catchment is the country. Visitors are the cells of
  ``households_by_segment_province`` with a known province (a household
  without one is not known to live in the population), summed; by province
  too.
* **Profile index**: (audience share of s) ÷ (population share of s) × 100,
  shares among the households with a known segment; over-represented when its
  interval lies above 100, under-represented when below.

Intervals. A visitors figure is a sum of noisy cells with known, independent
noise (each cell's variance from its table's declared mechanism and scale),
so it is unbiased with the summed variance, and close to Gaussian: its 95%
interval is the raw sum ± z·std (``aggregator.estimates.Z95``). The
population is exact and public, so penetration and not-yet-visitors are that
interval divided through and subtracted. The raw sums are used rather than
the benchmarks' least-squares estimates: the catchment table has no margin in
the release design that shares its bands, so least squares would not narrow
it, while the post-processed (clipped, fitted) cells would bias it. The
profile index is a ratio of noisy sums; its interval is the delta method's
(first-order), whose coverage the ground-truth test measures.

What is shown follows the benchmarks' rules: a figure over fewer than ``k``
institutions is not listed; a figure whose 95% half-width exceeds half its
estimate (or whose estimate is not positive) is *too uncertain* and shows no
number; no count is negative. The sector's not-yet-visitors are a lower bound
("at least") while overlaps count twice: the sum over members overstates the
distinct visiting households. A peer group's are each member's own, summed
over their catchments: a household is counted for every member whose
catchment holds it and that it does not visit, so they are an upper bound of
the distinct households no member reaches (:data:`SUMMED_OVER_CATCHMENTS`).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt
import polars as pl

from aggregator.estimates import HIDDEN, RELATIVE_LIMIT, Z95, Shown, published
from aggregator.screening import TableInput
from dp.catchments import BANDS, RADII, UNKNOWN, bands_within, pc4_bands

CATCHMENT_TABLE = "households_by_segment_catchment"
PROVINCE_TABLE = "households_by_segment_province"
COUNTRY = "country"
DEFAULT_RADIUS = "30_km"
PROVINCE = "province"
"""The other catchment a reader may choose: each member's own province (that of
its PC4), counted from ``households_by_segment_province``."""
CATCHMENTS: tuple[str, ...] = (*RADII, PROVINCE)
PENETRATION_DIGITS = 2
"""Decimals of a penetration (per 100 households): a sector's or a group's is
often a few percent with an interval of a tenth, which one decimal would hide."""
DOUBLE_COUNTED = (
    "Visiting households are summed over the institutions: a household that visits two "
    "of them counts twice, so not-yet-visitors are at least the number shown."
)
# A peer group's population is summed over its members' catchments too, so its
# not-yet-visitors are each member's own, summed: a household in two catchments, or
# one that visits another member, is counted for each member it does not visit.
SUMMED_OVER_CATCHMENTS = (
    "Each member counts its visiting households and its not-yet-visitors in its own "
    "catchment, and the group's figures are their sums: a household in two members' "
    "catchments counts in each, and one that visits another member still counts as not "
    "yet visiting this one, so the households no member reaches are at most the number shown."
)
OWN_CATCHMENT = (
    "The institution's own visiting households in its own catchment; the peer group's "
    "audience it is compared with is summed over the members."
)
REPRESENTED = ("over", "under", "in_line")


# --- noisy sums and their intervals -------------------------------------------


@dataclass(frozen=True)
class Noisy:
    """A sum of independently noised cells: its value and its noise variance."""

    value: float
    variance: float

    def __add__(self, other: Noisy) -> Noisy:
        return Noisy(self.value + other.value, self.variance + other.variance)

    @property
    def std(self) -> float:
        return math.sqrt(self.variance)


ZERO = Noisy(0.0, 0.0)


def total(parts: Iterable[Noisy]) -> Noisy:
    out = ZERO
    for part in parts:
        out = out + part
    return out


@dataclass(frozen=True)
class Interval:
    """An estimate with its 95% interval, before the rules of what is shown
    (the ground-truth test checks these raw intervals)."""

    estimate: float
    low: float
    high: float
    std: float

    def covers(self, truth: float) -> bool:
        return self.low <= truth <= self.high


def _around(estimate: float, std: float) -> Interval:
    half = Z95 * std
    return Interval(estimate, estimate - half, estimate + half, std)


def visitors_interval(visitors: Noisy) -> Interval:
    return _around(visitors.value, visitors.std)


def penetration(visitors: Noisy, population: int) -> Interval | None:
    """Visiting households per 100 households of the population; ``None``
    for an empty population (no rate to state)."""
    if population <= 0:
        return None
    return _around(100.0 * visitors.value / population, 100.0 * visitors.std / population)


def not_yet_visitors(visitors: Noisy, population: int) -> Interval:
    """Households of the population the visitors do not account for."""
    return _around(population - visitors.value, visitors.std)


def audience_share(part: Noisy, rest: Noisy) -> Interval | None:
    """part ÷ (part + rest), by the delta method.

    ``part`` (a segment's visitors) and ``rest`` (the other segments') are
    sums of different cells, so their noise is independent, and the share
    r = part/(part + rest) has variance ≈ (rest²·var(part) + part²·var(rest))
    / (part + rest)⁴. ``None`` when the audience is not positive: no share to
    state."""
    audience = part.value + rest.value
    if audience <= 0:
        return None
    variance = (rest.value**2 * part.variance + part.value**2 * rest.variance) / audience**4
    return _around(part.value / audience, math.sqrt(variance))


def profile_index(share: Interval | None, population_share: float) -> Interval | None:
    """The audience share ÷ the population share × 100 (the population is exact,
    so the interval scales); ``None`` for a segment without population."""
    if share is None or population_share <= 0:
        return None
    scale = 100.0 / population_share
    low, high = scale * share.low, scale * share.high
    return Interval(scale * share.estimate, low, high, scale * share.std)


def relative_index(own: Interval, reference: Interval) -> Interval | None:
    """``own`` ÷ ``reference`` × 100 (an institution's audience share of a
    segment against its peer group's), by the delta method on the
    logarithms, the two taken as independent. An institution's own
    audience is part of its peer group's, so the two correlate positively and
    the stated interval is wider than the true one (conservative)."""
    if own.estimate <= 0 or reference.estimate <= 0:
        return None
    ratio = own.estimate / reference.estimate
    relative = math.hypot(own.std / own.estimate, reference.std / reference.estimate)
    return _around(100.0 * ratio, 100.0 * ratio * relative)


def represented(index: Interval | None) -> str | None:
    """Over- or under-represented (against the population, or a peer group)
    when the interval excludes 100, else in line."""
    if index is None:
        return None
    if index.low > 100.0:
        return "over"
    if index.high < 100.0:
        return "under"
    return "in_line"


# --- what is shown -------------------------------------------------------------


def clear(interval: Interval | None) -> bool:
    """The statistical-office rule: a positive estimate whose 95% half-width is
    at most half of it."""
    return (
        interval is not None
        and interval.estimate > 0
        and Z95 * interval.std <= RELATIVE_LIMIT * interval.estimate
    )


def shown(interval: Interval | None, *, digits: int) -> Shown:
    """``interval`` as published, rounded to ``digits`` decimals, never below 0."""
    if interval is None or not clear(interval):
        return HIDDEN
    return published(interval.estimate, interval.low, interval.high, digits=digits)


# --- figures per segment ---------------------------------------------------------


@dataclass(frozen=True)
class SegmentFigures:
    """Everything about one segment (in one province, for the sector by
    province) of one audience, before the rules of what is shown."""

    segment: str
    population: int
    visitors: Noisy
    penetration: Interval | None
    not_yet_visitors: Interval
    share: Interval | None  # of the audience (known segments)
    profile_index: Interval | None
    province: str | None = None

    def to_dict(self) -> dict[str, object]:
        """As published: counts whole, rates to one decimal; the profile index
        is shown only where the visitors are (a share of noise is noise), but
        whether it is over or under 100 is stated from its interval."""
        visitors = visitors_interval(self.visitors)
        index = self.profile_index if clear(visitors) else None
        return {
            "segment": self.segment,
            "province": self.province,
            "population": self.population,
            "visitors": shown(visitors, digits=0).to_dict(),
            "penetration": shown(self.penetration, digits=PENETRATION_DIGITS).to_dict(),
            "not_yet_visitors": shown(self.not_yet_visitors, digits=0).to_dict(),
            "profile_index": shown(index, digits=0).to_dict(),
            "represented": represented(self.profile_index),
        }


def segment_figures(
    segments: Sequence[str],
    visitors: Mapping[str, Noisy],
    population: Mapping[str, int],
    *,
    province: str | None = None,
) -> list[SegmentFigures]:
    """Penetration, not-yet-visitors and profile index of every segment, in
    ``segments`` order (a segment without visitors' cells counts 0 with no
    noise: nobody sent it)."""
    everyone = sum(population.get(s, 0) for s in segments)
    out = []
    for s in segments:
        part = visitors.get(s, ZERO)
        rest = total(visitors.get(t, ZERO) for t in segments if t != s)
        size = population.get(s, 0)
        share = size / everyone if everyone > 0 else 0.0
        out.append(
            SegmentFigures(
                segment=s,
                population=size,
                visitors=part,
                penetration=penetration(part, size),
                not_yet_visitors=not_yet_visitors(part, size),
                share=(own := audience_share(part, rest)),
                profile_index=profile_index(own, share),
                province=province,
            )
        )
    return out


def ranked_not_yet_visitors(rows: Sequence[SegmentFigures]) -> list[str]:
    """The segments whose not-yet-visitors are shown, largest first (ties by
    segment order)."""
    order = {r.segment: i for i, r in enumerate(rows)}
    listed = [r for r in rows if clear(r.not_yet_visitors)]
    listed.sort(key=lambda r: (-r.not_yet_visitors.estimate, order[r.segment]))
    return [r.segment for r in listed]


# --- the population --------------------------------------------------------------


class ReleaseTables(Protocol):
    """What a population is built from: a verified release
    (``protocol.segment_release.SegmentRelease``) or a model's tables before
    they are signed (``segments.build.ModelTables`` via its ids)."""

    @property
    def segments(self) -> tuple[str, ...]: ...

    @property
    def pc4(self) -> pl.DataFrame: ...


@dataclass
class Population:
    """The households per segment of a segment model, by PC4, with the sums
    this module needs: per province, for the country, and per catchment band
    of an origin (cached per origin: a period has one origin per
    institution, asked for again on every request)."""

    segments: tuple[str, ...]
    pc4: pl.DataFrame = field(repr=False)
    # A synthetic release describes no real population: every figure computed
    # against it says so (issue 16: "labelled synthetic in every output").
    synthetic: bool = False
    _bands: dict[int | None, npt.NDArray[np.int64]] = field(default_factory=dict, repr=False)
    _provinces: dict[str, dict[str, int]] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.pc4 = self.pc4.select("pc4", "province", "lat", "lon", *self.segments)

    @classmethod
    def of(cls, release: ReleaseTables) -> Population:
        return cls(
            tuple(release.segments),
            release.pc4,
            synthetic=bool(getattr(release, "synthetic", False)),
        )

    def country(self) -> dict[str, int]:
        sums = self.pc4.select(pl.col(list(self.segments)).sum()).row(0)
        return {s: int(v) for s, v in zip(self.segments, sums, strict=True)}

    def by_province(self) -> dict[str, dict[str, int]]:
        """Households per segment per province (summed once: a province catchment
        asks for its province's once per member)."""
        if self._provinces is None:
            grouped = self.pc4.group_by("province").agg(pl.col(list(self.segments)).sum())
            self._provinces = {
                row["province"]: {s: int(row[s]) for s in self.segments}
                for row in grouped.sort("province").iter_rows(named=True)
            }
        return self._provinces

    def bands(self, origin: int | None) -> npt.NDArray[np.int64]:
        """Households per (band of ``dp.catchments.BANDS``, segment) from
        ``origin``; every household in ``unknown`` without an origin."""
        if origin not in self._bands:
            banded = pc4_bands(self.pc4.select("pc4", "lat", "lon"), origin)
            joined = (
                self.pc4.join(banded, on="pc4")
                .group_by("band")
                .agg(pl.col(list(self.segments)).sum())
            )
            out = np.zeros((len(BANDS), len(self.segments)), dtype=np.int64)
            for row in joined.iter_rows(named=True):
                out[row["band"]] = [row[s] for s in self.segments]
            self._bands[origin] = out
        return self._bands[origin]

    def province_of(self, origin: int | None) -> str | None:
        """The province of PC4 ``origin`` in the model; ``None`` if not in it."""
        found = self.pc4.filter(pl.col("pc4") == origin)["province"] if origin else None
        return str(found[0]) if found is not None and found.len() else None

    def catchment(self, origin: int | None, radius: str) -> dict[str, int] | None:
        """Households per segment within ``radius`` of ``origin`` (or in its
        province, :data:`PROVINCE`); ``None`` when the origin is not a PC4 of the
        model (no catchment to count)."""
        if origin is None:
            return None
        if radius == PROVINCE:
            province = self.province_of(origin)
            return None if province is None else self.by_province()[province]
        within = [BANDS.index(b) for b in bands_within(radius)]
        banded = self.bands(origin)
        if int(banded[BANDS.index(UNKNOWN)].sum()) == int(banded.sum()):
            return None
        sums = banded[within].sum(axis=0)
        return {s: int(v) for s, v in zip(self.segments, sums, strict=True)}


_CACHE_SIZE = 4
_populations: OrderedDict[str, Population] = OrderedDict()
# The API answers requests on several threads: one reorders the cache while
# another evicts from it.
_populations_lock = threading.Lock()


def cached_population(digest: str) -> Population | None:
    """The population of the release with ``digest`` (the signed manifest's
    SHA-256, so one digest is one model), if it was built here before."""
    with _populations_lock:
        found = _populations.get(digest)
        if found is not None:
            _populations.move_to_end(digest)
        return found


def remember_population(digest: str, release: ReleaseTables) -> Population:
    """The population of ``release`` (whose digest is ``digest``), built once
    and kept for the few releases a server uses at once."""
    built = Population.of(release)
    with _populations_lock:
        found = _populations.setdefault(digest, built)
        _populations.move_to_end(digest)
        while len(_populations) > _CACHE_SIZE:
            _populations.popitem(last=False)
        return found


# --- visitors from released tables ------------------------------------------------


def _cells(table: TableInput) -> Iterable[tuple[dict[str, str], Noisy]]:
    variance = table.noise_std**2
    for key, value in zip(table.keys, table.values, strict=True):
        yield dict(zip(table.dimensions, key, strict=True)), Noisy(float(value), variance)


def catchment_visitors(table: TableInput, radius: str) -> dict[str, Noisy]:
    """One institution's visiting households per segment within ``radius``
    of itself (the bands of its catchment table), segment ``unknown`` left
    out (it has no population to compare with)."""
    within = set(bands_within(radius))
    out: dict[str, Noisy] = {}
    for labels, cell in _cells(table):
        if labels.get("catchment") in within and labels.get("segment") != UNKNOWN:
            out[labels["segment"]] = out.get(labels["segment"], ZERO) + cell
    return out


def province_visitors(table: TableInput) -> dict[tuple[str, str], Noisy]:
    """One institution's visiting households per (province, segment), the
    unknown province and segment left out."""
    out: dict[tuple[str, str], Noisy] = {}
    for labels, cell in _cells(table):
        province, segment = labels.get("province"), labels.get("segment")
        if province is None or segment is None or UNKNOWN in (province, segment):
            continue
        out[(province, segment)] = out.get((province, segment), ZERO) + cell
    return out


# --- a group's figures -------------------------------------------------------------


@dataclass(frozen=True)
class Audience:
    """One audience (a peer group in its members' catchments, the sector in
    the country, or one institution in its own catchment) against its
    population: the figures per segment, by province for the sector."""

    catchment: str  # a key of dp.catchments.RADII, PROVINCE, or COUNTRY
    institutions: int  # members counted (with a catchment, or the province table)
    listed: bool  # at least k institutions: the figures may be shown
    segments: list[SegmentFigures]
    provinces: list[SegmentFigures] = field(default_factory=list)

    @property
    def note(self) -> str:
        """What the sums mean for this audience's not-yet-visitors (module docstring)."""
        return DOUBLE_COUNTED if self.catchment == COUNTRY else SUMMED_OVER_CATCHMENTS

    def shares(self) -> dict[str, Interval | None]:
        """The audience share per segment (for a comparison with another audience)."""
        return {r.segment: r.share for r in self.segments}


@dataclass(frozen=True)
class Contributor:
    """What one institution contributes: its catchment's origin (its own PC4,
    or ``None``) and its released tables by name. (A peer group's member as
    the benchmarks know it is ``aggregator.peergroups.Member``.)"""

    institution_id: str
    origin: int | None
    tables: Mapping[str, TableInput]

    def __repr__(self) -> str:  # values stay out of logs
        return f"Contributor(institution_id={self.institution_id!r})"


def group_in_catchments(
    members: Sequence[Contributor], population: Population, *, radius: str, k: int
) -> Audience:
    """A peer group's figures, each member in its own catchment (module
    docstring). Members without a catchment (no origin, an origin outside the
    model, or no catchment table) are not counted; fewer than ``k`` counted:
    not listed."""
    visitors: dict[str, Noisy] = {}
    pop = dict.fromkeys(population.segments, 0)
    counted = 0
    for m in members:
        table = m.tables.get(PROVINCE_TABLE if radius == PROVINCE else CATCHMENT_TABLE)
        area = population.catchment(m.origin, radius) if table is not None else None
        if table is None or area is None:
            continue
        counted += 1
        if radius == PROVINCE:
            province = population.province_of(m.origin)  # not None: it has a catchment
            found = province_visitors(table)
            inside = {s: found.get((str(province), s), ZERO) for s in population.segments}
        else:
            inside = catchment_visitors(table, radius)
        for s, v in inside.items():
            visitors[s] = visitors.get(s, ZERO) + v
        for s, n in area.items():
            pop[s] += n
    rows = segment_figures(population.segments, visitors, pop)
    return Audience(radius, counted, counted >= k and counted > 0, rows)


def sector_in_country(
    members: Sequence[Contributor], population: Population, *, k: int
) -> Audience:
    """The sector's figures with the country as its catchment, and by province
    (module docstring); members without the province table are not counted."""
    by_cell: dict[tuple[str, str], Noisy] = {}
    counted = 0
    for m in members:
        table = m.tables.get(PROVINCE_TABLE)
        if table is None:
            continue
        counted += 1
        for key, v in province_visitors(table).items():
            by_cell[key] = by_cell.get(key, ZERO) + v
    country = {
        s: total(v for (_, seg), v in by_cell.items() if seg == s) for s in population.segments
    }
    provinces = []
    for province, pop in population.by_province().items():
        cells = {s: by_cell.get((province, s), ZERO) for s in population.segments}
        provinces.extend(segment_figures(population.segments, cells, pop, province=province))
    rows = segment_figures(population.segments, country, population.country())
    return Audience(COUNTRY, counted, counted >= k and counted > 0, rows, provinces)


def own_in_catchment(
    member: Contributor, population: Population, *, radius: str
) -> Audience | None:
    """One institution in its own catchment (its own view; no k: its own
    values), or ``None`` without a catchment."""
    audience = group_in_catchments([member], population, radius=radius, k=1)
    return audience if audience.institutions else None


def against_peer_group(own: Audience, peer: Audience) -> dict[str, Interval | None]:
    """The institution's audience share of each segment relative to its peer
    group's (100: the same share of its audience as in the peer group's)."""
    reference = peer.shares()
    out: dict[str, Interval | None] = {}
    for s, index in own.shares().items():
        ref = reference.get(s)
        out[s] = relative_index(index, ref) if index is not None and ref is not None else None
    return out
