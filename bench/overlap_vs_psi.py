"""Household overlaps from DP sketches against exact PSI-CA, in one run on the same keys (issue 17).

Issue 17 asks for the sketch path (ADR 0034) side by side with exact
private-set-intersection cardinality (the ``openmined-psi`` baseline, ADR 0035)
on 10k × 10k and 100k × 100k households, time and bytes per pair, and that the
sketch path be at least 10× cheaper per pair at 100k × 100k; and that the
aggregator compute all pairs of 500 institutions within 60 s.

**Per pair, on the same keys.** Two sets of random 32-byte keys (as the
household keys, HMAC-SHA256 outputs, are) with a 10% overlap
(``psi_baseline.keys_with_overlap``) go through both paths:

- *sketch*: each institution hashes its keys and counts its sketch
  (``dp.sketches.exact_sketch``), releases it through OpenDP
  (``release_sketch``, the discrete Gaussian at the whole default period
  budget, ρ of ε = 1 at δ = 1e-7, the width by ``width_for`` for sets of that
  size) and encodes it as the canonical JSON (RFC 8785) a payload would carry;
  the aggregator decodes both payloads strictly and estimates the
  intersection with its standard error (``overlap_estimators.intersection``);
- *PSI-CA*: ``psi_baseline.psi_cardinality_cost`` on the very same key lists.

Bytes: a sketch travels inside the institution's sealed submission, whose
plaintext is base64url in the envelope, so its wire bytes are 4/3 of its JSON
(HPKE and the signature are paid by the submission anyway). Both per-pair
figures are given: the whole cost of two sketches charged to one pair, and
amortised (a sketch is made once per institution and serves all its 499
partners among 500; PSI with each side's setup and request reused, as
``psi_baseline.sector_projection`` does).

**All pairs of 500 institutions.** 500 sketches of the demo's log-normal size
mix (``demo.sector.institution_sizes``, households drawn from a pool of
``default_pool`` random 64-bit hashes), each released through OpenDP at the
width rule for the geometric mean of the sizes, encoded as payloads; then
timed at the aggregator: decoding the 500 payloads, the pairwise matrix with
standard errors (``pairwise_intersections``) and the "too uncertain" rule for
each of the 124,750 pairs. A second row puts every institution at the width of
100k-household sets (4,096), the heaviest width the rule gives for the sizes the
taskforce named.

    PYTHONPATH=. .venv/bin/python bench/overlap_vs_psi.py [--sizes 10000 100000] \
        [--repeats 3] [--institutions 500] [--write]

``--write`` puts the section "Overlaps: sketches against PSI-CA, per pair and
for 500 institutions" into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import random
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/'s own modules

from overlap_accuracy import households
from psi_baseline import (
    OVERLAP_SHARE,
    PairCost,
    bytes_label,
    keys_with_overlap,
    median_cost,
    psi_cardinality_cost,
    size_label,
    timed,
)
from sections import replace_section

from aggregator.overlap_estimators import (
    OverlapEstimate,
    intersection,
    pairwise_intersections,
)
from demo.sector import PERIOD, default_pool, institution_sizes
from dp.measurements import GAUSSIAN, calibrate_scale, default_rho, noise_std
from dp.sketches import (
    SENSITIVITY,
    NoisySketch,
    SketchConfig,
    count_rho,
    exact_sketch,
    from_hashes,
    noise_kurtosis,
    release_sketch,
    vector_rho,
    width_for,
)
from protocol.encoding import canonical_bytes, parse_canonical

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Overlaps: sketches against PSI-CA, per pair and for 500 institutions"
INSTITUTIONS = 500
SECTOR_SECONDS = 60.0  # the target for all pairs of 500 institutions
TARGET_RATIO = 10.0  # the sketch path at least 10× cheaper per pair than PSI-CA ...
TARGET_N = 100_000  # ... at 100k × 100k
LARGEST_WIDTH_N = 100_000  # the second sector row: every sketch at the width for 100k sets
BASE64_GROWTH = 4 / 3  # the sealed plaintext is base64url in the envelope


# --- the sketch as a payload carries it -------------------------------------------------


def seed_id(config: SketchConfig) -> str:
    """A public fingerprint of the period's hash seed, so that the aggregator
    refuses a sketch made with another seed without the seed on the wire."""
    return hashlib.sha256(config.seed).hexdigest()[:16]


@cache
def release_scales(rho: float, mechanism: str = GAUSSIAN) -> tuple[float, float]:
    """The bucket and count noise scales ``release_sketch`` calibrates for
    ``rho`` (OpenDP's binary search; cached, as every institution of a period
    has the same sketch ρ)."""
    return (
        calibrate_scale(SENSITIVITY, mechanism, vector_rho(rho)),
        calibrate_scale(SENSITIVITY, mechanism, count_rho(rho)),
    )


def sketch_payload(sketch: NoisySketch, *, rho: float) -> bytes:
    """The released sketch as canonical JSON, with what a released table carries
    (mechanism, scale, sensitivity, ρ) and the config it was made under.

    A stand-in for the protocol field that ADR 0034's *Next* names, so that
    the bytes and the decoding time are those of real JSON: the buckets are
    most of it, one signed integer each."""
    config = sketch.config
    scale, count_scale = release_scales(rho, sketch.mechanism)
    return canonical_bytes(
        {
            "design": config.design,
            "period": config.period,
            "width": config.width,
            "seed_id": seed_id(config),
            "mechanism": sketch.mechanism,
            "scale": scale,
            "count_scale": count_scale,
            "sensitivity": SENSITIVITY,
            "rho": sketch.rho,
            "households": round(sketch.households),
            "buckets": list(sketch.buckets),
        }
    )


def read_sketch_payload(wire: bytes, config: SketchConfig) -> NoisySketch:
    """Decode a payload (strictly canonical) into a sketch of the period's
    ``config``; a sketch of another design, period, width or seed is refused
    (ValueError), and the noise variances follow from the stated scales."""
    members = parse_canonical(wire, what="sketch")
    stated = SketchConfig(members["period"], members["width"], config.seed, members["design"])
    config.check_same(stated)
    if members["seed_id"] != seed_id(config):
        raise ValueError("cannot combine sketches made with different hash seeds")
    mechanism = members["mechanism"]
    scale, count_scale = float(members["scale"]), float(members["count_scale"])
    return NoisySketch(
        config=config,
        buckets=tuple(members["buckets"]),
        households=float(members["households"]),
        mechanism=mechanism,
        bucket_variance=noise_std(mechanism, scale) ** 2,
        count_variance=noise_std(mechanism, count_scale) ** 2,
        bucket_kurtosis=noise_kurtosis(mechanism, scale),
        rho=float(members["rho"]),
    )


def wire_bytes(payload: bytes) -> int:
    """Bytes a payload of this size adds to the envelope (base64url, unpadded)."""
    return math.ceil(len(payload) * BASE64_GROWTH)


# --- per pair ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Seconds:
    """Wall clock and this process's CPU seconds of one step."""

    wall: float
    cpu: float

    def __add__(self, other: Seconds) -> Seconds:
        return Seconds(self.wall + other.wall, self.cpu + other.cpu)

    def __mul__(self, factor: float) -> Seconds:
        return Seconds(self.wall * factor, self.cpu * factor)

    def __str__(self) -> str:
        return f"{self.wall:.3f} / {self.cpu:.3f}"


