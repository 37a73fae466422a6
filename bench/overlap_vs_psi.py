"""Household overlaps from DP sketches against exact PSI-CA, in one run on the same keys (issue 17).

Issue 17 asks for the sketch path (ADR 0034) side by side with exact
private-set-intersection cardinality (the ``openmined-psi`` baseline, ADR 0035)
on 10k × 10k and 100k × 100k households, time and bytes per pair, and that the
sketch path be at least 10× cheaper per pair at 100k × 100k; and that the
aggregator compute all pairs of 500 institutions within 60 s.

**Per pair, on the same keys.** Two sets of random 32-byte keys (as the
household keys, HMAC-SHA256 outputs, are) with a 10% overlap
(``psi_baseline.keys_with_overlap``) go through both paths:

- *sketch*: each institution runs the agent's sketch step
  (``agent.sketch_release.release_household_sketch``: hash the keys, split
  them into the declared parts, all parts noised by ONE OpenDP measurement)
  in the parts the agent releases by default (ADR 0036: the enrolled
  discipline alone, one part, the whole institution; ``--parts 12`` for an
  institution that declares every discipline,
  ``overlap_sketching.declared_parts``) for a period opened with
  ``--overlap-share 0.25`` of the default budget (discrete Gaussian) and the
  width ``period open`` fixes for sets of that size, and encodes the
  ``ReleasedSketch`` as the canonical JSON (RFC 8785) the sealed payload
  carries; the aggregator decodes both strictly (canonical parse,
  ``ReleasedSketch.from_dict``, ``dp.sketches.received_parts``), sums each
  institution's parts and estimates the intersection with its standard error
  (``overlap_estimators.intersection``);
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
``default_pool`` random 64-bit keys, each with a main discipline), each
released by the agent's own step in the same parts as the pairs, at
the width ``period open`` fixes for the geometric mean of the sizes, encoded
as ``ReleasedSketch`` JSON; then timed at the aggregator: decoding the 500
payloads and summing each one's parts, the pairwise matrix with standard
errors (``pairwise_intersections``) and the "too uncertain" rule for each of
the 124,750 pairs. A second row puts every institution at the width for
100k-household sets, the heaviest the rule gives for the sizes the taskforce
named.

    PYTHONPATH=. .venv/bin/python bench/overlap_vs_psi.py [--sizes 10000 100000] \
        [--repeats 3] [--institutions 500] [--parts 1] [--write]

``--write`` puts the section "Overlaps: sketches against PSI-CA, per pair and
for 500 institutions" into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/'s own modules

from overlap_accuracy import households
from overlap_sketching import DEFAULT_PARTS, ENROLLED, MIX, SHARE, declared_parts
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

from agent.sketch_release import release_household_sketch
from aggregator.overlap_estimators import (
    OverlapEstimate,
    intersection,
    pairwise_intersections,
)
from aggregator.overlaps import (
    DISCIPLINE,
    PROVINCE,
    PeriodSketches,
    combined,
    crossover,
    sector_reach,
)
from aggregator.periods import period_sketch
from aggregator.settings import DEFAULT_K
from demo.sector import CITIES, PERIOD, default_pool, institution_sizes
from dp.bounding import HOUSEHOLD_KEY
from dp.measurements import GAUSSIAN, default_rho
from dp.release_design import DEFAULT_DELTA, DISCIPLINES
from dp.sketches import NoisySketch, received_parts
from protocol.encoding import canonical_bytes, parse_canonical
from protocol.messages import PeriodSketch, ReleasedSketch

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Overlaps: sketches against PSI-CA, per pair and for 500 institutions"
INSTITUTIONS = 500
SECTOR_SECONDS = 60.0  # the target for all pairs of 500 institutions
TARGET_RATIO = 10.0  # the sketch path at least 10× cheaper per pair than PSI-CA ...
TARGET_N = 100_000  # ... at 100k × 100k
LARGEST_WIDTH_N = 100_000  # the second sector row: every sketch at the width for 100k sets
BASE64_GROWTH = 4 / 3  # the sealed plaintext is base64url in the envelope


# --- the sketch as a payload carries it -------------------------------------------------


def period_spec(expected: float, seed: bytes) -> PeriodSketch:
    """The sketch ``publiek period open --overlap-households expected
    --overlap-share 0.25`` fixes at the default budget (its width rule and cap)."""
    spec = period_sketch(SHARE, expected, rho_budget=default_rho(), mechanism=GAUSSIAN)
    assert spec is not None  # a positive share always fixes a sketch
    return PeriodSketch(width=spec.width, seed=seed, weight=spec.weight)


def sketch_rho_of(spec: PeriodSketch) -> float:
    """The ρ an institution gives its sketch: the period's share of its budget."""
    return spec.weight * default_rho()


