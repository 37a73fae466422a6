"""Contribution bounding really bounds: one household moves no released cell
(and no table, in the mechanism's norm) by more than the declared sensitivity
before noise, however many visits it has."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.segments import synthetic_demo_model
from agent.tables import ReleaseConfig, build_tables
from agent.visits import DISCIPLINES
from dp.measurements import GAUSSIAN, LAPLACE, TableRequest
from dp.release_design import TABLE_DESIGN

from .conftest import frame, visit

MODEL = synthetic_demo_model()
PERIOD = "2026-Q3"


def heavy_household(visits: int, *, n: int = 999_999) -> pl.DataFrame:
    """One household spread over every discipline, day and PC4."""
    return frame(
        [
            visit(
                n,
                i,
                visit_date=date(2026, 7, 1) + timedelta(days=i % 92),
                discipline=DISCIPLINES[i % len(DISCIPLINES)],
                tickets=1 + i % 9,
                birth_year=1930 + i % 90,
                pc4=str(1000 + (i * 37) % 9000),
            )
            for i in range(visits)
        ]
    )


def _by_name(requests: list[TableRequest]) -> dict[str, TableRequest]:
    return {r.name: r for r in requests}


def _distances(
    without: pl.DataFrame,
    with_: pl.DataFrame,
    config: ReleaseConfig,
    *,
    earlier: tuple[pl.Series, pl.Series] | None = None,
) -> list[tuple[str, float, float, float]]:
    """(table, largest cell change, norm of the change, declared sensitivity).

    ``earlier``: the earlier periods' link keys without and with the household."""
    before, after = earlier if earlier is not None else (None, None)
    a = _by_name(build_tables(without, MODEL, config, period=PERIOD, earlier_link_keys=before))
    b = _by_name(build_tables(with_, MODEL, config, period=PERIOD, earlier_link_keys=after))
    out = []
    for name, request in a.items():
        diff = [x - y for x, y in zip(b[name].values, request.values, strict=True)]
        norm = (
            math.sqrt(sum(d * d for d in diff))
            if config.mechanism == GAUSSIAN
            else float(sum(abs(d) for d in diff))
        )
        out.append((name, float(max(abs(d) for d in diff)), norm, request.sensitivity))
    return out


@pytest.mark.slow  # 0.4 s or more: outside the inner loop (ADR 0032)
@pytest.mark.parametrize("mechanism", [GAUSSIAN, LAPLACE])
def test_a_household_with_10000_visits_moves_no_table_beyond_its_sensitivity(
    sector_visits: Callable[[int], pl.DataFrame], mechanism: str
) -> None:
    base = sector_visits(200)
    config = ReleaseConfig(mechanism=mechanism, home_pc4="3511")
    changes = _distances(base, pl.concat([base, heavy_household(10_000)]), config)
    assert len(changes) == len(TABLE_DESIGN)
    for name, largest, norm, sensitivity in changes:
        assert largest <= sensitivity + 1e-9, name
        assert norm <= sensitivity + 1e-9, name
    # the heavy household does reach the bounds: the check is not vacuous
    assert max(norm / s for _, _, norm, s in changes) == pytest.approx(1.0)


def _linked(visits: pl.DataFrame) -> pl.DataFrame:
    """The visits with a link key per household (its household key, rehashed)."""
    return visits.with_columns(
        pl.col("household_key")
        .map_elements(lambda key: hashlib.sha256(b"link" + key).digest(), return_dtype=pl.Binary)
        .alias("link_key")
    )


@pytest.mark.parametrize("where", ["earlier and now", "earlier only", "now only"])
def test_a_household_of_the_earlier_periods_moves_each_table_by_its_sensitivity_at_most(
    sector_visits: Callable[[int], pl.DataFrame], where: str
) -> None:
    """Adding a household means adding it everywhere the release reads: its visits
    this period and its link key in the periods looked back on."""
    base = _linked(sector_visits(120))
    heavy = _linked(heavy_household(3_000))
    base_keys = base["link_key"].unique()
    earlier_base = pl.concat([base_keys.head(60), pl.Series([b"gone"], dtype=pl.Binary)])
    with_earlier = pl.concat([earlier_base, heavy["link_key"].unique()])
    now = pl.concat([base, heavy]) if where != "earlier only" else base
    earlier = (earlier_base, with_earlier if where != "now only" else earlier_base)
    changes = _distances(base, now, ReleaseConfig(home_pc4="3511"), earlier=earlier)
    for name, largest, norm, sensitivity in changes:
        assert largest <= sensitivity + 1e-9, name
        assert norm <= sensitivity + 1e-9, name
    moved = {name for name, largest, _, _ in changes if largest}
    assert ("earlier_households_by_loyalty" in moved) == (where != "now only")
    assert ("households_by_returning" in moved) == (where != "earlier only")


def test_a_household_within_the_bounds_is_counted_exactly(
    sector_visits: Callable[[int], pl.DataFrame],
) -> None:
    base = sector_visits(50)
    one = frame([visit(7_777, 0, discipline="music", tickets=3, visit_date=date(2026, 8, 5))])
    after = _by_name(build_tables(pl.concat([base, one]), MODEL, ReleaseConfig(), period=PERIOD))
    before = _by_name(build_tables(base, MODEL, ReleaseConfig(), period=PERIOD))
    months = after["visits_by_discipline_month"]
    changed = {
        k: y - x
        for k, x, y in zip(
            months.keys, before["visits_by_discipline_month"].values, months.values, strict=True
        )
        if y != x
    }
    assert changed == {("music", "2026-08"): 3}


@settings(max_examples=15, deadline=None)
@given(
    visits=st.integers(min_value=1, max_value=400),
    tickets=st.integers(min_value=1, max_value=60),
    max_visits=st.integers(min_value=1, max_value=30),
)
@pytest.mark.slow
def test_any_household_stays_within_the_declared_sensitivity(
    visits: int, tickets: int, max_visits: int
) -> None:
    base = frame([visit(n, i) for n in range(40) for i in range(1 + n % 3)])
    extra = heavy_household(visits).with_columns(pl.lit(tickets, dtype=pl.Int32).alias("tickets"))
    config = ReleaseConfig(max_visits=max_visits)
    for name, largest, norm, sensitivity in _distances(base, pl.concat([base, extra]), config):
        assert largest <= sensitivity + 1e-9, name
        assert norm <= sensitivity + 1e-9, name


def test_bounded_tables_do_not_depend_on_the_order_of_the_export(
    sector_visits: Callable[[int], pl.DataFrame],
) -> None:
    visits = pl.concat([sector_visits(60), heavy_household(500)])
    shuffled = visits.sample(fraction=1.0, shuffle=True, seed=3)
    config = ReleaseConfig(max_visits=7)
    first = build_tables(visits, MODEL, config, period=PERIOD)
    second = build_tables(shuffled, MODEL, config, period=PERIOD)
    assert [r.values for r in first] == [r.values for r in second]