ZERO = Seconds(0.0, 0.0)


@dataclass(frozen=True)
class InstitutionSketch:
    """One institution's side of the sketch path: its payload and what it cost."""

    payload: bytes
    hashing: Seconds  # hash the keys and count the sketch
    release: Seconds  # OpenDP's measurement
    encoding: Seconds  # canonical JSON

    @property
    def seconds(self) -> Seconds:
        return self.hashing + self.release + self.encoding


def sketch_institution(
    config: SketchConfig, keys: Sequence[bytes], rho: float
) -> InstitutionSketch:
    """Hash, release and encode one institution's sketch, each step timed."""
    exact, *hashing = timed(lambda: exact_sketch(config, keys))
    (released, _epsilon), *release = timed(lambda: release_sketch(exact, rho=rho))
    payload, *encoding = timed(lambda: sketch_payload(released, rho=rho))
    return InstitutionSketch(payload, Seconds(*hashing), Seconds(*release), Seconds(*encoding))


@dataclass(frozen=True)
class SketchPairCost:
    """The sketch path for one pair: both institutions and the aggregator."""

    n_a: int
    n_b: int
    overlap: int
    width: int
    a: InstitutionSketch
    b: InstitutionSketch
    decoding: Seconds  # both payloads
    estimating: Seconds  # the intersection and its standard error
    estimate: OverlapEstimate

    @property
    def institutions(self) -> Seconds:
        return self.a.seconds + self.b.seconds

    @property
    def seconds(self) -> Seconds:
        """The whole cost of both sketches charged to this one pair."""
        return self.institutions + self.decoding + self.estimating

    @property
    def bytes(self) -> int:
        return wire_bytes(self.a.payload) + wire_bytes(self.b.payload)

    def amortised_seconds(self, institutions: int = INSTITUTIONS) -> Seconds:
        """Per pair when each sketch (made and decoded once) serves all
        ``institutions - 1`` partners: two sketches per pair, each shared by
        ``institutions - 1`` pairs, plus this pair's own estimate."""
        return (self.institutions + self.decoding) * (1 / (institutions - 1)) + self.estimating

    def amortised_bytes(self, institutions: int = INSTITUTIONS) -> float:
        return self.bytes / (institutions - 1)


