"""The canonical visit table: the one shape every export is normalised into.

Everything after ingest (tables, segments, sketches) reads this schema and
nothing else, so a new ticketing system only ever needs a mapping file.
``household_key`` is the 32-byte HMAC-SHA256 under the period's sector key;
``link_key`` the 32-byte HMAC-SHA256 of the same normalised identity under the
workspace's own link key, which does not rotate, so that the institution can
tell new from returning households across its own periods (it never leaves
the agent; null for visits ingested before link keys existed). The PC4 (four
digits) is kept for region and segment lookup, the full PC6 and house number
are not kept at all: the ingest places each household in a segment while it
still knows the PC6 (ADR 0029), and the visits read back carry that segment
and the digest of the model that placed it (:data:`PLACEMENT_SCHEMA`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from dp import release_design

# The sector's disciplines: a key set of the release design.
DISCIPLINES = release_design.DISCIPLINES

VISIT_SCHEMA: dict[str, pl.DataType] = {
    "period": pl.String(),
    "visit_date": pl.Date(),
    "household_key": pl.Binary(),
    "pc4": pl.String(),
    "order_id": pl.String(),
    "line_id": pl.String(),
    "tickets": pl.Int32(),
    "price": pl.Float64(),
    "event": pl.String(),
    "discipline": pl.String(),
    "birth_year": pl.Int32(),
    "source_digest": pl.String(),
    "source_row": pl.Int64(),
    "link_key": pl.Binary(),
}

# How the ingest stores the visits (ADR 0009): per row the columns below, with the
# visit's address number into the export's household table of that period, which
# holds the 32-byte keys and the PC4 once per address instead of once per visit.
# The period and the export's digest are the folder and the file name.
HOUSEHOLD_TABLES = "households"  # the folder, in each period's, of its household tables
# The address number: a distinct raw address's number within one export and period
# (agent.ingest.address_book). Stored under the column name "household", which the
# workspaces already written carry.
ADDRESS_NUMBER = "household"
_PER_VISIT = (
    "order_id",
    "line_id",
    "tickets",
    "price",
    "event",
    "discipline",
    "birth_year",
    "source_row",
)
# The discipline is stored as an Enum of the sector's disciplines: a one-byte code
# per visit, which Parquet writes as a dictionary without hashing each string.
SECTOR_DISCIPLINE = pl.Enum(DISCIPLINES)
STORED_SCHEMA: dict[str, pl.DataType] = {
    "visit_date": VISIT_SCHEMA["visit_date"],
    ADDRESS_NUMBER: pl.UInt32(),
    **{name: VISIT_SCHEMA[name] for name in _PER_VISIT},
    "discipline": SECTOR_DISCIPLINE,
}
HOUSEHOLD_TABLE_SCHEMA: dict[str, pl.DataType] = {
    ADDRESS_NUMBER: pl.UInt32(),
    "household_key": VISIT_SCHEMA["household_key"],
    "link_key": VISIT_SCHEMA["link_key"],
    "pc4": VISIT_SCHEMA["pc4"],
}


# Beside VISIT_SCHEMA in what a period's read returns: the household's segment as the
# ingest placed it, and the digest of the segment model that placed it (both null
# for visits of household tables written before the ingest placed households).
# Categorical: four bytes per visit, whatever the labels.
SEGMENT = "segment"
PLACED_BY = "segment_model"
PLACEMENT_SCHEMA: dict[str, pl.DataType] = {SEGMENT: pl.Categorical(), PLACED_BY: pl.Categorical()}
# The household table's Parquet metadata key that names the placing model's digest.
PLACED_BY_METADATA = "publiek.segment_model"


def stored_name(digest: str, part: int) -> str:
    """File name of one part of an export's visits in a period folder."""
    return f"{digest}-{part:04d}.parquet"


def read_period(folder: Path, period: str, order: Sequence[tuple[str, str]] = ()) -> pl.DataFrame:
    """All visits in one period folder, in :data:`VISIT_SCHEMA` and
    :data:`PLACEMENT_SCHEMA`, each ticket once.

    Files written by the ingest (:data:`STORED_SCHEMA`) get their household
    key, link key and PC4 from ``households/<digest>.parquet`` beside them,
    their period from the folder and their digest from the file name; files
    that already hold the whole schema are read as they are. Household tables
    and files written before link keys existed have no ``link_key``: it is
    null there (such households count as new, docs/privacy-officer.md); files
    written before line ids have a null ``line_id``.

    Box offices export "sales so far", so the exports of a period overlap: the
    visits are deduplicated here, at read, by :func:`deduplicated` (the ingest
    stays append-only per export, and ``--replace`` still finds an export's own
    files). ``order``: the exports' (digest, layout) from oldest to newest ingested."""
    files = sorted(folder.glob("*.parquet"))
    whole: list[Path] = []
    parts: dict[str, list[Path]] = {}
    for file in files:
        if "household_key" in pl.read_parquet_schema(file):
            whole.append(file)
        else:
            parts.setdefault(file.stem.rsplit("-", 1)[0], []).append(file)
    frames = [_placed(_with_optional(pl.read_parquet(file)), None) for file in whole]
    for digest, stored in parts.items():
        path = folder / HOUSEHOLD_TABLES / f"{digest}.parquet"
        table = _placed(_with_optional(pl.read_parquet(path)), path)
        frames.append(
            _with_optional(pl.read_parquet(stored))
            .join(table, on=ADDRESS_NUMBER, how="left", maintain_order="left")
            .with_columns(pl.lit(period).alias("period"), pl.lit(digest).alias("source_digest"))
            .select([pl.col(c).cast(t) for c, t in {**VISIT_SCHEMA, **PLACEMENT_SCHEMA}.items()])
        )
    columns = [*VISIT_SCHEMA, *PLACEMENT_SCHEMA]
    if not frames:
        return pl.DataFrame(schema={**VISIT_SCHEMA, **PLACEMENT_SCHEMA})
    return deduplicated(pl.concat([frame.select(columns) for frame in frames]), order)


