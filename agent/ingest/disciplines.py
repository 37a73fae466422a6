"""Export discipline values → sector disciplines, decided once per distinct value.

A box office has a handful of genre labels, so the mapping (``[discipline_map]``,
then the sector names themselves, then ``default_discipline`` or ``other``) runs
in Python over the distinct values and is looked up per row with an Enum cast
and a gather: no string join, no Python per row.

Unmapped values are reported so the operator can extend the mapping. They are
export content, so :func:`shareable` withholds them when the column does not
look like genre labels (a mis-mapped e-mail or postcode column must not end up
on the terminal or in the report).
"""

from __future__ import annotations

import re

import polars as pl

from agent.ingest.mapping import Mapping
from agent.visits import DISCIPLINES, SECTOR_DISCIPLINE

MAX_SHOWN = 50
MIN_ROWS_SHOWN = 10
_NOT_A_LABEL = re.compile(r"@|\d{3}")


def discipline_table(raw: pl.DataFrame, mapping: Mapping) -> pl.DataFrame:
    """Distinct ``raw_discipline`` values → ``discipline`` and whether it was ``unmapped``."""
    fallback = mapping.default_discipline or "other"
    rows = []
    for value in raw["raw_discipline"].to_list():
        stripped = value.strip() if value is not None else ""
        if not stripped:
            rows.append((value, fallback, False))
        elif stripped in mapping.discipline_map:
            rows.append((value, mapping.discipline_map[stripped], False))
        elif stripped.lower() in DISCIPLINES:
            rows.append((value, stripped.lower(), False))
        else:
            rows.append((value, fallback, True))
    return pl.DataFrame(
        rows,
        schema={"raw_discipline": pl.String, "discipline": pl.String, "unmapped": pl.Boolean},
        orient="row",
    )


def discipline_of(table: pl.DataFrame, mapping: Mapping) -> pl.Expr:
    """The sector discipline per row (as :data:`SECTOR_DISCIPLINE`), by the code of
    the row's ``raw_discipline`` (a Categorical): ``table`` holds every label met so
    far in the order of its code (see :func:`discipline_table`)."""
    return (
        pl.lit(table["discipline"].cast(SECTOR_DISCIPLINE))
        .gather(pl.col("raw_discipline").to_physical())
        .fill_null(pl.lit(mapping.default_discipline or "other", dtype=SECTOR_DISCIPLINE))
        .alias("discipline")
    )


def looks_like_labels(values: list[str]) -> bool:
    """True for a short list of genre-like labels; False for what may be personal data."""
    return len(values) <= MAX_SHOWN and not any(_NOT_A_LABEL.search(v) for v in values)


def shareable(unmapped: dict[str, int]) -> dict[str, int]:
    """Unmapped values fit to show: genre labels recur, a person's name rarely does.

    Values seen in fewer than ``MIN_ROWS_SHOWN`` rows are withheld (counted
    only); the rest are shown only when they look like labels at all."""
    frequent = {v: n for v, n in unmapped.items() if n >= MIN_ROWS_SHOWN}
    rare = {v: n for v, n in unmapped.items() if n < MIN_ROWS_SHOWN}
    if not looks_like_labels(list(frequent)):
        return {
            f"({len(unmapped)} distinct values withheld: check which column is mapped as "
            "discipline)": sum(unmapped.values())
        }
    if rare:
        frequent[
            f"({len(rare)} rare value(s) withheld: each seen in fewer than {MIN_ROWS_SHOWN} rows)"
        ] = sum(rare.values())
    return frequent
