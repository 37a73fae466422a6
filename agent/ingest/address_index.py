"""A growing hash table: 128-bit raw-address hash → address index, kept across row groups.

The ingest meets an export's rows group by group and must tell, for every
row, which distinct address (per period) it carries and whether that address
was met before. A polars join rebuilds its hash table on every call, which
over a stream of groups costs groups × addresses; this table is built once
and grows. It is open addressing with linear probing in a ``UInt32`` slot
series, probed vectorised: one round is a gather and a compare over the rows
still unresolved, and at a load between a sixth and a third almost every row resolves
in the first round. A pair matches only when both 64-bit hashes match, so two
addresses are taken for one only on a 128-bit collision.
"""

from __future__ import annotations

import polars as pl

_EMPTY = 2**32 - 1
_MIN_BITS = 20  # 4 MiB of slots to start with
_MAX_START_BITS = 23  # 32 MiB: room for 2.8 million pairs before the first growth
_GROWTH_BITS = 1  # grow twofold (fourfold measured: 128 MiB more at six million pairs)


def _empty_slots(bits: int) -> pl.Series:
    return pl.repeat(_EMPTY, 1 << bits, dtype=pl.UInt32, eager=True).rechunk()


class AddressIndex:
    """Pairs of 64-bit hashes, numbered 0, 1, 2, ... in the order they were added."""

    def __init__(self, expected: int = 0) -> None:
        """``expected``: about how many pairs will be added. Growing re-places every pair
        already in the table (twice the placements, summed over the doublings up to two
        million pairs), so a table that starts large enough never grows."""
        self._bits = max(_MIN_BITS, min(_MAX_START_BITS, (3 * expected).bit_length()))
        self._slots = _empty_slots(self._bits)
        self._h1 = pl.Series("h1", [], dtype=pl.UInt64)
        self._h2 = pl.Series("h2", [], dtype=pl.UInt64)

    def __len__(self) -> int:
        return self._h1.len()

    def _slot(self, h1: pl.Expr) -> pl.Expr:
        return (h1 & ((1 << self._bits) - 1)).cast(pl.UInt32)

    def find(self, h1: pl.Series, h2: pl.Series) -> pl.Series:
        """The number of each pair, null for a pair not in the table (or a null hash)."""
        if not len(self) or not h1.len():
            return pl.repeat(None, h1.len(), dtype=pl.UInt32, eager=True)
        mask = (1 << self._bits) - 1
        slot = (h1 & mask).cast(pl.UInt32)
        at, hit, occupied = self._probe(slot, h1, h2)
        # Almost every pair resolves in this first round: its answer is the slot's
        # number where it hit, null elsewhere. Pairs that met another pair's slot
        # probe on in later rounds, over only those rows.
        found = at.set(~hit, None)
        rows = (occupied & ~hit).arg_true()
        h1, h2, slot = h1.gather(rows), h2.gather(rows), slot.gather(rows)
        while rows.len():
            slot = ((slot + 1) & mask).cast(pl.UInt32)
            at, hit, occupied = self._probe(slot, h1, h2)
            if hit.any():
                found = found.scatter(rows.filter(hit), at.filter(hit))
            on = occupied & ~hit
            rows, h1, h2, slot = rows.filter(on), h1.filter(on), h2.filter(on), slot.filter(on)
        return found

    def _probe(
        self, slot: pl.Series, h1: pl.Series, h2: pl.Series
    ) -> tuple[pl.Series, pl.Series, pl.Series]:
        """Per pair: the number in its slot, whether that is the pair, whether the slot is taken."""
        at = self._slots.gather(slot)
        occupied = at != _EMPTY
        # An empty slot reads as the last number (a gather without nulls is twice
        # as fast) and is then ruled out by ``occupied``.
        number = at.clip(upper_bound=len(self) - 1)
        hit = occupied & (self._h1.gather(number) == h1) & (self._h2.gather(number) == h2)
        return at, hit.fill_null(value=False), occupied

    def add(self, h1: pl.Series, h2: pl.Series) -> None:
        """Number pairs that are not in the table yet (and distinct) from ``len(self)`` on."""
        start = len(self)
        self._h1 = pl.concat([self._h1, h1.cast(pl.UInt64)], rechunk=True)
        self._h2 = pl.concat([self._h2, h2.cast(pl.UInt64)], rechunk=True)
        if len(self) * 3 > 1 << self._bits:
            while len(self) * 3 > 1 << self._bits:
                self._bits += _GROWTH_BITS
            self._slots = _empty_slots(self._bits)
            start = 0
        self._place(pl.int_range(start, len(self), dtype=pl.UInt32, eager=True))

    def _place(self, numbers: pl.Series) -> None:
        mask = (1 << self._bits) - 1
        todo = pl.DataFrame({"n": numbers}).with_columns(
            self._slot(pl.lit(self._h1).gather(pl.col("n"))).alias("slot")
        )
        while todo.height:
            free = todo.filter(pl.lit(self._slots).gather(pl.col("slot")) == _EMPTY)
            # Of the pairs that reach one free slot in this round, the last written
            # takes it; every pair that did not get its slot probes on.
            self._slots.scatter(free["slot"], free["n"])
            todo = todo.filter(
                pl.lit(self._slots).gather(pl.col("slot")) != pl.col("n")
            ).with_columns(((pl.col("slot") + 1) & mask).cast(pl.UInt32).alias("slot"))
