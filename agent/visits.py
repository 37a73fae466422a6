"""The canonical visit table: the one shape every export is normalised into.

Everything after ingest (tables, segments, sketches) reads this schema and
nothing else, so a new ticketing system only ever needs a mapping file.
``household_key`` is the 32-byte HMAC-SHA256 under the period's sector key;
the PC4 (four digits) is kept for region and segment lookup, the full PC6 and
house number are not kept at all.
"""

from __future__ import annotations

import polars as pl

DISCIPLINES: tuple[str, ...] = (
    "theater", "music", "dance", "opera", "cabaret", "film",
    "museum", "festival", "heritage", "library", "youth", "other",
)  # fmt: skip

VISIT_SCHEMA: dict[str, pl.DataType] = {
    "period": pl.String(),
    "visit_date": pl.Date(),
    "household_key": pl.Binary(),
    "pc4": pl.String(),
    "order_id": pl.String(),
    "tickets": pl.Int32(),
    "price": pl.Float64(),
    "event": pl.String(),
    "discipline": pl.String(),
    "birth_year": pl.Int32(),
    "source_digest": pl.String(),
    "source_row": pl.Int64(),
}
