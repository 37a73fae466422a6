"""The release design: which tables one submission carries, how the budget is
split over them, and each table's sensitivity.

One module that the agent (to build and noise the tables), the aggregator
(to check a declaration and to combine the tables) and the period config
(to tell every agent the same set) all read, so that the three can never
disagree. ADR 0012 records why these tables and these weights.

Every table is a *partition*: each household (household tables) or each
counted ticket (visits tables) falls in exactly one cell. Household-level
dimensions take one value per household (its segment, its province, its
main discipline); visit-level dimensions (month, a visit's discipline) one
value per ticket. Hence:

* a household table has sensitivity 1 in L1 and L2: adding or removing one
  household changes one cell by one;
* a visits table has sensitivity ``max_visits_per_household`` in L1 and an
  L2 sensitivity no larger: the household's capped tickets spread over
  cells whose sum is at most the cap;
* all tables of one measure estimate the same total, and a table whose
  dimensions are a subset of another's is its margin: the aggregator's
  post-processing relies on both.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

DESIGN = "publiek-tables/2"
HOUSEHOLDS = "households"
VISITS = "visits"
MAX_VISITS = "max_visits_per_household"
DEFAULT_MAX_VISITS = 12
DEFAULT_BOUNDS: Mapping[str, int] = {MAX_VISITS: DEFAULT_MAX_VISITS}
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
    TableDesign(HOUSEHOLDS, ("segment", "discipline"), 0.15),
    TableDesign(HOUSEHOLDS, ("segment",), 0.12),
    TableDesign(HOUSEHOLDS, ("discipline",), 0.05),
    TableDesign(HOUSEHOLDS, ("province",), 0.13),
    TableDesign(HOUSEHOLDS, ("frequency_band",), 0.07),
    TableDesign(HOUSEHOLDS, ("distance_band",), 0.06),
    TableDesign(HOUSEHOLDS, ("returning",), 0.07),
    TableDesign(VISITS, ("month",), 0.11),
    TableDesign(VISITS, ("discipline",), 0.07),
    TableDesign(VISITS, ("segment",), 0.09),
    TableDesign(VISITS, ("discipline", "month"), 0.08),
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
    if table.measure == HOUSEHOLDS:
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
most ``MAX_INSTITUTION_HOUSEHOLDS`` (10^7) households, or that times the ticket
cap for visits: 1.2·10^8 at the default cap of 12, 10^10 at a cap of 1000. The
noise stays within ``NOISE_TAIL_STDS`` standard deviations (σ is 13-23 for a
household table and 180-226 for a visits table at the default budget of ε = 1
per quarter; a hundred times less budget makes them ten times larger). 10^12
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
