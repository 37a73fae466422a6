"""The synthetic release: reproducible, country-sized, plausible, and labelled as such."""

from __future__ import annotations

import polars as pl
import pytest

from agent.regions import PC4_RANGES as AGENT_PC4_RANGES
from dp.release_design import DEMO_SEGMENTS, SEGMENTS
from dp.release_design import PC4_RANGES as DESIGN_PC4_RANGES
from dp.release_design import PROVINCES as DESIGN_PROVINCES
from protocol.errors import UsageError
from protocol.keys import VerifyKey
from protocol.messages import SEGMENT_MODELS
from protocol.segment_release import DEMO_LABEL, DEMO_MODEL_KEY, verify_release
from protocol.segment_tables import LAT_RANGE, LON_RANGE, PROVINCES
from segments.build import ModelTables
from segments.describe import describe
from segments.synthetic import (
    PC4_RANGES,
    SYNTHETIC_VERSION,
    synthetic_model_key,
    synthetic_release,
    synthetic_tables,
)

DEMO_KEY = VerifyKey.from_text(DEMO_MODEL_KEY)


def test_the_demo_key_constant_is_the_public_half_of_the_published_seed() -> None:
    assert synthetic_model_key().public == DEMO_KEY


def test_the_lists_this_package_repeats_are_the_ones_it_repeats() -> None:
    # One table, not copies: the agent's province rule and the synthetic model's.
    assert PC4_RANGES is AGENT_PC4_RANGES is DESIGN_PC4_RANGES
    assert PROVINCES == DESIGN_PROVINCES


def test_the_segments_are_the_demo_segments_with_names_in_both_languages(
    tables: ModelTables,
) -> None:
    assert tables.segment_ids == DEMO_SEGMENTS
    assert all(s.name.nl and s.name.en and s.description.en for s in tables.segments)


def test_the_release_design_knows_the_synthetic_release_by_its_segments(
    tables: ModelTables,
) -> None:
    assert SYNTHETIC_VERSION in SEGMENT_MODELS
    assert SEGMENTS[SYNTHETIC_VERSION] == tables.segment_ids == DEMO_SEGMENTS


@pytest.mark.slow  # generates two releases (about a second)
def test_a_small_variant_is_the_same_bytes_twice() -> None:
    small = {"pc6_per_pc4": 2, "households": 100_000, "version": "synthetic-small"}
    first = synthetic_release(3, **small)  # type: ignore[arg-type]
    assert synthetic_release(3, **small) == first  # type: ignore[arg-type]
    release = verify_release(first, model_key=DEMO_KEY, where="t")
    assert release.synthetic and release.demo_key


@pytest.mark.slow  # generates two releases (about a second)
def test_a_different_seed_gives_a_different_model() -> None:
    assert not synthetic_tables(1, pc6_per_pc4=1).pc4.equals(synthetic_tables(2, pc6_per_pc4=1).pc4)


def test_the_name_of_the_synthetic_release_belongs_to_its_defaults() -> None:
    with pytest.raises(UsageError, match=r"synthetic-2026\.1 names the synthetic release"):
        synthetic_release(pc6_per_pc4=2)


def test_every_pc4_lies_in_its_province_by_the_postcode_ranges(tables: ModelTables) -> None:
    by_range = tables.pc4.with_columns(
        pl.col("pc4")
        .map_elements(
            lambda c: next(p for lo, hi, p in PC4_RANGES if lo <= c <= hi), return_dtype=pl.String
        )
        .alias("_by_range")
    )
    assert (by_range["_by_range"] == by_range["province"]).all()
    assert set(tables.pc4["province"]) == set(PROVINCES)


def test_centroids_cluster_per_province_inside_the_country(tables: ModelTables) -> None:
    pc4 = tables.pc4
    assert pc4["lat"].is_between(*LAT_RANGE).all() and pc4["lon"].is_between(*LON_RANGE).all()
    centres = pc4.group_by("province").agg(pl.col("lat").mean(), pl.col("lon").mean())
    north = centres.filter(pl.col("province") == "groningen")["lat"][0]
    south = centres.filter(pl.col("province") == "limburg")["lat"][0]
    assert north > south + 1.5


def test_pc6_shares_vary_around_their_pc4s(tables: ModelTables) -> None:
    segment = "village-life"
    pc6 = tables.pc6.with_columns(pl.col("pc6").str.slice(0, 4).cast(pl.Int32).alias("pc4"))
    spread = pc6.group_by("pc4").agg(pl.col(segment).std()).drop_nulls()
    assert spread[segment].median() > 0.005


@pytest.mark.slow
def test_the_synthetic_release_covers_the_country_and_is_the_same_bytes_twice() -> None:
    data = synthetic_release()
    assert synthetic_release() == data
    release = verify_release(
        data, model_key=DEMO_KEY, where="t", expected_version="synthetic-2026.1"
    )
    assert release.version == SYNTHETIC_VERSION and release.synthetic
    assert release.pc4.height >= 3_900
    assert release.pc6.height >= 400_000
    assert 300 <= release.municipalities.height <= 400
    assert 7_500_000 <= release.households <= 8_500_000
    assert f"synthetic: yes ({DEMO_LABEL})" in describe(release)
