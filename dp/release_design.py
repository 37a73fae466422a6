"""The release design: which tables one submission carries, how the budget is
split over them, and each table's sensitivity.

One module that the agent (to build and noise the tables), the aggregator
(to check a declaration and to combine the tables) and the period config
(to tell every agent the same set) all read, so that the three can never
disagree. ADR 0012 records the design's principles, ADR 0028 this table set
(``publiek-tables/3``) and its weights.

Every table is a *partition*: each household (household tables), each
earlier household (the earlier-households table) or each counted ticket
(visits tables) falls in exactly one cell. Household-level dimensions take
one value per household (its segment, its province, its catchment band, its
main discipline, its recency); visit-level dimensions (month, a visit's
discipline) one value per ticket. Hence:

* a household table has sensitivity 1 in L1 and L2: adding or removing one
  household changes one cell by one;
* the earlier-households table (``earlier_households_by_loyalty``) counts the
  households of the periods new vs returning looks back on, each once, as
  ``returning`` (back this period) or ``lapsed``: adding or removing one
  household (all its visits, in every period) changes one cell by one, so
  its sensitivity is 1 as well. Its units are not this period's households,
  so it is a measure of its own: the tables of one measure must partition
  the same units (``aggregator/estimates.py``);
* a visits table has sensitivity ``max_visits_per_household`` in L1 and an
  L2 sensitivity no larger: the household's capped tickets spread over
  cells whose sum is at most the cap;
* all tables of one measure estimate the same total, and a table whose
  dimensions are a subset of another's is its margin: the aggregator's
  post-processing relies on both.

The design also fixes what a submission may carry (ADR 0021): the bounds it
declares (exactly ``max_visits_per_household``, at most
:data:`MAX_VISITS_CAP`), the labels of each dimension (public key sets: the
segments of a known segment model, the sector's disciplines, the provinces,
the months of the period, fixed bands) and the range of each cell's value
(:func:`value_range`, within :func:`cell_value_bound`). Intake refuses anything
else, so no field of a stored submission holds free text, and no cell a number
the benchmarks cannot take.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dp import catchments
from protocol.messages import SEGMENT_MODELS, check_period

DESIGN = "publiek-tables/3"
HOUSEHOLDS = "households"
EARLIER_HOUSEHOLDS = "earlier_households"
VISITS = "visits"
# The periods the earlier-households table looks back on: the previous four
# quarters (``agent.release.earlier_periods``), as new vs returning does.
LOOKBACK_PERIODS = 4
MAX_VISITS = "max_visits_per_household"
DEFAULT_MAX_VISITS = 12
DEFAULT_BOUNDS: Mapping[str, int] = {MAX_VISITS: DEFAULT_MAX_VISITS}
# The largest tickets-per-household cap a period may fix: a household buying
# more than a thousand tickets in a quarter is a reseller, not an audience.
MAX_VISITS_CAP = 1_000
# The taskforce's default budget: ε = 1 per quarter per institution at δ = 1e-7,
# spent by one submission (ADR 0012); ρ = dp.measurements.rho_for_epsilon of it.
DEFAULT_EPSILON = 1.0
DEFAULT_DELTA = 1e-7


@dataclass(frozen=True)
class TableDesign:
    """One released table: what it counts, over which dimensions, and its share of ρ."""

    measure: str
    dimensions: tuple[str, ...]
    weight: float

    @property
    def name(self) -> str:
        return f"{self.measure}_by_{'_'.join(self.dimensions)}"


TABLE_DESIGN: tuple[TableDesign, ...] = (
    TableDesign(HOUSEHOLDS, ("segment", "discipline"), 0.12),
    TableDesign(HOUSEHOLDS, ("segment", "province"), 0.12),
    TableDesign(HOUSEHOLDS, ("segment", "catchment"), 0.10),
    TableDesign(HOUSEHOLDS, ("segment",), 0.10),
    TableDesign(HOUSEHOLDS, ("discipline",), 0.04),
    TableDesign(HOUSEHOLDS, ("province",), 0.06),
    TableDesign(HOUSEHOLDS, ("frequency_band",), 0.04),
    TableDesign(HOUSEHOLDS, ("recency",), 0.03),
    TableDesign(HOUSEHOLDS, ("discipline_count",), 0.03),
    TableDesign(HOUSEHOLDS, ("returning",), 0.04),
    TableDesign(EARLIER_HOUSEHOLDS, ("loyalty",), 0.03),
    TableDesign(VISITS, ("month",), 0.09),
    TableDesign(VISITS, ("discipline",), 0.06),
    TableDesign(VISITS, ("segment",), 0.07),
    TableDesign(VISITS, ("discipline", "month"), 0.07),
)
_BY_NAME = {t.name: t for t in TABLE_DESIGN}
if not math.isclose(sum(t.weight for t in TABLE_DESIGN), 1.0):  # pragma: no cover - a typo guard
    raise AssertionError("the weights of the release design must add up to 1")


def table_names() -> tuple[str, ...]:
    return tuple(_BY_NAME)


def design_of(name: str) -> TableDesign:
    """The design of a released table; ``ValueError`` for a name outside the design."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"table {name!r} is not part of the release design {DESIGN}") from None


