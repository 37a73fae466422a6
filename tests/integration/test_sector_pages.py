"""The sector overview and trends through a real server on 127.0.0.1
(``aggregator.api.sector_pages``): the public reads what was published, the
taskforce every period by its session, a selection lands on its group, and
the taskforce's download of an unpublished period is the API's."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from aggregator.auth import TASKFORCE, create_user
from tests.aggregator.conftest import make_aggregator, start_server
from tests.hostile.live_aggregator import (
    CLOSED,
    OPEN,
    PASSWORD,
    PUBLISHED,
    LiveAggregator,
    start_live_aggregator,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveAggregator]:
    state: Path = tmp_path_factory.mktemp("sector-pages")
    agg = start_live_aggregator(state, f"sqlite:///{state / 'aggregator.db'}")
    try:
        yield agg
    finally:
        agg.stop()


@contextmanager
def client(live: LiveAggregator, user: str | None = None) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, follow_redirects=False, timeout=30) as c:
        if user:
            login = c.post("/login", data={"username": user, "password": PASSWORD})
            assert login.status_code == 303
        yield c


def test_the_public_reads_only_published_periods(live: LiveAggregator) -> None:
    with client(live) as c:
        page = c.get("/")
        assert page.status_code == 200 and f"{PUBLISHED}: sector" in page.text
        assert f'<option value="{CLOSED}"' not in page.text
        assert c.get("/", params={"period": CLOSED}).status_code == 404
        trends = c.get("/trends").text
        assert f'data-period="{PUBLISHED}"' in trends and f'data-period="{CLOSED}"' not in trends


def test_the_taskforce_pages_need_a_taskforce_session(live: LiveAggregator) -> None:
    with client(live) as c:
        answer = c.get("/taskforce/trends", params={"lang": "en"})
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/login?")
        assert c.get(f"/taskforce/periods/{CLOSED}/benchmarks.csv").status_code == 303
    with client(live, "po") as c:
        assert c.get("/taskforce").status_code == 403


def test_the_taskforce_sees_unpublished_periods_labelled(live: LiveAggregator) -> None:
    with client(live, "tf") as c:
        closed = c.get("/taskforce", params={"period": CLOSED})
        assert closed.status_code == 200
        assert "Deze periode is niet gepubliceerd" in closed.text
        assert "Deze periode is voorlopig" in c.get("/taskforce", params={"period": OPEN}).text
        trends = c.get("/taskforce/trends").text
        for period in (CLOSED, PUBLISHED):
            assert f'data-period="{period}"' in trends
        assert f'data-period="{OPEN}"' not in trends  # provisional: the overview's


def test_a_selection_resolves_to_its_group_and_an_old_link_still_works(
    live: LiveAggregator,
) -> None:
    with client(live) as c:
        exact = c.get("/", params={"discipline": "theater", "province": "utrecht", "size": "small"})
        assert 'data-group="theater/utrecht/small"' in exact.text
        wider = c.get("/", params={"discipline": "theater", "province": "zeeland", "size": "large"})
        assert 'data-group="sector"' in wider.text
        assert "theater/zeeland/large is geen peergroep" in wider.text
        old = c.get("/", params={"period": PUBLISHED, "group": "sector", "lang": "en"})
        assert old.status_code == 200 and "Sector benchmark" in old.text


def test_the_taskforce_download_of_a_closed_period_is_the_apis(live: LiveAggregator) -> None:
    with client(live, "tf") as c:
        page = c.get(f"/taskforce/periods/{CLOSED}/benchmarks.csv", params={"group": "sector"})
    api = httpx.get(f"{live.url}/v1/periods/{CLOSED}/benchmarks.csv", params={"group": "sector"},
                    headers=live.taskforce, timeout=30)  # fmt: skip
    assert page.status_code == api.status_code == 200
    assert page.content == api.content and len(page.text.splitlines()) > 1


HTML = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_an_error_on_a_page_is_a_page_for_a_browser_and_a_problem_for_a_client(
    live: LiveAggregator,
) -> None:
    with client(live) as c:
        page = c.get("/", params={"period": CLOSED}, headers=HTML)
        assert page.status_code == 404
        assert page.headers["content-type"].startswith("text/html")
        assert "<h1>Niet gevonden</h1>" in page.text and f"no readable period {CLOSED}" in page.text
        assert 'href="/trends"' in page.text  # the site's navigation, not a dead end
        english = c.get("/no-such-page", params={"lang": "en"}, headers=HTML)
        assert english.status_code == 404 and "<h1>Not found</h1>" in english.text
        wrong = c.get("/", params={"period": "2026-Q9"}, headers=HTML)
        assert wrong.status_code == 422 and "<h1>Deze aanvraag klopt niet</h1>" in wrong.text
        # A client that does not ask for HTML (or refuses it), and the API even for a
        # browser, keep JSON; outside the API both answers say they depend on Accept.
        refused = {"accept": "text/html;q=0, application/json"}
        for answer in (c.get("/", params={"period": CLOSED}), c.get("/v1/nothing", headers=HTML),
                       c.get("/", params={"period": CLOSED}, headers=refused)):  # fmt: skip
            assert answer.status_code == 404
            assert answer.headers["content-type"] == "application/problem+json"
        assert "Accept" in page.headers["vary"] and "Accept" in c.get("/nope").headers["vary"]
        # Any path is answered with the page; none of its links leaves the site.
        elsewhere = c.get(f"{live.url}//evil.example/login", params={"lang": "en"}, headers=HTML)
        assert elsewhere.status_code == 404 and "evil.example" not in elsewhere.text.replace(
            "no such resource: //evil.example/login", ""
        )
    with client(live, "po") as c:
        budgets = c.get("/privacy/budgets", params={"period": "2031-Q1"}, headers=HTML)
        assert budgets.status_code == 404 and "<h1>Niet gevonden</h1>" in budgets.text
        assert 'href="/privacy/log"' in budgets.text  # the officer's own navigation
        assert 'href="/privacy">Naar de startpagina' in budgets.text


def test_a_new_aggregator_says_what_will_be_on_its_pages(tmp_path: Path) -> None:
    """Day one, before any quarter is opened: the public and the taskforce read
    what will appear and when, not an error."""
    built = make_aggregator(tmp_path / "agg", period=None)
    create_user(built.db, "tf-new", TASKFORCE, PASSWORD)
    built.db.engine.dispose()
    server = start_server(built.settings.state_dir, built.settings.db_url)
    try:
        with httpx.Client(base_url=server.url, follow_redirects=False, timeout=30) as c:
            public = c.get("/", headers=HTML)
            assert public.status_code == 200 and "Nog geen gepubliceerde cijfers" in public.text
            assert "No published figures yet" in c.get("/", params={"lang": "en"}).text
            trends = c.get("/trends").text
            assert "Nog geen perioden om te tonen" in trends and "minder dan 0" not in trends
            assert c.post("/login", data={"username": "tf-new", "password": PASSWORD}).is_redirect
            taskforce = c.get("/taskforce")
            assert taskforce.status_code == 200 and "Nog geen periode" in taskforce.text
            assert "publiek aggregator period open 20" in taskforce.text
            assert c.get("/taskforce/trends").status_code == 200
    finally:
        server.stop()
