"""The sector overview's page model (``aggregator.sector_view``): which periods
a reader may open, which group a selection resolves to and why, and how the
figures of the other APIs read on the page."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request

from aggregator.sector_view import (
    PUBLIC,
    TASKFORCE,
    Filters,
    OverviewInputs,
    PeriodChoice,
    Resolved,
    crossover_section,
    default_period,
    downloads,
    figure_cell,
    profile_section,
    readable,
    render_overview,
    resolve,
)
from aggregator.web_chrome import chrome

PERIODS = [
    PeriodChoice("2026-Q1", "published"),
    PeriodChoice("2026-Q2", "closed"),
    PeriodChoice("2026-Q3", "open"),
]


def request(path: str = "/") -> Request:
    return Request({"type": "http", "method": "GET", "path": path, "query_string": b"",
                    "headers": [], "scheme": "http", "server": ("127.0.0.1", 80)})  # fmt: skip


def test_the_public_reads_published_periods_only_and_the_taskforce_every_one() -> None:
    assert [p.label for p in readable(PERIODS, PUBLIC)] == ["2026-Q1"]
    assert readable(PERIODS, TASKFORCE) == PERIODS


def test_the_default_period_is_the_newest_published_then_closed_then_any() -> None:
    assert default_period(PERIODS) == PERIODS[0]
    assert default_period(PERIODS[1:]) == PERIODS[1]
    assert default_period(PERIODS[2:]) == PERIODS[2]
    assert default_period([]) is None


def test_unknown_filter_values_are_dropped_not_echoed() -> None:
    assert Filters.of("<script>", "atlantis", "huge") == Filters()
    assert Filters.of("museum", "utrecht", "small") == Filters("museum", "utrecht", "small")


def test_a_selection_resolves_to_the_narrowest_visible_group_and_says_why() -> None:
    visible = ["sector", "museum/west/small", "museum/nl/all"]
    found = resolve(Filters("museum", "noord-holland", "small"), visible, k=5, lang="en")
    assert found.group_id == "museum/west/small"
    assert found.reasons == [
        (
            "museum/noord-holland/small is not a peer group in this period (fewer than 5 "
            "institutions, or merged into a wider one)."
        )
    ]
    # Without a size class there is no province group: the discipline nationally.
    found = resolve(Filters("museum", "utrecht", ""), visible, k=5, lang="nl")
    assert found.group_id == "museum/nl/all" and "grootteklasse" in found.reasons[0]
    # Without a discipline the sector is the only group consistent with the selection.
    found = resolve(Filters("", "utrecht", "small"), visible, k=5, lang="en")
    assert found.group_id == "sector" and "without a discipline" in found.reasons[0]
    assert resolve(Filters(), visible, k=5, lang="en") == Resolved("sector", [])


def test_a_group_named_by_an_old_link_is_kept_when_it_is_visible() -> None:
    visible = ["sector", "museum/nl/all"]
    assert resolve(Filters(), visible, k=5, lang="en", asked="museum/nl/all").group_id == (
        "museum/nl/all"
    )
    gone = resolve(Filters(), visible, k=5, lang="en", asked="theater/nl/all")
    assert gone.group_id == "sector" and gone.reasons[0].startswith("theater/nl/all is not a")


FIGURE = {"estimate": 1234.5, "ci95_low": 0.0, "ci95_high": 2000.25, "too_uncertain": False}
HIDDEN = {"estimate": None, "ci95_low": None, "ci95_high": None, "too_uncertain": True}


def test_a_figure_reads_in_the_readers_notation_and_a_gap_says_why() -> None:
    cell = figure_cell("x", FIGURE, "nl", digits=2)
    assert (cell.estimate_text, cell.low_text, cell.high_text) == ("1.234,50", "0,00", "2.000,25")
    assert figure_cell("x", FIGURE, "en", digits=2).estimate_text == "1,234.50"
    assert figure_cell("x", HIDDEN, "nl").gap == "te onzeker"
    assert figure_cell("x", None, "en").gap == "too few institutions"


def segment(name: str, **figures: Any) -> dict[str, Any]:
    return {"segment": name, "province": None, "population": 50_000,
            "visitors": figures.get("visitors", FIGURE), "penetration": figures.get("pen", FIGURE),
            "not_yet_visitors": FIGURE, "profile_index": figures.get("index", FIGURE),
            "represented": figures.get("represented", "over")}  # fmt: skip


PENETRATION = {
    "listed": True, "catchment": "country",
    "segments": [segment("students"), segment("village-life", index=HIDDEN, represented=None)],
}  # fmt: skip


def test_the_profile_shows_the_apis_figures_and_its_gaps() -> None:
    section = profile_section(PENETRATION, "", "en")
    students, village = section.rows
    assert students.label == "students"
    assert [c.estimate for c in students.cells] == [50_000, 1234.5, 1234.5, 1234.5]
    assert village.cells[3].gap == "too uncertain"
    assert section.texts == [["over"], ["–"]]
    assert section.chart is not None and "too uncertain" in section.chart


def test_a_profile_not_listed_or_not_available_shows_no_number() -> None:
    hidden = profile_section({**PENETRATION, "listed": False}, "", "en")
    assert hidden.rows == [] and hidden.unavailable == "too few institutions"
    gone = profile_section(None, "no_population", "nl")
    assert gone.unavailable.startswith("Niet beschikbaar: het segmentmodel")


CROSSOVER = {
    "groups": [{"group": "museum", "institutions": 6}, {"group": "pooled", "institutions": 3}],
    "cells": [
        {"left": "museum", "right": "museum", "listed": True, "shared_households": FIGURE},
        {"left": "museum", "right": "pooled", "listed": False, "shared_households": HIDDEN},
        {"left": "pooled", "right": "pooled", "listed": False, "shared_households": HIDDEN},
    ],
}


def test_the_crossover_lists_each_pair_once_and_pooled_groups_by_name() -> None:
    section = crossover_section(CROSSOVER, "", "nl", k=5)
    assert [r.label for r in section.rows] == [
        "museum × museum",
        "museum × samengevoegd",
        "samengevoegd × samengevoegd",
    ]
    assert section.rows[1].cells[0].gap == "te weinig instellingen"
    assert section.chart is not None and "samengevoegd" in section.chart


def test_downloads_of_an_unpublished_period_go_through_the_taskforce_route() -> None:
    published = {
        d["href"] for d in downloads(TASKFORCE, PERIODS[0], "sector", profile=True, overlaps=True)
    }
    assert "/v1/periods/2026-Q1/benchmarks.csv?group=sector" in published
    assert "/v1/periods/2026-Q1/penetration?group=sector" in published
    assert "/taskforce/periods/2026-Q1/profile.csv?group=sector" in published
    assert "/taskforce/periods/2026-Q1/overlaps.parquet" in published
    public = {d["href"] for d in downloads(PUBLIC, PERIODS[0], "sector", overlaps=True)}
    assert "/periods/2026-Q1/overlaps.csv" in public
    assert not any("profile" in h for h in public)  # the page shows no profile: none to download
    closed = downloads(TASKFORCE, PERIODS[1], "museum/nl/all", profile=True)
    hrefs = [d["href"] for d in closed]
    assert not any(h.startswith("/v1/") for h in hrefs)  # the JSON API wants a token then
    assert "/taskforce/periods/2026-Q2/benchmarks.parquet?group=museum%2Fnl%2Fall" in hrefs
    assert "/taskforce/periods/2026-Q2/profile.parquet?group=museum%2Fnl%2Fall" in hrefs


def cell(table: str, dims: list[str], key: list[str], estimate: int | None) -> dict[str, Any]:
    shown = estimate is not None
    return {"table": table, "measure": "households", "dimensions": dims,
            **dict(zip(dims, key, strict=True)), "institutions": 6, "published": shown,
            "too_uncertain": not shown, "estimate": estimate,
            "ci95_low": None if estimate is None else estimate - 100.4,
            "ci95_high": None if estimate is None else estimate + 100.4}  # fmt: skip


GROUP = {
    "group_id": "sector", "level": "sector", "institutions": 6, "merged_groups": 0,
    "cells": [
        cell("households_by_province", ["province"], ["utrecht"], 5000),
        cell("households_by_province", ["province"], ["zeeland"], None),
        cell("households_by_returning", ["returning"], ["new"], 700),
        cell("households_by_frequency_band", ["frequency_band"], ["1"], 50),
    ],
}  # fmt: skip


def overview(audience: str, period: PeriodChoice, lang: str = "nl", **extra: Any) -> str:
    inputs = OverviewInputs(
        audience=audience, periods=PERIODS, period=period, k=5, groups=[GROUP],
        resolved=Resolved("sector", ["why"]), filters=Filters("museum"),
        segment_model="synthetic-2026.1", penetration=PENETRATION, penetration_reason="",
        crossover=CROSSOVER, crossover_reason="", reach=extra.get("reach"),
    )  # fmt: skip
    return render_overview(inputs, lang=lang, chrome=chrome(request("/taskforce"), None, lang))


def test_the_page_has_its_sections_a_map_and_a_get_form_without_script() -> None:
    html = overview(TASKFORCE, PERIODS[0])
    assert "<script" not in html
    assert re.search(r'<form method="get" action="/taskforce"', html)
    for anchor in ("headline", "profile", "crossover", "downloads"):
        assert f'id="{anchor}"' in html
    assert ">UT</text>" in html  # the tile map
    assert "Zo lees je de foutbalken" in html and "<li>why</li>" in html
    assert 'data-key="zeeland" data-gap="too_few"' not in html  # listed: too uncertain
    assert 'data-key="zeeland" data-gap="too_uncertain">te onzeker<' in html
    assert 'data-key="drenthe" data-gap="too_few">te weinig instellingen<' in html


def test_an_unpublished_period_is_labelled_as_such() -> None:
    assert "niet gepubliceerd: alleen de taskforce" in overview(TASKFORCE, PERIODS[1])
    assert "provisional: only the taskforce" in overview(TASKFORCE, PERIODS[2], "en")
    assert "alleen de taskforce" not in overview(PUBLIC, PERIODS[0])


def test_the_sectors_reach_is_a_labelled_lower_bound_among_the_headline_figures() -> None:
    reach = {"reach": FIGURE, "mean_institutions": FIGURE, "household_institution_pairs": HIDDEN}
    html = overview(PUBLIC, PERIODS[0], "en", reach=reach)
    assert "households reached (lower bound)" in html
    pairs = (
        r'<tr data-table="reach"><th scope="row">household–institution pairs</th>'
        r'<td class="gap" data-key="pairs" data-gap="too_uncertain">'
    )
    assert re.search(pairs, html)


def test_no_number_on_the_page_is_negative() -> None:
    html = overview(TASKFORCE, PERIODS[0])
    values = [float(v) for v in re.findall(r'<data class="\w+" value="([^"]+)"', html)]
    assert values and min(values) >= 0


def test_every_word_has_both_languages_with_the_same_placeholders() -> None:
    from aggregator.sector_view import WORDS
    from aggregator.trends import TREND_WORDS

    for words in (WORDS, TREND_WORDS):
        for name, text in words.items():
            assert set(text) == {"nl", "en"}, name
            assert re.findall(r"{\w+}", text["nl"]) == re.findall(r"{\w+}", text["en"]), name
