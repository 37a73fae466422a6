"""The agent's household sketch of a 2M-household institution, timed (issue 17's
target: sketching 2M households adds at most 2 s to an institution's release).

What is timed is the step the release calls, ``agent.sketch_release.
release_household_sketch``, on 2M random 32-byte keys (as household keys,
HMAC-SHA256 outputs, are) with a main-discipline mix of a large venue
(:data:`MIX`), at the widths a period would fix: the width ``publiek period open
--overlap-households N --overlap-share 0.25`` gives at the default budget for
N in 5k, 20k, 100k and 500k (``aggregator.periods.period_sketch``'s rule), and the
widest the CLI allows (``sketch_width_limit``, 2^15 per part for 12 parts).
Each in the parts the agent releases by default (ADR 0036: the declared
disciplines, by default the enrolled one alone, so one part, the whole
institution), and the two widest also in 12 parts, for an institution that
declares every discipline of the key set (:func:`declared_parts`).

The step is also broken down by calling its parts as it does: the keyed hash
and the split into parts (``agent.sketch_release.part_hashes``), the counting
(``exact_parts``), and OpenDP's measurement of all parts' buckets and counts
(``sketch_measurement``, one vector of parts × width buckets and one of the
parts' counts, as ``release_parts`` builds it). The parts' sum is close to the
whole; the whole is the figure.

    PYTHONPATH=. .venv/bin/python bench/overlap_sketching.py [--households 2000000] \
        [--repeats 3] [--write]

``--write`` puts the section "Overlaps: sketching 2M households at the agent"
into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/'s own modules

from sections import replace_section

from agent.sketch_release import part_hashes, release_household_sketch, sketch_parts
from aggregator.periods import period_sketch, sketch_width_limit
from dp.bounding import HOUSEHOLD_KEY
from dp.measurements import GAUSSIAN, calibrate_scale, default_rho
from dp.release_design import DEFAULT_DELTA, DISCIPLINES
from dp.sketches import (
    SENSITIVITY,
    count_rho,
    exact_parts,
    sketch_config,
    sketch_measurement,
    vector_rho,
)
from protocol.messages import PeriodSketch

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Overlaps: sketching 2M households at the agent (target ≤ 2 s)"
TARGET_SECONDS = 2.0
PERIOD = "2026-Q3"
SHARE = 0.25  # --overlap-share
EXPECTED = (5_000, 20_000, 100_000, 500_000)  # --overlap-households
# A large venue's households by main discipline (shares of its households;
# every discipline of the key set has a part, a small one still costs its buckets).
MIX: dict[str, float] = {
    "theater": 0.34, "music": 0.22, "film": 0.10, "dance": 0.07, "cabaret": 0.07,
    "opera": 0.05, "museum": 0.04, "festival": 0.04, "youth": 0.03, "heritage": 0.02,
    "library": 0.01, "other": 0.01,
}  # fmt: skip
ENROLLED = "theater"  # the venue's enrolled discipline, its largest
DEFAULT_PARTS = 1  # what ``release.toml`` declares unless told: the enrolled discipline
ALL_PARTS = len(DISCIPLINES)  # an institution that declares every discipline
WORST_CASE_ROWS = 2  # the widest rows are also timed in ALL_PARTS parts


def declared_parts(count: int) -> tuple[str, ...]:
    """The parts the agent releases (``agent.sketch_release.sketch_parts``) for
    an institution enrolled in :data:`ENROLLED` that declares the ``count``
    largest disciplines of :data:`MIX`: 1 is the default (the enrolled one
    alone, the whole institution), 12 every discipline of the key set."""
    if not 1 <= count <= ALL_PARTS:
        raise ValueError(f"an institution declares 1 to {ALL_PARTS} parts, not {count}")
    return sketch_parts(list(MIX)[:count], ENROLLED)


@dataclass(frozen=True)
class Timing:
    """Median seconds of the agent's step at one width, wall and CPU, and the
    CPU seconds of its parts (the steadier figure on a shared machine)."""

    label: str
    width: int
    parts: int
    whole: float  # release_household_sketch
    whole_cpu: float
    hashing: float  # agent.sketch_release.part_hashes: keyed hash and split into parts
    counting: float  # exact_parts
    noise: float  # OpenDP's measurement on all parts

    @property
    def rest(self) -> float:
        """The rest of the whole: the hash frame, the message's construction and
        checks (one Python int per bucket), OpenDP's privacy map."""
        return max(0.0, self.whole_cpu - self.hashing - self.counting - self.noise)

    @property
    def met(self) -> bool:
        """Judged on CPU seconds: on the loaded, shared VM the wall clock
        waits for other work, which an institution's own machine does not."""
        return self.whole_cpu <= TARGET_SECONDS


