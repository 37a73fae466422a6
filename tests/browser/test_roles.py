"""Who may open which page, in a real browser with JavaScript off: nobody
logged in is sent to the login form, one staff role cannot open the other's
pages, a wrong password is refused without echoing it, and logging out ends
the session so that its cookie opens nothing any more."""

from __future__ import annotations

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from aggregator.api.web_session import SESSION_COOKIE
from tests.browser.conftest import login, screenshot
from tests.hostile.live_aggregator import PASSWORD, LiveAggregator

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

PRIVACY_PAGES = ("/privacy", "/privacy/log", "/privacy/budgets", "/privacy/periods")
TASKFORCE_PAGES = ("/taskforce",)
REFUSED = {
    "nl": "Deze pagina is voor de rol privacy officer; u bent ingelogd als tf (taskforce).",
    "en": "This page is for the role privacy officer; you are logged in as tf (taskforce).",
}


@pytest.mark.parametrize("path", PRIVACY_PAGES)
def test_nobody_logged_in_is_sent_to_the_login_form_and_back(
    live: LiveAggregator, page: Page, path: str
) -> None:
    page.goto(live.url + path)
    assert page.url.startswith(f"{live.url}/login?next=")
    assert page.locator("form.login").count() == 1
    page.fill("#username", "po")
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("form.login button[type=submit]")
    assert page.url == live.url + path


def test_nobody_logged_in_is_sent_to_the_login_form_from_the_taskforce_pages(
    live: LiveAggregator, page: Page
) -> None:
    for path in TASKFORCE_PAGES:
        page.goto(live.url + path)
        assert page.url.startswith(f"{live.url}/login?next=")


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_taskforce_cannot_open_the_privacy_officers_pages(
    live: LiveAggregator, page: Page, lang: str
) -> None:
    login(page, live.url, "tf", PASSWORD)
    for path in PRIVACY_PAGES:
        answer = page.goto(f"{live.url}{path}?lang={lang}")
        assert answer is not None and answer.status == 403, path
        assert page.locator("[role=alert]").inner_text() == REFUSED[lang]
        assert page.locator("table").count() == 0, "nothing of the page leaks into the 403"
        # The taskforce's navigation offers none of the privacy officer's pages.
        assert page.locator("nav.pages a[href^='/privacy']").count() == 0
    screenshot(page, f"roles-taskforce-on-privacy-{lang}")


def test_the_privacy_officer_cannot_open_the_taskforces_pages(
    live: LiveAggregator, page: Page
) -> None:
    login(page, live.url, "po", PASSWORD)
    for path in TASKFORCE_PAGES:
        answer = page.goto(live.url + path)
        assert answer is not None and answer.status == 403, path
        assert "taskforce" in page.locator("[role=alert]").inner_text()
        assert page.locator("nav.pages a[href^='/taskforce']").count() == 0


def test_a_wrong_password_shows_an_error_and_not_the_password(
    live: LiveAggregator, page: Page
) -> None:
    wrong = "not-the-password-4711"
    page.goto(f"{live.url}/login?next=/privacy")
    page.fill("#username", "po")
    page.fill("#password", wrong)
    with page.expect_navigation():
        page.click("form.login button[type=submit]")
    assert page.locator("[role=alert]").inner_text() == "Gebruikersnaam of wachtwoord klopt niet."
    assert wrong not in page.content()
    assert page.input_value("#password") == ""
    assert page.input_value("#username") == "po"
    assert SESSION_COOKIE not in {c["name"] for c in page.context.cookies()}
    answer = page.goto(live.url + "/privacy")
    assert answer is not None and page.url.startswith(f"{live.url}/login")
    screenshot(page, "roles-wrong-password-nl")


def test_logging_out_ends_the_session_and_its_cookie_opens_nothing(
    live: LiveAggregator, page: Page
) -> None:
    login(page, live.url, "po", PASSWORD)
    (cookie,) = [c for c in page.context.cookies() if c["name"] == SESSION_COOKIE]
    page.goto(live.url + "/privacy")
    with page.expect_navigation():
        page.click("header form[action='/logout'] button[type=submit]")
    assert SESSION_COOKIE not in {c["name"] for c in page.context.cookies()}
    page.goto(live.url + "/privacy")
    assert page.url.startswith(f"{live.url}/login")
    # The old cookie, kept and sent again (as a copy someone took would be): refused.
    replayed = httpx.get(
        live.url + "/privacy",
        cookies={SESSION_COOKIE: cookie["value"]},
        follow_redirects=False,
        timeout=30,
    )
    assert replayed.status_code == 303
    assert replayed.headers["location"].startswith("/login?next=")


def test_a_login_posted_from_another_sites_page_is_refused(live: LiveAggregator) -> None:
    """What a browser says of a form another site's page posted (``Sec-Fetch-Site``,
    which no page can forge), also when its ``Origin`` is ``null``."""
    answer = httpx.post(
        live.url + "/login",
        data={"username": "po", "password": PASSWORD},
        headers={"sec-fetch-site": "cross-site", "origin": "null"},
        follow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 403
    assert SESSION_COOKIE not in answer.cookies


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_a_wrong_link_shows_a_page_with_the_way_back(
    live: LiveAggregator, scripted_page: Page, lang: str
) -> None:
    """A stale link or a typed path is an error page in the reader's language,
    with the navigation of their role, not a JSON document; axe finds nothing
    serious on it."""
    login(scripted_page, live.url, "po", PASSWORD)
    answer = scripted_page.goto(f"{live.url}/privacy/budgets?period=2031-Q1&lang={lang}")
    assert answer is not None and answer.status == 404
    assert (
        scripted_page.locator("h1").inner_text() == {"nl": "Niet gevonden", "en": "Not found"}[lang]
    )
    assert "2031-Q1" in scripted_page.locator("[role=alert]").inner_text()
    assert scripted_page.locator("nav.pages a[href^='/privacy/log']").count() == 1
    results = Axe().run(scripted_page)
    serious = [
        v["id"] for v in results.response["violations"] if v["impact"] in ("serious", "critical")
    ]
    assert serious == []
    screenshot(scripted_page, f"roles-error-page-{lang}")
