"""A small synthetic sector of released sketch parts for the overlap tests,
and a stored submission with a sketch for the API tests.

Households are random 64-bit hashes (what the keyed hash of unknown keys is);
the noise is drawn in numpy with OpenDP's moments (rounded normal for the
discrete Gaussian, a difference of geometric variables for the discrete
Laplace), as in tests/dp/test_sketches_estimators.py, so that a thousand
trials take seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import polars as pl

from aggregator.periods import period_sketch_of
from aggregator.storage import Period, Submission
from dp.measurements import GAUSSIAN, calibrate_scale, noise_std
from dp.release_design import DISCIPLINES as DISCIPLINE_KEYS
from dp.sketches import (
    NoisySketch,
    SketchConfig,
    count_rho,
    noise_kurtosis,
    release_parts,
    sketch_config,
    vector_rho,
)
from tests.aggregator.penetration_submissions import payload, stored

WIDTH = 256
Part = tuple[str, str]  # (institution, discipline)
DISCIPLINES_OF = {
    "a": ("theater",),
    "b": ("music", "theater"),
    "c": ("music",),
    "d": ("dance", "music"),
    "e": ("dance",),
    "f": ("dance", "theater"),
}
PROVINCE_OF = {"a": "utrecht", "b": "utrecht", "c": "utrecht",
               "d": "gelderland", "e": "gelderland", "f": "gelderland"}  # fmt: skip
INSTITUTIONS = tuple(DISCIPLINES_OF)
DISCIPLINES = ("dance", "music", "theater")


@dataclass(frozen=True)
class Sent:
    """A submission's sketch as ``aggregator.sketch_inputs`` gives it."""

    institution_id: str
    named_overlaps: bool
    parts: dict[str, NoisySketch]


def exact_buckets(hashes: np.ndarray, width: int) -> np.ndarray:
    """``dp.sketches.from_hashes`` in numpy (checked against it below)."""
    sign = np.where(hashes >= np.uint64(1 << 63), 1, -1)
    return np.bincount((hashes % np.uint64(width)).astype(np.int64), weights=sign, minlength=width)


@cache
def scales(mechanism: str, rho: float) -> tuple[float, float, float, float, float]:
    """Vector and count scales, their noise variances and the vector noise's
    fourth cumulant (OpenDP's calibration, once per mechanism)."""
    vector_scale = calibrate_scale(1.0, mechanism, vector_rho(rho))
    count_scale = calibrate_scale(1.0, mechanism, count_rho(rho))
    return (
        vector_scale,
        count_scale,
        noise_std(mechanism, vector_scale) ** 2,
        noise_std(mechanism, count_scale) ** 2,
        noise_kurtosis(mechanism, vector_scale),
    )


def released(
    hashes: np.ndarray, cfg: SketchConfig, mechanism: str, rho: float, rng: np.random.Generator
) -> NoisySketch:
    vector_scale, count_scale, bucket_variance, count_variance, kurtosis = scales(mechanism, rho)

    def draw(scale: float, size: int) -> np.ndarray:
        if mechanism == GAUSSIAN:
            return np.rint(rng.normal(0.0, scale, size)).astype(np.int64)
        q = math.exp(-1.0 / scale)
        return (rng.geometric(1 - q, size) - rng.geometric(1 - q, size)).astype(np.int64)

    buckets = exact_buckets(hashes, cfg.width).astype(np.int64) + draw(vector_scale, cfg.width)
    return NoisySketch(
        config=cfg,
        buckets=tuple(buckets.tolist()),
        households=float(len(hashes) + draw(count_scale, 1)[0]),
        mechanism=mechanism,
        bucket_variance=bucket_variance,
        count_variance=count_variance,
        bucket_kurtosis=kurtosis,
        rho=rho,
    )


def sector(
    rng: np.random.Generator, mechanism: str, rho: float, households: int = 3000
) -> tuple[list[Sent], list[Part], np.ndarray]:
    """One trial's submissions, their parts in order, and which households each
    part holds (households × parts)."""
    hashes = np.unique(rng.integers(0, 2**64 - 1, households, dtype=np.uint64, endpoint=True))
    count = len(hashes)
    member = np.zeros((count, len(INSTITUTIONS)), dtype=bool)
    member[np.arange(count), rng.integers(0, 6, count)] = True
    for share in (0.5, 0.15):
        extra = rng.random(count) < share
        member[np.arange(count)[extra], rng.integers(0, 6, count)[extra]] = True
    cfg = SketchConfig("2026-Q3", WIDTH, rng.bytes(32))
    keys: list[Part] = []
    columns = []
    sent = []
    for n, inst in enumerate(INSTITUTIONS):
        disciplines = DISCIPLINES_OF[inst]
        which = rng.integers(0, len(disciplines), count)
        parts = {}
        for discipline in DISCIPLINES:  # every one declared, its empty parts noise (ADR 0036)
            mine = discipline in disciplines
            holds = member[:, n] & (which == disciplines.index(discipline) if mine else False)
            keys.append((inst, discipline))
            columns.append(holds)
            parts[discipline] = released(hashes[holds], cfg, mechanism, rho, rng)
        sent.append(Sent(inst, True, parts))
    return sent, keys, np.stack(columns, axis=1)


def sketched(
    agent: Any, period: Period, hashes: pl.Series | None, *, rho: float, consents: bool,
    log_index: int,
) -> Submission:  # fmt: skip
    """A stored submission of ``agent`` (its tables as in the penetration tests)
    with the period's sketch of ``hashes`` in its enrolled discipline's part
    (the institution declaring all twelve, its other parts empty: the most
    noise a sketch can carry) released by OpenDP at
    ``rho``, and its consent to named overlaps; no sketch when the period fixes
    none or ``hashes`` is None. Written past the intake, whose checks of a
    sketch the vectors cover (tests/vectors, sketch-*.envelope)."""
    body = payload(agent.institution_id, period.label, origin=None,
                   segment_model="synthetic-demo-2026", segments=("s1", "s2"))  # fmt: skip
    spec = period_sketch_of(period)
    if spec is not None and hashes is not None:
        config = sketch_config(period.label, spec)
        released, _ = release_parts(config, {agent.discipline: hashes}, DISCIPLINE_KEYS, rho=rho)
        body |= {"sketch": released.to_dict(), "named_overlaps": consents}
    return stored(body, log_index=log_index)
