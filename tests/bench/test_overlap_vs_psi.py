"""The sketch-against-PSI bench of issue 17 (bench/overlap_vs_psi.py): a
sketch's payload is the protocol's ReleasedSketch and decodes to its parts,
an institution's sketch is their sum, and the per-pair and all-pairs
bookkeeping counts what it says."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from dp.measurements import default_rho
from dp.release_design import DISCIPLINES
from dp.sketches import hashed, release_parts, sketch_config
from protocol.messages import PeriodSketch, ReleasedSketch
from tests.file_modules import load_module

ROOT = Path(__file__).resolve().parents[2]
bench = load_module("overlap_vs_psi", ROOT / "bench" / "overlap_vs_psi.py")
psi_baseline = load_module("psi_baseline", ROOT / "bench" / "psi_baseline.py")

SPEC = PeriodSketch(width=256, seed=bytes(range(32)), weight=0.25)


def _released(spec: PeriodSketch = SPEC, households: int = 300) -> ReleasedSketch:
    config = sketch_config("2026-Q3", spec)
    keys = [os.urandom(32) for _ in range(households)]
    half = households // 2
    by_discipline = {
        "theater": hashed(config, keys[:half]),
        "music": hashed(config, keys[half:]),
    }
    released, _ = release_parts(config, by_discipline, DISCIPLINES, rho=default_rho())
    return released


def test_a_payload_is_the_protocol_message_and_decodes_to_its_parts() -> None:
    released = _released()
    wire = bench.sketch_payload(released)
    assert ReleasedSketch.from_dict(bench.parse_canonical(wire, what="sketch")) == released
    parts = bench.read_sketch_payload(wire, SPEC)
    assert list(parts) == list(DISCIPLINES)
    for part in released.parts:
        assert parts[part.discipline].buckets == part.buckets
        assert parts[part.discipline].households == part.households
    assert bench.wire_bytes(wire) == math.ceil(len(wire) * 4 / 3)


def test_a_payload_of_another_width_is_refused() -> None:
    other = PeriodSketch(width=512, seed=SPEC.seed, weight=0.25)
    with pytest.raises(ValueError, match="width"):
        bench.read_sketch_payload(bench.sketch_payload(_released(other)), SPEC)


def test_an_institutions_sketch_is_the_sum_of_its_parts() -> None:
    parts = bench.read_sketch_payload(bench.sketch_payload(_released()), SPEC)
    whole = bench.whole(parts)
    assert whole.buckets == tuple(
        np.sum([np.asarray(p.buckets) for p in parts.values()], axis=0).tolist()
    )
    assert whole.households == sum(p.households for p in parts.values())
    one = next(iter(parts.values()))
    assert whole.bucket_variance == pytest.approx(len(DISCIPLINES) * one.bucket_variance)
    assert whole.count_variance == pytest.approx(len(DISCIPLINES) * one.count_variance)


def test_the_period_spec_is_what_period_open_fixes() -> None:
    spec = bench.period_spec(100_000, bytes(32))
    assert spec.weight == bench.SHARE
    assert bench.sketch_rho_of(spec) == pytest.approx(bench.SHARE * default_rho())
    assert pl.Series(bench.main_disciplines(1_000, bench.random.Random(1))).max() < len(DISCIPLINES)


def test_the_sketch_pair_charges_both_sketches_and_amortises_them_over_the_partners() -> None:
    a, b = psi_baseline.keys_with_overlap(2_000, 2_000, 200, seed=5)
    cost = bench.sketch_pair_cost(a, b, 200, seed=5)
    assert cost.bytes == bench.wire_bytes(cost.a.payload) + bench.wire_bytes(cost.b.payload)
    whole = cost.institutions + cost.decoding
    assert cost.seconds.cpu == pytest.approx(whole.cpu + cost.estimating.cpu)
    amortised = cost.amortised_seconds(institutions=11)
    assert amortised.cpu == pytest.approx(whole.cpu / 10 + cost.estimating.cpu)
    assert cost.amortised_bytes(institutions=11) == cost.bytes / 10


def test_psi_amortised_keeps_response_and_intersection_per_pair() -> None:
    cost = psi_baseline.PairCost(
        n_a=10, n_b=10, overlap=1, found=1,
        setup_s=5.0, request_s=3.0, response_s=2.0, intersection_s=1.0,
        setup_cpu_s=4.0, request_cpu_s=4.0, response_cpu_s=2.0, intersection_cpu_s=2.0,
        setup_bytes=1, request_bytes=1, response_bytes=1,
    )  # fmt: skip
    per_pair = bench.psi_amortised(cost, institutions=5)
    assert per_pair.wall == pytest.approx(3.0 + 8.0 / 2)
    assert per_pair.cpu == pytest.approx(4.0 + 8.0 / 2)


def test_publication_withholds_each_pair_the_rule_calls_too_uncertain() -> None:
    # upper triangle: (0,1) 100 ± 10 kept, (0,2) 100 ± 40 withheld, (1,2) -5 withheld
    values = np.array([[np.nan, 100.0, 100.0], [100.0, np.nan, -5.0], [100.0, -5.0, np.nan]])
    stds = np.array([[np.nan, 10.0, 40.0], [10.0, np.nan, 1.0], [40.0, 1.0, np.nan]])
    assert bench.publication(values, stds) == 2


def test_all_pairs_decodes_every_payload_and_counts_every_pair() -> None:
    # k + 1 institutions, so that the crossovers and the reach are computed
    payloads = [bench.sketch_payload(_released()) for _ in range(6)]
    run = bench.all_pairs(payloads, SPEC, [300] * 6)
    assert (run.institutions, run.pairs, run.width) == (6, 15, 256)
    assert run.payload_bytes == sum(len(p) for p in payloads)
    assert 0 <= run.too_uncertain <= 15
    assert run.seconds.cpu == pytest.approx((run.all_pairs + run.crossovers + run.reach).cpu)


def test_an_institution_releases_its_enrolled_discipline_alone_by_default() -> None:
    a, b = psi_baseline.keys_with_overlap(1_000, 1_000, 100, seed=2)
    cost = bench.sketch_pair_cost(a, b, 100, seed=2)
    spec = bench.period_spec(1_000, bench.random.Random(2).randbytes(32))
    assert list(bench.read_sketch_payload(cost.a.payload, spec)) == [bench.ENROLLED]
    every = bench.sketch_pair_cost(a, b, 100, seed=2, parts=bench.declared_parts(12))
    assert list(bench.read_sketch_payload(every.a.payload, spec)) == list(DISCIPLINES)
    assert every.bytes > 5 * cost.bytes  # 12 parts of buckets against one
