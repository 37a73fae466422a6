"""A household sketch in parts by main discipline (dp.sketches.release_parts,
ADR 0036): one release of sensitivity 1, its ρ OpenDP's, read back as
NoisySketches with the variances its scales give."""

from __future__ import annotations

import hashlib

import numpy as np
import polars as pl
import pytest

from dp.measurements import GAUSSIAN, LAPLACE, noise_std, rho_for_epsilon
from dp.release_design import DISCIPLINES
from dp.sketches import (
    MAX_WIDTH,
    MIN_WIDTH,
    SEED_BYTES,
    SketchConfig,
    exact_parts,
    exact_sketch,
    hashed,
    noise_kurtosis,
    received_parts,
    release_parts,
    release_sketch,
    sketch_measurement,
    sketch_rho,
)
from protocol.messages import (
    SKETCH_MAX_WIDTH,
    SKETCH_MIN_WIDTH,
    SKETCH_SEED_BYTES,
    PeriodSketch,
)

RHO = rho_for_epsilon(1.0, 1e-7) / 4
SEED = b"p" * 32
CONFIG = SketchConfig(period="2026-Q4", width=256, seed=SEED)
SPEC = PeriodSketch(width=256, seed=SEED, weight=0.25)


def keys(start: int, stop: int) -> list[bytes]:
    return [hashlib.sha256(f"household {n}".encode()).digest() for n in range(start, stop)]


def split(household_keys: list[bytes]) -> dict[str, pl.Series]:
    """Households over three disciplines, each in one part."""
    hashes = hashed(CONFIG, household_keys)
    return {d: hashes[i::3] for i, d in enumerate(("theater", "music", "film"))}


def test_the_protocol_and_dp_agree_on_the_sketch_bounds() -> None:
    assert (MIN_WIDTH, MAX_WIDTH, SEED_BYTES) == (
        SKETCH_MIN_WIDTH,
        SKETCH_MAX_WIDTH,
        SKETCH_SEED_BYTES,
    )


@pytest.mark.parametrize("extra", [0, 7, 299])
@pytest.mark.parametrize("part", ["theater", "film", "dance"])
def test_adding_one_household_to_one_part_moves_one_bucket_and_one_count_by_one(
    extra: int, part: str
) -> None:
    base = split(keys(0, 300))
    before_vector, before_counts = exact_parts(CONFIG, base, DISCIPLINES)
    grown = dict(base)
    one = hashed(CONFIG, keys(1000 + extra, 1001 + extra))
    grown[part] = pl.concat([base.get(part, one.clear()), one])
    after_vector, after_counts = exact_parts(CONFIG, grown, DISCIPLINES)
    vector = np.asarray(after_vector) - np.asarray(before_vector)
    counts = np.asarray(after_counts) - np.asarray(before_counts)
    assert int(np.abs(vector).sum()) == 1  # L1 = L2 = 1 over all parts' buckets
    assert int(np.abs(counts).sum()) == 1 and counts[DISCIPLINES.index(part)] == 1
    moved = int(np.flatnonzero(vector)[0]) // CONFIG.width
    assert DISCIPLINES[moved] == part  # the bucket is in the household's own part


def test_the_parts_are_the_sketches_of_their_households() -> None:
    parts = split(keys(0, 300))
    vector, counts = exact_parts(CONFIG, parts, DISCIPLINES)
    theater = DISCIPLINES.index("theater")
    exact = exact_sketch(CONFIG, keys(0, 300)[0::3])
    assert vector[theater * 256 : (theater + 1) * 256] == list(exact.buckets)
    assert counts[theater] == 100 and sum(counts) == 300
    assert counts[DISCIPLINES.index("dance")] == 0  # an absent discipline is a part of nobody


@pytest.mark.parametrize("mechanism", [GAUSSIAN, LAPLACE])
def test_parts_cost_what_one_sketch_costs_by_opendps_map(mechanism: str) -> None:
    released, spend = release_parts(
        CONFIG, split(keys(0, 300)), DISCIPLINES, rho=RHO, mechanism=mechanism
    )
    assert [p.discipline for p in released.parts] == list(DISCIPLINES)
    assert all(len(p.buckets) == 256 for p in released.parts)
    measurement = sketch_measurement(released.scale, released.count_scale, mechanism)
    assert released.rho == spend.rho == pytest.approx(float(measurement.map(1)))
    assert sketch_rho(released.scale, released.count_scale, mechanism) == released.rho
    assert released.rho == pytest.approx(RHO, rel=1e-3)
    one, _ = release_sketch(exact_sketch(CONFIG, keys(0, 300)), rho=RHO, mechanism=mechanism)
    assert one.rho == pytest.approx(released.rho)


def test_the_released_sketch_hides_its_values() -> None:
    released, _ = release_parts(CONFIG, split(keys(0, 30)), DISCIPLINES, rho=RHO)
    shown = repr(released) + repr(released.parts)
    assert "buckets" not in shown and "households" not in shown


def test_received_parts_carry_the_noise_of_the_declared_scales() -> None:
    released, _ = release_parts(CONFIG, split(keys(0, 300)), DISCIPLINES, rho=RHO)
    parts = received_parts("2026-Q4", SPEC, released)
    assert list(parts) == list(DISCIPLINES)
    music = parts["music"]
    assert music.config == CONFIG
    assert music.bucket_variance == pytest.approx(noise_std(GAUSSIAN, released.scale) ** 2)
    assert music.count_variance == pytest.approx(noise_std(GAUSSIAN, released.count_scale) ** 2)
    assert music.bucket_kurtosis == noise_kurtosis(GAUSSIAN, released.scale)
    assert music.rho == released.rho
    assert music.buckets == released.parts[DISCIPLINES.index("music")].buckets


def test_received_parts_refuse_another_width() -> None:
    released, _ = release_parts(CONFIG, split(keys(0, 30)), DISCIPLINES, rho=RHO)
    with pytest.raises(ValueError, match=r"width 256; the period's is .* width 512"):
        received_parts("2026-Q4", PeriodSketch(width=512, seed=SEED, weight=0.25), released)


def test_parts_outside_the_key_set_or_twice_are_refused() -> None:
    with pytest.raises(ValueError, match="distinct disciplines of the key set"):
        exact_parts(CONFIG, {"circus": hashed(CONFIG, keys(0, 3))}, DISCIPLINES)
    with pytest.raises(ValueError, match="distinct disciplines"):
        exact_parts(CONFIG, {}, ("music", "music"))