def bounds_of(max_visits: int) -> dict[str, int]:
    """The bounds a submission declares, by their names in the design: what the
    aggregator derives each table's sensitivity from (:func:`sensitivity`)."""
    return {MAX_VISITS: max_visits}


def sensitivity(name: str, bounds: Mapping[str, int], mechanism: str) -> float:
    """The table's sensitivity, derived from its name and the declared bounds.

    The same number for the discrete Gaussian (L2) and the discrete Laplace
    (L1), because every table is a partition (module docstring); ``mechanism``
    is taken so that a design with product tables over several cells per
    household can answer √C and C without changing callers."""
    table = design_of(name)
    if table.measure in (HOUSEHOLDS, EARLIER_HOUSEHOLDS):
        return 1.0
    cap = bounds.get(MAX_VISITS)
    if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
        raise ValueError(f"{name} needs the bound {MAX_VISITS} as a whole number of at least 1")
    del mechanism
    return float(cap)


# -- how large a released cell can honestly be (issue 14) ------------------------

MAX_INSTITUTION_HOUSEHOLDS = 10_000_000
"""The documented maximum size of one institution: the households it can count
in one quarter. Every household in the Netherlands (about 8 million) is fewer,
so no honest household cell exceeds it, and no visits cell exceeds it times the
period's ticket cap (each household's tickets are capped before counting)."""

NOISE_TAIL_STDS = 40
"""How many noise standard deviations a released cell may lie from its true
count. Both mechanisms' tails fall off at least exponentially in the distance
over the standard deviation: the discrete Gaussian exceeds 40 σ with
probability below e^-800, the discrete Laplace (standard deviation √2·b)
below e^-56. An honest agent never gets there."""

MAX_CELL_MAGNITUDE = 10**12
"""The largest magnitude of any released cell value, whatever its table, bounds
or noise: a ceiling on :func:`cell_value_bound`.

Derivation. A cell's value is its true count plus noise. The true count is at
most ``MAX_INSTITUTION_HOUSEHOLDS`` (10^7) households (4·10^7 earlier
households: four quarters' worth), or that times the ticket cap for visits:
1.2·10^8 at the default cap of 12, 10^10 at a cap of 1000. The noise stays
within ``NOISE_TAIL_STDS`` standard deviations (σ is 14-29 for a household
table and 199-244 for a visits table at the default budget of ε = 1 per
quarter; a hundred times less budget makes them ten times larger). 10^12
leaves room for all of that, and it is far below 2^53 ≈ 9.007·10^15, the
largest integer a float64 holds exactly: the benchmarks sum cells over a
group's institutions in floating point, so the sum of up to 9,007 institutions'
cells stays an exact integer, and an estimate of one group always fits a
64-bit integer column (CSV, Parquet). A value beyond it (2^70, 10^15, 10^400)
cannot be a count: intake refuses it, and the aggregator leaves a stored
submission that carries one out of every benchmark (ADR 0020)."""

MAX_NOISE_STD = MAX_CELL_MAGNITUDE / NOISE_TAIL_STDS
"""The largest noise standard deviation a table can honestly declare: beyond
it, the tail allowance alone would pass ``MAX_CELL_MAGNITUDE``. The budget
that would need such a scale buys no information (2.5·10^10 households of noise
per cell)."""


