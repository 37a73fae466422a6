"""The PSI baseline of issue 17 (bench/psi_baseline.py, ADR 0035): exact
private-set-intersection cardinality finds the true overlap, and every
message of its round trip is counted. (That nothing that ships imports the
package is tests/test_packaging.py's check: no extra but ``bench`` and
``dev`` declares it.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.file_modules import load_module

ROOT = Path(__file__).resolve().parents[2]
bench = load_module("psi_baseline", ROOT / "bench" / "psi_baseline.py")


def test_psi_cardinality_finds_the_exact_overlap_of_1000_by_1000_keys() -> None:
    cost = bench.psi_pair_cost(1_000, 1_000, 100, seed=3)
    assert (cost.n_a, cost.n_b, cost.found) == (1_000, 1_000, 100)


def test_every_message_of_the_round_trip_is_counted() -> None:
    cost = bench.psi_pair_cost(50, 80, 5, seed=4)
    assert cost.found == 5
    # the request and the response carry one compressed P-256 point per client key
    assert cost.request_bytes >= 33 * 50
    assert cost.response_bytes >= 33 * 50
    assert cost.setup_bytes > 0
    assert cost.bytes == cost.setup_bytes + cost.request_bytes + cost.response_bytes


def test_the_key_sets_share_exactly_the_overlap_and_are_seeded() -> None:
    a, b = bench.keys_with_overlap(500, 800, 50, seed=9)
    assert (len(set(a)), len(set(b)), len(set(a) & set(b))) == (500, 800, 50)
    assert {len(k) for k in a + b} == {32}
    assert bench.keys_with_overlap(500, 800, 50, seed=9) == (a, b)


def test_an_overlap_larger_than_a_set_is_refused() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        bench.keys_with_overlap(10, 20, 11, seed=1)