def sketch_pair_cost(
    a_keys: Sequence[bytes], b_keys: Sequence[bytes], overlap: int, *, seed: int
) -> SketchPairCost:
    """The sketch path between two institutions at the default period budget,
    the width by the rule for sets of their (geometric mean) size."""
    rho = default_rho()
    expected = math.sqrt(len(a_keys) * len(b_keys))
    config = SketchConfig(PERIOD, width_for(expected, rho=rho), random.Random(seed).randbytes(32))
    a = sketch_institution(config, a_keys, rho)
    b = sketch_institution(config, b_keys, rho)
    received, *decoding = timed(lambda: [read_sketch_payload(s.payload, config) for s in (a, b)])
    estimate, *estimating = timed(lambda: intersection(*received))
    return SketchPairCost(
        n_a=len(a_keys),
        n_b=len(b_keys),
        overlap=overlap,
        width=config.width,
        a=a,
        b=b,
        decoding=Seconds(*decoding),
        estimating=Seconds(*estimating),
        estimate=estimate,
    )


def median_seconds(values: Sequence[Seconds]) -> Seconds:
    return Seconds(
        statistics.median(v.wall for v in values), statistics.median(v.cpu for v in values)
    )


def psi_amortised(cost: PairCost, institutions: int = INSTITUTIONS) -> Seconds:
    """PSI-CA per pair when each institution reuses one setup and one request
    for all its partners (``psi_baseline.sector_projection``'s floor)."""
    share = 2 / (institutions - 1)
    return Seconds(
        cost.response_s + cost.intersection_s + share * (cost.setup_s + cost.request_s),
        cost.response_cpu_s
        + cost.intersection_cpu_s
        + share * (cost.setup_cpu_s + cost.request_cpu_s),
    )


@dataclass(frozen=True)
class Comparison:
    """Both paths on the same keys, over the repeats (a fresh key set each)."""

    n: int
    sketches: list[SketchPairCost]
    psi: PairCost  # median over the repeats

    @property
    def sketch_seconds(self) -> Seconds:
        return median_seconds([s.seconds for s in self.sketches])

    @property
    def sketch_amortised(self) -> Seconds:
        return median_seconds([s.amortised_seconds() for s in self.sketches])

    @property
    def sketch_bytes(self) -> int:
        return int(statistics.median(s.bytes for s in self.sketches))

    def part(self, name: str) -> Seconds:
        """Median over the repeats of one part of the sketch path, both institutions summed."""
        if name in ("hashing", "release", "encoding"):
            return median_seconds([getattr(s.a, name) + getattr(s.b, name) for s in self.sketches])
        return median_seconds([getattr(s, name) for s in self.sketches])

    @property
    def psi_seconds(self) -> Seconds:
        return Seconds(self.psi.seconds, self.psi.cpu_seconds)


