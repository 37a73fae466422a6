"""How a household is placed in a segment (ADR 0029, docs/segment-model.md): drawn
from its key, in its PC6's shares where the model has that PC6, else its PC4's."""

from __future__ import annotations

import hashlib
import math

import polars as pl
import pytest

from agent.segments import DEMO_SEGMENTS, SegmentModel, synthetic_demo_model
from protocol.segment_tables import pc6_columns

DEMO = synthetic_demo_model()
FIRST, SECOND = DEMO_SEGMENTS[0], DEMO_SEGMENTS[1]
# The tolerance of the statistical tests, fixed before they were first run: each
# segment's count lies within five standard deviations of its expectation (the
# variance of a sum of independent Bernoulli draws, Σ p(1 − p)). The keys are
# seeded (SHA-256 of a counter), so the test is deterministic; a correct rule
# fails it for a given seed with probability below 1e-5 per segment.
SIGMAS = 5.0


def keys(n: int, seed: str) -> pl.Series:
    return pl.Series(
        "household_key",
        [hashlib.sha256(f"{seed}/{i}".encode()).digest() for i in range(n)],
        dtype=pl.Binary,
    )


def pc6_table(rows: dict[str, dict[str, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {"pc6": code, **{s: shares.get(s, 0.0) for s in DEMO_SEGMENTS}}
            for code, shares in rows.items()
        ],
        schema=pc6_columns(DEMO_SEGMENTS),
    )


def with_pc6(rows: dict[str, dict[str, float]]) -> SegmentModel:
    """The demo model's PC4 shares with a PC6 table: a model the release design knows."""
    return SegmentModel(
        version=DEMO.version, segments=DEMO.segments, shares=DEMO.shares, pc6=pc6_table(rows)
    )


def place(model: SegmentModel, household_key: pl.Series, pc6: list[str | None]) -> list[str]:
    placement = model.placement
    areas = placement.areas(pl.Series("pc6", pc6, dtype=pl.String))
    return placement.segments(household_key, areas).cast(pl.String).to_list()


def test_a_pc6_in_the_model_is_placed_by_its_own_shares_not_its_pc4s() -> None:
    model = with_pc6({"1234AB": {FIRST: 1.0}})
    assert DEMO.shares.filter(pl.col("pc4") == "1234", pl.col("segment") == FIRST)["share"][0] < 1
    assert set(place(model, keys(200, "pc6"), ["1234AB"] * 200)) == {FIRST}


def test_a_pc6_not_in_the_model_falls_back_to_its_pc4() -> None:
    model = with_pc6({"1234AB": {FIRST: 1.0}})
    household_key = keys(500, "fallback")
    by_pc6 = place(model, household_key, ["1234XZ"] * 500)
    by_pc4 = DEMO.segment_of(pl.DataFrame({"household_key": household_key, "pc4": ["1234"] * 500}))
    assert by_pc6 == by_pc4.cast(pl.String).to_list()
    assert len(set(by_pc6)) > 1  # the PC4's shares, not the PC6's single segment


def test_neither_pc6_nor_pc4_in_the_model_nor_a_postcode_is_unknown() -> None:
    model = with_pc6({"1234AB": {FIRST: 1.0}})
    shares = DEMO.shares.filter(pl.col("pc4") != "5678")
    no_5678 = SegmentModel(
        version=DEMO.version, segments=DEMO.segments, shares=shares, pc6=model.pc6
    )
    assert place(no_5678, keys(3, "none"), ["5678AB", None, "not a PC6"]) == ["unknown"] * 3


def test_a_household_without_a_key_is_unknown() -> None:
    household_key = pl.Series("household_key", [None], dtype=pl.Binary)
    assert place(with_pc6({"1234AB": {FIRST: 1.0}}), household_key, ["1234AB"]) == ["unknown"]


def _within_tolerance(
    placed: list[str], expected: dict[str, float], variance: dict[str, float]
) -> None:
    counts = {s: placed.count(s) for s in DEMO_SEGMENTS}
    for segment in DEMO_SEGMENTS:
        bound = SIGMAS * math.sqrt(variance[segment])
        assert abs(counts[segment] - expected[segment]) <= bound, (segment, counts, expected)
    assert placed.count("unknown") == 0


@pytest.mark.slow  # 0.4 s or more: outside the inner loop (ADR 0032)
@pytest.mark.parametrize("kind", ["pc6", "pc4 fallback"])
def test_the_count_per_segment_is_the_sum_of_the_households_shares(kind: str) -> None:
    # 60,000 keyed households over 300 PC6 codes with shares of their own (in the
    # model) or over 300 PC6 codes the model lacks (placed by their PC4's shares).
    codes = [f"{1000 + 7 * i}{'AB' if kind == 'pc6' else 'XZ'}" for i in range(300)]
    own = {
        code: {s: (1 + (i * 31 + j * 17) % 11) ** 2 for j, s in enumerate(DEMO_SEGMENTS)}
        for i, code in enumerate(codes)
    }
    normalised = {c: {s: v / sum(sh.values()) for s, v in sh.items()} for c, sh in own.items()}
    model = with_pc6(normalised if kind == "pc6" else {"1000AB": {FIRST: 1.0}})
    n = 60_000
    household_pc6 = [codes[i % len(codes)] for i in range(n)]
    if kind == "pc6":
        share_of = normalised
    else:
        wide = DEMO.shares.pivot(on="segment", index="pc4", values="share")
        share_of = {
            code: dict(
                zip(DEMO_SEGMENTS, wide.filter(pl.col("pc4") == code[:4]).row(0)[1:], strict=True)
            )
            for code in codes
        }
    expected = {s: sum(share_of[c][s] for c in household_pc6) for s in DEMO_SEGMENTS}
    variance = {
        s: sum(share_of[c][s] * (1 - share_of[c][s]) for c in household_pc6) for s in DEMO_SEGMENTS
    }
    _within_tolerance(place(model, keys(n, kind), household_pc6), expected, variance)


def test_placement_is_a_function_of_the_key_and_the_area() -> None:
    model = with_pc6({"1234AB": {FIRST: 0.5, SECOND: 0.5}})
    household_key = keys(100, "again")
    assert place(model, household_key, ["1234AB"] * 100) == place(
        model, household_key, ["1234AB"] * 100
    )
    assert place(model, household_key[::-1], ["1234AB"] * 100) == list(
        reversed(place(model, household_key, ["1234AB"] * 100))
    )


def test_a_model_without_pc6_shares_places_by_the_pc4_as_the_release_does() -> None:
    household_key = keys(300, "demo")
    pc6 = [f"{1000 + 29 * i}AB" for i in range(300)]
    by_pc4 = DEMO.segment_of(
        pl.DataFrame({"household_key": household_key, "pc4": [c[:4] for c in pc6]})
    )
    assert place(DEMO, household_key, pc6) == by_pc4.cast(pl.String).to_list()