def cell_value_bound(measure: str, bounds: Mapping[str, int], noise_std: float) -> int:
    """The largest magnitude a cell of a table of ``measure`` can honestly carry:
    the institution's largest possible true count plus ``NOISE_TAIL_STDS`` noise
    standard deviations, never above ``MAX_CELL_MAGNITUDE``.

    ``noise_std`` is the standard deviation of one cell's noise (from the table's
    mechanism and scale, ``dp.measurements.noise_std``). A measure outside the
    design (an older design's table) gets the ceiling. ``ValueError`` when the
    noise is not a positive finite number, or a visits table has no valid ticket
    cap in ``bounds``: then no value of the table can be vouched for."""
    if not (math.isfinite(noise_std) and noise_std > 0):
        raise ValueError("the noise standard deviation must be a positive finite number")
    if measure == HOUSEHOLDS:
        largest = MAX_INSTITUTION_HOUSEHOLDS
    elif measure == EARLIER_HOUSEHOLDS:
        # The households of the four quarters looked back on, each at most
        # MAX_INSTITUTION_HOUSEHOLDS: their union is at most four times that.
        largest = LOOKBACK_PERIODS * MAX_INSTITUTION_HOUSEHOLDS
    elif measure == VISITS:
        cap = bounds.get(MAX_VISITS)
        if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
            raise ValueError(f"a visits table needs the bound {MAX_VISITS} as a whole number >= 1")
        largest = MAX_INSTITUTION_HOUSEHOLDS * min(cap, MAX_CELL_MAGNITUDE)
    else:
        return MAX_CELL_MAGNITUDE
    allowance = NOISE_TAIL_STDS * min(noise_std, MAX_NOISE_STD)
    return int(min(largest + math.ceil(allowance), MAX_CELL_MAGNITUDE))


def rho_share(name: str, rho: float) -> float:
    """This table's part of a submission's ρ (the design's weight)."""
    return design_of(name).weight * rho


# --- the key sets: every label a submission may carry, per dimension ---------

UNKNOWN = "unknown"
# The sector's disciplines (the institution's own, and a visit's).
DISCIPLINES: tuple[str, ...] = (
    "theater", "music", "dance", "opera", "cabaret", "film",
    "museum", "festival", "heritage", "library", "youth", "other",
)  # fmt: skip
PROVINCES: tuple[str, ...] = (
    "groningen", "friesland", "drenthe", "overijssel", "flevoland", "gelderland",
    "utrecht", "noord-holland", "zuid-holland", "zeeland", "noord-brabant", "limburg",
)  # fmt: skip
# How a PC4 falls in a province, by the ranges of the Dutch postcode system. Postcode
# areas follow provinces only approximately (a few ranges straddle a border); each
# range goes to the province that holds most of it. The agent's province dimension
# (agent/regions.py) and the synthetic segment model (segments/synthetic.py) both read it.
# (first PC4, last PC4, province), non-overlapping, sorted.
PC4_RANGES: tuple[tuple[int, int, str], ...] = (
    (1000, 1299, "noord-holland"),
    (1300, 1379, "flevoland"),
    (1380, 2159, "noord-holland"),
    (2160, 3399, "zuid-holland"),
    (3400, 3769, "utrecht"),
    (3770, 3899, "gelderland"),
    (3900, 3999, "utrecht"),
    (4000, 4119, "gelderland"),
    (4120, 4299, "zuid-holland"),
    (4300, 4599, "zeeland"),
    (4600, 5799, "noord-brabant"),
    (5800, 6499, "limburg"),
    (6500, 7399, "gelderland"),
    (7400, 7799, "overijssel"),
    (7800, 7999, "drenthe"),
    (8000, 8199, "overijssel"),
    (8200, 8259, "flevoland"),
    (8260, 8299, "overijssel"),
    (8300, 8399, "flevoland"),
    (8400, 9299, "friesland"),
    (9300, 9399, "drenthe"),
    (9400, 9499, "drenthe"),
    (9500, 9999, "groningen"),
)
FREQUENCY_BANDS: tuple[str, ...] = ("1", "2", "3-4", "5-9", "10+")
# Days from the household's last visit in the period to the period's last day.
RECENCY_BANDS: tuple[str, ...] = ("0-13", "14-29", "30-59", "60+")
# How many of the sector's disciplines a household visited at the institution.
DISCIPLINE_COUNTS: tuple[str, ...] = ("1", "2", "3_or_more")
RETURNING: tuple[str, ...] = ("new", "returning")
# An earlier household (of the periods looked back on) came back this period, or not.
LOYALTY: tuple[str, ...] = ("returning", "lapsed")
CATCHMENT_BANDS: tuple[str, ...] = catchments.BANDS
DEMO_SEGMENTS: tuple[str, ...] = (
    "urban-young", "students", "young-families", "established-families",
    "culture-lovers", "comfortable-seniors", "village-life",
)  # fmt: skip
# The segments of every segment model the protocol knows
# (``protocol.messages.SEGMENT_MODELS``): a licensed model is added to both.
SEGMENTS: Mapping[str, tuple[str, ...]] = {
    "synthetic-demo-2026": DEMO_SEGMENTS,
    # The signed synthetic release has the demo segments, in the same order
    # (tests/segments/test_synthetic.py).
    "synthetic-2026.1": DEMO_SEGMENTS,
}
if set(SEGMENTS) != set(SEGMENT_MODELS):  # pragma: no cover - a guard for the two lists
    raise AssertionError("every known segment model needs its segments, and only those")


