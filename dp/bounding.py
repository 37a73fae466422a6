"""Contribution bounding: make each household's influence on a table finite.

DP needs a sensitivity that holds for *every* household, including one with
10,000 visits. Before measuring, each household is limited to at most
``max_cells`` cells per table and at most ``max_weight`` units of weight
(visits) summed over its cells. Which cells survive is decided by a keyed
hash of (household, cell), not by the data's order, so the choice is
independent of how the export happened to be sorted.
"""

from __future__ import annotations

import polars as pl

HOUSEHOLD = "household_key"
CELL = "cell"
WEIGHT = "weight"


def bound_cells(frame: pl.DataFrame, max_cells: int) -> pl.DataFrame:
    """Keep at most ``max_cells`` distinct cells per household.

    ``frame`` has one row per (household, cell) with a ``weight``; rows for the
    same pair are summed first."""
    per_pair = frame.group_by(HOUSEHOLD, CELL).agg(pl.col(WEIGHT).sum())
    order = pl.concat_str(pl.col(HOUSEHOLD).bin.encode("hex"), pl.col(CELL)).hash(seed=0x5EED)
    return (
        per_pair.with_columns(order.alias("_order"))
        .sort(HOUSEHOLD, "_order")
        .filter(pl.int_range(pl.len()).over(HOUSEHOLD) < max_cells)
        .drop("_order")
    )


def bound_weight(frame: pl.DataFrame, max_weight: int) -> pl.DataFrame:
    """Clip each household's total weight over its cells to ``max_weight``.

    Cells are filled in the same hash order as :func:`bound_cells`; a cell
    that would cross the bound gets what is left of it."""
    order = pl.concat_str(pl.col(HOUSEHOLD).bin.encode("hex"), pl.col(CELL)).hash(seed=0x5EED)
    before = pl.col(WEIGHT).cum_sum().over(HOUSEHOLD) - pl.col(WEIGHT)
    remaining = (pl.lit(max_weight) - before).clip(lower_bound=0)
    return (
        frame.with_columns(order.alias("_order"))
        .sort(HOUSEHOLD, "_order")
        .with_columns(pl.min_horizontal(pl.col(WEIGHT), remaining).alias(WEIGHT))
        .filter(pl.col(WEIGHT) > 0)
        .drop("_order")
    )
