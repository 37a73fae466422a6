"""The growing hash table that numbers distinct raw addresses across row groups."""

from __future__ import annotations

import polars as pl

from agent.ingest.address_index import AddressIndex


def _u64(values: list[int]) -> pl.Series:
    return pl.Series(values, dtype=pl.UInt64)


def test_added_pairs_are_found_by_their_number_and_others_are_not() -> None:
    index = AddressIndex()
    index.add(_u64([11, 22, 33]), _u64([1, 2, 3]))
    found = index.find(_u64([33, 11, 44, 22]), _u64([3, 1, 4, 2]))
    assert found.to_list() == [2, 0, None, 1]


def test_pairs_sharing_the_first_hash_are_different_addresses() -> None:
    index = AddressIndex()
    index.add(_u64([7, 7]), _u64([1, 2]))
    assert index.find(_u64([7, 7, 7]), _u64([2, 1, 3])).to_list() == [1, 0, None]


def test_numbers_survive_the_table_growing() -> None:
    index = AddressIndex()
    first = pl.int_range(1000, eager=True).hash(1)
    index.add(first, first.hash(2))
    more = pl.int_range(1000, 200_000, eager=True).hash(1)
    index.add(more, more.hash(2))
    assert len(index) == 200_000
    assert index.find(first, first.hash(2)).to_list() == list(range(1000))
    sample = more.gather([0, 99_999, 198_999])
    assert index.find(sample, sample.hash(2)).to_list() == [1000, 100_999, 199_999]


def test_a_table_sized_for_what_is_expected_numbers_as_a_growing_one_does() -> None:
    pairs = pl.int_range(400_000, eager=True).hash(1)
    growing, sized = AddressIndex(), AddressIndex(expected=400_000)
    started = (growing._bits, sized._bits)
    for index in (growing, sized):
        for start in range(0, 400_000, 100_000):
            part = pairs.slice(start, 100_000)
            index.add(part, part.hash(2))
    # Sized for 400,000 pairs, the table never had to grow (and re-place them all).
    assert (growing._bits, sized._bits) == (started[0] + 1, started[1])
    probe = pl.concat([pairs.gather([5, 399_999, 123_456]), pl.Series([1], dtype=pl.UInt64)])
    assert (
        growing.find(probe, probe.hash(2)).to_list()
        == sized.find(probe, probe.hash(2)).to_list()
        == [5, 399_999, 123_456, None]
    )
