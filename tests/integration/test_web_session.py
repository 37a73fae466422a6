"""Logging in to the web pages, through a real server on 127.0.0.1
(``aggregator.api.web_session``): the cookie's attributes, the vague error,
the throttle, the other site's form, the way back after logging in, and
logging out ending the session."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request

from aggregator.api.web_session import SESSION_COOKIE, _secure, local_target
from aggregator.settings import Settings
from tests.hostile.live_aggregator import PASSWORD, LiveAggregator, start_live_aggregator

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveAggregator]:
    state: Path = tmp_path_factory.mktemp("web-session")
    agg = start_live_aggregator(state, f"sqlite:///{state / 'aggregator.db'}")
    try:
        yield agg
    finally:
        agg.stop()


def _client(live: LiveAggregator) -> httpx.Client:
    return httpx.Client(base_url=live.url, follow_redirects=False, timeout=30)


def _log_in(client: httpx.Client, username: str, password: str, **extra: str) -> httpx.Response:
    return client.post("/login", data={"username": username, "password": password, **extra})


def test_logging_in_sets_a_strict_http_only_cookie_and_goes_to_the_role_home(
    live: LiveAggregator,
) -> None:
    with _client(live) as client:
        answer = _log_in(client, "tf", PASSWORD)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/taskforce"
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith(f"{SESSION_COOKIE}=pbk_")
        attributes = {a.strip().lower() for a in cookie.split(";")[1:]}
        assert {"httponly", "samesite=strict", "path=/"} <= attributes
        assert "secure" not in attributes  # plain HTTP on 127.0.0.1: a browser would drop it
        # Logged in, the form sends the reader on instead of asking again.
        again = client.get("/login", params={"next": "/privacy/log"})
        assert (again.status_code, again.headers["location"]) == (303, "/privacy/log")


def test_the_privacy_officer_goes_to_the_audit_pages_and_next_is_kept(live: LiveAggregator) -> None:
    with _client(live) as client:
        answer = _log_in(client, "po", PASSWORD, next="/privacy/budgets?period=2026-Q1")
        assert answer.headers["location"] == "/privacy/budgets?period=2026-Q1"
    with _client(live) as client:
        assert _log_in(client, "po", PASSWORD, lang="en").headers["location"] == "/privacy?lang=en"


def test_a_wrong_password_is_one_vague_message_that_does_not_echo_it(live: LiveAggregator) -> None:
    with _client(live) as client:
        answer = _log_in(client, "tf", "not the password at all", lang="en")
        assert answer.status_code == 401
        assert "The username or password is wrong." in answer.text
        assert "not the password at all" not in answer.text
        assert 'value="tf"' in answer.text  # the name is kept, the password is not
        assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")
        unknown = _log_in(client, "nobody", "not the password at all")
        assert unknown.status_code == 401
        assert "Gebruikersnaam of wachtwoord klopt niet." in unknown.text


def test_another_sites_form_is_refused_before_the_password_is_checked(
    live: LiveAggregator,
) -> None:
    with _client(live) as client:
        answer = client.post(
            "/login",
            data={"username": "tf", "password": PASSWORD},
            headers={"origin": "https://evil.example"},
        )
        assert answer.status_code == 403
        assert "set-cookie" not in answer.headers


@pytest.mark.parametrize(
    ("asked", "kept"),
    [
        ("/taskforce/trends?lang=en", "/taskforce/trends?lang=en"),
        ("//evil.example/x", None),
        ("/\\evil.example", None),
        ("https://evil.example/", None),
        ("taskforce", None),
        ("", None),
    ],
)
def test_login_returns_only_to_a_path_of_this_site(asked: str, kept: str | None) -> None:
    assert local_target(asked) == kept


def test_logging_out_revokes_the_session(live: LiveAggregator) -> None:
    with _client(live) as client:
        cookie = _log_in(client, "tf", PASSWORD).cookies[SESSION_COOKIE]
        client.cookies.set(SESSION_COOKIE, cookie)
        out = client.post("/logout")
        assert (out.status_code, out.headers["location"]) == (303, "/")
    with _client(live) as replay:
        # The old cookie, sent again after logging out, opens nothing: the form asks anew.
        replay.cookies.set(SESSION_COOKIE, cookie)
        assert replay.get("/login").status_code == 200
        me = replay.get("/v1/me", headers={"authorization": f"Bearer {cookie}"})
        assert me.status_code == 401


def test_the_login_page_is_in_both_languages(live: LiveAggregator) -> None:
    with _client(live) as client:
        assert "Gebruikersnaam" in client.get("/login").text
        english = client.get("/login", params={"lang": "en"}).text
        assert "Username" in english and '<html lang="en">' in english


def test_a_proxy_saying_https_gets_a_secure_cookie(live: LiveAggregator) -> None:
    with _client(live) as client:
        answer = client.post(
            "/login",
            data={"username": "tf", "password": PASSWORD},
            headers={"x-forwarded-proto": "https"},
        )
        attributes = {a.strip().lower() for a in answer.headers["set-cookie"].split(";")[1:]}
        assert "secure" in attributes


@pytest.mark.parametrize(
    ("setting", "scheme", "host", "headers", "secure"),
    [
        (None, "http", "127.0.0.1", {}, False),  # the demo, a developer
        (None, "http", "localhost", {}, False),
        (None, "http", "publiek.example", {}, True),
        (None, "https", "127.0.0.1", {}, True),
        (None, "http", "127.0.0.1", {"forwarded": "for=1.2.3.4;proto=https"}, True),
        (True, "http", "127.0.0.1", {}, True),  # a proxy passing a loopback Host
        (False, "https", "publiek.example", {}, False),
    ],
)
def test_the_secure_flag(
    setting: bool | None, scheme: str, host: str, headers: dict[str, str], secure: bool
) -> None:
    scope = {
        "type": "http", "scheme": scheme, "server": (host, 80), "path": "/login",
        "headers": [(b"host", host.encode())]
        + [(k.encode(), v.encode()) for k, v in headers.items()],
    }  # fmt: skip
    settings = replace(Settings(state_dir=Path("unused")), secure_cookies=setting)
    assert _secure(Request(scope), settings) is secure


def test_what_a_session_opens_is_never_cached(live: LiveAggregator) -> None:
    with _client(live) as client:
        public = client.get("/")
        assert "no-store" not in public.headers.get("cache-control", "")
        assert "Cookie" in public.headers["vary"]
        assert client.get("/login").headers["cache-control"] == "no-store"
        assert client.get("/taskforce").headers["cache-control"] == "no-store"  # the redirect
        _log_in(client, "tf", PASSWORD)
        for path in ("/", "/taskforce", "/trends"):
            answer = client.get(path)
            assert answer.status_code == 200, path
            assert answer.headers["cache-control"] == "no-store", path