def warm_up(seed: int) -> None:
    """One small pair through both paths, not recorded: the first call of a
    process pays polars' thread pool and OpenDP's library setup, which an
    agent's release pays once for all its tables, not per sketch."""
    a, b = keys_with_overlap(1_000, 1_000, 100, seed)
    sketch_pair_cost(a, b, 100, seed=seed)
    psi_cardinality_cost(a, b, 100)


def compare(n: int, repeats: int, seed: int) -> Comparison:
    overlap = round(OVERLAP_SHARE * n)
    sketches, psis = [], []
    for r in range(repeats):
        a, b = keys_with_overlap(n, n, overlap, seed + r)
        sketches.append(sketch_pair_cost(a, b, overlap, seed=seed + r))
        psis.append(psi_cardinality_cost(a, b, overlap))
    return Comparison(n, sketches, median_cost(psis))


# --- all pairs of 500 institutions at the aggregator ------------------------------------


@dataclass(frozen=True)
class SectorRun:
    """All pairwise intersections of a sector's sketches, timed at the aggregator."""

    institutions: int
    width: int
    sizes: list[int]
    payload_bytes: int  # all payloads together
    decoding: Seconds
    matrix: Seconds
    rules: Seconds
    pairs: int
    too_uncertain: int

    @property
    def seconds(self) -> Seconds:
        return self.decoding + self.matrix + self.rules


def sector_payloads(
    sizes: Sequence[int], config: SketchConfig, rng: np.random.Generator
) -> list[bytes]:
    """One released, encoded sketch per institution, households drawn uniformly
    from a pool of ``default_pool(sizes)`` random 64-bit hashes (the keyed
    hash of unknown keys is uniform; hashing real keys is timed per pair)."""
    rho = default_rho()
    pool = households(rng, default_pool(sizes))
    payloads = []
    for size in sizes:
        chosen = pool[rng.choice(len(pool), size, replace=False)]
        released, _ = release_sketch(from_hashes(config, pl.Series(chosen)), rho=rho)
        payloads.append(sketch_payload(released, rho=rho))
    return payloads


def publication(values: np.ndarray, stds: np.ndarray) -> int:
    """The "too uncertain" rule for every pair (upper triangle), one
    ``OverlapEstimate`` each as the publication path holds them; returns how
    many pairs it withholds."""
    upper = np.triu_indices(len(values), 1)
    estimates = [
        OverlapEstimate(value, std)
        for value, std in zip(values[upper].tolist(), stds[upper].tolist(), strict=True)
    ]
    return sum(e.too_uncertain for e in estimates)


def all_pairs(payloads: Sequence[bytes], config: SketchConfig, sizes: list[int]) -> SectorRun:
    """Decode every payload, then the matrix and the rules: what the aggregator does."""
    sketches, *decoding = timed(lambda: [read_sketch_payload(p, config) for p in payloads])
    (values, stds), *matrix = timed(lambda: pairwise_intersections(sketches))
    withheld, *rules = timed(lambda: publication(values, stds))
    m = len(payloads)
    return SectorRun(
        institutions=m,
        width=config.width,
        sizes=sizes,
        payload_bytes=sum(len(p) for p in payloads),
        decoding=Seconds(*decoding),
        matrix=Seconds(*matrix),
        rules=Seconds(*rules),
        pairs=m * (m - 1) // 2,
        too_uncertain=withheld,
    )


def sector_runs(institutions: int, seed: int) -> list[SectorRun]:
    """The demo's size mix at its width rule, then at the width for 100k sets."""
    rng = np.random.default_rng(seed)
    sizes = institution_sizes(institutions, rng)
    rho = default_rho()
    geometric_mean = math.exp(statistics.fmean(math.log(s) for s in sizes))
    runs = []
    for expected in (geometric_mean, LARGEST_WIDTH_N):
        config = SketchConfig(PERIOD, width_for(expected, rho=rho), rng.bytes(32))
        payloads = sector_payloads(sizes, config, rng)
        runs.append(all_pairs(payloads, config, sizes))
    return runs


