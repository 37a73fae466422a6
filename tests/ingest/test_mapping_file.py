"""The mapping file as people write it: keys that TOML puts in another table than meant."""

from __future__ import annotations

import tomllib

import pytest

from agent.ingest.mapping import Mapping
from protocol.errors import UsageError
from tests.ingest.ingest_fixtures import MAPPING


def load(text: str) -> Mapping:
    return Mapping.from_dict(tomllib.loads(text), where="map.toml")


def test_default_discipline_at_the_top() -> None:
    assert load('default_discipline = "museum"\n' + MAPPING).default_discipline == "museum"


def test_default_discipline_appended_below_the_discipline_map_is_the_default() -> None:
    mapping = load(MAPPING + 'default_discipline = "theater"\n')
    assert mapping.default_discipline == "theater"
    assert "default_discipline" not in mapping.discipline_map


def test_default_discipline_given_twice_is_refused() -> None:
    with pytest.raises(UsageError, match="twice"):
        load('default_discipline = "music"\n' + MAPPING + 'default_discipline = "theater"\n')


@pytest.mark.parametrize("table", ["columns", "source"])
def test_default_discipline_inside_another_table_says_where_it_belongs(table: str) -> None:
    text = f'[{table}]\ndefault_discipline = "theater"\n\n' + MAPPING.replace("[columns]\n", "")
    if table == "source":
        text = MAPPING + '\n[source]\ndefault_discipline = "theater"\n'
    with pytest.raises(UsageError, match=rf"inside \[{table}\]") as caught:
        load(text)
    assert "top of the mapping file" in (caught.value.hint or "")