def _placed(frame: pl.DataFrame, table: Path | None) -> pl.DataFrame:
    """``frame`` with :data:`PLACEMENT_SCHEMA`'s columns: a household table's segment and
    the placing model named in its metadata, null where it has none (written before
    the ingest placed households); a file holding the whole schema keeps its own."""
    if table is None and PLACED_BY in frame.columns and SEGMENT in frame.columns:
        return frame.with_columns(pl.col(c).cast(t) for c, t in PLACEMENT_SCHEMA.items())
    placed_by = None
    if table is not None and SEGMENT in frame.columns:
        placed_by = pl.read_parquet_metadata(table).get(PLACED_BY_METADATA) or None
    if placed_by is None:
        return frame.with_columns(
            pl.lit(None, PLACEMENT_SCHEMA[SEGMENT]).alias(SEGMENT),
            pl.lit(None, PLACEMENT_SCHEMA[PLACED_BY]).alias(PLACED_BY),
        )
    return frame.with_columns(
        pl.col(SEGMENT).cast(pl.String).cast(PLACEMENT_SCHEMA[SEGMENT]),
        pl.lit(placed_by, PLACEMENT_SCHEMA[PLACED_BY]).alias(PLACED_BY),
    )


def deduplicated(visits: pl.DataFrame, order: Sequence[tuple[str, str]] = ()) -> pl.DataFrame:
    """``visits`` with each order (or order line, where a line id is mapped) taken from
    one export only: the newest ingested export of the same layout that holds it.

    Day 2's export holds day 1's orders again, perhaps changed (tickets refunded),
    so the newest export's rows of an order replace the older ones; the rows of
    one export are all kept (an order of several lines, no line id mapped).
    Orders are matched within one layout (header row): two systems' exports
    may both have an order 1001 (:func:`agent.ingest.ingested.layout_of`).
    Where line ids are mapped, each (order, line) comes from the newest export
    holding that line, unless a newer export holds the order without line ids
    (the whole order as it stands then); a row without a line id stands for its
    whole order, so it is kept only from the newest export holding the order at
    all. Visits without an order id are kept as they are: :func:`overlapping`
    counts those that look seen twice. ``order``: (digest, layout) oldest
    first; exports not in it count as older than all that are, in layout ""
    (ADR 0022)."""
    if visits.get_column("source_digest").n_unique() < 2:
        return visits
    rank = {digest: n for n, (digest, _) in enumerate(order)}
    layouts = dict(order)
    newest = pl.col("source_digest").replace_strict(rank, default=-1, return_dtype=pl.Int64)
    layout = pl.col("source_digest").replace_strict(layouts, default="", return_dtype=pl.String)
    keyed = pl.col("order_id").is_not_null() & (pl.col("order_id") != "")
    no_line = pl.col("line_id").is_null() | (pl.col("line_id") == "")
    of_order = ["_layout", "order_id"]
    whole_order = pl.when(no_line).then(pl.col("_rank")).max().over(of_order).fill_null(-2)
    return (
        visits.with_columns(newest.alias("_rank"), layout.alias("_layout"))
        .filter(
            ~keyed
            | pl.when(no_line)
            .then(pl.col("_rank") == pl.col("_rank").max().over(of_order))
            .otherwise(
                (pl.col("_rank") == pl.col("_rank").max().over([*of_order, "line_id"]))
                & (pl.col("_rank") >= whole_order)
            )
        )
        .drop("_rank", "_layout")
    )


def overlapping(visits: pl.DataFrame) -> int:
    """Visits without an order id whose household, date and event are also among
    another export's visits without one: what looks like a ticket counted twice
    (exports that overlap but cannot be deduplicated)."""
    unkeyed = visits.filter(pl.col("order_id").is_null() | (pl.col("order_id") == ""))
    same = ["household_key", "visit_date", "event"]
    return unkeyed.filter(pl.col("source_digest").n_unique().over(same) > 1).height


def _with_optional(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with a null ``link_key`` (beside ``household_key``) or ``line_id``
    (beside ``order_id``) where it was written before they existed."""
    missing = [
        pl.lit(None, VISIT_SCHEMA[name]).alias(name)
        for name, beside in (("link_key", "household_key"), ("line_id", "order_id"))
        if name not in frame.columns and beside in frame.columns
    ]
    return frame.with_columns(missing) if missing else frame
