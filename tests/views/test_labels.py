"""Every name the release design can put on a page has a Dutch and an English label."""

from __future__ import annotations

import pytest

from dp.release_design import SEGMENTS, TABLE_DESIGN
from dp.release_design import labels as key_set
from views import labels

PERIOD = "2026-Q3"
DIMENSIONS = sorted({d for t in TABLE_DESIGN for d in t.dimensions})


def both(text: labels.Text) -> bool:
    return set(text) == set(labels.LANGUAGES) and all(v.strip() for v in text.values())


@pytest.mark.parametrize("table", TABLE_DESIGN, ids=lambda t: t.name)
def test_every_table_has_a_title_in_both_languages(table: object) -> None:
    assert both(labels.TABLES[table.name])  # type: ignore[attr-defined]
    assert both(labels.MEASURES[table.measure])  # type: ignore[attr-defined]


@pytest.mark.parametrize("dimension", DIMENSIONS)
def test_every_dimension_has_a_name_in_both_languages(dimension: str) -> None:
    assert both(labels.DIMENSIONS[dimension])


@pytest.mark.parametrize("model", sorted(SEGMENTS))
@pytest.mark.parametrize("dimension", [d for d in DIMENSIONS if d != "month"])
def test_every_key_has_a_label_in_both_languages(dimension: str, model: str) -> None:
    for key in key_set(dimension, segment_model=model, period=PERIOD):
        assert both(labels.KEYS[dimension][key]), (dimension, key)


def test_months_are_named_in_both_languages() -> None:
    for period in ("2026-Q1", "2026-Q4"):
        for key in key_set("month", segment_model="synthetic-2026.1", period=period):
            assert labels.key_label("month", key, "nl") != key
            assert labels.key_label("month", key, "en") != key
    assert labels.key_label("month", "2026-07", "nl") == "juli 2026"
    assert labels.key_label("month", "2026-07", "en") == "July 2026"


def test_the_same_key_reads_after_its_dimension() -> None:
    assert labels.key_label("returning", "returning", "nl") == "terugkerend"
    assert labels.key_label("loyalty", "returning", "nl") == "teruggekomen"


def test_a_name_outside_the_design_is_shown_as_it_is() -> None:
    assert labels.table_title("households_by_town", "nl") == "households_by_town"
    assert labels.key_label("month", "2026-13", "en") == "2026-13"


def test_dutch_is_the_default_and_only_known_languages_are_used() -> None:
    assert labels.language(None) == "nl"
    assert labels.language("en") == "en"
    assert labels.language("fr") == "nl"
