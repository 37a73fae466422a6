"""The v3 table set: exactly the release design, every table a partition, the
main discipline, new vs returning, returning vs lapsed, recency, discipline
count and catchment bands as documented, and a period without visits
releasing zeros for every table."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from datetime import date, timedelta

import polars as pl
import pytest

from agent.segments import synthetic_demo_model
from agent.tables import ReleaseConfig, build_tables
from agent.visits import DISCIPLINES, VISIT_SCHEMA
from dp.catchments import BANDS
from dp.measurements import GAUSSIAN, LAPLACE, TableRequest
from dp.release_design import (
    DEFAULT_MAX_VISITS,
    EARLIER_HOUSEHOLDS,
    HOUSEHOLDS,
    TABLE_DESIGN,
    VISITS,
    rho_share,
    sensitivity,
    table_names,
)

from .conftest import frame, household_key, visit

MODEL = synthetic_demo_model()
PERIOD = "2026-Q3"


def _tables(
    visits: pl.DataFrame, *, config: ReleaseConfig | None = None, earlier: pl.Series | None = None
) -> dict[str, TableRequest]:
    requests = build_tables(
        visits, MODEL, config or ReleaseConfig(), period=PERIOD, earlier_link_keys=earlier
    )
    return {r.name: r for r in requests}


@pytest.mark.parametrize("mechanism", [GAUSSIAN, LAPLACE])
def test_the_tables_are_the_release_design_with_its_sensitivity_and_weights(
    sector_visits: Callable[[int], pl.DataFrame], mechanism: str
) -> None:
    config = ReleaseConfig(rho=0.4, max_visits=9, mechanism=mechanism)
    tables = _tables(sector_visits(40), config=config)
    assert tuple(tables) == table_names()
    assert config.bounds() == {"max_visits_per_household": 9}
    for design in TABLE_DESIGN:
        table = tables[design.name]
        assert (table.measure, table.dimensions) == (design.measure, design.dimensions)
        assert table.sensitivity == sensitivity(design.name, config.bounds(), mechanism)
        household_level = design.measure in (HOUSEHOLDS, EARLIER_HOUSEHOLDS)
        assert table.sensitivity == (1.0 if household_level else 9.0)
        assert table.rho == pytest.approx(rho_share(design.name, 0.4))
    assert sum(t.rho for t in tables.values()) == pytest.approx(0.4)
    assert ReleaseConfig().max_visits == DEFAULT_MAX_VISITS == 12


def test_every_table_is_a_partition(sector_visits: Callable[[int], pl.DataFrame]) -> None:
    heavy = frame([visit(9_999, i, tickets=4) for i in range(30)])  # 120 tickets, cut to 12
    visits = pl.concat([sector_visits(120), heavy])
    tables = _tables(visits)
    per_household = visits.group_by("household_key").agg(pl.col("tickets").sum())
    counted = int(per_household["tickets"].clip(upper_bound=DEFAULT_MAX_VISITS).sum())
    expected = {HOUSEHOLDS: per_household.height, VISITS: counted, EARLIER_HOUSEHOLDS: 0}
    for table in tables.values():
        assert sum(table.values) == expected[table.measure], table.name


def test_the_main_discipline_is_the_one_with_most_tickets() -> None:
    # Household n: 3 tickets in discipline a, 1 + 1 in discipline b (never a tie).
    rows = []
    expected = [0] * len(DISCIPLINES)
    for n in range(60):
        a, b = DISCIPLINES[n % 12], DISCIPLINES[(n * 5 + 1) % 12]
        if a == b:
            b = DISCIPLINES[(n + 1) % 12]
        rows += [
            visit(n, 0, discipline=b, tickets=1),
            visit(n, 1, discipline=a, tickets=3),
            visit(n, 2, discipline=b, tickets=1),
        ]
        expected[DISCIPLINES.index(a)] += 1
    visits = frame(rows)
    assert _tables(visits)["households_by_discipline"].values == tuple(expected)
    # while visits by discipline count each ticket under its own discipline
    assert sum(_tables(visits)["visits_by_discipline"].values) == 60 * 5


def test_a_tie_between_disciplines_is_broken_by_hash_whatever_the_row_order() -> None:
    visits = frame(
        [visit(n, 0, discipline="music", tickets=2) for n in range(200)]
        + [visit(n, 1, discipline="theater", tickets=2) for n in range(200)]
    )
    first = _tables(visits)["households_by_discipline"].values
    for seed in range(3):
        shuffled = visits.sample(fraction=1.0, shuffle=True, seed=seed)
        assert _tables(shuffled)["households_by_discipline"].values == first
    music, theater = first[DISCIPLINES.index("music")], first[DISCIPLINES.index("theater")]
    assert music + theater == 200
    assert 60 < music < 140  # a hash per household, not the first or the lowest discipline


def _link_key(n: int) -> bytes:
    return hashlib.sha256(f"link {n}".encode()).digest()


def test_returning_matches_the_link_key_when_the_visits_carry_one() -> None:
    visits = frame([visit(n, 0) for n in range(10)]).with_columns(
        pl.Series("link_key", [_link_key(n) for n in range(10)], dtype=pl.Binary)
    )
    earlier = pl.Series([_link_key(n) for n in (1, 2, 3, 77)], dtype=pl.Binary)
    assert _tables(visits, earlier=earlier)["households_by_returning"].values == (7, 3)
    # the household keys (another period's sector key) are not what is matched
    by_household = pl.Series([household_key(n) for n in (1, 2, 3)], dtype=pl.Binary)
    assert _tables(visits, earlier=by_household)["households_by_returning"].values == (10, 0)


def test_returning_falls_back_to_the_household_key_without_a_link_key() -> None:
    # frames of the stored schema carry the column (null for old files); this one has none
    visits = frame([visit(n, i) for n in range(10) for i in range(2)]).drop(
        "link_key", strict=False
    )
    earlier = pl.Series([household_key(n) for n in (4, 5)], dtype=pl.Binary)
    assert _tables(visits, earlier=earlier)["households_by_returning"].values == (8, 2)
    assert _tables(visits)["households_by_returning"].values == (10, 0)


def test_a_period_without_visits_gives_every_table_all_zeros(
    sector_visits: Callable[[int], pl.DataFrame],
) -> None:
    empty = _tables(pl.DataFrame(schema=VISIT_SCHEMA))
    full = _tables(sector_visits(20))
    assert tuple(empty) == table_names()
    for name, table in empty.items():
        assert table.keys == full[name].keys
        assert set(table.values) == {0}
        assert table.sensitivity == full[name].sensitivity


def test_visits_outside_the_period_count_in_no_table() -> None:
    inside = frame([visit(1, 0, visit_date=date(2026, 8, 1), tickets=2)])
    outside = frame([visit(2, 0, visit_date=date(2026, 10, 1), tickets=5)])
    tables = _tables(pl.concat([inside, outside]))
    assert {sum(t.values) for t in tables.values() if t.measure == HOUSEHOLDS} == {1}
    assert {sum(t.values) for t in tables.values() if t.measure == VISITS} == {2}


def test_the_earlier_households_are_returning_or_lapsed_each_once() -> None:
    visits = frame([visit(n, i) for n in range(10) for i in range(2)]).with_columns(
        pl.Series("link_key", [_link_key(n) for n in range(10) for _ in range(2)])
    )
    # earlier: 1, 2 and 3 came back, 77 and 78 did not; a repeated key is one household
    earlier = pl.Series([_link_key(n) for n in (1, 2, 3, 3, 77, 78)], dtype=pl.Binary)
    tables = _tables(visits, earlier=earlier)
    loyalty = tables["earlier_households_by_loyalty"]
    assert loyalty.keys == (("returning",), ("lapsed",))
    assert loyalty.values == (3, 2)
    assert tables["households_by_returning"].values == (7, 3)
    assert _tables(visits)["earlier_households_by_loyalty"].values == (0, 0)


def test_recency_counts_days_from_the_last_visit_to_the_period_end() -> None:
    # 2026-Q3 ends on 30 September; each household's last visit decides its band
    last = {0: date(2026, 9, 30), 1: date(2026, 9, 17), 2: date(2026, 9, 16),
            3: date(2026, 8, 31), 4: date(2026, 8, 1), 5: date(2026, 7, 1)}  # fmt: skip
    rows = [visit(n, 0, visit_date=day) for n, day in last.items()]
    rows += [visit(n, 1, visit_date=day - timedelta(days=40)) for n, day in last.items() if n < 4]
    recency = _tables(frame(rows))["households_by_recency"]
    assert recency.keys == (("0-13",), ("14-29",), ("30-59",), ("60+",))
    # 0 and 13 days; 14 days; 30 days; 60 and 91 days
    assert recency.values == (2, 1, 1, 2)


def test_the_discipline_count_is_the_number_of_distinct_disciplines() -> None:
    mixes = [["music"], ["music", "music"], ["music", "film"], ["film", "music", "dance"],
             ["film", "music", "dance", "opera", "music"]]  # fmt: skip
    rows = [visit(n, i, discipline=d) for n, mix in enumerate(mixes) for i, d in enumerate(mix)]
    counts = _tables(frame(rows))["households_by_discipline_count"]
    assert counts.keys == (("1",), ("2",), ("3_or_more",))
    assert counts.values == (2, 1, 2)


# Centroids on a line of longitude 5.0: 0.1 degree of latitude is about 11.1 km.
CENTROIDS = pl.DataFrame(
    {
        "pc4": [3511, 3512, 3600, 3700, 3800],
        "lat": [52.0, 52.1, 52.2, 52.4, 53.0],
        "lon": [5.0] * 5,
    },
    schema={"pc4": pl.Int64, "lat": pl.Float64, "lon": pl.Float64},
)


def _catchment(visits: pl.DataFrame, **kwargs: object) -> dict[tuple[str, ...], int]:
    model = dataclasses.replace(MODEL, centroids=kwargs.pop("centroids", CENTROIDS))
    config = ReleaseConfig(**kwargs)  # type: ignore[arg-type]
    (table,) = [
        t
        for t in build_tables(visits, model, config, period=PERIOD)
        if t.name == "households_by_segment_catchment"
    ]
    per_band: dict[tuple[str, ...], int] = {}
    for (_, band), value in zip(table.keys, table.values, strict=True):
        per_band[(band,)] = per_band.get((band,), 0) + value
    return per_band


def test_the_catchment_band_is_the_households_pc4_centroid_from_the_institutions() -> None:
    # 3511 itself and 3512 (11 km) within 15 km, 3600 (22 km) 15-30, 3700 (44 km)
    # 30-60, 3800 (111 km) beyond; 9999 has no centroid; household 6 lives in
    # two PC4s and counts at its lowest (3512)
    pc4s = {0: "3511", 1: "3512", 2: "3600", 3: "3700", 4: "3800", 5: "9999", 6: "3800"}
    rows = [visit(n, 0, pc4=pc4) for n, pc4 in pc4s.items()] + [visit(6, 1, pc4="3512")]
    bands = _catchment(frame(rows), home_pc4="3511")
    assert tuple(band for (band,) in bands) == BANDS
    assert tuple(bands.values()) == (3, 1, 1, 1, 1)


def test_without_centroids_or_the_institutions_pc4_every_catchment_is_unknown() -> None:
    rows = frame([visit(n, 0, pc4=pc4) for n, pc4 in enumerate(["3511", "3600", "3800"])])
    unknown_only = {(band,): 3 if band == "unknown" else 0 for band in BANDS}
    assert _catchment(rows) == unknown_only  # no home_pc4
    assert _catchment(rows, home_pc4="1234") == unknown_only  # no centroid of its own
    assert _catchment(rows, home_pc4="3511", centroids=None) == unknown_only  # a /1 model
    assert _catchment(rows, home_pc4="3511")[("unknown",)] == 0


def test_a_household_is_in_the_province_the_model_gives_its_pc4() -> None:
    """The model's own PC4 → province (the aggregator counts each province's
    population from it) wins over the PC4 ranges; a PC4 outside the model keeps
    its range's province."""
    rows = frame([visit(n, 0, pc4=pc4) for n, pc4 in enumerate(["3511", "3512", "1012"])])
    centroids = CENTROIDS.with_columns(
        pl.Series("province", ["utrecht", "gelderland", "utrecht", "utrecht", "utrecht"])
    )
    model = dataclasses.replace(MODEL, centroids=centroids)
    (table,) = [
        t
        for t in build_tables(rows, model, ReleaseConfig(), period=PERIOD)
        if t.name == "households_by_province"
    ]
    counts = {key[0]: value for key, value in zip(table.keys, table.values, strict=True)}
    assert (counts["utrecht"], counts["gelderland"], counts["noord-holland"]) == (1, 1, 1)
