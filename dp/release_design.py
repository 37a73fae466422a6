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


def rho_share(name: str, rho: float) -> float:
    """This table's part of a submission's ρ (the design's weight)."""
    return design_of(name).weight * rho