def sketch_payload(released: ReleasedSketch) -> bytes:
    """The released sketch as the sealed payload carries it: its protocol
    message as canonical JSON (RFC 8785), one signed integer per bucket of
    every part."""
    return canonical_bytes(released.to_dict())


def read_sketch_payload(wire: bytes, spec: PeriodSketch) -> dict[str, NoisySketch]:
    """What the aggregator makes of one: the strict canonical parse (intake),
    the protocol's decoding with its checks (``ReleasedSketch.from_dict``) and
    the parts as the estimators take them (``dp.sketches.received_parts``, as
    ``aggregator.sketch_inputs`` reads them); ValueError for a sketch of
    another design or width."""
    members = parse_canonical(wire, what="sketch")
    return received_parts(PERIOD, spec, ReleasedSketch.from_dict(members))


def whole(parts: Mapping[str, NoisySketch]) -> NoisySketch:
    """An institution's sketch as the aggregator makes it: the sum of its parts
    (``aggregator.overlaps.combined``; one part is the sketch itself)."""
    return combined(list(parts.values()))


@dataclass(frozen=True)
class Received:
    """One institution's counted sketch as ``aggregator.overlaps`` reads it
    (its ``Submitted``: what ``aggregator.sketch_inputs`` returns)."""

    institution_id: str
    named_overlaps: bool
    parts: Mapping[str, NoisySketch]


def main_disciplines(count: int, rng: random.Random) -> list[int]:
    """Each household's main discipline, an index into the key set, drawn
    from the large venue's mix of ``overlap_sketching.MIX``."""
    index = {d: i for i, d in enumerate(DISCIPLINES)}
    return rng.choices([index[d] for d in MIX], weights=list(MIX.values()), k=count)


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
    release: Seconds  # the agent's sketch step: hash, split, count, OpenDP
    encoding: Seconds  # canonical JSON

    @property
    def seconds(self) -> Seconds:
        return self.release + self.encoding


def institution_households(keys: Sequence[bytes], rng: random.Random) -> pl.DataFrame:
    """The households as the release hands them to the sketch: each key with
    its main discipline (an index into the key set)."""
    return pl.DataFrame(
        {
            HOUSEHOLD_KEY: list(keys),
            "discipline": pl.Series(main_disciplines(len(keys), rng), dtype=pl.Int64),
        }
    )


def release(households: pl.DataFrame, spec: PeriodSketch, parts: Sequence[str]) -> ReleasedSketch:
    """The agent's own sketch step, enrolled in ``overlap_sketching.ENROLLED``."""
    released, _spend = release_household_sketch(
        households, PERIOD, spec, parts, enrolled=ENROLLED, rho=sketch_rho_of(spec),
        mechanism=GAUSSIAN, delta=DEFAULT_DELTA,
    )  # fmt: skip
    return released


def sketch_institution(
    spec: PeriodSketch, keys: Sequence[bytes], seed: int, parts: Sequence[str]
) -> InstitutionSketch:
    """One institution's sketch by the agent's own step
    (``agent.sketch_release.release_household_sketch``) and its encoding, timed."""
    households = institution_households(keys, random.Random(seed))
    released, *release_seconds = timed(lambda: release(households, spec, parts))
    payload, *encoding = timed(lambda: sketch_payload(released))
    return InstitutionSketch(payload, Seconds(*release_seconds), Seconds(*encoding))


