"""The institution's own report as a page (agent/own_report.py): its own exact
counts labelled as such, the groups' published shares with their intervals,
gaps that say why and never show a number, nothing negative, and a file that
needs nothing outside itself."""

from __future__ import annotations

import math
import re

import pytest

from agent.own_report import group_totals, percent, render_report
from tests.agent.own_report_sample import PEER_CELLS, SECTOR_CELLS, cell, published, read_report
from tests.agent.own_report_sample import report_input as sample

SEGMENTS = "households_by_segment"
OWN_COUNT, OWN_SHARE, PEER, SECTOR, POPULATION = range(5)


def page(lang: str = "nl", **changes: object) -> str:
    return render_report(sample(**changes), lang)


def test_own_counts_are_exact_and_labelled_as_the_institutions_own() -> None:
    html = page()
    rows = read_report(html).rows
    urban = rows[(SEGMENTS, "urban-young")]
    assert urban[OWN_COUNT].data == {"exact": "40"}
    assert urban[OWN_SHARE].data == {"exact": str(round(100 * 40 / 55, 4))}
    assert urban[OWN_SHARE].text == "72,7%"
    assert "eigen aantal (exact)" in html and "Eigen exacte aantallen" in html
    assert "verlaten het gebouw nooit" in html
    assert "never leave the building" in page("en")


def test_a_groups_share_is_its_published_estimate_over_its_total_with_the_interval() -> None:
    rows = read_report(page()).rows
    peer = rows[(SEGMENTS, "urban-young")][PEER]  # households total 600 + 400
    assert peer.count == "500"
    # The delta method for cell / total, the cell part of the total: σc = 99.2 / 3.92 = 25.31,
    # σT = √2 · 80 / 3.92 = 28.86; at s = 0.5 the cell's own noise cancels (1 − 2s = 0), so the
    # half-width is 1.96 · 0.5 · 28.86 / 1000 = 2.83 points (the count's alone would say 4.96).
    assert peer.data == {"estimate": "50.0", "low": "47.1716", "high": "52.8284"}
    assert re.sub(r"\s+", " ", peer.text) == "50,0%47,2% – 52,8%"
    sector = rows[(SEGMENTS, "students")][SECTOR]  # 1500 of 6000 + 4000
    assert sector.data["estimate"] == "15.0" and sector.count == "1500"


@pytest.mark.parametrize(
    ("lang", "too_few", "too_uncertain"),
    [
        ("nl", "te weinig instellingen", "te onzeker"),
        ("en", "too few institutions", "too uncertain"),
    ],
)
def test_a_hidden_cell_says_why_and_shows_no_number(
    lang: str, too_few: str, too_uncertain: str
) -> None:
    rows = read_report(page(lang)).rows
    below_k = rows[(SEGMENTS, "young-families")][PEER]
    uncertain = rows[(SEGMENTS, "students")][PEER]
    assert (below_k.gap, below_k.text, below_k.data) == ("too_few", too_few, {})
    assert (uncertain.gap, uncertain.text, uncertain.data) == ("too_uncertain", too_uncertain, {})


def test_a_lower_bound_below_zero_is_shown_as_zero_and_marked() -> None:
    html = page()
    unknown = read_report(html).rows[(SEGMENTS, "unknown")][PEER]
    assert unknown.data["low"] == "0.0" and "*" in unknown.text
    assert "De ondergrens van het interval lag onder 0" in html


def test_without_a_complete_table_a_groups_visits_have_no_share() -> None:
    rows = read_report(page()).rows
    peer = rows[("visits_by_month", "2026-07")][PEER]  # 2026-09 is hidden in the peer group
    assert (peer.gap, peer.text) == ("too_uncertain", "te onzeker")
    assert rows[("visits_by_month", "2026-07")][SECTOR].data["estimate"] == str(
        round(100 * 10000 / 27000, 4)
    )


def test_a_groups_total_comes_from_the_smallest_table_with_every_cell_published() -> None:
    sizes = {SEGMENTS: 4, "households_by_returning": 2, "visits_by_month": 3}
    sector = group_totals(SECTOR_CELLS, sizes)
    assert {m: t.value for m, t in sector.items()} == {"households": 10000.0, "visits": 27000.0}
    assert sector["households"].sd == pytest.approx(math.sqrt(2) * 200 / (2 * 1.959964))
    assert {m: t.value for m, t in group_totals(PEER_CELLS, sizes).items()} == {
        "households": 1000.0
    }


