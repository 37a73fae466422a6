"""Exact, bounded count tables from canonical visits, over public key sets.

The key set of every table (segments × disciplines) comes from the segment
model and the sector's discipline list, never from the data, so which cells
exist reveals nothing; empty cells are released (noised) like the rest.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import polars as pl

from agent.segments import SegmentModel
from agent.visits import DISCIPLINES
from dp.bounding import CELL, HOUSEHOLD, WEIGHT, bound_cells, bound_weight
from dp.measurements import GAUSSIAN, TableRequest


@dataclass(frozen=True)
class ReleaseConfig:
    """How one submission is bounded and noised (documented defaults)."""

    rho: float = 0.25
    period_budget: float = 0.5
    max_cells: int = 2
    max_visits: int = 20
    mechanism: str = GAUSSIAN
    delta: float = 1e-7

    def bounds(self) -> dict[str, int]:
        return {
            "max_cells_per_household": self.max_cells,
            "max_visits_per_household": self.max_visits,
        }


def _cell_keys(model: SegmentModel) -> tuple[tuple[str, ...], ...]:
    return tuple(itertools.product(model.labels, DISCIPLINES))


def _aligned(counts: pl.DataFrame, keys: tuple[tuple[str, ...], ...]) -> tuple[int, ...]:
    """Counts in key-set order, zero where a cell had no contribution."""
    frame = pl.DataFrame({CELL: ["\x1f".join(k) for k in keys]})
    joined = frame.join(counts, on=CELL, how="left").with_columns(pl.col(WEIGHT).fill_null(0))
    return tuple(int(v) for v in joined[WEIGHT].to_list())


def build_tables(
    visits: pl.DataFrame, model: SegmentModel, config: ReleaseConfig
) -> list[TableRequest]:
    """Household and visit counts by segment × discipline, contributions bounded."""
    households = visits.select(HOUSEHOLD, "pc4").unique(HOUSEHOLD, keep="first")
    placed = model.assign(households).select(HOUSEHOLD, "segment")
    cells = visits.join(placed, on=HOUSEHOLD, how="left").select(
        HOUSEHOLD,
        pl.concat_str(pl.col("segment"), pl.col("discipline"), separator="\x1f").alias(CELL),
        pl.col("tickets").cast(pl.Int64).alias(WEIGHT),
    )
    bounded = bound_cells(cells, config.max_cells)
    keys = _cell_keys(model)
    household_counts = bounded.group_by(CELL).agg(pl.len().cast(pl.Int64).alias(WEIGHT))
    visit_counts = bound_weight(bounded, config.max_visits).group_by(CELL).agg(pl.col(WEIGHT).sum())
    dims = ("segment", "discipline")
    share = config.rho / 2
    return [
        TableRequest(
            name="households_by_segment_discipline",
            measure="households",
            dimensions=dims,
            keys=keys,
            values=_aligned(household_counts, keys),
            # one unit in each of at most max_cells cells: L2 √C, L1 C
            sensitivity=float(config.max_cells) ** (0.5 if config.mechanism == GAUSSIAN else 1),
            rho=share,
        ),
        TableRequest(
            name="visits_by_segment_discipline",
            measure="visits",
            dimensions=dims,
            keys=keys,
            values=_aligned(visit_counts, keys),
            sensitivity=float(config.max_visits),
            rho=share,
        ),
    ]
