"""The sketch-against-PSI bench of issue 17 (bench/overlap_vs_psi.py): a
sketch's payload decodes to the sketch that was released and refuses another
config, and the per-pair and all-pairs bookkeeping counts what it says."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest

from dp.measurements import default_rho
from dp.sketches import NoisySketch, SketchConfig, exact_sketch, release_sketch
from tests.file_modules import load_module

ROOT = Path(__file__).resolve().parents[2]
bench = load_module("overlap_vs_psi", ROOT / "bench" / "overlap_vs_psi.py")
psi_baseline = load_module("psi_baseline", ROOT / "bench" / "psi_baseline.py")

CONFIG = SketchConfig("2026-Q3", 256, bytes(range(32)))


def _released(config: SketchConfig = CONFIG, households: int = 300) -> NoisySketch:
    keys = [os.urandom(32) for _ in range(households)]
    released, _ = release_sketch(exact_sketch(config, keys), rho=default_rho())
    return released


def test_a_payload_decodes_to_the_released_sketch() -> None:
    released = _released()
    wire = bench.sketch_payload(released, rho=default_rho())
    received = bench.read_sketch_payload(wire, CONFIG)
    assert received.buckets == released.buckets
    assert received.households == released.households
    assert received.mechanism == released.mechanism
    assert math.isclose(received.bucket_variance, released.bucket_variance)
    assert math.isclose(received.count_variance, released.count_variance)
    assert received.bucket_kurtosis == released.bucket_kurtosis
    assert bench.wire_bytes(wire) == math.ceil(len(wire) * 4 / 3)


@pytest.mark.parametrize(
    ("other", "message"),
    [
        (SketchConfig("2026-Q4", 256, bytes(range(32))), "different periods"),
        (SketchConfig("2026-Q3", 512, bytes(range(32))), "different widths"),
        (SketchConfig("2026-Q3", 256, bytes(32)), "different hash seeds"),
    ],
)
def test_a_payload_of_another_config_is_refused(other: SketchConfig, message: str) -> None:
    wire = bench.sketch_payload(_released(other), rho=default_rho())
    with pytest.raises(ValueError, match=message):
        bench.read_sketch_payload(wire, CONFIG)


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
    payloads = [bench.sketch_payload(_released(), rho=default_rho()) for _ in range(4)]
    run = bench.all_pairs(payloads, CONFIG, [300] * 4)
    assert (run.institutions, run.pairs, run.width) == (4, 6, 256)
    assert run.payload_bytes == sum(len(p) for p in payloads)
    assert 0 <= run.too_uncertain <= 6
