"""The key set of every table is public: it depends on the period config, the
segment model and fixed bands, never on the data."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import pytest

from agent.periods import months_of
from agent.segments import synthetic_demo_model
from agent.tables import ReleaseConfig, build_tables, key_set
from agent.visits import VISIT_SCHEMA
from dp.release_design import TABLE_DESIGN, table_names
from protocol.errors import InvalidPayload

from .conftest import frame, visit

MODEL = synthetic_demo_model()


def _keys(visits: pl.DataFrame, period: str = "2026-Q3") -> dict[str, tuple[tuple[str, ...], ...]]:
    return {r.name: r.keys for r in build_tables(visits, MODEL, ReleaseConfig(), period=period)}


def test_two_unrelated_datasets_release_identical_key_sets(
    sector_visits: Callable[[int], pl.DataFrame],
) -> None:
    lone = frame([visit(1, 0, discipline="film", pc4=None, birth_year=None)])
    assert _keys(sector_visits(300)) == _keys(lone)


def test_the_key_sets_are_the_public_products_of_the_dimension_labels() -> None:
    keys = _keys(frame([visit(5, 0)]))
    assert tuple(keys) == table_names()
    for table in TABLE_DESIGN:
        assert keys[table.name] == key_set(table, MODEL, "2026-Q3")


def test_empty_cells_are_released_like_the_rest() -> None:
    keys = _keys(frame([visit(5, 0, discipline="film")]))
    assert len(keys["households_by_segment_discipline"]) == 8 * 12
    assert len(keys["households_by_province"]) == 13
    assert len(keys["visits_by_discipline_month"]) == 12 * 3


def test_a_period_without_visits_has_the_same_key_sets(
    sector_visits: Callable[[int], pl.DataFrame],
) -> None:
    assert _keys(pl.DataFrame(schema=VISIT_SCHEMA)) == _keys(sector_visits(30))


def test_months_follow_the_period_label() -> None:
    assert months_of("2026-Q3") == ("2026-07", "2026-08", "2026-09")
    assert months_of("2026-Q1") == ("2026-01", "2026-02", "2026-03")
    with pytest.raises(InvalidPayload, match="quarters only"):
        months_of("2026-M11")  # periods are quarters only (issue 12)
