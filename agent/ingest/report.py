"""What an ingest run tells its operator: counts and detections, never row content.

Also how the report counts its households: distinct (period, household key)
pairs over every export of the run, counted on 64-bit parts of the keys so
that six million keys cost a hash set of integers, not of 32-byte strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from agent.ingest.reasons import LAYOUT_REASONS, data_rows_rejected


@dataclass
class IngestReport:
    """Counts and detections of one ingest run; never row content.

    ``households`` counts distinct (period, household key) pairs among the
    rows accepted in this run (:func:`count_households`)."""

    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    households: int = 0
    files_ingested: list[str] = field(default_factory=list)
    files_skipped: list[str] = field(default_factory=list)
    unmapped_disciplines: dict[str, int] = field(default_factory=dict)
    detected: dict[str, dict[str, str]] = field(default_factory=dict)
    periods: list[str] = field(default_factory=list)
    quarantine: list[str] = field(default_factory=list)
    source_from_mapping: dict[str, dict[str, str]] = field(default_factory=dict)
    # Exports not stored because they rejected more than ``max_rejected`` of their rows:
    # file name → rows_read, rows_rejected, rejected_by_reason (ADR 0022).
    held_back: dict[str, dict[str, Any]] = field(default_factory=dict)
    files_replaced: list[str] = field(default_factory=list)
    # Visits without a genre value (no genre column, or an empty cell), and the
    # discipline they got: default_discipline, else the enrolled one, else other.
    defaulted: int = 0
    default_discipline: str = "other"
    # Period → visits without an order id that look seen in another export too.
    overlapping: dict[str, int] = field(default_factory=dict)
    max_rejected: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def detected_line(self, name: str) -> str:
        """One line saying how a file was read, e.g. for the terminal."""

        def show(values: dict[str, str]) -> str:
            # A delimiter or decimal sign is quoted, so that ',' and ';' read as values.
            quoted = ("delimiter", "decimal")
            return ", ".join(f"{k} {v!r}" if k in quoted else f"{k} {v}" for k, v in values.items())

        detected = dict(self.detected.get(name, {}))
        kind = detected.pop("format", "")
        line = f"{name} ({kind})" if kind else name
        if detected:
            line += f": detected {show(detected)}"
        given = self.source_from_mapping.get(name, {})
        if given:
            line += f"{';' if detected else ':'} from the mapping {show(given)}"
        return line


# What to change when one reason rejects most rows of an export.
ADVICE: dict[str, str] = {
    "invalid_date": "check the column mapped as visit_date, and [source] date_format: leave it "
    "out to have it detected (month names included), or set it to how the export writes dates",
    "invalid_tickets": "check the column mapped as tickets (a whole number of tickets per row)",
    "invalid_price": 'check the column mapped as price, or set [source] decimal ("," or ".")',
    "invalid_birth_year": "check the column mapped as birth_year, or leave it out",
    "no_household_key": "map postcode and house_number (or email) to the export's address columns",
}


def held_back_line(name: str, held: dict[str, Any], max_rejected: float) -> str:
    """Why an export was held back, its dominant reason and what to change: one line."""
    reasons: dict[str, int] = held["rejected_by_reason"]
    read, rejected = data_rows_rejected(int(held["rows_read"]), reasons)
    weighed = {k: v for k, v in reasons.items() if k not in LAYOUT_REASONS}
    reason, n = max(weighed.items(), key=lambda item: (item[1], item[0]))
    advice = ADVICE.get(reason, "see the reason in docs/operations.md")
    return (
        f"held back {name}: {rejected} of {read} data rows rejected "
        f"({rejected / read:.0%}, more than {max_rejected:.0%}), mostly {reason} ({n}): "
        f"{advice}; nothing of this run was stored"
        + ("; its earlier ingest is kept as it was" if held.get("earlier_kept") else "")
        + ", so run the same command again after fixing the mapping"
    )


_PERIOD_MIX = 0x5075626C  # fixed seed: the mixed values are only compared within one run
_KEY_PARTS = ("key0", "key8")


def key_columns(household_table: pl.DataFrame) -> pl.DataFrame:
    """(period, key) of one export's household table, for the report's distinct count:
    the period, and two 64-bit parts of the key (bytes 0–7 and 8–15), each mixed with
    the period so that the same key in two periods counts twice."""
    mixed = pl.col("period_code").hash(_PERIOD_MIX)
    return household_table.select(
        "period_code",
        *[
            (
                pl.col("household_key").bin.slice(at, 8).bin.reinterpret(dtype=pl.UInt64) ^ mixed
            ).alias(f"key{at}")
            for at in (0, 8)
        ],
    )


def count_households(keys: pl.DataFrame) -> int:
    """Distinct (period, key) pairs, counted on each 64-bit part alone.

    A part never tells equal pairs apart, and takes two different pairs for one
    only when their 64 bits collide; so the larger of the two counts is exact
    unless both parts have a collision (about 10^-12 at six million keys, the
    count then one short). Counting a
    single ``UInt64`` series needs only its hash set: ``DataFrame.n_unique`` of
    (period, 128 key bits) held about 1 GB more at six million keys, the peak
    of a four-quarter ingest."""
    return max(keys.get_column(part).n_unique() for part in _KEY_PARTS)
