"""The v2 table set: exactly the release design, every table a partition, the
main discipline and new vs returning as documented, and a period without
visits releasing zeros for every table."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date

import polars as pl
import pytest

from agent.segments import synthetic_demo_model
from agent.tables import ReleaseConfig, build_tables
from agent.visits import DISCIPLINES, VISIT_SCHEMA
from dp.measurements import GAUSSIAN, LAPLACE, TableRequest
from dp.release_design import (
    DEFAULT_MAX_VISITS,
    HOUSEHOLDS,
    TABLE_DESIGN,
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
        assert table.sensitivity == (1.0 if design.measure == HOUSEHOLDS else 9.0)
        assert table.rho == pytest.approx(rho_share(design.name, 0.4))
    assert sum(t.rho for t in tables.values()) == pytest.approx(0.4)
    assert ReleaseConfig().max_visits == DEFAULT_MAX_VISITS == 12


def test_every_table_is_a_partition(sector_visits: Callable[[int], pl.DataFrame]) -> None:
    heavy = frame([visit(9_999, i, tickets=4) for i in range(30)])  # 120 tickets, cut to 12
    visits = pl.concat([sector_visits(120), heavy])
    tables = _tables(visits)
    per_household = visits.group_by("household_key").agg(pl.col("tickets").sum())
    counted = int(per_household["tickets"].clip(upper_bound=DEFAULT_MAX_VISITS).sum())
    for table in tables.values():
        expected = per_household.height if table.measure == HOUSEHOLDS else counted
        assert sum(table.values) == expected, table.name


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
    assert {sum(t.values) for t in tables.values() if t.measure != HOUSEHOLDS} == {2}
