"""The privacy officer's page models (``aggregator.privacy_view``): the figures
are the audit API's, the log's checks find what an outside verifier finds,
and a period config's signature is checked under the published key."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update

from aggregator import privacy_view
from aggregator.api import audit
from aggregator.api.dependencies import Services
from aggregator.app import create_app
from aggregator.auth import PRIVACY_OFFICER, TASKFORCE, Principal, create_user
from aggregator.intake import Intake
from aggregator.periods import get_period, open_period
from aggregator.set_aside import set_aside
from aggregator.storage import LogEntry, Period
from dp.measurements import default_rho, rho_for_epsilon
from protocol import PROTOCOL_VERSION
from protocol.messages import DEMO_SEGMENT_MODEL
from tests.aggregator.conftest import PERIOD, enroll_agents, make_aggregator

PO = Principal(role=PRIVACY_OFFICER, name="po")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    """An aggregator with three institutions' submissions in one period, one of
    them set aside, and an empty second period."""
    state = tmp_path_factory.mktemp("privacy-view")
    agg = make_aggregator(state / "state", f"sqlite:///{state / 'aggregator.db'}")
    agents = enroll_agents(
        agg.db, [(f"Theater {i}", "theater", "utrecht", "small") for i in range(3)]
    )
    intake = Intake(agg.db, agg.keyring)
    receipts = [intake.accept(a.seal(a.payload(PERIOD, rho=0.1), agg.recipient)) for a in agents]
    intake.accept(agents[0].seal(agents[0].payload(PERIOD, rho=0.2), agg.recipient))
    set_aside(agg.db, receipts[2].submission_id, "sent twice by mistake")
    open_period(agg.db, "2027-Q1", rho_budget=0.25)
    create_user(agg.db, "po", PRIVACY_OFFICER, "po password 12")
    create_user(agg.db, "tf", TASKFORCE, "tf password 12")
    agg.db.engine.dispose()
    yield create_app(agg.settings)


@pytest.fixture(scope="module")
def svc(app: FastAPI) -> Services:
    found: Services = app.state.services
    return found


def test_budgets_are_the_apis_with_each_share_of_the_budget(svc: Services) -> None:
    period = get_period(svc.db, PERIOD)
    view = privacy_view.budget_view(svc, PO, period)
    api = audit.budgets(PERIOD, PO, svc)
    assert view.rho_budget == api["rho_budget"]
    assert [(r.institution_id, r.rho_spent, r.submissions, r.set_aside) for r in view.rows] == [
        (i["institution_id"], i["rho_spent"], i["submissions"], i["set_aside"])
        for i in api["institutions"]
    ]
    first = view.rows[0]
    assert first.share == pytest.approx(first.rho_spent / view.rho_budget)
    assert sorted(r.set_aside for r in view.rows) == [0, 0, 1]
    assert view.over_budget == 0


def test_the_budget_is_also_stated_as_epsilon_at_the_periods_delta() -> None:
    assert privacy_view.epsilon_at(default_rho(), 1e-7) == pytest.approx(1.0, abs=1e-6)
    rho = rho_for_epsilon(0.5, 1e-6)
    assert privacy_view.epsilon_at(rho, 1e-6) == pytest.approx(0.5, abs=1e-6)


def test_an_intact_log_verifies_entry_by_entry_and_as_a_chain(svc: Services) -> None:
    view = privacy_view.log_view(svc, PO)
    assert view.verdict.intact and view.verdict.size == view.total == 5
    assert view.verdict.head == view.entries[-1].entry["entry_hash"]
    assert [c.status for c in view.entries] == [privacy_view.INTACT] * 5
    assert [c.reason for c in view.entries] == [None] * 4 + [privacy_view.REASON_MATCHES]
    assert [c.entry for c in view.entries] == audit.log(PO, svc, offset=0, limit=100)["entries"]


def test_the_log_is_paged_and_a_later_page_links_to_the_entry_before_it(svc: Services) -> None:
    view = privacy_view.log_view(svc, PO, offset=3)
    assert [c.entry["log_index"] for c in view.entries] == [3, 4]
    assert all(c.status == privacy_view.INTACT for c in view.entries)
    assert view.previous_offset == 0 and view.next_offset is None


def test_a_log_entry_altered_in_the_database_is_named_and_breaks_the_chain(
    svc: Services, tmp_path: Path
) -> None:
    with svc.db.session() as s:
        original = s.get(LogEntry, 1)
        assert original is not None
        before = original.institution_id
        s.execute(update(LogEntry).where(LogEntry.log_index == 1).values(institution_id="other"))
    try:
        view = privacy_view.log_view(svc, PO)
        assert not view.verdict.intact and "entry 1 was altered" in str(view.verdict.problem)
        statuses = [c.status for c in view.entries]
        assert statuses == [privacy_view.INTACT, privacy_view.ALTERED] + [privacy_view.INTACT] * 3
        assert not privacy_view.overview_view(svc, PO).verdict.intact
    finally:
        with svc.db.session() as s:
            s.execute(update(LogEntry).where(LogEntry.log_index == 1).values(institution_id=before))
    assert privacy_view.log_view(svc, PO).verdict.intact


def test_a_set_aside_reason_is_checked_against_its_commitment() -> None:
    from protocol.translog import GENESIS, SET_ASIDE, reason_commitment

    nonce = "00" * 16
    entry = {
        "log_index": 0, "kind": SET_ASIDE, "submission_id": "s", "institution_id": "i",
        "period": PERIOD, "digest": "d", "appended_at": "t", "prev_hash": GENESIS,
        "entry_hash": "x", "reason": "twice", "reason_nonce": nonce,
        "reason_commitment": reason_commitment("twice", nonce),
    }  # fmt: skip
    check = privacy_view.check_entry(entry, 0, GENESIS)
    assert (check.status, check.reason) == (privacy_view.ALTERED, privacy_view.REASON_MATCHES)
    erased = {**entry, "reason": None, "reason_nonce": None}
    assert privacy_view.check_entry(erased, 0, GENESIS).reason == privacy_view.REASON_ERASED
    other = {**entry, "reason": "something else"}
    assert privacy_view.check_entry(other, 0, GENESIS).reason == privacy_view.REASON_DIFFERS
    assert privacy_view.check_entry(entry, 0, "1" * 64).status == privacy_view.UNLINKED
    assert privacy_view.check_entry(entry, 1, GENESIS).status == privacy_view.MISPLACED


def test_every_period_config_verifies_under_the_published_receipt_key(svc: Services) -> None:
    views = [
        privacy_view.config_view(p, svc) for p in (get_period(svc.db, PERIOD),
                                                    get_period(svc.db, "2027-Q1"))
    ]  # fmt: skip
    assert [v.signature for v in views] == [privacy_view.SIGNATURE_VERIFIES] * 2
    config = views[1].config
    assert config is not None and config["rho_budget"] == 0.25
    assert math.isclose(views[1].table_share, 1.0)
    assert views[1].epsilon_budget == pytest.approx(privacy_view.epsilon_at(0.25, 1e-7))


def test_a_period_opened_before_configs_says_it_has_none(svc: Services) -> None:
    period = get_period(svc.db, PERIOD)
    legacy = Period(label="2025-Q1", state="published", rho_budget=0.5)
    assert period.design is not None
    view = privacy_view.config_view(legacy, svc)
    assert view.signature == privacy_view.NO_CONFIG and view.config is None


def test_the_overview_names_versions_models_and_the_policy(svc: Services) -> None:
    view = privacy_view.overview_view(svc, PO)
    assert view.protocol_version == PROTOCOL_VERSION
    assert view.policy == audit.config(PO, svc)
    assert [(m.version, m.periods) for m in view.models] == [
        (DEMO_SEGMENT_MODEL, [PERIOD, "2027-Q1"])
    ]
    assert view.verdict.intact and view.verdict.size == 5


# --- the pages, through the app ------------------------------------------------

PAGES = ("/privacy", "/privacy/log", "/privacy/budgets", "/privacy/periods")


@pytest.fixture(scope="module")
def po_client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://127.0.0.1") as client:
        answer = client.post("/login", data={"username": "po", "password": "po password 12"},
                             follow_redirects=False)  # fmt: skip
        assert answer.status_code == 303
        yield client


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("lang", ["nl", "en"])
def test_each_page_opens_for_the_privacy_officer_in_both_languages(
    po_client: TestClient, path: str, lang: str
) -> None:
    answer = po_client.get(path, params={"lang": lang})
    assert answer.status_code == 200, answer.text[:500]
    html = answer.text
    assert f'<html lang="{lang}">' in html
    heading = {"nl": "Privacy-officer", "en": "Privacy officer"}[lang]
    assert f"<h1>{heading}: " in html
    assert "<script" not in html


def _data(html: str, cls: str) -> list[float]:
    return [float(v) for v in re.findall(rf'<data class="{cls}" value="([^"]+)"', html)]


def test_the_budget_page_shows_the_apis_figures_for_the_period_asked(
    po_client: TestClient, svc: Services
) -> None:
    html = po_client.get("/privacy/budgets", params={"period": PERIOD}).text
    api = audit.budgets(PERIOD, PO, svc)
    assert _data(html, "rho-spent") == [i["rho_spent"] for i in api["institutions"]]
    assert _data(html, "set-aside") == [i["set_aside"] for i in api["institutions"]]
    assert f'data-rho-budget="{api["rho_budget"]}"' in html
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart"' in html


def test_the_budget_page_without_a_period_shows_the_newest_with_submissions(
    po_client: TestClient,
) -> None:
    html = po_client.get("/privacy/budgets").text
    assert f'data-period="{PERIOD}" data-rho-budget=' in html
    empty = po_client.get("/privacy/budgets", params={"period": "2027-Q1"}).text
    assert "Geen inzendingen in deze periode." in empty


def test_the_log_page_lists_every_entry_with_its_check(po_client: TestClient) -> None:
    html = po_client.get("/privacy/log", params={"lang": "en"}).text
    assert re.findall(r'data-status="(\w+)"', html) == ["intact"] * 5
    assert 'data-kind="set-aside"' in html and 'data-reason="matches"' in html
    assert "The chain is intact" in html and "publiek audit verify-log" in html


def test_the_periods_page_says_each_signature_verifies(po_client: TestClient) -> None:
    html = po_client.get("/privacy/periods").text
    assert re.findall(r'data-signature="(\w+)"', html) == ["verifies", "verifies"]


def test_nobody_logged_in_is_sent_to_the_login_form(app: FastAPI) -> None:
    with TestClient(app, base_url="http://127.0.0.1") as client:
        for path in PAGES:
            answer = client.get(path, follow_redirects=False)
            assert answer.status_code == 303
            assert answer.headers["location"].startswith("/login?next=")


def test_the_taskforce_gets_the_no_access_page(app: FastAPI) -> None:
    with TestClient(app, base_url="http://127.0.0.1") as client:
        client.post("/login", data={"username": "tf", "password": "tf password 12"},
                    follow_redirects=False)  # fmt: skip
        for path in PAGES:
            answer = client.get(path)
            assert answer.status_code == 403 and "Geen toegang" in answer.text


def test_a_log_page_past_the_end_says_how_long_the_log_is(po_client: TestClient) -> None:
    html = po_client.get("/privacy/log", params={"offset": 500, "lang": "en"}).text
    assert "No entries from number 500: the log has 5." in html


def test_the_whole_log_read_for_the_chain_is_the_log_as_published(svc: Services) -> None:
    from aggregator import translog

    with svc.db.session() as s:
        assert privacy_view.whole_log(svc) == translog.entries(s)
