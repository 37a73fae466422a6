"""Household sketches: a signed count sketch of an institution's household keys,
noised by OpenDP, from which the aggregator estimates overlaps (ADR 0034).

Household keys are HMACs under the period's sector key, so one household has
the same key at every institution of a period. Each key is mapped by one keyed
hash (BLAKE2b, keyed by the period config's public ``seed``) to a bucket and a
sign: the low bits of the 64-bit output give the bucket (the width is a power
of two), the top bit the sign. Disjoint bits of a pseudorandom output are
independent, so bucket and sign are two independent hashes. The exact sketch
holds, per bucket, the sum of its households' signs, and the number of
households; the key itself is dropped after hashing and never stored.

Sensitivity: adding or removing one household (all its visits) changes one
bucket by ±1 and the household count by 1. The vector thus has L1 and L2
sensitivity 1, whatever the hash (the DP guarantee does not rest on the seed
being secret), and so has the count. Both are released by one composed OpenDP
measurement (:func:`dp.measurements.table_measurement`, discrete Gaussian or
discrete Laplace, accounted in zCDP ρ like the tables), the count taking
:data:`COUNT_SHARE` of the sketch's ρ.

Keys are deduplicated on their hash before counting, so a household listed
twice still moves one bucket by one. The estimators that combine released
sketches live with the aggregator (``aggregator/overlap_estimators.py``): they
need numpy, which the agent does not install (ADR 0015).
"""

from __future__ import annotations

import hashlib
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import opendp.prelude as dp
import polars as pl
import pyarrow as pa

from dp.measurements import (
    GAUSSIAN,
    LAPLACE,
    calibrate_scale,
    noise_std,
    privacy_spend,
    table_measurement,
)
from dp.release_design import DEFAULT_DELTA
from protocol.errors import InvalidPayload
from protocol.messages import (
    SKETCH_DESIGN,
    SKETCH_MAX_WIDTH,
    SKETCH_MIN_WIDTH,
    SKETCH_SEED_BYTES,
    PeriodSketch,
    PrivacySpend,
    ReleasedSketch,
    SketchPart,
    check_period,
)

# The protocol fixes the design name and the bounds (a period config and a
# released sketch carry them); the sketch follows them.
SEED_BYTES = SKETCH_SEED_BYTES
MIN_WIDTH = SKETCH_MIN_WIDTH
MAX_WIDTH = SKETCH_MAX_WIDTH
# The household count's share of the sketch's ρ: its noise is then √(0.95/0.05)
# ≈ 4.4× the bucket noise (σ ≈ 22 households at the default period budget's
# whole ρ), small against the tens of thousands counted.
COUNT_SHARE = 0.05
SENSITIVITY = 1.0  # one household: one bucket ±1 (L1 = L2 = 1), the count ±1
_PERSON = b"publiek-sketch1"  # BLAKE2b personalisation: no other use of the seed collides
_VECTOR = "sketch"
_COUNT = "households"


@dataclass(frozen=True)
class SketchConfig:
    """What every institution of a period sketches with: fixed by the period
    config, so that sketches of one period can be combined and no others."""

    period: str
    width: int
    seed: bytes = field(repr=False)
    design: str = SKETCH_DESIGN

    def __post_init__(self) -> None:
        try:
            check_period(self.period)
        except InvalidPayload as exc:  # one error type for every config a caller gets wrong
            raise ValueError(str(exc)) from None
        if self.design != SKETCH_DESIGN:
            raise ValueError(f"unknown sketch design {self.design!r}, expected {SKETCH_DESIGN!r}")
        if not MIN_WIDTH <= self.width <= MAX_WIDTH or self.width & (self.width - 1):
            raise ValueError(
                f"sketch width {self.width} must be a power of two in [{MIN_WIDTH}, {MAX_WIDTH}]"
            )
        if len(self.seed) != SEED_BYTES:
            raise ValueError(f"the sketch seed must be {SEED_BYTES} bytes")

    def check_same(self, other: SketchConfig) -> None:
        """Raise ValueError unless ``other`` is the same config: sketches of
        different periods, widths, seeds or designs hash households to
        unrelated buckets, and combining them would be silently wrong."""
        for name in ("design", "period", "width"):
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine != theirs:
                raise ValueError(
                    f"cannot combine sketches of different {name}s ({mine!r} and {theirs!r})"
                )
        if self.seed != other.seed:
            raise ValueError("cannot combine sketches made with different hash seeds")


