"""Columns computed over a group of rows, cut into the group's own chunks.

A group's columns arrive in the engine's chunks, about fifty per million
rows; a column computed over the whole group (prices, reasons, address
numbers) is one chunk. Selecting or filtering a frame whose columns are
chunked differently first copies every column into one chunk: with the
group's strings, that was a third of the main thread's CPU (``memmove`` in
``perf``; ADR 0011, "Groups without copies").
"""

from __future__ import annotations

import itertools

import polars as pl


def aligned(series: pl.Series, like: pl.Series) -> pl.Series:
    """``series`` cut into the chunks of ``like`` (slices: nothing is copied)."""
    lengths = like.chunk_lengths()
    if series.chunk_lengths() == lengths:
        return series
    offsets = [0, *itertools.accumulate(lengths)]
    return pl.concat(
        [series.slice(start, n) for start, n in zip(offsets, lengths, strict=False)],
        rechunk=False,
    )
