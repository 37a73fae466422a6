"""Household sketches (dp/sketches.py): sensitivity, release, refusal to combine."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from aggregator.overlap_estimators import intersection, pairwise_intersections, reach, union
from dp.measurements import GAUSSIAN, LAPLACE, rho_for_epsilon
from dp.sketches import (
    MAX_WIDTH,
    MIN_WIDTH,
    SketchConfig,
    exact_sketch,
    hashed,
    noise_kurtosis,
    release_sketch,
    width_for,
)

RHO = rho_for_epsilon(1.0, 1e-7)


def key(n: int) -> bytes:
    return hashlib.sha256(f"household {n}".encode()).digest()


def config(period: str = "2026-Q3", width: int = 1024, seed: bytes = b"s" * 32) -> SketchConfig:
    return SketchConfig(period=period, width=width, seed=seed)


@pytest.mark.parametrize("extra", [0, 1, 17, 999])
def test_adding_one_household_moves_one_bucket_by_one_and_the_count_by_one(extra: int) -> None:
    keys = [key(n) for n in range(1000) if n != extra]
    before = exact_sketch(config(), keys)
    after = exact_sketch(config(), [*keys, key(extra)])
    diff = np.asarray(after.buckets) - np.asarray(before.buckets)
    assert int(np.abs(diff).sum()) == 1  # L1 (and L2) sensitivity 1
    assert after.households - before.households == 1


def test_a_household_listed_twice_counts_once() -> None:
    keys = [key(n) for n in range(100)]
    once = exact_sketch(config(), keys)
    twice = exact_sketch(config(), keys + keys[:10])
    assert once.buckets == twice.buckets
    assert once.households == twice.households == 100


def test_the_sketch_holds_no_key_and_prints_no_values() -> None:
    keys = [key(n) for n in range(50)]
    sketch = exact_sketch(config(), keys)
    assert set(vars(sketch)) == {"config", "buckets", "households"}
    assert all(type(b) is int for b in sketch.buckets)
    assert "households" not in repr(sketch)
    assert "seed" not in repr(sketch.config)


def test_the_same_household_lands_in_the_same_bucket_at_every_institution() -> None:
    a = exact_sketch(config(), [key(1)])
    b = exact_sketch(config(), [key(1)])
    assert a.buckets == b.buckets
    other_seed = exact_sketch(config(seed=b"t" * 32), [key(n) for n in range(64)])
    same_seed = exact_sketch(config(), [key(n) for n in range(64)])
    assert other_seed.buckets != same_seed.buckets


# OpenDP's ε of a composed Laplace measurement is found by search (about a second).
@pytest.mark.parametrize("mechanism", [GAUSSIAN, pytest.param(LAPLACE, marks=pytest.mark.slow)])
def test_a_release_spends_the_rho_it_is_given(mechanism: str) -> None:
    sketch = exact_sketch(config(width=256), [key(n) for n in range(300)])
    released, epsilon = release_sketch(sketch, rho=RHO, mechanism=mechanism)
    assert released.rho == pytest.approx(RHO, rel=1e-6)
    assert epsilon <= 1.0 + 1e-9
    assert len(released.buckets) == 256
    assert "households" not in repr(released)


def test_a_config_checks_width_seed_and_period() -> None:
    with pytest.raises(ValueError, match="power of two"):
        config(width=1000)
    with pytest.raises(ValueError, match="power of two"):
        config(width=MAX_WIDTH * 2)
    with pytest.raises(ValueError, match="32 bytes"):
        config(seed=b"short")
    with pytest.raises(ValueError, match="period"):
        config(period="2026-M07")


def test_the_width_rule_is_a_power_of_two_near_n_over_the_noise_variance() -> None:
    width = width_for(100_000, rho=0.5, mechanism=LAPLACE)  # variance ≈ 1.95
    assert width == 1 << 16
    assert width_for(100_000, rho=RHO) == 1 << 12  # variance ≈ 26
    assert width_for(10, rho=RHO) == MIN_WIDTH
    with pytest.raises(ValueError):
        width_for(0, rho=RHO)


def released(cfg: SketchConfig, n: int) -> object:
    return release_sketch(exact_sketch(cfg, [key(i) for i in range(n)]), rho=RHO)[0]


@pytest.mark.parametrize(
    ("other", "match"),
    [
        (config(period="2026-Q4"), "different periods"),
        (config(width=2048), "different widths"),
        (config(seed=b"t" * 32), "different hash seeds"),
    ],
)
def test_sketches_of_different_configs_are_not_combined(other: SketchConfig, match: str) -> None:
    a = release_sketch(exact_sketch(config(), [key(i) for i in range(10)]), rho=RHO)[0]
    b = release_sketch(exact_sketch(other, [key(i) for i in range(10)]), rho=RHO)[0]
    for combine in (
        lambda: intersection(a, b),
        lambda: union(a, b),
        lambda: reach([a, a.__class__(**vars(a)), b]),
        lambda: pairwise_intersections([a, b]),
    ):
        with pytest.raises(ValueError, match=match):
            combine()


def test_a_sketch_is_not_combined_with_itself() -> None:
    a = release_sketch(exact_sketch(config(), [key(i) for i in range(10)]), rho=RHO)[0]
    with pytest.raises(ValueError, match="itself"):
        intersection(a, a)
    with pytest.raises(ValueError, match="itself"):  # the same release loaded twice
        intersection(a, a.__class__(**vars(a)))
    with pytest.raises(ValueError, match="at least two"):
        reach([a])


def test_the_laplace_fourth_cumulant_is_that_of_the_continuous_one_at_large_scale() -> None:
    assert noise_kurtosis(GAUSSIAN, 5.0) == 0.0
    assert noise_kurtosis(LAPLACE, 200.0) == pytest.approx(12 * 200.0**4, rel=0.01)


@pytest.mark.slow
def test_opendp_bucket_noise_has_the_declared_variance_and_fourth_cumulant() -> None:
    empty = exact_sketch(config(width=1 << 16), [])
    noisy, _ = release_sketch(empty, rho=0.5, mechanism=LAPLACE)
    values = np.asarray(noisy.buckets, dtype=float)
    variance = values.var()
    assert variance == pytest.approx(noisy.bucket_variance, rel=0.03)
    fourth = float(np.mean(values**4)) - 3 * variance**2
    assert fourth == pytest.approx(noisy.bucket_kurtosis, rel=0.25)


def test_a_hash_is_the_little_endian_reading_of_the_keyed_blake2b_digest() -> None:
    """The bucket rule is fixed by the bytes, not by the machine's byte order."""
    cfg = config(width=256)
    household = key(7)
    state = hashlib.blake2b(key=cfg.seed, digest_size=8, person=b"publiek-sketch1")
    state.update(household)
    assert hashed(cfg, [household]).to_list() == [int.from_bytes(state.digest(), "little")]
