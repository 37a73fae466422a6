"""The institution's own report opened from disk in a real browser with the
network off: it shows its numbers and gaps from the file alone, asks for
nothing outside it, and axe finds no serious or critical accessibility
problem. Screenshots go to tests/artifacts/ (git-ignored)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, Route

from agent.own_report import render_report
from tests.agent.own_report_sample import report_input
from tests.browser.conftest import screenshot

# A browser: seconds (ADR 0032); a hung browser fails in two minutes.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

READ = """rows => rows.map(tr => ({
  table: tr.closest('section').dataset.table, key: tr.dataset.key,
  cells: [...tr.querySelectorAll('td')].map(td => ({
    gap: td.dataset.gap || null, text: td.textContent.trim(),
    value: td.querySelector('data') ? td.querySelector('data').value : null,
  })),
}))"""


class Offline:
    """A browser context with the network off that also refuses, and records,
    any request that is not for a file: the report must make none."""

    def __init__(self, browser: Browser, *, scripts: bool) -> None:
        self.context = browser.new_context(
            viewport={"width": 1200, "height": 900}, java_script_enabled=scripts, offline=True
        )
        self.attempted: list[str] = []
        self.context.route("**/*", self._route)

    def _route(self, route: Route) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            self.attempted.append(route.request.url)
            route.abort()


@pytest.fixture(scope="module")
def report_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("local-report")
    files = {}
    for lang in ("nl", "en"):
        files[lang] = folder / f"report-{lang}.html"
        files[lang].write_text(render_report(report_input(), lang), encoding="utf-8")
    return files


def _open(browser: Browser, path: Path, *, scripts: bool) -> Iterator[tuple[Page, Offline]]:
    offline = Offline(browser, scripts=scripts)
    try:
        page = offline.context.new_page()
        page.goto(path.as_uri())
        yield page, offline
        assert offline.attempted == []
    finally:
        offline.context.close()


@pytest.mark.parametrize(
    ("lang", "gaps"),
    [("nl", ("te weinig instellingen", "te onzeker")),
     ("en", ("too few institutions", "too uncertain"))],
)  # fmt: skip
def test_the_report_opens_from_disk_offline_with_its_numbers_and_gaps(
    browser: Browser, report_files: dict[str, Path], lang: str, gaps: tuple[str, str]
) -> None:
    for page, _ in _open(browser, report_files[lang], scripts=False):
        rows = page.locator("tr[data-key]").evaluate_all(READ)
        shown = {(r["table"], r["key"]): r["cells"] for r in rows}
        urban = shown[("households_by_segment", "urban-young")]
        assert [c["value"] for c in urban] == ["40", str(round(100 * 40 / 55, 4)), "50.0",
                                               "30.0", "25.0"]  # fmt: skip
        assert shown[("households_by_segment", "young-families")][2] == {
            "gap": "too_few", "text": gaps[0], "value": None,
        }  # fmt: skip
        assert shown[("households_by_segment", "students")][2] == {
            "gap": "too_uncertain", "text": gaps[1], "value": None,
        }  # fmt: skip
        values = page.locator("data").evaluate_all("ds => ds.map(d => Number(d.value))")
        assert values and min(values) >= 0
        charts = page.locator("svg.chart[role=img]")
        assert charts.count() == 5  # three tables, the overlaps, the trend
        assert page.locator("h1").inner_text().startswith("Eigen rapport" if lang == "nl"
                                                          else "Own report")  # fmt: skip
        screenshot(page, f"local-report-{lang}")


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_axe_finds_no_serious_or_critical_violation(
    browser: Browser, report_files: dict[str, Path], lang: str
) -> None:
    for page, _ in _open(browser, report_files[lang], scripts=True):
        results = Axe().run(page)
        serious = [
            (v["id"], v["impact"], len(v["nodes"]))
            for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert serious == []


def test_the_offline_guard_sees_a_request_for_anything_but_a_file(
    browser: Browser, tmp_path: Path
) -> None:
    """The check above means something: a page that asks for an image or a
    stylesheet elsewhere is caught (and refused) by the same guard."""
    fetching = tmp_path / "fetching.html"
    fetching.write_text(
        '<!doctype html><html lang="en"><title>x</title><img src="http://example.com/x.png" '
        'alt="x"><link rel="stylesheet" href="https://example.com/x.css">',
        encoding="utf-8",
    )
    offline = Offline(browser, scripts=False)
    try:
        page = offline.context.new_page()
        page.goto(fetching.as_uri())
        page.wait_for_load_state("load")
        assert sorted(offline.attempted) == [
            "http://example.com/x.png",
            "https://example.com/x.css",
        ]
    finally:
        offline.context.close()