# --- the report ---------------------------------------------------------------------------

REVEALS = [
    "| who | sketch path | PSI-CA |",
    "|---|---|---|",
    (
        "| institution A | nothing about B (only what is published) "
        "| the exact \\|A ∩ B\\| and \\|B\\|, no noise; a chosen set tests membership |"
    ),
    "| institution B | nothing about A (only what is published) | \\|A\\| |",
    (
        "| aggregator | each institution's noisy sketch and noisy count: ε-DP per household "
        "at the sketch's ρ | nothing (unless told the count) |"
    ),
    (
        "| public | estimates with 95% intervals, withheld when too uncertain "
        "(and named pairs only with both opt-ins) | nothing, unless A publishes an exact count |"
    ),
]


def _ratio(psi: float, sketch: float) -> str:
    return f"{psi / sketch:,.0f}×"


def _estimate(s: SketchPairCost) -> str:
    e = s.estimate
    flag = " (too uncertain)" if e.too_uncertain else ""
    return f"{e.estimate:,.0f} [{e.ci95_low:,.0f}, {e.ci95_high:,.0f}]{flag}"


def pair_tables(comparisons: Sequence[Comparison]) -> list[str]:
    lines = [
        ("**Time per pair, the whole cost of both sketches charged to the one pair** (wall / CPU "
        "seconds, median of the repeats; the sketch parts are A and B together):"),
        "",
        ("| pair (10% overlap) | width | hash + count | OpenDP release | JSON encode "
         "| aggregator: decode both + estimate | **sketch per pair** | **PSI-CA per pair** "
         "| PSI / sketch (CPU) |"),
        "|---|---|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for c in comparisons:
        aggregator = c.part("decoding") + c.part("estimating")
        lines.append(
            f"| {size_label(c.n)} × {size_label(c.n)} | {c.sketches[0].width:,} "
            f"| {c.part('hashing')} | {c.part('release')} | {c.part('encoding')} "
            f"| {aggregator} | **{c.sketch_seconds}** | **{c.psi_seconds.wall:.2f} / "
            f"{c.psi_seconds.cpu:.2f}** | {_ratio(c.psi_seconds.cpu, c.sketch_seconds.cpu)} |"
        )
    lines += [
        "",
        (
            "**Bytes per pair** (a sketch: A → aggregator and B → aggregator, its JSON as "
            "base64url in the sealed envelope, 4/3 of the JSON; PSI-CA: its three messages "
            "between A and B):"
        ),
        "",
        "| pair | one sketch (JSON) | **sketch per pair** | **PSI-CA per pair** | PSI / sketch |",
        "|---|---|---|---|---|",
    ]
    for c in comparisons:
        one = statistics.median(len(s.a.payload) for s in c.sketches)
        lines.append(
            f"| {size_label(c.n)} × {size_label(c.n)} | {bytes_label(one)} "
            f"| **{bytes_label(c.sketch_bytes)}** | **{bytes_label(c.psi.bytes)}** "
            f"| {_ratio(c.psi.bytes, c.sketch_bytes)} |"
        )
    lines += [
        "",
        (
            f"**Amortised over {INSTITUTIONS} institutions** (each sketch made, sent and decoded "
            f"once and used for all {INSTITUTIONS - 1} of its pairs; PSI-CA with each party's "
            "setup and request reused for all its partners, its response and intersection per "
            "pair, and its bytes unchanged since every message still crosses once per pair):"
        ),
        "",
        (
            "| pair | sketch per pair (wall / CPU s) | sketch bytes "
            "| PSI-CA per pair (wall / CPU s) | PSI-CA bytes | PSI / sketch (CPU, bytes) |"
        ),
        "|---|---|---|---|---|---|",
    ]
    for c in comparisons:
        amortised = c.sketch_amortised
        psi = psi_amortised(c.psi)
        sketch_bytes = c.sketch_bytes / (INSTITUTIONS - 1)
        lines.append(
            f"| {size_label(c.n)} × {size_label(c.n)} | {amortised.wall:.4f} / "
            f"{amortised.cpu:.4f} | {bytes_label(sketch_bytes)} "
            f"| {psi.wall:.2f} / {psi.cpu:.2f} | {bytes_label(c.psi.bytes)} "
            f"| {_ratio(psi.cpu, amortised.cpu)}, {_ratio(c.psi.bytes, sketch_bytes)} |"
        )
    lines += [
        "",
        (
            "**The answers** (each repeat is a fresh key set; the sketch's 95% interval, and "
            "whether the benchmarks' rule would withhold it):"
        ),
        "",
        "| pair | truth | sketch estimate [95% interval], per repeat | PSI-CA found |",
        "|---|---|---|---|",
    ]
    for c in comparisons:
        lines.append(
            f"| {size_label(c.n)} × {size_label(c.n)} | {c.psi.overlap:,} "
            f"| {'; '.join(_estimate(s) for s in c.sketches)} "
            f"| {c.psi.found:,} {'in every repeat' if c.psi.exact else '(the worst repeat)'} |"
        )
    return lines


def target_line(comparisons: Sequence[Comparison]) -> str:
    at = next((c for c in comparisons if c.n == TARGET_N), None)
    if at is None:
        return f"The issue's 10× target is stated at {size_label(TARGET_N)}, not run here."
    time_ratio = at.psi_seconds.cpu / at.sketch_seconds.cpu
    wall_ratio = at.psi_seconds.wall / at.sketch_seconds.wall
    byte_ratio = at.psi.bytes / at.sketch_bytes
    met = min(time_ratio, wall_ratio, byte_ratio) >= TARGET_RATIO
    return (
        f"**Issue 17's target (the sketch path ≥ {TARGET_RATIO:.0f}× cheaper per pair than PSI-CA "
        f"at {size_label(TARGET_N)} × {size_label(TARGET_N)}): {'met' if met else 'not met'}**, "
        f"with the whole cost of both sketches charged to the one pair: {time_ratio:,.0f}× in "
        f"CPU time ({wall_ratio:,.0f}× wall) and {byte_ratio:,.0f}× in bytes. Amortised over "
        f"{INSTITUTIONS} institutions the ratios are in the table above."
    )


def sector_table(runs: Sequence[SectorRun]) -> list[str]:
    sizes = sorted(runs[0].sizes)
    lines = [
        (
            f"{runs[0].institutions} institutions with the demo's size mix "
            f"(`demo.sector.institution_sizes`: {size_label(sizes[0])} to "
            f"{size_label(sizes[-1])} households, median {statistics.median(sizes):,.0f}, "
            f"{sum(sizes):,} in all), households drawn uniformly from a pool of "
            f"`default_pool` (twice the sum of the sizes), so that most pairs share few "
            f"households; each sketch released by OpenDP at the default period budget and "
            f"encoded as a payload. Timed at the aggregator (wall / CPU seconds):"
        ),
        "",
        ("| width | payloads (JSON) | decode the payloads | pairwise matrix + std | "
         "\"too uncertain\" per pair | **total** | pairs/s | withheld as too uncertain | "
         f"≤ {SECTOR_SECONDS:.0f} s |"),
        "|---|---|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for run in runs:
        total = run.seconds
        lines.append(
            f"| {run.width:,} | {bytes_label(run.payload_bytes)} | {run.decoding} "
            f"| {run.matrix} | {run.rules} | **{total}** "
            f"| {run.pairs / total.wall:,.0f} | {run.too_uncertain:,} of {run.pairs:,} "
            f"| {'met' if total.wall <= SECTOR_SECONDS else 'not met'} |"
        )
    slowest = max(runs, key=lambda r: r.seconds.wall)
    lines += [
        "",
        (
            f"**Issue 17's target (all pairs of {slowest.institutions} institutions at the "
            f"aggregator within {SECTOR_SECONDS:.0f} s): "
            f"{'met' if slowest.seconds.wall <= SECTOR_SECONDS else 'not met'}**, "
            f"{slowest.seconds.wall:.1f} s at the widest sketches. Decoding is most of it, and "
            "most of the decoding is the strict canonical check (each payload re-encoded by "
            "RFC 8785 and compared), which intake would do once per submission, not per matrix. "
            "The withheld count is the rule at the whole default period budget on overlaps drawn "
            "at random: at these sizes nearly every pairwise overlap is too uncertain, as the "
            'section "Overlaps (sketches)" predicts; the rule\'s cost does not depend on it.'
        ),
    ]
    return lines


def report(
    comparisons: Sequence[Comparison],
    runs: Sequence[SectorRun],
    *,
    command: str,
    load: tuple[float, float],
    seconds: float,
    seed: int,
) -> str:
    lines = [
        SECTION,
        "",
        "```",
        command,
        "```",
        "",
        (
            "Machine: the shared 2-core development VM (AMD EPYC, 24 GB), Python 3.11; load "
            f"average {load[0]:.1f} before the run and {load[1]:.1f} after it, while other "
            f"work ran ({seconds:.0f} s in all): the CPU seconds (after the slash) are the "
            "steadier figure. Both paths get the same random 32-byte keys (seed "
            f"{seed} + repeat) with a 10% overlap. Sketch: `dp.sketches` at the whole default "
            f"period budget (discrete Gaussian, ρ = {default_rho():.4f}, ε = 1 at δ = 1e-7; a "
            "share of it would widen the intervals, not change the cost), the width by "
            "`width_for` for the pair's size, the payload canonical JSON with scales, ρ and the "
            "buckets (a stand-in for the protocol field still to come), decoded strictly at "
            "the aggregator. PSI-CA: `psi_baseline.psi_cardinality_cost` on the same key lists, "
            "as in the section above. One small pair runs first, unrecorded, so that the first "
            "measured call does not pay the process's one-time library setup."
        ),
        "",
        *pair_tables(comparisons),
        "",
        target_line(comparisons),
        "",
        "**What each reveals to whom:**",
        "",
        *REVEALS,
        "",
        (
            "The sketch is released once to the aggregator and spends from the period budget; "
            "no institution talks to another, and the crossovers over many institutions and the "
            "sector reach come from the same sketches. PSI-CA needs both institutions online for "
            "each pair, and its exact answer lets a client with a chosen set test whether one "
            "household visits the other institution (section above)."
        ),
        "",
        (
            f"### All pairs of {runs[0].institutions} institutions at the aggregator (target ≤ "
            f"{SECTOR_SECONDS:.0f} s)"
        ),
        "",
        *sector_table(runs),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[10_000, 100_000],
        help="set sizes; each runs a pair of that size on both sides",
    )  # fmt: skip
    parser.add_argument("--repeats", type=int, default=3, help="key sets per size (median)")
    parser.add_argument("--institutions", type=int, default=INSTITUTIONS)
    parser.add_argument("--seed", type=int, default=17, help="seed of the keys and sizes")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    before, started = os.getloadavg()[0], time.perf_counter()
    warm_up(args.seed - 1)
    comparisons = []
    for n in args.sizes:
        comparisons.append(compare(n, args.repeats, args.seed))
        c = comparisons[-1]
        print(
            f"{size_label(n)} × {size_label(n)}: sketch {c.sketch_seconds} s, "
            f"PSI-CA {c.psi_seconds} s",
            flush=True,
        )
    runs = sector_runs(args.institutions, args.seed)
    sizes = " ".join(str(n) for n in args.sizes)
    command = (
        f"PYTHONPATH=. .venv/bin/python bench/overlap_vs_psi.py --sizes {sizes} "
        f"--repeats {args.repeats}"
        + (f" --institutions {args.institutions}" if args.institutions != INSTITUTIONS else "")
        + (f" --seed {args.seed}" if args.seed != 17 else "")
    )
    text = report(
        comparisons,
        runs,
        command=command,
        load=(before, os.getloadavg()[0]),
        seconds=time.perf_counter() - started,
        seed=args.seed,
    )
    print(text)
    if args.write:
        replace_section(ROOT / "docs" / "benchmarks.md", text)


if __name__ == "__main__":
    main()
