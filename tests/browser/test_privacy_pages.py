"""The privacy officer's pages in a real browser, logged in through the form
as a person does, JavaScript off: every figure on the pages is the audit
API's (``/v1/log``, ``/v1/periods/{p}/budgets``, ``/v1/config``,
``/v1/periods/{p}/config``), axe finds no serious or critical accessibility
problem, and every page leaves a screenshot in Dutch and English."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from tests.browser.conftest import login, screenshot
from tests.hostile.live_aggregator import CLOSED, EMPTY, OPEN, PASSWORD, PUBLISHED, LiveAggregator

# A live server and a browser: seconds (ADR 0032); a hung browser fails in two minutes.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

PAGES = {
    "overview": "/privacy",
    "log": "/privacy/log",
    "budgets": "/privacy/budgets",
    "periods": "/privacy/periods",
}
READ_DATA = "ds => ds.map(d => d.value)"


def api(live: LiveAggregator, path: str) -> Any:
    answer = httpx.get(live.url + path, headers=live.privacy_officer, timeout=30)
    assert answer.status_code == 200, answer.text[:300]
    return answer.json()


def values(page: Page, selector: str) -> list[str]:
    return list(page.locator(selector).evaluate_all(READ_DATA))


@pytest.fixture
def po(page: Page, live: LiveAggregator) -> Page:
    login(page, live.url, "po", PASSWORD)
    return page


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_page_opens_and_is_saved_as_a_screenshot(
    po: Page, live: LiveAggregator, lang: str
) -> None:
    for name, path in PAGES.items():
        answer = po.goto(f"{live.url}{path}?lang={lang}")
        assert answer is not None and answer.status == 200, name
        assert po.locator("html").get_attribute("lang") == lang
        current = po.locator("nav.pages a[aria-current=page]")
        assert current.get_attribute("href") == (path if lang == "nl" else f"{path}?lang={lang}")
        screenshot(po, f"privacy-{name}-{lang}")


@pytest.mark.parametrize("period", [PUBLISHED, CLOSED, OPEN, EMPTY])
def test_the_budgets_on_the_page_are_the_apis(po: Page, live: LiveAggregator, period: str) -> None:
    po.goto(f"{live.url}/privacy/budgets?period={period}")
    doc = api(live, f"/v1/periods/{period}/budgets")
    section = f"section[data-period='{period}']"
    assert float(po.locator(section).get_attribute("data-rho-budget") or "nan") == doc["rho_budget"]
    shown = {
        "institution": po.locator(f"{section} tr[data-institution]").evaluate_all(
            "rows => rows.map(r => r.dataset.institution)"
        ),
        "rho": [float(v) for v in values(po, f"{section} data.rho-spent")],
        "submissions": [int(v) for v in values(po, f"{section} data.submissions")],
        "set_aside": [int(v) for v in values(po, f"{section} data.set-aside")],
    }
    rows = doc["institutions"]
    assert shown == {
        "institution": [i["institution_id"] for i in rows],
        "rho": [i["rho_spent"] for i in rows],
        "submissions": [i["submissions"] for i in rows],
        "set_aside": [i["set_aside"] for i in rows],
    }
    if rows:  # the chart has a bar per institution beside the table
        assert po.locator(f"{section} svg.chart rect").count() == len(rows)


def test_the_log_on_the_page_is_the_apis_and_every_entry_checks(
    po: Page, live: LiveAggregator
) -> None:
    po.goto(f"{live.url}/privacy/log")
    doc = api(live, "/v1/log?limit=100")
    rows = po.locator("tr[data-index]")
    assert rows.evaluate_all("rs => rs.map(r => Number(r.dataset.index))") == [
        e["log_index"] for e in doc["entries"]
    ]
    assert po.locator("td[data-hash]").evaluate_all("ts => ts.map(t => t.dataset.hash)") == [
        e["entry_hash"] for e in doc["entries"]
    ]
    assert set(rows.evaluate_all("rs => rs.map(r => r.dataset.status)")) == {"intact"}
    assert values(po, "p.verdict data.log-size") == [str(doc["total"])]
    assert po.locator("p.verdict").get_attribute("data-intact") == "yes"


def test_the_policy_on_the_overview_is_the_apis(po: Page, live: LiveAggregator) -> None:
    po.goto(f"{live.url}/privacy?lang=en")
    config = api(live, "/v1/config")
    shown = dict(
        po.locator("section[data-section=policy] td[data-key]").evaluate_all(
            "tds => tds.map(td => [td.dataset.key, td.querySelector('data').value])"
        )
    )
    assert shown == {key: str(value) for key, value in config.items()}
    assert values(po, "section[data-section=log] data.log-size") == [
        str(api(live, "/v1/log?limit=1")["total"])
    ]


def test_each_periods_signed_config_is_the_apis_and_verifies(
    po: Page, live: LiveAggregator
) -> None:
    po.goto(f"{live.url}/privacy/periods")
    for period in (PUBLISHED, CLOSED, OPEN, EMPTY):
        config = httpx.get(f"{live.url}/v1/periods/{period}/config", timeout=30).json()
        section = po.locator(f"section[data-period='{period}']")
        assert section.get_attribute("data-signature") == "verifies"
        rho = section.locator("td[data-key=rho_budget] data").get_attribute("value")
        assert float(rho or "nan") == config["rho_budget"]
        assert section.locator("td[data-key=k] data").get_attribute("value") == str(config["k"])
        weights = section.locator("tr[data-table] data").evaluate_all(READ_DATA)
        assert [float(w) for w in weights] == [t["weight"] for t in config["tables"]]


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_axe_finds_no_serious_or_critical_violation(
    live: LiveAggregator, scripted_page: Page, lang: str
) -> None:
    login(scripted_page, live.url, "po", PASSWORD)
    for name, path in PAGES.items():
        scripted_page.goto(f"{live.url}{path}?lang={lang}")
        results = Axe().run(scripted_page)
        serious = [
            (v["id"], v["impact"], len(v["nodes"]))
            for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert serious == [], name
