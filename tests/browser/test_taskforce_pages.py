"""The taskforce's sector overview and trends in a real browser, logged in
through the form, JavaScript off: the numbers on the pages are the API's
(for a period not published, too), every cell without a number says why,
none is negative, and axe finds no serious or critical problem."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from tests.browser.conftest import screenshot
from tests.browser.test_sector_page import GAPS, READ_CELLS, whole
from tests.hostile.live_aggregator import CLOSED, PASSWORD, PUBLISHED, LiveAggregator

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

READ_TREND_CELLS = """cells => cells.map(td => {
  const d = cls => { const x = td.querySelector('data.' + cls); return x ? x.value : null; };
  return {table: td.closest('section').dataset.table, key: td.dataset.key,
          period: td.dataset.period, gap: td.dataset.gap || null, text: td.textContent.trim(),
          estimate: d('estimate'), low: d('low'), high: d('high')};
})"""


def api_cells(live: LiveAggregator, period: str) -> dict[tuple[str, str], dict[str, Any]]:
    doc = httpx.get(f"{live.url}/v1/periods/{period}/benchmarks",
                    params={"group": "sector", "limit": 10_000}, headers=live.taskforce,
                    timeout=30).json()  # fmt: skip
    assert doc["total"] == len(doc["cells"])
    return {(c["table"], "|".join(str(c[d]) for d in c["dimensions"])): c for c in doc["cells"]}


def check_cell(on_page: dict[str, Any], cell: dict[str, Any] | None, lang: str) -> str:
    """The page's cell against the API's; returns its kind."""
    if cell is None:
        assert (on_page["gap"], on_page["text"]) == ("too_few", GAPS[lang]["too_few"])
        return "too_few"
    if cell["too_uncertain"]:
        assert (on_page["gap"], on_page["text"]) == ("too_uncertain", GAPS[lang]["too_uncertain"])
        return "too_uncertain"
    assert on_page["gap"] is None
    assert int(on_page["estimate"]) == cell["estimate"]
    assert int(on_page["low"]) == max(0, round(cell["ci95_low"]))
    assert int(on_page["high"]) == round(cell["ci95_high"])
    return "number"


def log_in(page: Page, live: LiveAggregator) -> None:
    """The taskforce's session in the browser: the login form's own post, made
    outside the browser, its cookie handed to the browser's context (the
    browser's own post of the form is ``conftest.login``'s to test)."""
    answer = httpx.post(f"{live.url}/login", data={"username": "tf", "password": PASSWORD},
                        timeout=30)  # fmt: skip
    assert answer.status_code == 303, answer.text[:300]
    cookie = answer.cookies.jar
    page.context.add_cookies([
        {"name": c.name, "value": c.value or "", "url": live.url} for c in cookie
    ])  # fmt: skip


@pytest.fixture
def taskforce_page(live: LiveAggregator, page: Page) -> Page:
    log_in(page, live)
    return page


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_overview_of_an_unpublished_period_shows_the_apis_numbers(
    live: LiveAggregator, taskforce_page: Page, lang: str
) -> None:
    page = taskforce_page
    page.goto(f"{live.url}/taskforce?period={CLOSED}&lang={lang}")
    assert page.locator("[data-state=closed]").count() == 1  # labelled: not published
    api = api_cells(live, CLOSED)
    shown = page.locator("[data-table] td[data-key]").evaluate_all(
        READ_CELLS.replace("td.closest('section')", "td.closest('[data-table]')")
    )
    kinds = {"number": 0, "too_uncertain": 0, "too_few": 0}
    tables = {table for table, _ in api}
    for c in shown:
        if c["table"] not in tables:
            continue
        on_page = {**c, **{part: c[part] and c[part]["value"]
                           for part in ("estimate", "low", "high")}}  # fmt: skip
        if on_page["estimate"] is not None:
            assert whole(c["estimate"]["text"], lang) == int(on_page["estimate"])
        kinds[check_cell(on_page, api.get((c["table"], c["key"])), lang)] += 1
    assert all(kinds.values()), kinds
    screenshot(page, f"taskforce-overview-{lang}")


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_trends_show_every_periods_numbers_as_the_api_gives_them(
    live: LiveAggregator, taskforce_page: Page, lang: str
) -> None:
    page = taskforce_page
    page.goto(f"{live.url}/taskforce/trends?lang={lang}")
    apis = {period: api_cells(live, period) for period in (CLOSED, PUBLISHED)}
    shown = page.locator("section[data-table] td[data-key]").evaluate_all(READ_TREND_CELLS)
    checked = 0
    for c in shown:
        if c["period"] in apis:
            check_cell(c, apis[c["period"]].get((c["table"], c["key"])), lang)
            checked += 1
    assert checked > 100
    screenshot(page, f"taskforce-trends-{lang}")


def test_no_number_on_the_taskforce_pages_is_negative(
    live: LiveAggregator, taskforce_page: Page
) -> None:
    for path in ("/taskforce", f"/taskforce?period={CLOSED}", "/taskforce/trends"):
        taskforce_page.goto(live.url + path)
        values = taskforce_page.locator("data").evaluate_all("ds => ds.map(d => Number(d.value))")
        assert values and min(values) >= 0, path


@pytest.mark.parametrize("path", ["/taskforce", "/taskforce/trends?lang=en", "/trends"])
def test_axe_finds_no_serious_or_critical_violation(
    live: LiveAggregator, scripted_page: Page, path: str
) -> None:
    log_in(scripted_page, live)
    scripted_page.goto(live.url + path)
    results = Axe().run(scripted_page)
    serious = [
        (v["id"], v["impact"], len(v["nodes"]))
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == []
