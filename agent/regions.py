"""PC4 → province, by the ranges of the Dutch postcode system
(``dp.release_design.PC4_RANGES``, which says how approximate they are), as
polars expressions for the agent's tables.
"""

from __future__ import annotations

import polars as pl

from dp import release_design

# A key set of the release design (``dp.release_design``).
PROVINCES = release_design.PROVINCES
PC4_RANGES = release_design.PC4_RANGES


def province_of(pc4: pl.Expr) -> pl.Expr:
    """Province slug for a PC4 string column; null when the PC4 is null."""
    number = pc4.cast(pl.Int32, strict=False)
    result: pl.Expr = pl.lit(None, pl.String)
    for lo, hi, province in reversed(PC4_RANGES):
        result = pl.when(number.is_between(lo, hi)).then(pl.lit(province)).otherwise(result)
    return result


def pc4_ranges_of(province: str) -> list[tuple[int, int]]:
    return [(lo, hi) for lo, hi, p in PC4_RANGES if p == province]
