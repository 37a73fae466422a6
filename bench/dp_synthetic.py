"""Synthetic canonical visits at scale, for the DP benchmarks.

Deterministic (SHA-256 and polars hashes of row numbers, no RNG): ``households``
32-byte keys, PC4s spread over the country, 1-4 visits each, some birth years.
"""

from __future__ import annotations

import hashlib
from datetime import date

import polars as pl

from agent.visits import DISCIPLINES, VISIT_SCHEMA


def synthetic_visits(households: int, period_start: date = date(2026, 7, 1)) -> pl.DataFrame:
    h = pl.int_range(0, households, eager=True).alias("h")
    base = pl.DataFrame({"h": h}).with_columns(
        (pl.col("h").hash(1) % 4 + 1).alias("n"),
    )
    keys = pl.Series(
        "household_key",
        [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(households)],
        dtype=pl.Binary,
    )
    rows = (
        base.with_columns(keys)
        .select("h", "household_key", pl.int_ranges(0, pl.col("n")).alias("j"))
        .explode("j")
    )
    r = pl.struct("h", "j").hash(2)
    key = pl.col("household_key")
    frame = rows.select(
        pl.lit("2026-Q3").alias("period"),
        (pl.lit(period_start) + pl.duration(days=(r % 92))).cast(pl.Date).alias("visit_date"),
        key.alias("household_key"),
        (pl.col("h").hash(5) % 9000 + 1000).cast(pl.String).alias("pc4"),
        pl.concat_str(pl.col("h"), pl.col("j"), separator="-").alias("order_id"),
        ((r // 92) % 4 + 1).cast(pl.Int32).alias("tickets"),
        pl.lit(25.0).alias("price"),
        pl.lit("event").alias("event"),
        pl.lit(list(DISCIPLINES), dtype=pl.List(pl.String))
        .list.get((pl.col("h").hash(6) % 12).cast(pl.Int64))
        .alias("discipline"),
        pl.when(pl.col("h").hash(7) % 3 == 0)
        .then((1930 + pl.col("h").hash(8) % 80).cast(pl.Int32))
        .otherwise(None)
        .alias("birth_year"),
        pl.lit("synthetic").alias("source_digest"),
        pl.col("j").cast(pl.Int64).alias("source_row"),
        pl.lit(None, pl.Binary).alias("link_key"),  # one period only: nobody returns
    )
    return frame.cast(VISIT_SCHEMA)  # type: ignore[arg-type]
