"""PC4 → province, by the ranges of the Dutch postcode system.

Postcode areas follow provinces only approximately (a few PC4 ranges straddle
a border); this table assigns each range to the province that holds most of
it, which is precise enough for benchmarks by province and documented as such.
"""

from __future__ import annotations

import polars as pl

from dp import release_design

# A key set of the release design (``dp.release_design``).
PROVINCES = release_design.PROVINCES

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


def province_of(pc4: pl.Expr) -> pl.Expr:
    """Province slug for a PC4 string column; null when the PC4 is null."""
    number = pc4.cast(pl.Int32, strict=False)
    result: pl.Expr = pl.lit(None, pl.String)
    for lo, hi, province in reversed(PC4_RANGES):
        result = pl.when(number.is_between(lo, hi)).then(pl.lit(province)).otherwise(result)
    return result


def pc4_ranges_of(province: str) -> list[tuple[int, int]]:
    return [(lo, hi) for lo, hi, p in PC4_RANGES if p == province]
