"""The public sector overview in a real browser, with JavaScript off: the
numbers a reader sees are the API's, cells without a number say why, and axe
finds no serious or critical accessibility problem. (The taskforce's pages
and the trends: ``test_taskforce_pages``.)"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from tests.browser.conftest import screenshot
from tests.hostile.live_aggregator import PUBLISHED, LiveAggregator

# A live server and a browser: seconds (ADR 0032); a hung browser fails in two minutes.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

# What the page shows of every table cell: its table, key, gap and numbers.
READ_CELLS = """cells => cells.map(td => {
  const value = cls => {
    const d = td.querySelector('data.' + cls);
    return d ? {value: d.value, text: d.textContent} : null;
  };
  return {
    table: td.closest('[data-table]').dataset.table, key: td.dataset.key,
    gap: td.dataset.gap || null, text: td.textContent.trim(),
    estimate: value('estimate'), low: value('low'), high: value('high'),
  };
})"""
GAPS = {
    "nl": {"too_few": "te weinig instellingen", "too_uncertain": "te onzeker"},
    "en": {"too_few": "too few institutions", "too_uncertain": "too uncertain"},
}


def whole(text: str, lang: str) -> int:
    """A number as the page writes it (12.345 in Dutch, 12,345 in English)."""
    return int(text.replace("." if lang == "nl" else ",", ""))


def api_cells(live: LiveAggregator) -> dict[tuple[str, str], dict[str, Any]]:
    doc = httpx.get(f"{live.url}/v1/periods/{PUBLISHED}/benchmarks",
                    params={"group": "sector", "limit": 10_000}, timeout=30).json()  # fmt: skip
    assert doc["total"] == len(doc["cells"]), "one page holds every cell"
    return {(c["table"], "|".join(str(c[d]) for d in c["dimensions"])): c for c in doc["cells"]}


def page_cells(page: Page, tables: set[str]) -> dict[tuple[str, str], dict[str, Any]]:
    """The benchmark cells on the page (of ``tables``; the headline figures repeat
    some and name their table; the penetration and overlap sections are others')."""
    shown = page.locator("[data-table] td[data-key]").evaluate_all(READ_CELLS)
    return {(c["table"], c["key"]): c for c in shown if c["table"] in tables}


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_numbers_on_the_page_are_the_apis(live: LiveAggregator, page: Page, lang: str) -> None:
    page.goto(f"{live.url}/?lang={lang}")
    api = api_cells(live)
    shown = page_cells(page, {table for table, _ in api})
    assert api and set(api) <= set(shown), "every listed cell is on the page"
    counts = {"number": 0, "too_uncertain": 0, "too_few": 0}
    for key, on_page in shown.items():
        cell = api.get(key)
        if cell is None:  # in the key set, sent by fewer than k institutions
            assert (on_page["gap"], on_page["text"]) == ("too_few", GAPS[lang]["too_few"]), key
            counts["too_few"] += 1
        elif cell["too_uncertain"]:
            assert (on_page["gap"], on_page["text"]) == (
                "too_uncertain",
                GAPS[lang]["too_uncertain"],
            )
            counts["too_uncertain"] += 1
        else:
            assert on_page["gap"] is None, key
            estimate, low, high = on_page["estimate"], on_page["low"], on_page["high"]
            assert whole(estimate["text"], lang) == int(estimate["value"]) == cell["estimate"]
            assert whole(low["text"], lang) == int(low["value"]) == max(0, round(cell["ci95_low"]))
            assert whole(high["text"], lang) == int(high["value"]) == round(cell["ci95_high"])
            counts["number"] += 1
    assert all(counts.values()), counts  # the seeded period has cells of every kind
    screenshot(page, f"sector-{lang}")


def test_no_number_on_the_page_is_negative(live: LiveAggregator, page: Page) -> None:
    page.goto(live.url + "/")
    values = page.locator("data").evaluate_all("ds => ds.map(d => Number(d.value))")
    assert values and min(values) >= 0


def test_the_downloads_are_the_cells_shown(live: LiveAggregator, page: Page) -> None:
    page.goto(live.url + "/")
    href = page.get_by_role("link", name=f"CSV (sector, {PUBLISHED})").get_attribute("href")
    assert href
    csv = httpx.get(live.url + href, timeout=30)
    assert csv.status_code == 200
    rows = csv.text.splitlines()[1:]
    assert len(rows) == len(api_cells(live)) and all(",sector," in r for r in rows)


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_axe_finds_no_serious_or_critical_violation(
    live: LiveAggregator, scripted_page: Page, lang: str
) -> None:
    scripted_page.goto(f"{live.url}/?lang={lang}")
    results = Axe().run(scripted_page)
    serious = [
        (v["id"], v["impact"], len(v["nodes"]))
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == []
