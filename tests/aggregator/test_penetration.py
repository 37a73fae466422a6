"""Penetration, profiles and not-yet-visitors: the estimators on hand examples."""

from __future__ import annotations

import math

import polars as pl
import pytest

from aggregator.estimates import Z95
from aggregator.penetration import (
    CATCHMENT_TABLE,
    DOUBLE_COUNTED,
    PROVINCE,
    PROVINCE_TABLE,
    SUMMED_OVER_CATCHMENTS,
    Contributor,
    Interval,
    Noisy,
    Population,
    against_peer_group,
    audience_share,
    group_in_catchments,
    not_yet_visitors,
    own_in_catchment,
    penetration,
    profile_index,
    ranked_not_yet_visitors,
    represented,
    sector_in_country,
    segment_figures,
    shown,
)
from aggregator.penetration_inputs import origin_of
from aggregator.penetration_text import format_penetration
from aggregator.screening import TableInput

SEGMENTS = ("a", "b")
# Three PC4 areas: 1000 and 1001 about 11 km apart, 9000 far away (another province).
PC4 = pl.DataFrame(
    {
        "pc4": [1000, 1001, 9000],
        "province": ["noord-holland", "noord-holland", "groningen"],
        "lat": [52.0, 52.1, 53.2],
        "lon": [5.0, 5.0, 6.5],
        "a": [100, 300, 1000],
        "b": [200, 400, 2000],
    },
    schema_overrides={"pc4": pl.Int32},
)


def population() -> Population:
    return Population(SEGMENTS, PC4)


def catchment_table(cells: dict[tuple[str, str], int], std: float = 2.0) -> TableInput:
    keys = tuple(cells)
    return TableInput(
        CATCHMENT_TABLE, "households", ("segment", "catchment"), keys, tuple(cells.values()), std
    )


def province_table(cells: dict[tuple[str, str], int], std: float = 2.0) -> TableInput:
    keys = tuple(cells)
    return TableInput(
        PROVINCE_TABLE, "households", ("segment", "province"), keys, tuple(cells.values()), std
    )


def test_penetration_is_visitors_per_hundred_households_with_the_interval_divided_through() -> None:
    found = penetration(Noisy(50.0, 100.0), 1000)
    assert found is not None
    assert found.estimate == pytest.approx(5.0)
    assert found.std == pytest.approx(1.0)
    assert (found.low, found.high) == pytest.approx((5.0 - Z95, 5.0 + Z95))


def test_an_empty_population_has_no_penetration() -> None:
    assert penetration(Noisy(3.0, 1.0), 0) is None


def test_not_yet_visitors_are_the_population_less_the_visitors_with_their_noise() -> None:
    found = not_yet_visitors(Noisy(50.0, 100.0), 1000)
    assert found.estimate == 950.0
    assert (found.low, found.high) == pytest.approx((950.0 - 10 * Z95, 950.0 + 10 * Z95))


def test_the_audience_share_has_the_delta_methods_variance() -> None:
    share = audience_share(Noisy(30.0, 9.0), Noisy(70.0, 16.0))
    assert share is not None
    assert share.estimate == pytest.approx(0.3)
    # (rest² var(part) + part² var(rest)) / audience⁴
    assert share.std == pytest.approx(math.sqrt((70**2 * 9 + 30**2 * 16) / 100**4))


def test_the_profile_index_is_the_audience_share_over_the_population_share() -> None:
    index = profile_index(audience_share(Noisy(30.0, 9.0), Noisy(70.0, 16.0)), 0.5)
    assert index is not None
    assert index.estimate == pytest.approx(60.0)
    assert index.std == pytest.approx(200 * math.sqrt(5.85e-4))


def test_no_share_without_an_audience_and_no_index_without_a_population() -> None:
    assert audience_share(Noisy(-3.0, 1.0), Noisy(2.0, 1.0)) is None
    assert profile_index(audience_share(Noisy(3.0, 1.0), Noisy(2.0, 1.0)), 0.0) is None


def test_over_and_under_representation_need_the_interval_to_exclude_100() -> None:
    assert represented(Interval(130, 110, 150, 10)) == "over"
    assert represented(Interval(70, 50, 90, 10)) == "under"
    assert represented(Interval(95, 80, 110, 8)) == "in_line"
    assert represented(None) is None


def test_a_figure_whose_half_width_exceeds_half_of_it_shows_no_number() -> None:
    assert shown(Interval(10.0, 0.0, 20.0, 10.0 / Z95), digits=0).too_uncertain is True
    visible = shown(Interval(10.0, 6.0, 14.0, 4.0 / Z95), digits=1)
    assert (visible.estimate, visible.ci95_low, visible.ci95_high) == (10.0, 6.0, 14.0)
    assert shown(Interval(-5.0, -7.0, -3.0, 1.0), digits=0).estimate is None
    assert shown(None, digits=0).too_uncertain is True


def test_the_population_sums_per_province_and_country() -> None:
    pop = population()
    assert pop.country() == {"a": 1400, "b": 2600}
    assert pop.by_province() == {
        "groningen": {"a": 1000, "b": 2000},
        "noord-holland": {"a": 400, "b": 600},
    }


def test_a_catchment_counts_the_areas_within_its_radius_of_the_origin() -> None:
    pop = population()
    assert pop.catchment(1000, "15_km") == {"a": 400, "b": 600}  # itself and 1001
    assert pop.catchment(1000, "60_km") == {"a": 400, "b": 600}  # 9000 is ~170 km away
    assert pop.catchment(9000, "15_km") == {"a": 1000, "b": 2000}


def test_no_catchment_without_an_origin_in_the_model() -> None:
    assert population().catchment(None, "30_km") is None
    assert population().catchment(4321, "30_km") is None


def test_a_peer_group_sums_its_members_visitors_and_their_catchments_populations() -> None:
    first = catchment_table(
        {("a", "within_15_km"): 40, ("a", "15_to_30_km"): 1000, ("b", "within_15_km"): 60,
         ("unknown", "within_15_km"): 7, ("a", "beyond_60_km"): 9}
    )  # fmt: skip
    second = catchment_table({("a", "within_15_km"): 100, ("b", "within_15_km"): 200})
    members = [
        Contributor("one", 1000, {CATCHMENT_TABLE: first}),
        Contributor("two", 9000, {CATCHMENT_TABLE: second}),
        Contributor("no-origin", None, {CATCHMENT_TABLE: second}),
        Contributor("no-table", 1000, {}),
    ]
    audience = group_in_catchments(members, population(), radius="15_km", k=2)
    assert (audience.institutions, audience.listed) == (2, True)
    a, b = audience.segments
    assert (a.population, b.population) == (1400, 2600)
    assert a.visitors == Noisy(140.0, 2 * 4.0)  # one cell of each member within 15 km
    assert a.penetration is not None and a.penetration.estimate == pytest.approx(10.0)
    assert b.penetration is not None and b.penetration.estimate == pytest.approx(10.0)
    assert a.not_yet_visitors.estimate == 1400 - 140
    assert a.profile_index is not None
    assert a.profile_index.estimate == pytest.approx(100 * (140 / 400) / (1400 / 4000))


def test_fewer_than_k_members_with_a_catchment_are_not_listed() -> None:
    table = catchment_table({("a", "within_15_km"): 100})
    members = [Contributor("one", 1000, {CATCHMENT_TABLE: table}), Contributor("two", None, {})]
    assert group_in_catchments(members, population(), radius="30_km", k=2).listed is False


def test_the_sector_counts_visitors_with_a_known_province_in_the_country_and_by_province() -> None:
    table = province_table(
        {("a", "noord-holland"): 40, ("a", "groningen"): 100, ("b", "groningen"): 500,
         ("a", "unknown"): 999, ("unknown", "groningen"): 999}
    )  # fmt: skip
    members = [Contributor(f"m{i}", None, {PROVINCE_TABLE: table}) for i in range(3)]
    sector = sector_in_country(members, population(), k=3)
    assert sector.listed and sector.catchment == "country"
    a, b = sector.segments
    assert a.visitors.value == 3 * 140 and b.visitors.value == 3 * 500
    assert a.penetration is not None and a.penetration.estimate == pytest.approx(30.0)
    by = {(r.province, r.segment): r for r in sector.provinces}
    found = by[("groningen", "b")].penetration
    assert found is not None and found.estimate == pytest.approx(75.0)
    assert by[("noord-holland", "b")].visitors.value == 0


def test_not_yet_visitors_are_ranked_largest_first_among_those_shown() -> None:
    rows = segment_figures(
        ("x", "y", "z"),
        {"x": Noisy(10.0, 1.0), "y": Noisy(10.0, 1.0), "z": Noisy(5.0, 1e6)},
        {"x": 100, "y": 1000, "z": 50},
    )
    assert ranked_not_yet_visitors(rows) == ["y", "x"]  # z's is mostly noise