@dataclass(frozen=True)
class SketchPairCost:
    """The sketch path for one pair: both institutions and the aggregator."""

    n_a: int
    n_b: int
    overlap: int
    width: int
    a: InstitutionSketch
    b: InstitutionSketch
    decoding: Seconds  # both payloads, and each institution's parts summed
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
    a_keys: Sequence[bytes],
    b_keys: Sequence[bytes],
    overlap: int,
    *,
    seed: int,
    parts: Sequence[str] = declared_parts(DEFAULT_PARTS),
) -> SketchPairCost:
    """The sketch path between two institutions of a period opened with a
    quarter of the default budget for the sketch, its width by the rule for
    sets of their (geometric mean) size, each released in ``parts``."""
    expected = math.sqrt(len(a_keys) * len(b_keys))
    spec = period_spec(expected, random.Random(seed).randbytes(32))
    a = sketch_institution(spec, a_keys, seed, parts)
    b = sketch_institution(spec, b_keys, seed + 1, parts)
    received, *decoding = timed(
        lambda: [whole(read_sketch_payload(s.payload, spec)) for s in (a, b)]
    )
    estimate, *estimating = timed(lambda: intersection(*received))
    return SketchPairCost(
        n_a=len(a_keys),
        n_b=len(b_keys),
        overlap=overlap,
        width=spec.width,
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
        if name in ("release", "encoding"):
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


def compare(n: int, repeats: int, seed: int, parts: Sequence[str]) -> Comparison:
    overlap = round(OVERLAP_SHARE * n)
    sketches, psis = [], []
    for r in range(repeats):
        a, b = keys_with_overlap(n, n, overlap, seed + r)
        sketches.append(sketch_pair_cost(a, b, overlap, seed=seed + r, parts=parts))
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
    decoding: Seconds  # the payloads, and PeriodSketches.of (each institution's parts summed)
    matrix: Seconds
    rules: Seconds
    crossovers: Seconds  # aggregator.overlaps.crossover by discipline and by province
    reach: Seconds  # aggregator.overlaps.sector_reach
    pairs: int
    too_uncertain: int

    @property
    def all_pairs(self) -> Seconds:
        """The issue's target: every pair, from the payloads to the rule."""
        return self.decoding + self.matrix + self.rules

    @property
    def seconds(self) -> Seconds:
        return self.all_pairs + self.crossovers + self.reach


def sector_payloads(
    sizes: Sequence[int], spec: PeriodSketch, rng: np.random.Generator, parts: Sequence[str]
) -> list[bytes]:
    """One released, encoded sketch per institution, households drawn uniformly
    from a pool of ``default_pool(sizes)`` random 64-bit keys (as 8 bytes),
    each with a main discipline, released in ``parts`` by the agent's own step
    (not timed: the aggregator's side is)."""
    split = random.Random(int(rng.integers(1 << 62)))
    pool = households(rng, default_pool(sizes))
    payloads = []
    for size in sizes:
        chosen = pool[rng.choice(len(pool), size, replace=False)]
        keys = [int(key).to_bytes(8, "little") for key in chosen.tolist()]
        released = release(institution_households(keys, split), spec, parts)
        payloads.append(sketch_payload(released))
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


def province_of(members: Sequence[str]) -> dict[str, str]:
    """Each institution's province, placed in the demo's cities in turn (as
    ``demo.sector`` places its institutions)."""
    return {i: CITIES[(n * 7) % len(CITIES)][1] for n, i in enumerate(members)}


def all_pairs(payloads: Sequence[bytes], spec: PeriodSketch, sizes: list[int]) -> SectorRun:
    """Decode every payload and sum its parts (``PeriodSketches.of``), then the
    matrix and the rules, then the crossovers by discipline and by province
    and the sector reach of ``aggregator.overlaps``: what the aggregator does."""
    period, *decoding = timed(
        lambda: PeriodSketches.of(
            [
                Received(f"inst-{n:04d}", False, read_sketch_payload(p, spec))
                for n, p in enumerate(payloads)
            ]
        )
    )
    members = period.members()
    sketches = [period.institution(i) for i in members]
    (values, stds), *matrix = timed(lambda: pairwise_intersections(sketches))
    withheld, *rules = timed(lambda: publication(values, stds))
    provinces = province_of(members)
    _, *crossovers = timed(
        lambda: (
            crossover(period, DISCIPLINE, k=DEFAULT_K),
            crossover(period, PROVINCE, k=DEFAULT_K, group_of=provinces),
        )
    )
    _, *reach = timed(lambda: sector_reach(period, k=DEFAULT_K))
    m = len(payloads)
    return SectorRun(
        institutions=m,
        width=spec.width,
        sizes=sizes,
        payload_bytes=sum(len(p) for p in payloads),
        decoding=Seconds(*decoding),
        matrix=Seconds(*matrix),
        rules=Seconds(*rules),
        crossovers=Seconds(*crossovers),
        reach=Seconds(*reach),
        pairs=m * (m - 1) // 2,
        too_uncertain=withheld,
    )


def sector_runs(institutions: int, seed: int, parts: Sequence[str]) -> list[SectorRun]:
    """The demo's size mix at its width rule, then at the width for 100k sets."""
    rng = np.random.default_rng(seed)
    sizes = institution_sizes(institutions, rng)
    geometric_mean = math.exp(statistics.fmean(math.log(s) for s in sizes))
    runs = []
    for expected in (geometric_mean, LARGEST_WIDTH_N):
        spec = period_spec(expected, rng.bytes(32))
        payloads = sector_payloads(sizes, spec, rng, parts)
        runs.append(all_pairs(payloads, spec, sizes))
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


def parts_label(parts: int) -> str:
    return f"{parts} part" + ("s" if parts != 1 else "")


def accuracy_remark(parts: int) -> str:
    """Why the intervals are as wide as they are: the parts' summed noise when
    there are several, the width rule's own accuracy when there is one."""
    if parts == 1:
        return (
            "Each institution's sketch is one part here (the default), so its bucket noise is "
            "one release's, the noise the width `period open` fixes is chosen for. In 12 parts "
            "(an institution that declares every discipline, `--parts 12`) the whole "
            "institution's sketch is the sum of its parts: 12 times the bucket noise variance, "
            "144 times the noise-against-noise term (width × variance²), which then dominates "
            "and made the intervals of the earlier 12-part run several times as wide. What "
            "width is left is the rule's accuracy at a quarter of the default budget for sets "
            'of this size (section "Overlaps (sketches)"); the cost figures do not depend on it.'
        )
    return (
        "Every interval here is wide: at a quarter of the default budget an institution's "
        f"sketch is the sum of its {parts} parts, so its bucket noise variance is {parts} times "
        "a part's, while the width `period open` fixes is the rule's for one sketch's noise; "
        "for a whole-institution pair the noise-against-noise term (width × variance²) then "
        "dominates. The cost figures do not depend on it; by default (one part) it does not "
        "arise."
    )


def pair_tables(comparisons: Sequence[Comparison], *, parts: int) -> list[str]:
    lines = [
        ("**Time per pair, the whole cost of both sketches charged to the one pair** (wall / CPU "
        "seconds, median of the repeats; the sketch parts are A and B together):"),
        "",
        (f"| pair (10% overlap) | width (× {parts_label(parts)}) | agent's sketch step "
         "| JSON encode "
         "| aggregator: decode both, sum parts, estimate | **sketch per pair** "
         "| **PSI-CA per pair** "
         "| PSI / sketch (CPU) |"),
        "|---|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for c in comparisons:
        aggregator = c.part("decoding") + c.part("estimating")
        lines.append(
            f"| {size_label(c.n)} × {size_label(c.n)} | {c.sketches[0].width:,} "
            f"| {c.part('release')} | {c.part('encoding')} "
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
    lines += [
        "",
        accuracy_remark(parts),
    ]
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


def sector_table(runs: Sequence[SectorRun], *, parts: int) -> list[str]:
    sizes = sorted(runs[0].sizes)
    lines = [
        (
            f"{runs[0].institutions} institutions with the demo's size mix "
            f"(`demo.sector.institution_sizes`: {size_label(sizes[0])} to "
            f"{size_label(sizes[-1])} households, median {statistics.median(sizes):,.0f}, "
            f"{sum(sizes):,} in all), households drawn uniformly from a pool of "
            f"`default_pool` (twice the sum of the sizes), so that most pairs share few "
            f"households, each with a main discipline of the mix above; each sketch released "
            f"in {parts_label(parts)} by the agent's own step at a quarter of the "
            f"default budget and encoded as `ReleasedSketch` JSON. Timed at the aggregator "
            f"(wall / CPU seconds):"
        ),
        "",
        (f"| width (× {parts_label(parts)}) | payloads (JSON) "
         "| decode the payloads, sum parts (`PeriodSketches.of`) "
         "| pairwise matrix + std | "
         "\"too uncertain\" per pair | **all pairs** | pairs/s | withheld as too uncertain | "
         f"≤ {SECTOR_SECONDS:.0f} s | crossovers by discipline and by province "
         "| sector reach |"),
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for run in runs:
        total = run.all_pairs
        lines.append(
            f"| {run.width:,} | {bytes_label(run.payload_bytes)} | {run.decoding} "
            f"| {run.matrix} | {run.rules} | **{total}** "
            f"| {run.pairs / total.wall:,.0f} | {run.too_uncertain:,} of {run.pairs:,} "
            f"| {'met' if total.wall <= SECTOR_SECONDS else 'not met'} "
            f"| {run.crossovers} | {run.reach} |"
        )
    slowest = max(runs, key=lambda r: r.all_pairs.wall)
    lines += [
        "",
        (
            f"**Issue 17's target (all pairs of {slowest.institutions} institutions at the "
            f"aggregator within {SECTOR_SECONDS:.0f} s): "
            f"{'met' if slowest.all_pairs.wall <= SECTOR_SECONDS else 'not met'}**, "
            f"{slowest.all_pairs.wall:.1f} s wall at its slowest (width {slowest.width:,}). "
            "Decoding is the strict canonical check (each payload re-encoded by RFC 8785 and "
            "compared, which intake does once per submission, not per matrix) and the protocol's "
            "checks of every bucket; the parts are summed by the aggregator's own "
            "`aggregator.overlaps.PeriodSketches.of`. The crossover matrices "
            f"(`aggregator.overlaps.crossover`, k = {DEFAULT_K}, the institutions placed in "
            "the demo's provinces) and the sector reach (`sector_reach`) run on the same "
            "decoded sketches, after the all-pairs figure. "
            "The withheld count is the rule at a quarter of the default budget on overlaps drawn "
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
    parts: int,
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
            f"{seed} + repeat) with a 10% overlap. Sketch: the agent's own step "
            "(`agent.sketch_release.release_household_sketch`) in "
            f"{parts_label(parts)} per institution"
            + (
                " (the default of ADR 0036: the enrolled discipline alone, the whole "
                "institution; `--parts 12` times an institution that declares every discipline)"
                if parts == 1
                else f" (an institution that declares {parts} disciplines; the default is one)"
            )
            + ", the households with main disciplines as a large venue's "
            "(`overlap_sketching.MIX`), one OpenDP "
            "measurement, for a period opened with `--overlap-share "
            f"{SHARE}` of the default budget (discrete Gaussian, ρ = "
            f"{SHARE * default_rho():.4f} of {default_rho():.4f}; ε = 1 at δ = 1e-7 for the "
            "whole budget) and the width `period open` fixes for the pair's size; the payload "
            "is the protocol's `ReleasedSketch` (publiek/4) as canonical JSON, decoded at the "
            "aggregator as `aggregator.sketch_inputs` does (`ReleasedSketch.from_dict`, "
            "`dp.sketches.received_parts`), after intake's strict canonical parse, and each "
            "institution's parts summed. PSI-CA: `psi_baseline.psi_cardinality_cost` on the "
            "same key lists, "
            "as in the section above. One small pair runs first, unrecorded, so that the first "
            "measured call does not pay the process's one-time library setup."
        ),
        "",
        *pair_tables(comparisons, parts=parts),
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
        *sector_table(runs, parts=parts),
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
    parser.add_argument(
        "--parts", type=int, default=DEFAULT_PARTS,
        help="disciplines each institution declares (1, the default; 12, all of them)",
    )  # fmt: skip
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    before, started = os.getloadavg()[0], time.perf_counter()
    parts = declared_parts(args.parts)
    warm_up(args.seed - 1)
    comparisons = []
    for n in args.sizes:
        comparisons.append(compare(n, args.repeats, args.seed, parts))
        c = comparisons[-1]
        print(
            f"{size_label(n)} × {size_label(n)}: sketch {c.sketch_seconds} s, "
            f"PSI-CA {c.psi_seconds} s",
            flush=True,
        )
    runs = sector_runs(args.institutions, args.seed, parts)
    sizes = " ".join(str(n) for n in args.sizes)
    command = (
        f"PYTHONPATH=. .venv/bin/python bench/overlap_vs_psi.py --sizes {sizes} "
        f"--repeats {args.repeats}"
        + (f" --institutions {args.institutions}" if args.institutions != INSTITUTIONS else "")
        + (f" --seed {args.seed}" if args.seed != 17 else "")
        + (f" --parts {args.parts}" if args.parts != DEFAULT_PARTS else "")
    )
    text = report(
        comparisons,
        runs,
        command=command,
        load=(before, os.getloadavg()[0]),
        seconds=time.perf_counter() - started,
        seed=args.seed,
        parts=len(parts),
    )
    print(text)
    if args.write:
        replace_section(ROOT / "docs" / "benchmarks.md", text)


if __name__ == "__main__":
    main()