def width_for(expected_households: float, *, rho: float, mechanism: str = GAUSSIAN) -> int:
    """The width rule: the power of two nearest (in log) to n / v.

    For sets of about n households and per-bucket noise variance v, the
    variance of the intersection estimate is about 2·n·v (noise against
    households, fixed) + n²/w (hash collisions) + w·v² (noise against noise);
    the last two are smallest, together 2·n·v, at w = n / v. ``expected_households``
    is the geometric mean of the set sizes the period expects to compare (a
    typical institution's households); the variance grows slowly away from the
    optimum (a factor of 2 off costs 25% in the last two terms)."""
    if expected_households <= 0:
        raise ValueError("the expected number of households must be positive")
    variance = bucket_variance(rho, mechanism)
    ideal = expected_households / variance
    width = 1 << max(0, round(math.log2(max(ideal, 1.0))))
    return int(min(max(width, MIN_WIDTH), MAX_WIDTH))


def vector_rho(rho: float) -> float:
    return (1.0 - COUNT_SHARE) * rho


def count_rho(rho: float) -> float:
    return COUNT_SHARE * rho


def bucket_variance(rho: float, mechanism: str = GAUSSIAN) -> float:
    """Noise variance of one bucket when the sketch gets ``rho``."""
    return noise_std(mechanism, calibrate_scale(SENSITIVITY, mechanism, vector_rho(rho))) ** 2


def hashed(config: SketchConfig, household_keys: Iterable[bytes]) -> pl.Series:
    """The distinct 64-bit keyed hashes of the keys (BLAKE2b under the seed,
    read as little-endian unsigned integers).

    The keyed state is set up once and copied per key (a third faster than a
    keyed constructor per key); counting is left to polars, as the agent has
    no numpy (ADR 0015)."""
    keyed = hashlib.blake2b(key=config.seed, digest_size=8, person=_PERSON)
    digests = []
    for household_key in household_keys:
        state = keyed.copy()
        state.update(household_key)
        digests.append(state.digest())
    # Arrow reads the buffer in the machine's byte order; the rule is the
    # little-endian reading, so that every agent puts a household in one bucket.
    if sys.byteorder == "big":  # pragma: no cover - no big-endian machine runs the tests
        digests = [digest[::-1] for digest in digests]
    blob = b"".join(digests)
    array = pa.Array.from_buffers(pa.uint64(), len(digests), [None, pa.py_buffer(blob)])
    return pl.Series("hash", array)


@dataclass(frozen=True, eq=False)
class ExactSketch:
    """An institution's sketch before noise: never leaves the agent."""

    config: SketchConfig
    buckets: tuple[int, ...] = field(repr=False)
    households: int = field(repr=False)

    def __repr__(self) -> str:  # exact values never print
        return f"ExactSketch(period={self.config.period!r}, width={self.config.width})"


def exact_sketch(config: SketchConfig, household_keys: Iterable[bytes]) -> ExactSketch:
    """The signed count sketch of a set of household keys."""
    return from_hashes(config, hashed(config, household_keys))


def from_hashes(config: SketchConfig, hashes: pl.Series) -> ExactSketch:
    """The sketch of keyed hashes (what :func:`hashed` returns; the benchmarks
    draw them at random, as the keyed hash of unknown keys is). Duplicates
    count once: bucket = the low bits (the hash modulo the power-of-two
    width), sign = the top bit."""
    distinct = hashes.cast(pl.UInt64).unique()
    sums = (
        distinct.to_frame("hash")
        .select(
            bucket=(pl.col("hash") % config.width).cast(pl.Int64),
            sign=pl.when(pl.col("hash") >= 1 << 63).then(1).otherwise(-1),
        )
        .group_by("bucket")
        .agg(pl.col("sign").sum())
    )
    buckets = [0] * config.width
    for bucket, total in zip(sums["bucket"].to_list(), sums["sign"].to_list(), strict=True):
        buckets[bucket] = total
    return ExactSketch(config=config, buckets=tuple(buckets), households=len(distinct))


