"""Contribution bounding: make each household's influence on a table finite.

DP needs a sensitivity that holds for *every* household, including one with
10,000 visits. Before measuring, each household is limited to at most
``max_weight`` units of visit weight (tickets) per period, applied once to its
visit rows (:func:`clip_weights`). No cell bound is needed: every released
table is a partition (``dp.release_design``), so a household is in one cell
of a households table and its clipped tickets add up to at most
``max_weight`` over the cells of a visits table.

Which rows survive is decided by a hash of the (already keyed) household id
and the row's content, not by the data's order, so the choice does not
depend on how the export happened to be sorted, nor on any other household.

Speed: hash group-bys over millions of distinct households are slow, sorts of
integers are fast. So households get a dense integer id once
(:func:`dense_ids`, one sort), rows are kept sorted by it, and every
per-household quantity is computed with run boundaries and cumulative sums.
Households within the bounds pass through untouched; only the few heavy ones
are ordered by hash and cut.
"""

from __future__ import annotations

import polars as pl

HOUSEHOLD_KEY = "household_key"
HH = "hh"  # dense household id, 0..H-1, rows sorted by it
HID = "hid"  # 64 bits of the keyed household hash: the tie-break for bounding
CELL = "cell"
WEIGHT = "weight"


def dense_ids(frame: pl.DataFrame) -> pl.DataFrame:
    """Sort rows by household and add ``hh`` (dense id) and ``hid``.

    ``hh`` separates households by their whole key: distinct keys, distinct
    ids. ``hid`` is always the first 8 bytes of the household's own key; it is
    only the tie-break that orders a heavy household's rows, so two keys
    sharing it are still two households, each bounded on its own, and a key
    crafted to share another's prefix changes nothing any other household
    keeps. Only the 64-bit ``hid`` is sorted (a multi-column sort is ten times
    slower); rows whose ``hid`` another key shares, which HMAC outputs make
    all but impossible unless a key is crafted, are then ordered by their
    full key within their block of equal ``hid``."""
    hid = pl.col(HOUSEHOLD_KEY).bin.slice(0, 8).bin.reinterpret(dtype=pl.UInt64).alias(HID)
    order = frame.select(hid.arg_sort()).to_series()
    ordered = frame.with_columns(hid).select(pl.all().gather(order))
    same_hid = pl.col(HID) == pl.col(HID).shift(1)
    same_key = pl.col(HOUSEHOLD_KEY) == pl.col(HOUSEHOLD_KEY).shift(1)
    clash = ordered.select(same_hid & ~same_key).to_series().fill_null(False)
    if clash.any():
        ordered = _by_full_key(ordered, ordered.filter(clash)[HID].unique())
    new = ~(same_hid & same_key).fill_null(False)
    return ordered.with_columns((new.cum_sum() - 1).cast(pl.UInt32).alias(HH))


def _by_full_key(ordered: pl.DataFrame, shared: pl.Series) -> pl.DataFrame:
    """``ordered`` (sorted by ``hid``) with the rows of each shared ``hid`` ordered
    by their full key, in place: each such block keeps its positions, so every
    other row stays where it was."""
    indexed = ordered.with_row_index("_i")
    block = indexed.filter(pl.col(HID).is_in(shared.implode()))
    # Positions of a block are contiguous and in hid order, and so is the sort
    # by (hid, key): writing the sorted rows into the block's positions moves
    # rows only within their own block.
    regrouped = block.sort(HID, HOUSEHOLD_KEY, maintain_order=True)["_i"]
    permutation = indexed["_i"].scatter(block["_i"], regrouped)
    return ordered.select(pl.all().gather(permutation))


def runs(key: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(is first row of its run, is last row of its run) over a sorted key."""
    first = (key != key.shift(1)).fill_null(True)
    last = (key != key.shift(-1)).fill_null(True)
    return first, last


def clip_weights(rows: pl.DataFrame, max_weight: int, order: pl.Expr) -> pl.Series:
    """Each row's ``weight`` after clipping its household's total to ``max_weight``.

    ``rows`` are sorted by ``hh``; the result is aligned with them. A heavy
    household's rows are filled in the order of ``order`` (a per-row hash);
    the row that crosses the bound gets what is left, later rows get 0 (they
    still count for the household tables, not for visits)."""
    first, _ = runs(pl.col(HH))
    running = pl.col(WEIGHT).cum_sum()
    start = pl.when(first).then(running - pl.col(WEIGHT)).forward_fill()
    indexed = rows.with_row_index("_i")
    heavy_ids = indexed.filter(running - start > max_weight).select(HH).unique()
    weights = rows[WEIGHT]
    if heavy_ids.height == 0:
        return weights
    before = pl.col(WEIGHT).cum_sum().over(HH) - pl.col(WEIGHT)
    remaining = (pl.lit(max_weight, dtype=pl.Int64) - before).clip(lower_bound=0)
    cut = (
        indexed.filter(pl.col(HH).is_in(heavy_ids[HH].implode()))
        .with_columns(order.alias("_order"))
        .sort(HH, "_order")
        .select("_i", pl.min_horizontal(pl.col(WEIGHT), remaining).alias(WEIGHT))
    )
    return weights.scatter(cut["_i"], cut[WEIGHT])


def household_totals(rows: pl.DataFrame) -> pl.Series:
    """Sum of ``weight`` per household, indexed by ``hh`` (rows sorted by it)."""
    _, last = runs(pl.col(HH))
    running = pl.col(WEIGHT).cum_sum()
    ends = rows.select(running.alias("_r"), last.alias("_last")).filter("_last")["_r"]
    return ends - ends.shift(1, fill_value=0)


def _vector(counts: pl.DataFrame, n_cells: int) -> tuple[int, ...]:
    """(cell, count) rows → one count per cell 0..n_cells-1, zeros included."""
    if counts[CELL].null_count():
        raise ValueError("every row must fall in a cell: the tables are partitions")
    values = [0] * n_cells
    for c, n in counts.iter_rows():
        values[int(c)] = int(n)
    return tuple(values)


def one_cell_counts(per_household: pl.DataFrame, n_cells: int) -> tuple[int, ...]:
    """Households per cell for a table where each household has exactly one cell.

    ``per_household`` has one row per household (``hh`` strictly increasing,
    checked) with its ``cell``: the sensitivity of 1 holds by construction, so
    no per-household sort is needed."""
    steps = per_household.select((pl.col(HH).diff() > 0).all()).item()
    if steps is False:
        raise ValueError("one_cell_counts needs exactly one row per household")
    return _vector(per_household.group_by(CELL).agg(pl.len()), n_cells)


def weighted_counts(rows: pl.DataFrame, n_cells: int) -> tuple[int, ...]:
    """Sum of ``weight`` per cell: each row in one ``cell``, weights already
    clipped (:func:`clip_weights`), so one household moves the table by at most
    its bound in L1 (and so in L2)."""
    return _vector(rows.group_by(CELL).agg(pl.col(WEIGHT).sum()), n_cells)