def months_of(period: str) -> tuple[str, ...]:
    """``2026-Q3`` → (2026-07, 2026-08, 2026-09): periods are quarters."""
    check_period(period)
    year, quarter = period.split("-Q")
    first = 3 * (int(quarter) - 1) + 1
    return tuple(f"{year}-{m:02d}" for m in range(first, first + 3))


def labels(dimension: str, *, segment_model: str, period: str) -> tuple[str, ...]:
    """The public labels of one dimension, in key order: from constants, the
    segment model and the period only, never from data. ``ValueError`` for a
    dimension or segment model outside the design."""
    fixed = {
        "discipline": DISCIPLINES,
        "province": (*PROVINCES, UNKNOWN),
        "catchment": CATCHMENT_BANDS,
        "frequency_band": FREQUENCY_BANDS,
        "recency": RECENCY_BANDS,
        "discipline_count": DISCIPLINE_COUNTS,
        "returning": RETURNING,
        "loyalty": LOYALTY,
    }
    if dimension in fixed:
        return fixed[dimension]
    if dimension == "month":
        return months_of(period)
    if dimension == "segment":
        if segment_model not in SEGMENTS:
            raise ValueError("the segment model is not one the release design knows")
        return (*SEGMENTS[segment_model], UNKNOWN)
    raise ValueError(f"{dimension!r} is not a dimension of the release design {DESIGN}")


def check_bounds(bounds: Mapping[str, int]) -> None:
    """The declared bounds are exactly the design's, each a whole number in range.

    Closed: a bound the design does not name would be stored and shown as if
    it meant something. ``ValueError`` otherwise."""
    if set(bounds) != set(DEFAULT_BOUNDS):
        raise ValueError(f"the bounds must be exactly: {', '.join(sorted(DEFAULT_BOUNDS))}")
    cap = bounds[MAX_VISITS]
    if type(cap) is not int or not 1 <= cap <= MAX_VISITS_CAP:
        raise ValueError(f"{MAX_VISITS} must be a whole number from 1 to {MAX_VISITS_CAP}")


# --- the range of a cell's value, at intake ------------------------------------


def value_range(name: str, bounds: Mapping[str, int], noise_std: float) -> tuple[int, int]:
    """The values one released cell of table ``name`` may hold: a true count (0
    up to the largest an institution can have under ``bounds``) plus noise within
    ``NOISE_TAIL_STDS`` standard deviations, never beyond ``MAX_CELL_MAGNITUDE``.

    The upper end is :func:`cell_value_bound`, the bound the aggregator screens
    stored submissions with, so whatever intake accepts is counted; the lower end
    is as strict (a count is never negative, the noise never below −40 σ).
    ``ValueError`` for bounds :func:`check_bounds` refuses or noise that is not a
    positive finite number."""
    check_bounds(bounds)
    high = cell_value_bound(design_of(name).measure, bounds, noise_std)
    return -math.ceil(NOISE_TAIL_STDS * min(noise_std, MAX_NOISE_STD)), high


def check_cells(
    name: str,
    keys: Sequence[Sequence[str]],
    values: Sequence[int],
    *,
    noise_std: float,
    bounds: Mapping[str, int],
    segment_model: str,
    period: str,
) -> None:
    """Every label of table ``name`` is in its dimension's key set and every
    value in :func:`value_range`; ``ValueError`` (naming the table and the
    dimension, never a label or a value) otherwise."""
    dimensions = design_of(name).dimensions
    for position, dimension in enumerate(dimensions):
        allowed = labels(dimension, segment_model=segment_model, period=period)
        if not {key[position] for key in keys} <= set(allowed):
            raise ValueError(f"table {name}: a {dimension} label is not in its key set")
    low, high = value_range(name, bounds, noise_std)
    if values and (min(values) < low or max(values) > high):
        raise ValueError(f"table {name}: a cell value lies outside [{low}, {high}]")