def sketch_measurement(vector_scale: float, count_scale: float, mechanism: str) -> Any:
    """The composed OpenDP measurement releasing a sketch and its count."""
    return dp.c.make_composition(
        [
            table_measurement(_VECTOR, SENSITIVITY, mechanism, vector_scale),
            table_measurement(_COUNT, SENSITIVITY, mechanism, count_scale),
        ]
    )


@dataclass(frozen=True, eq=False)
class NoisySketch:
    """A released sketch: what the aggregator receives and combines.

    ``bucket_variance`` and ``count_variance`` are the noise variances of one
    bucket and of the count; ``bucket_kurtosis`` the noise's fourth cumulant
    per bucket (0 for the discrete Gaussian at the scales used, about 12·b⁴
    for the discrete Laplace), which the variance of a squared norm needs."""

    config: SketchConfig
    buckets: tuple[int, ...] = field(repr=False)
    households: float = field(repr=False)
    mechanism: str
    bucket_variance: float
    count_variance: float
    bucket_kurtosis: float
    rho: float

    def __post_init__(self) -> None:
        if len(self.buckets) != self.config.width:
            raise ValueError(f"a sketch of width {self.config.width} needs as many buckets")
        if not (self.bucket_variance > 0 and self.count_variance > 0):
            raise ValueError("a released sketch needs positive noise variances")

    def __repr__(self) -> str:  # values stay out of logs
        return (
            f"NoisySketch(period={self.config.period!r}, width={self.config.width}, "
            f"mechanism={self.mechanism!r}, rho={self.rho:g})"
        )


def noise_kurtosis(mechanism: str, scale: float) -> float:
    """Fourth cumulant E[X⁴] − 3·Var² of one bucket's noise.

    Discrete Gaussian: 0 to within 1e-8 at σ ≥ 1 (like its variance, close
    to the continuous one's). Discrete Laplace with q = e^(-1/b): the
    difference of two independent geometric variables, whose even cumulants
    add: 2·q(1 + 4q + q²)/(1 − q)⁴ (12·b⁴ for large b, as the continuous
    Laplace)."""
    if mechanism == GAUSSIAN:
        return 0.0
    q = math.exp(-1.0 / scale)
    return 2.0 * q * (1 + 4 * q + q * q) / (1 - q) ** 4


def release_sketch(
    exact: ExactSketch, *, rho: float, mechanism: str = GAUSSIAN, delta: float = DEFAULT_DELTA
) -> tuple[NoisySketch, float]:
    """Noise a sketch by OpenDP at ``rho`` (its share of the period budget).

    Returns the released sketch and the ε of its (ε, δ) conversion, both from
    OpenDP's maps of the composed measurement."""
    if mechanism not in (GAUSSIAN, LAPLACE):
        raise ValueError(f"unknown mechanism {mechanism!r}")
    vector_scale = calibrate_scale(SENSITIVITY, mechanism, vector_rho(rho))
    count_scale = calibrate_scale(SENSITIVITY, mechanism, count_rho(rho))
    measurement = sketch_measurement(vector_scale, count_scale, mechanism)
    noisy_vector, noisy_count = measurement(
        {_VECTOR: list(exact.buckets), _COUNT: [exact.households]}
    )
    spend = privacy_spend(measurement, delta)
    released = NoisySketch(
        config=exact.config,
        buckets=tuple(int(v) for v in noisy_vector),
        households=float(noisy_count[0]),
        mechanism=mechanism,
        bucket_variance=noise_std(mechanism, vector_scale) ** 2,
        count_variance=noise_std(mechanism, count_scale) ** 2,
        bucket_kurtosis=noise_kurtosis(mechanism, vector_scale),
        rho=spend.rho,
    )
    return released, spend.epsilon


def sketch_rho(scale: float, count_scale: float, mechanism: str) -> float:
    """The ρ of a sketch released with these scales: OpenDP's privacy map of
    the composed measurement, which intake recomputes a declaration with.

    The same for one sketch and for a sketch in parts (:func:`release_parts`):
    the parts partition the households, so the concatenated buckets and the
    vector of counts each still have sensitivity 1."""
    try:
        return float(sketch_measurement(scale, count_scale, mechanism).map(1))
    except dp.OpenDPException as exc:  # a scale OpenDP cannot map
        raise ValueError(f"OpenDP cannot compute ρ for the sketch ({exc.variant})") from exc


