"""What one export's pass writes, and how it moves into the workspace.

During the pass every output goes into the run's own folder in ``tmp/``:
the visits as one part file per group of rows and period
(:func:`write_group`), the rejected rows and genre counts in memory. Only at
the end, once the export's digest is known and found new, do the
quarantine, each period's household table and the visit parts move into
place (:func:`move_into_place`; ADR 0004, "Idempotence", and ADR 0009).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from agent.ingest.chunks import aligned
from agent.ingest.disciplines import shareable
from agent.periods import label_of
from agent.visits import (
    ADDRESS_NUMBER,
    HOUSEHOLD_TABLE_SCHEMA,
    HOUSEHOLD_TABLES,
    PLACED_BY_METADATA,
    STORED_SCHEMA,
    stored_name,
)
from agent.workspace import Workspace

# Parts are written before the export's digest is known (it is computed beside the
# pass) and get their digest name when they move into place.
PART = "part"
# What the writer needs of a group's rows (the stored columns it does not add itself).
WRITTEN = (
    "visit_date", "order_id", "line_id", "tickets", "price", "event", "birth_year", "source_row",
    "period_code", "raw_discipline",
)  # fmt: skip


@dataclass
class Outputs:
    """What one export's pass has produced so far, and where its files go."""

    tmp: Path
    digest: str
    name: str
    key_headers: str
    rows_read: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)
    rejected: list[pl.DataFrame] = field(default_factory=list)
    genres: list[pl.DataFrame] = field(default_factory=list)
    parts: dict[int, int] = field(default_factory=dict)  # period code → visit parts written
    keyless: int = 0
    # Stored visits without a genre value, which got the default discipline.
    defaulted: int = 0
    household_table: pl.DataFrame = field(default_factory=pl.DataFrame)
    # The digest of the segment model that placed the households (the table's
    # ``segment`` column), recorded in each household table's Parquet metadata;
    # None: not placed (no such column).
    segment_model: str | None = None

    def count(self, code: str, n: int) -> None:
        if n:
            self.by_reason[code] = self.by_reason.get(code, 0) + n


def write_group(
    rows: pl.DataFrame,
    numbers: pl.Series,
    keyless_addresses: pl.Series,
    out: Outputs,
    disciplines: pl.Expr,
) -> None:
    """Write one group's accepted rows as visits per period (and note its keyless rows).

    Runs on the writer thread, one group at a time, while the main thread
    numbers the next group: of ``out`` it sets only ``keyless`` and ``parts``,
    and ``defaulted``, which the main thread reads only at the end, and appends to ``rejected``
    (a list append is atomic; the quarantine is sorted by row at the end)."""
    keyless = aligned(keyless_addresses.gather(numbers), numbers)
    found = keyless.not_()  # null (rejected row) stays null and is filtered out
    n_keyless = int(keyless.sum())
    if n_keyless:
        out.keyless += n_keyless
        out.rejected.append(
            rows.select("source_row")
            .filter(keyless)
            .select(
                "source_row",
                pl.lit(out.key_headers).alias("column"),
                pl.lit("no_household_key").alias("reason"),
            )
        )
    out.defaulted += int((rows.get_column("raw_discipline").is_null() & found).sum())
    # One lazy query, so that only the stored columns are filtered and copied.
    visits = (
        rows.lazy()
        .with_columns(numbers.alias(ADDRESS_NUMBER), disciplines)
        .select([pl.col(c).cast(t) for c, t in STORED_SCHEMA.items()] + ["period_code"])
        .filter(found)
        .collect()
    )
    codes = visits["period_code"].unique()
    periods = (
        [(int(codes[0]), visits)]
        if codes.len() == 1
        else [(int(str(c)), part) for (c,), part in visits.group_by("period_code")]
    )
    for code, part in periods:
        folder = out.tmp / "visits" / f"period={label_of(code)}"
        folder.mkdir(parents=True, exist_ok=True)
        n = out.parts.get(code, 0)
        out.parts[code] = n + 1
        # No column statistics: the visits are always read whole per period. Not
        # compressed: lz4 cost a sixth of the write's CPU (0.25 CPU s for ten million
        # visits) to save 40 % of the bytes (ADR 0011).
        part.drop("period_code").write_parquet(
            folder / stored_name(PART, n), compression="uncompressed", statistics=False
        )


