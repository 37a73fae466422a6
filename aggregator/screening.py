"""Stored submissions as the benchmarks read them: every table parsed and
checked again, or the whole submission left out with a reason.

Intake checks a submission before storing it, but a stored row may come from
an older version with weaker checks (before issue 14 a cell of 2^70, 10^15 or
10^400 was accepted) or from a hand-edited database. Benchmarks, exports and
pages are computed from these rows for every institution at once, so one bad
row must not stop them: a submission that fails any check here is *left out*
of the computation and reported (the close answer, the period's submission
listing, the server log), never fatal. The taskforce then sets it aside
(``aggregator.set_aside``) or leaves it out; an earlier submission of the same
institution counts instead, as it would have without the later one.

What "can't be right" means, per table:

* it does not parse as a released table (``protocol.messages.ReleasedTable``:
  names, labels, one integer per key, a known mechanism, positive scales);
* a table of the release design does not have the design's measure and
  dimensions, or a dimension is named like a field of a benchmark cell or an
  export row (it would overwrite that column);
* its noise standard deviation is outside [``MIN_NOISE_STD``,
  ``dp.release_design.MAX_NOISE_STD``];
* a value lies beyond ``dp.release_design.cell_value_bound``: more than the
  documented maximum institution could count plus the noise's tail allowance,
  and never more than ``MAX_CELL_MAGNITUDE`` (10^12).

And per submission: its tables of the release design share its ρ by the
design's weights, so their noise, scaled by √weight / sensitivity, is the
same for every table (1/√(2ρ) for the discrete Gaussian). A submission whose
tables depart from that by more than ``NOISE_SPREAD`` did not split its ρ as
the design says; the benchmarks' least squares weigh tables by their noise,
and noise that differs by a factor of 10^8 between the tables of one measure
makes that system singular for the whole group.

Reasons name the table and the rule, never a value: a value is the
institution's unpublished data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from dp.measurements import noise_std
from dp.release_design import MAX_NOISE_STD, cell_value_bound, design_of, sensitivity
from protocol.errors import PubliekError
from protocol.messages import NAME_RE, ReleasedTable

MIN_NOISE_STD = 0.01
"""Below this, a table's inverse variance (its weight in the benchmarks' least
squares) would dwarf every other table's by more than float64 can resolve; it
would also have spent ρ of at least 5,000 on one table (Δ²/2σ² at Δ = 1), far
beyond any period's budget."""

NOISE_SPREAD = 10.0
"""How far apart the tables of one submission may be in noise per unit of
weight and sensitivity. Exactly 1 for a release by the design's split; the
discrete mechanisms' standard deviations depart from their continuous
formulas at small scales (the discrete Laplace's by about 15% at b = 0.5), and
an older row may mix mechanisms (a factor √2). Ten leaves room for all that and
keeps the variances of a measure's tables within a factor of a few hundred."""

RESERVED_NAMES = frozenset(
    {
        "table", "measure", "dimensions", "institutions", "published", "too_uncertain",
        "estimate", "ci95_low", "ci95_high", "std",  # a benchmark cell's fields
        "period", "group_id", "level", "group_institutions", "merged_groups",  # an export row's
    }
)  # fmt: skip


@dataclass(frozen=True)
class TableInput:
    """One institution's released table, as stored (already DP) and checked."""

    name: str
    measure: str
    dimensions: tuple[str, ...]
    keys: tuple[tuple[str, ...], ...]
    values: tuple[int, ...]
    noise_std: float  # standard deviation of each cell's noise (from mechanism and scale)

    def __repr__(self) -> str:  # values stay out of logs
        return f"TableInput(name={self.name!r}, cells={len(self.keys)})"


@dataclass(frozen=True)
class LeftOut:
    """A stored submission that no benchmark counts, and why (no values)."""

    submission_id: str
    institution_id: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {
            "submission_id": self.submission_id,
            "institution_id": self.institution_id,
            "reason": self.reason,
        }


class Implausible(ValueError):
    """A stored submission that cannot be counted; the message is the reason."""


def tables_of(payload: Any) -> dict[str, TableInput]:
    """Every table of a stored payload, checked (module docstring), by name;
    :class:`Implausible` for the first one that fails."""
    if not isinstance(payload, dict):
        raise Implausible("the stored payload is not an object")
    raw_tables, bounds = payload.get("tables"), payload.get("bounds")
    if not isinstance(raw_tables, list) or not raw_tables:
        raise Implausible("the stored payload carries no list of tables")
    if not isinstance(bounds, dict):
        raise Implausible("the stored payload carries no bounds")
    found: dict[str, TableInput] = {}
    per_unit: list[float] = []
    for position, raw in enumerate(raw_tables, start=1):
        table = _parsed(position, raw)
        if table.name in found:
            raise Implausible(f"table {table.name} occurs twice")
        found[table.name] = checked = _checked(table, bounds)
        try:
            design = design_of(table.name)
        except ValueError:
            continue  # an older design's table: no weight to hold it to
        scale = math.sqrt(design.weight) / sensitivity(table.name, bounds, table.mechanism)
        per_unit.append(checked.noise_std * scale)
    if per_unit and max(per_unit) > NOISE_SPREAD * min(per_unit):
        raise Implausible(
            "its tables' noise does not follow the release design's split of ρ (the noise per "
            f"unit of weight and sensitivity differs by more than a factor {NOISE_SPREAD:g})"
        )
    return found


def _parsed(position: int, raw: Any) -> ReleasedTable:
    try:
        return ReleasedTable.from_dict(raw)
    except PubliekError as exc:
        # The parser's messages quote the table's name; a name that is not an
        # identifier could be anything, so it is not repeated.
        name = raw.get("name") if isinstance(raw, dict) else None
        named = isinstance(name, str) and NAME_RE.fullmatch(name) is not None
        detail = f": {exc.detail}" if named else ""
        raise Implausible(f"table {position} is not a valid released table{detail}") from None
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. a scale of 10^400
        raise Implausible(
            f"table {position} is not a valid released table ({type(exc).__name__})"
        ) from None


def _checked(table: ReleasedTable, bounds: dict[str, Any]) -> TableInput:
    name = table.name
    try:
        design = design_of(name)
    except ValueError:
        design = None  # an older design's table: estimated on its own (aggregator.benchmarks)
    if design is not None and (table.measure, table.dimensions) != (
        design.measure,
        design.dimensions,
    ):
        raise Implausible(f"table {name} does not count what the release design says it counts")
    if RESERVED_NAMES.intersection(table.dimensions):
        raise Implausible(f"table {name} has a dimension named like a benchmark field")
    try:
        std = noise_std(table.mechanism, table.scale)
    except (ArithmeticError, ValueError):
        std = math.nan
    if not (math.isfinite(std) and MIN_NOISE_STD <= std <= MAX_NOISE_STD):
        raise Implausible(
            f"table {name} declares a noise scale no release can have (its standard deviation "
            f"must lie in [{MIN_NOISE_STD:g}, {MAX_NOISE_STD:g}])"
        )
    try:
        bound = cell_value_bound(table.measure, bounds, std)
    except ValueError as exc:
        raise Implausible(f"table {name}: {exc}") from None
    if max(map(abs, table.values)) > bound:
        raise Implausible(
            f"table {name} has a value beyond {bound:,}, more than the largest institution "
            "can count plus its noise (dp/release_design.py, cell_value_bound)"
        )
    return TableInput(
        name=name,
        measure=table.measure,
        dimensions=table.dimensions,
        keys=table.keys,
        values=table.values,
        noise_std=std,
    )