def institution(households: int, seed: int) -> pl.DataFrame:
    """``households`` random 32-byte keys, each with its main discipline (an
    index into the key set, as the release hands them to the sketch)."""
    rng = random.Random(seed)
    index = {d: i for i, d in enumerate(DISCIPLINES)}
    disciplines = rng.choices([index[d] for d in MIX], weights=list(MIX.values()), k=households)
    return pl.DataFrame(
        {
            HOUSEHOLD_KEY: [rng.randbytes(32) for _ in range(households)],
            "discipline": pl.Series(disciplines, dtype=pl.Int64),
        }
    )


def widths() -> list[tuple[str, PeriodSketch]]:
    """The sketches ``period open`` fixes at a quarter of the default budget,
    and the widest the CLI allows."""
    rho = default_rho()
    out = []
    for n in EXPECTED:
        spec = period_sketch(SHARE, n, rho_budget=rho, mechanism=GAUSSIAN)
        assert spec is not None
        out.append((f"--overlap-households {n:,}", spec))
    widest = sketch_width_limit()
    out.append(
        ("widest the CLI allows", PeriodSketch(width=widest, seed=os.urandom(32), weight=SHARE))
    )
    return out


def median_seconds(step: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``step`` over the repeats."""
    wall, cpu = [], []
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.process_time()
        step()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return statistics.median(wall), statistics.median(cpu)


def rows() -> list[tuple[str, PeriodSketch, tuple[str, ...]]]:
    """Every width in the default parts, the widest :data:`WORST_CASE_ROWS`
    also with every discipline declared."""
    specs = widths()
    default, everything = declared_parts(DEFAULT_PARTS), declared_parts(ALL_PARTS)
    return [(label, spec, default) for label, spec in specs] + [
        (label, spec, everything) for label, spec in specs[-WORST_CASE_ROWS:]
    ]


def time_width(
    label: str,
    spec: PeriodSketch,
    frame: pl.DataFrame,
    repeats: int,
    parts: tuple[str, ...] = declared_parts(DEFAULT_PARTS),
) -> Timing:
    rho = SHARE * default_rho()
    config = sketch_config(PERIOD, spec)
    by_part = part_hashes(frame, config, parts, ENROLLED)
    vector, counts = exact_parts(config, by_part, parts)
    vector_scale = calibrate_scale(SENSITIVITY, GAUSSIAN, vector_rho(rho))
    count_scale = calibrate_scale(SENSITIVITY, GAUSSIAN, count_rho(rho))

    def noise() -> None:
        measurement = sketch_measurement(vector_scale, count_scale, GAUSSIAN)
        measurement({"sketch": vector, "households": counts})

    whole, whole_cpu = median_seconds(
        lambda: release_household_sketch(
            frame, PERIOD, spec, parts, enrolled=ENROLLED, rho=rho, mechanism=GAUSSIAN,
            delta=DEFAULT_DELTA,
        ),
        repeats,
    )  # fmt: skip
    return Timing(
        label=label,
        width=spec.width,
        parts=len(parts),
        whole=whole,
        whole_cpu=whole_cpu,
        hashing=median_seconds(lambda: part_hashes(frame, config, parts, ENROLLED), repeats)[1],
        counting=median_seconds(lambda: exact_parts(config, by_part, parts), repeats)[1],
        noise=median_seconds(noise, repeats)[1],
    )


def report(
    timings: list[Timing], *, households: int, command: str, load: tuple[float, float]
) -> str:
    mix = ", ".join(f"{d} {share:.0%}" for d, share in MIX.items())
    lines = [
        SECTION,
        "",
        "```",
        command,
        "```",
        "",
        (
            f"The agent's sketch step (`agent.sketch_release.release_household_sketch`, what "
            f"the release calls) on {households:,} random 32-byte keys, split by main discipline "
            f"as a large venue's households ({mix}), at ρ = {SHARE} × the default budget "
            "(discrete Gaussian), enrolled in theater. Each width in the parts the agent "
            "releases by default (ADR 0036: the declared disciplines, by default the enrolled "
            "one alone, so one part, the whole institution), the two widest also in "
            f"{ALL_PARTS} parts, for an institution that declares every discipline. Medians of the "
            "repeats, on the shared 2-core VM with a load average of "
            f"{load[0]:.1f} before and {load[1]:.1f} after the run (other work ran). The parts "
            "(hash, count, noise, rest) are timed in CPU seconds (the keyed hash includes "
            "reading the keys out of the frame), the whole step in wall and CPU seconds; the "
            "target is judged on "
            "CPU seconds: the wall clock waits for the other work on the VM, an institution's "
            "own machine would not; "
            "*rest* is the whole less the parts: building and checking the `ReleasedSketch` "
            "(a Python int per bucket), OpenDP's privacy map and the frames."
        ),
        "",
        ("| `period open` | width × parts | keyed hash + split | count "
         "| OpenDP noise "
         f"| rest (CPU) | **whole step** (wall / CPU) | ≤ {TARGET_SECONDS:.0f} s (CPU) |"),
        "|---|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for t in timings:
        lines.append(
            f"| {t.label} | {t.width:,} × {t.parts} ({t.parts * t.width:,} buckets) "
            f"| {t.hashing:.2f} | {t.counting:.2f} | {t.noise:.2f} | {t.rest:.2f} "
            f"| **{t.whole:.2f} / {t.whole_cpu:.2f}** | {'met' if t.met else 'not met'} |"
        )
    met = list(dict.fromkeys(f"{t.width:,} × {t.parts}" for t in timings if t.met))
    missed = list(dict.fromkeys(f"{t.width:,} × {t.parts}" for t in timings if not t.met))
    lines += [
        "",
        (
            f"**The ≤ {TARGET_SECONDS:.0f} s target is met at width × parts "
            f"{', '.join(met) or 'none'}"
            + (f" and not met at {', '.join(missed)}" if missed else "")
            + ".** "
            "The hash and the count grow with the households, the noise with the buckets: "
            "OpenDP's discrete Gaussian costs about 15-20 µs a bucket on this machine, "
            "so at the widest sketch in 12 parts (393,216 buckets) the noise alone is several "
            "seconds, in the default one part a twelfth of that. The release already "
            "takes all parts' buckets as ONE vector measurement (`dp.sketches.release_parts`), "
            "so there are no per-part constructors to save; OpenDP's continuous Gaussian on a "
            "float vector was slower still (about 30 s for 393,216 values, measured once), and "
            "the discrete Laplace is another mechanism, the period's choice, not a faster "
            "Gaussian. The width follows the households per compared set (about n / v "
            "buckets: 2,048 at 200k, 8,192 at 1M at this share), so only a period opened for "
            "very large sets gets near the envelope's limit of 2^15 (about 4M households)."
        ),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=2_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    before = os.getloadavg()[0]
    frame = institution(args.households, args.seed)
    timings = []
    for label, spec, parts in rows():
        timings.append(time_width(label, spec, frame, args.repeats, parts))
        print(timings[-1], flush=True)
    command = (
        f"PYTHONPATH=. .venv/bin/python bench/overlap_sketching.py --households "
        f"{args.households} --repeats {args.repeats}"
    )
    text = report(
        timings, households=args.households, command=command, load=(before, os.getloadavg()[0])
    )
    print(text)
    if args.write:
        replace_section(ROOT / "docs" / "benchmarks.md", text)


if __name__ == "__main__":
    main()
