"""A real aggregator on 127.0.0.1 and Debian's Chromium driven by Playwright.

The aggregator is the live one of the HTTP tests (``tests/hostile/live_aggregator``):
a published period with five institutions' real submissions. The browser is the
system's Chromium (``make browser`` installs Debian's package), never one that
Playwright downloads: ``PUBLIEK_CHROMIUM`` names another binary.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.hostile.live_aggregator import LiveAggregator, start_live_aggregator

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def chromium_path() -> str:
    found = os.environ.get("PUBLIEK_CHROMIUM") or shutil.which("chromium")
    if not found:
        pytest.fail("no Chromium: `make browser` installs Debian's chromium package")
    return found


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveAggregator]:
    state = tmp_path_factory.mktemp("browser")
    agg = start_live_aggregator(state, f"sqlite:///{state / 'aggregator.db'}")
    try:
        yield agg
    finally:
        agg.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        # --no-sandbox: CI and developers' containers run as root, where Chromium's
        # sandbox cannot start; the pages under test are our own.
        launched = playwright.chromium.launch(
            executable_path=chromium_path(), args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            launched.close()


def _page(browser: Browser, *, scripts: bool) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 1200, "height": 900}, java_script_enabled=scripts
    )
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A tab with JavaScript off, as a reader who blocks it sees the pages: they
    need none (the test's own queries still run, through the browser's protocol)."""
    yield from _page(browser, scripts=False)


@pytest.fixture
def scripted_page(browser: Browser) -> Iterator[Page]:
    """A tab with JavaScript on, for the tools that inject their own (axe-core)."""
    yield from _page(browser, scripts=True)


def screenshot(page: Page, name: str) -> Path:
    """A full-page screenshot under tests/artifacts/ (git-ignored), for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def login(page: Page, base_url: str, username: str, password: str) -> None:
    """Log in through the form, as a person does; the page ends where the form sends it."""
    page.goto(f"{base_url}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("form.login button[type=submit]")
