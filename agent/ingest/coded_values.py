"""Coded values: columns of few distinct strings, handled once per value, not per row.

Prices and genre labels are coded in the row pass (a Categorical of the
export's own), so that each group looks them up by code: parsing and mapping
run once per distinct value, and no group hashes their strings (ADR 0011,
"Coded prices and genre labels").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import polars as pl


def coded_column(name: str) -> pl.Series:
    """An empty column of a Categorical of its own.

    Polars drops a Categorical's values when no column of it is left, and then
    codes new values from 0 again; the read plan holds this column for as long
    as the export is read, so a value keeps its code from group to group."""
    return pl.Series(name, dtype=pl.Categorical(pl.Categories.random()))


class ByCode:
    """What each value of a coded column maps to, indexed by the value's code.

    Filled from the values each group holds, not from the Categorical's own
    list: polars reserves a code before it writes the value, and the engine
    codes rows ahead of the group being handled, so that list can hold codes
    whose value is not written yet. A group's own values are complete."""

    def __init__(self, compute: Callable[[pl.Series], pl.DataFrame]) -> None:
        self.compute = compute  # values (strings) → one row of results per value
        # "value" and the results, one row per code; no code met yet.
        self.frame = self._results(pl.Series(dtype=pl.String))
        self.known = pl.Series("known", [], dtype=pl.Boolean)

    def update(self, column: pl.Series) -> pl.DataFrame:
        """Map the values of ``column`` not met before; the map so far, by code."""
        present = column.unique().drop_nulls()
        codes = present.to_physical()
        if codes.len():
            grow = cast(int, codes.max()) + 1 - self.frame.height
            if grow > 0:
                self.frame = pl.concat([self.frame, self.frame.clear(grow)])
                self.known = pl.concat([self.known, pl.repeat(False, grow, eager=True)])
            new = ~self.known.gather(codes)
            if new.any():
                at = codes.filter(new)
                results = self._results(present.filter(new).cast(pl.String))
                self.frame = pl.DataFrame(
                    [self.frame[c].scatter(at, results[c]) for c in self.frame.columns]
                )
                self.known = self.known.scatter(at, True)
        return self.frame

    def _results(self, values: pl.Series) -> pl.DataFrame:
        return pl.concat([values.alias("value").to_frame(), self.compute(values)], how="horizontal")

    def table(self) -> pl.DataFrame:
        """Every value met, with its results."""
        return self.frame.filter(self.known)