def exact_parts(
    config: SketchConfig, hashes: Mapping[str, pl.Series], disciplines: Sequence[str]
) -> tuple[list[int], list[int]]:
    """The exact sketches of the parts before noise, as the measurement takes
    them: every part's buckets one after the other (in ``disciplines`` order)
    and the parts' household counts. Never leaves the agent."""
    unknown = set(hashes) - set(disciplines)
    if unknown or len(set(disciplines)) != len(disciplines):
        raise ValueError("the parts must be distinct disciplines of the key set")
    empty = pl.Series("hash", [], dtype=pl.UInt64)
    exact = [from_hashes(config, hashes.get(d, empty)) for d in disciplines]
    return (
        [bucket for sketch in exact for bucket in sketch.buckets],
        [sketch.households for sketch in exact],
    )


def release_parts(
    config: SketchConfig,
    hashes: Mapping[str, pl.Series],
    disciplines: Sequence[str],
    *,
    rho: float,
    mechanism: str = GAUSSIAN,
    delta: float = DEFAULT_DELTA,
) -> tuple[ReleasedSketch, PrivacySpend]:
    """Noise one sketch per discipline as ONE OpenDP measurement at ``rho``.

    ``hashes`` maps a discipline to the keyed hashes (:func:`hashed`) of the
    households whose main discipline it is; every discipline of
    ``disciplines`` (the public key set, in its order) gets a part, an absent
    one a sketch of nobody, so which parts exist says nothing about the data.
    A household is in one part only, so adding or removing it changes one
    bucket of one part by ±1 and one part's count by 1: the concatenated
    buckets and the vector of counts have L1 = L2 sensitivity 1, as one
    sketch has, and the release costs what one sketch costs."""
    if mechanism not in (GAUSSIAN, LAPLACE):
        raise ValueError(f"unknown mechanism {mechanism!r}")
    vector, counts = exact_parts(config, hashes, disciplines)
    vector_scale = calibrate_scale(SENSITIVITY, mechanism, vector_rho(rho))
    count_scale = calibrate_scale(SENSITIVITY, mechanism, count_rho(rho))
    measurement = sketch_measurement(vector_scale, count_scale, mechanism)
    noisy_vector, noisy_counts = measurement({_VECTOR: vector, _COUNT: counts})
    spend = privacy_spend(measurement, delta)
    width = config.width
    parts = tuple(
        SketchPart(
            discipline=discipline,
            households=int(noisy_counts[i]),
            buckets=tuple(int(v) for v in noisy_vector[i * width : (i + 1) * width]),
        )
        for i, discipline in enumerate(disciplines)
    )
    released = ReleasedSketch(
        design=config.design,
        width=width,
        mechanism=mechanism,
        scale=vector_scale,
        count_scale=count_scale,
        rho=spend.rho,
        parts=parts,
    )
    return released, spend


def sketch_config(period: str, spec: PeriodSketch) -> SketchConfig:
    """The sketch config a period config's sketch fixes."""
    return SketchConfig(period=period, width=spec.width, seed=spec.seed, design=spec.design)


def received_parts(
    period: str, spec: PeriodSketch, released: ReleasedSketch
) -> dict[str, NoisySketch]:
    """A received sketch as the estimators take it: one :class:`NoisySketch`
    per discipline, with the noise variances and kurtosis its declared scales
    give. Each part carries the whole release's ρ (its parts are one release).

    ``ValueError`` when the sketch is not one of ``spec`` (another design or
    width): it would hash households to unrelated buckets."""
    config = sketch_config(period, spec)
    if (released.design, released.width) != (spec.design, spec.width):
        raise ValueError(
            f"the sketch is {released.design} of width {released.width}; the period's is "
            f"{spec.design} of width {spec.width}"
        )
    bucket_variance = noise_std(released.mechanism, released.scale) ** 2
    count_variance = noise_std(released.mechanism, released.count_scale) ** 2
    kurtosis = noise_kurtosis(released.mechanism, released.scale)
    return {
        part.discipline: NoisySketch(
            config=config,
            buckets=part.buckets,
            households=float(part.households),
            mechanism=released.mechanism,
            bucket_variance=bucket_variance,
            count_variance=count_variance,
            bucket_kurtosis=kurtosis,
            rho=released.rho,
        )
        for part in released.parts
    }
