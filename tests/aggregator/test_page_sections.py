"""A table's section as the sector pages render it (``aggregator.page_sections``,
laid out by the overview): what a reader sees of each kind of cell, in Dutch
and in English."""

from __future__ import annotations

import re
from typing import Any

from aggregator.page_sections import PHRASES, STYLE
from tests.aggregator.overview_page import overview_of
from views.labels import LANGUAGES

PERIOD = "2026-Q3"
MODEL = "synthetic-2026.1"


def cell(key: str, **stats: Any) -> dict[str, Any]:
    shown = stats.get("estimate") is not None
    return {
        "table": "households_by_province", "measure": "households",
        "dimensions": ["province"], "province": key, "institutions": 6,
        "published": shown, "too_uncertain": not shown, "std": 10.0,
        "estimate": None, "ci95_low": None, "ci95_high": None, **stats,
    }  # fmt: skip


CELLS = [
    cell("utrecht", estimate=1234, ci95_low=-3.6, ci95_high=2471.5),
    cell("zeeland", estimate=5678, ci95_low=5000.2, ci95_high=6355.9),
    cell("limburg"),
]
GROUP = {"group_id": "sector", "level": "sector", "institutions": 6, "merged_groups": 0,
         "cells": CELLS}  # fmt: skip


def page(lang: str = "nl", group: dict[str, Any] = GROUP) -> str:
    return overview_of(group, period=PERIOD, lang=lang, segment_model=MODEL)


def td(html: str, key: str) -> str:
    match = re.search(rf'<td[^>]*data-key="{re.escape(key)}"[^>]*>(.*?)</td>', html, re.S)
    assert match, key
    return match.group(0)


def test_a_number_is_shown_with_its_interval_in_the_readers_format() -> None:
    zeeland = td(page(), "zeeland")
    assert '<data class="estimate" value="5678">5.678</data>' in zeeland
    assert ">5.000<" in zeeland and ">6.356<" in zeeland
    assert ">5,678<" in td(page("en"), "zeeland")


def test_a_lower_bound_below_zero_is_shown_as_zero_and_marked() -> None:
    html = page()
    utrecht = td(html, "utrecht")
    assert '<data class="low" value="0">0</data><span class="clamped">*</span>' in utrecht
    assert PHRASES["clamped_note"]["nl"] in html
    assert not re.search(r">-\d", html), "a negative number is shown"


def test_an_uncertain_cell_says_so_and_shows_no_number() -> None:
    limburg = td(page(), "limburg")
    assert 'data-gap="too_uncertain"' in limburg and "te onzeker" in limburg
    assert "<data" not in limburg
    assert "too uncertain" in td(page("en"), "limburg")


def test_a_key_fewer_than_k_institutions_sent_says_too_few() -> None:
    groningen = td(page(), "groningen")  # in the key set, not listed
    assert 'data-gap="too_few"' in groningen and "te weinig instellingen" in groningen
    assert "too few institutions" in td(page("en"), "groningen")


def test_tables_and_keys_have_human_labels() -> None:
    html = page()
    assert "Huishoudens per provincie" in html and "Fryslân" in html
    assert "households_by_province</" not in html
    assert "Households by province" in page("en")


def test_the_table_is_accessible_and_the_page_has_its_parts() -> None:
    html = page()
    assert "<caption>" in html and '<th scope="col">' in html and '<th scope="row">' in html
    assert PHRASES["howto_title"]["nl"] in html and 'href="#t1-households_by_province"' in html
    assert "/v1/periods/2026-Q3/benchmarks.csv?group=sector" in html
    assert '<html lang="nl">' in html and '<html lang="en">' in page("en")


def test_the_only_style_is_the_stylesheet_and_there_is_no_script() -> None:
    html = page()
    assert re.findall(r"<style>(.*?)</style>", html, re.S) == [STYLE]
    assert not re.search(r"<script|\sstyle=|\son\w+=", html)


def test_a_group_id_is_escaped() -> None:
    odd = {**GROUP, "group_id": "<b>x</b>"}
    html = page(group=odd)
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html


def test_every_phrase_has_both_languages() -> None:
    for name, text in PHRASES.items():
        assert set(text) == set(LANGUAGES) and all(text.values()), name
