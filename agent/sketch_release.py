"""The household sketch of one release (issue 17, ADR 0034, 0036).

When the period config fixes a sketch, the agent hashes the household keys
the tables count (the same households, the same period months) with the
config's public seed and width, splits them by main discipline (the one the
discipline tables count them under) and releases one part per discipline of
the public key set, all parts by ONE OpenDP measurement
(:func:`dp.sketches.release_parts`). The household keys never leave this
function: only noisy bucket sums and noisy counts do.
"""

from __future__ import annotations

import polars as pl

from dp.bounding import HOUSEHOLD_KEY
from dp.release_design import DISCIPLINES
from dp.sketches import hashed, release_parts, sketch_config
from protocol.messages import PeriodSketch, PrivacySpend, ReleasedSketch


def release_household_sketch(
    households: pl.DataFrame,
    period: str,
    spec: PeriodSketch,
    *,
    rho: float,
    mechanism: str,
    delta: float,
) -> tuple[ReleasedSketch, PrivacySpend]:
    """Noise the sketch of ``households`` (``household_key``, and ``discipline``
    as an index into the discipline key set, one row per household) at ``rho``."""
    config = sketch_config(period, spec)
    frame = pl.DataFrame(
        {
            "hash": hashed(config, households[HOUSEHOLD_KEY].to_list()),
            "discipline": households["discipline"],
        }
    )
    by_discipline: dict[str, pl.Series] = {}
    for (code,), part in frame.partition_by("discipline", as_dict=True).items():
        by_discipline[DISCIPLINES[int(str(code))]] = part["hash"]
    return release_parts(
        config, by_discipline, DISCIPLINES, rho=rho, mechanism=mechanism, delta=delta
    )
