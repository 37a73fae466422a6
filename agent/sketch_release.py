"""The household sketch of one release (issue 17, ADR 0034, 0036).

When the period config fixes a sketch, the agent hashes the household keys
the tables count (the same households, the same period months) with the
config's public seed and width and releases one part per *declared*
discipline (:func:`sketch_parts`: ``sketch_disciplines`` in
``release.toml``, by default the enrolled discipline alone), all parts by
ONE OpenDP measurement (:func:`dp.sketches.release_parts`). A household goes
into the part of its main discipline (the one the discipline tables count it
under) when that discipline is declared, and otherwise into the enrolled
discipline's part. The set of parts is public config, never chosen from the
data, so which parts exist says nothing about the households; and fewer
parts add up to a whole-institution sketch with less noise. The household
keys never leave this function: only noisy bucket sums and noisy counts do.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from dp.bounding import HOUSEHOLD_KEY
from dp.release_design import DISCIPLINES
from dp.sketches import SketchConfig, hashed, release_parts, sketch_config
from protocol.errors import UsageError
from protocol.messages import PeriodSketch, PrivacySpend, ReleasedSketch


def sketch_parts(declared: Sequence[str] | None, enrolled: str) -> tuple[str, ...]:
    """The disciplines the sketch has parts for, in key-set order: the
    declared ones (None: none) plus the enrolled discipline, which is always
    a part since it holds the households whose main discipline is not
    declared. Adding it, rather than refusing a list without it, keeps a
    ``release.toml`` that names only the other disciplines working."""
    if enrolled not in DISCIPLINES:
        raise UsageError(
            f"the enrolled discipline {enrolled!r} is not in the release design's key set",
            hint=f"enroll with one of: {', '.join(DISCIPLINES)}",
        )
    chosen = {enrolled, *(declared or ())}
    return tuple(d for d in DISCIPLINES if d in chosen)


def part_hashes(
    households: pl.DataFrame, config: SketchConfig, parts: Sequence[str], enrolled: str
) -> dict[str, pl.Series]:
    """The keyed hashes of ``households`` (``household_key``, and ``discipline``
    as an index into the discipline key set, one row per household) by part:
    a household's main discipline when it is one of ``parts``, otherwise
    ``enrolled``. Each household in exactly one part. Never leaves the agent."""
    if enrolled not in parts or not set(parts) <= set(DISCIPLINES):
        raise ValueError(
            "the parts must be disciplines of the key set, the enrolled one among them"
        )
    part_of = [d if d in parts else enrolled for d in DISCIPLINES]
    frame = pl.DataFrame(
        {
            "hash": hashed(config, households[HOUSEHOLD_KEY].to_list()),
            "part": households["discipline"]
            .cast(pl.Int64)
            .replace_strict(list(range(len(DISCIPLINES))), part_of, return_dtype=pl.String),
        }
    )
    return {
        str(part): rows["hash"]
        for (part,), rows in frame.partition_by("part", as_dict=True).items()
    }


def release_household_sketch(
    households: pl.DataFrame,
    period: str,
    spec: PeriodSketch,
    parts: Sequence[str],
    *,
    enrolled: str,
    rho: float,
    mechanism: str,
    delta: float,
) -> tuple[ReleasedSketch, PrivacySpend]:
    """Noise the sketch of ``households`` at ``rho`` in ``parts``
    (:func:`sketch_parts`, which hold ``enrolled``; :func:`part_hashes` says
    which part a household goes into). The parts partition the households, so
    all of them together have sensitivity 1: one OpenDP measurement."""
    config = sketch_config(period, spec)
    by_part = part_hashes(households, config, parts, enrolled)
    return release_parts(config, by_part, parts, rho=rho, mechanism=mechanism, delta=delta)