def test_a_too_uncertain_cell_adds_nothing_to_a_total_and_fewer_of_them_win() -> None:
    uncertain = [dict(c) for c in SECTOR_CELLS]
    uncertain[1] = {**uncertain[1], "too_uncertain": True, "estimate": None, "published": False}
    sizes = {SEGMENTS: 4, "households_by_returning": 2, "visits_by_month": 3}
    assert group_totals(uncertain, sizes)["households"].value == 10000.0  # the segments' sum
    alone = [c for c in uncertain if c["table"] == "households_by_returning"]
    assert {m: t.value for m, t in group_totals(alone, sizes).items()} == {"households": 6000.0}


def test_the_segments_stand_beside_the_catchments_population() -> None:
    rows = read_report(page()).rows
    assert rows[(SEGMENTS, "urban-young")][POPULATION].data == {"exact": "25.0"}
    assert rows[(SEGMENTS, "unknown")][POPULATION].gap == "none"
    html = page(published=published(population={}, population_missing="Not found"))
    assert "niet beschikbaar (Not found)" in html
    assert len(read_report(html).rows[(SEGMENTS, "urban-young")]) == 4


def test_overlaps_show_the_shared_households_and_their_part_of_the_own() -> None:
    rows = read_report(page()).rows
    sector = rows[("overlaps", "sector|sector")]
    assert sector[0].data == {"exact": "39"}
    assert sector[1].data == {"estimate": "22.0", "low": "12.0", "high": "32.0"}
    assert sector[2].data["estimate"] == "40.0"  # 22 of the own 55 households
    assert rows[("overlaps", "discipline|theater")][1].gap == "too_uncertain"
    missing = page(published=published(overlaps=[], overlaps_missing="Not found"))
    assert "Geen overlap beschikbaar (Not found)" in missing


def test_the_trend_lists_each_periods_own_exact_counts() -> None:
    rows = read_report(page()).rows
    assert [c.data["exact"] for c in rows[("trend", "2026-Q2")]] == ["50", "100", "50", "0"]
    assert [c.data["exact"] for c in rows[("trend", "2026-Q3")]] == ["55", "120", "30", "25"]


def test_without_the_aggregator_the_report_holds_the_own_numbers_and_says_so() -> None:
    html = page(published=None, offline="cannot reach the aggregator")
    reader = read_report(html)
    assert "De benchmark kon niet worden opgehaald (cannot reach the aggregator)" in html
    assert len(reader.rows[(SEGMENTS, "urban-young")]) == 2  # own count and share only
    assert "vergelijkingsgroep" not in html


def test_no_number_on_the_page_is_negative() -> None:
    values = read_report(page()).values
    assert values and min(values) >= 0


def test_a_negative_estimate_were_one_sent_shows_as_zero() -> None:
    cells = [*PEER_CELLS[:2], cell("households_by_segment", "urban-young", -4, -20.0, 12.0)]
    reader = read_report(page(published=published(peer_cells=cells)))
    shown = reader.rows[(SEGMENTS, "urban-young")][PEER]
    assert (shown.count, shown.data["estimate"], shown.data["low"]) == ("0", "0.0", "0.0")
    assert min(reader.values) >= 0


def test_the_page_needs_nothing_outside_itself() -> None:
    html = page()
    reader = read_report(html)
    assert not reader.tags & {"script", "link", "img", "iframe", "object", "embed", "image"}
    assert reader.urls and all(url.startswith("#") for url in reader.urls)
    assert set(re.findall(r"url\((.)", html)) == {"#"}  # only the charts' own patterns
    assert "@import" not in html and "@font-face" not in html
    # The one URL is the SVG namespace, a name that is never fetched.
    assert set(re.findall(r"https?://[^\"' )]+", html)) == {"http://www.w3.org/2000/svg"}


def test_the_same_input_gives_the_same_bytes() -> None:
    assert page() == page()


def test_dutch_by_default_english_on_request() -> None:
    assert render_report(sample()).startswith('<!doctype html>\n<html lang="nl">')
    assert '<html lang="en">' in page("en")
    assert percent(12.25, "en") == "12.2%" and percent(12.35, "nl") == "12,3%"