def move_into_place(out: Outputs, workspace: Workspace) -> dict[str, int]:
    """Quarantine, household tables and visits into place (replacing a killed run's);
    the unmapped genre labels that may be shown, with their row counts."""
    genres, table = out.genres
    unmapped = shareable(
        {
            str(v): int(n)
            for v, n in genres.join(table, on="raw_discipline", nulls_equal=True)
            .filter("unmapped")
            .select("raw_discipline", "len")
            .iter_rows()
        }
    )
    write_quarantine(out, workspace)
    for code, parts in out.parts.items():
        period = label_of(code)
        written = out.tmp / "visits" / f"period={period}"
        placed = out.segment_model is not None and "segment" in out.household_table.columns
        out.household_table.filter(pl.col("period_code") == code).select(
            [pl.col(c).cast(t) for c, t in HOUSEHOLD_TABLE_SCHEMA.items()]
            + (["segment"] if placed else [])
        ).write_parquet(
            # Mostly random 32-byte keys: compressing them is wasted work.
            written / f"{out.digest}.households",
            compression="uncompressed",
            statistics=False,
            metadata={PLACED_BY_METADATA: out.segment_model or ""} if placed else None,
        )
        target = workspace.visits_dir / f"period={period}"
        (target / HOUSEHOLD_TABLES).mkdir(parents=True, exist_ok=True)
        for old in [target / f"{out.digest}.parquet", *target.glob(f"{out.digest}-*.parquet")]:
            old.unlink(missing_ok=True)
        (written / f"{out.digest}.households").replace(
            target / HOUSEHOLD_TABLES / f"{out.digest}.parquet"
        )
        for n in range(parts):
            (written / stored_name(PART, n)).replace(target / stored_name(out.digest, n))
    return unmapped


def write_quarantine(out: Outputs, workspace: Workspace) -> None:
    """The export's rejected rows (row, column, reason) into ``quarantine/``, replacing
    those of an earlier run of the same export; nothing when no row was rejected.

    Also written for an export held back for rejecting too many rows, so that the
    operator can see where the mapping went wrong (:mod:`agent.ingest.run`)."""
    target = workspace.quarantine_dir / f"{out.digest}.parquet"
    if not out.rejected:
        target.unlink(missing_ok=True)
        return
    quarantine = out.tmp / "quarantine.parquet"
    pl.concat(out.rejected).sort("source_row").select(
        pl.lit(out.name).alias("source_file"),
        pl.lit(out.digest).alias("source_digest"),
        "source_row",
        "column",
        "reason",
    ).write_parquet(quarantine)
    quarantine.replace(target)


def remove_export(workspace: Workspace, digest: str) -> None:
    """Remove an ingested export's visits, household tables and quarantine (for
    ``agent ingest --replace``; the caller has checked no period of it was released)."""
    for folder in workspace.visits_dir.glob("period=*"):
        for old in [folder / f"{digest}.parquet", *folder.glob(f"{digest}-*.parquet")]:
            old.unlink(missing_ok=True)
        (folder / HOUSEHOLD_TABLES / f"{digest}.parquet").unlink(missing_ok=True)
    (workspace.quarantine_dir / f"{digest}.parquet").unlink(missing_ok=True)


def periods_of(workspace: Workspace, digest: str) -> list[str]:
    """The periods an ingested export holds visits of (from the stored file names)."""
    return sorted(
        folder.name.removeprefix("period=")
        for folder in workspace.visits_dir.glob("period=*")
        if (folder / HOUSEHOLD_TABLES / f"{digest}.parquet").exists()
        or any(folder.glob(f"{digest}-*.parquet"))
        or (folder / f"{digest}.parquet").exists()
    )