def test_an_institution_is_compared_with_its_peer_groups_audience_shares() -> None:
    own_table = catchment_table({("a", "within_15_km"): 300, ("b", "within_15_km"): 300}, 0.5)
    peer_table = catchment_table({("a", "within_15_km"): 100, ("b", "within_15_km"): 300}, 0.5)
    own = own_in_catchment(Contributor("me", 1000, {CATCHMENT_TABLE: own_table}), population(),
                           radius="30_km")  # fmt: skip
    peer = group_in_catchments(
        [Contributor("me", 1000, {CATCHMENT_TABLE: own_table}),
         Contributor("you", 1000, {CATCHMENT_TABLE: peer_table})],
        population(), radius="30_km", k=2,
    )  # fmt: skip
    assert own is not None
    versus = against_peer_group(own, peer)
    a = versus["a"]
    assert a is not None and a.estimate == pytest.approx(100 * 0.5 / (400 / 1000))
    assert represented(a) == "over"


def test_an_institution_without_a_catchment_has_no_own_view() -> None:
    assert own_in_catchment(Contributor("me", None, {}), population(), radius="30_km") is None


@pytest.mark.parametrize(
    ("payload", "origin"),
    [
        ({"catchment_origin": "3511"}, 3511),
        ({"catchment_origin": None}, None),
        ({}, None),  # stored before issue 16
        ({"catchment_origin": "0123"}, None),
        ({"catchment_origin": 3511}, None),
        ("not a payload", None),
    ],
)
def test_a_stored_catchment_origin_is_a_pc4_or_none(payload: object, origin: int | None) -> None:
    assert origin_of(payload) == origin


def test_the_demo_text_shows_the_sectors_rates_and_a_groups_largest_not_yet_visitors() -> None:
    table = province_table({("a", "noord-holland"): 40, ("b", "groningen"): 5}, std=0.5)
    sector = sector_in_country(
        [Contributor(f"m{i}", None, {PROVINCE_TABLE: table}) for i in range(3)], population(), k=3
    )
    group = group_in_catchments(
        [Contributor(f"m{i}", 1000, {CATCHMENT_TABLE: catchment_table({("a", "within_15_km"): 50},
                                                                 0.5)}) for i in range(3)],
        population(), radius="30_km", k=3,
    )  # fmt: skip
    text = format_penetration(sector, "theater/nl/all", group)
    assert "  a  8.57% (95%: 8.45–8.69)" in text  # 120 of 1,400
    assert "  b  0.58% (95%: 0.51–0.64)" in text  # 15 of 2,600
    assert "Largest not-yet-visitor segments of theater/nl/all (within 30 km" in text
    assert "  b: 1,800 households (95%: 1,800–1,800)" in text
    assert text.index("  b: ") < text.index("  a: ")
    # The sector's sum is a lower bound, the group's (summed over catchments) an upper one.
    assert DOUBLE_COUNTED in text
    assert (sector.note, group.note) == (DOUBLE_COUNTED, SUMMED_OVER_CATCHMENTS)
    assert text.endswith("at most the number shown.")


def test_the_demo_text_says_when_nothing_is_listed() -> None:
    empty = sector_in_country([], population(), k=3)
    assert "not listed: fewer than k institutions" in format_penetration(empty, None, None)


def test_a_province_catchment_counts_each_members_own_province() -> None:
    """Catchment ``province``: each member's visitors in the province of its own
    PC4 (from the segment × province table) against that province's population."""
    keys = [
        (s, p) for s in ("a", "b", "unknown") for p in ("noord-holland", "groningen", "unknown")
    ]
    values = {("a", "noord-holland"): 40, ("b", "noord-holland"): 10, ("a", "groningen"): 7}
    table = TableInput(
        PROVINCE_TABLE, "households", ("segment", "province"), tuple(keys),
        tuple(int(values.get(k, 0.0)) for k in keys), 1.0,
    )  # fmt: skip
    member = Contributor("m", 1001, {PROVINCE_TABLE: table})
    audience = group_in_catchments([member], population(), radius=PROVINCE, k=1)
    by_segment = {r.segment: r for r in audience.segments}
    assert by_segment["a"].population == 400 and by_segment["b"].population == 600
    assert by_segment["a"].visitors.value == 40.0  # Groningen's 7 are outside
    assert by_segment["a"].penetration is not None
    assert by_segment["a"].penetration.estimate == pytest.approx(10.0)
