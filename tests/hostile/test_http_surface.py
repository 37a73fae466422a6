"""The HTTP surface against a real server: what one malformed request used to
break (issue 14), answered now with a problem document, storing nothing.

- JSON nested deeper than any message needs is refused before it is parsed
  (``deep-json``, 400), bodies over their limit before they are read (413);
- headers and query parameters are parsed strictly: a timestamp of Unicode
  digits is a 401, an offset beyond a 64-bit integer a 400;
- a wrong method is a 405 problem document, a body that is not JSON a 415;
- every answer, page or document or problem, carries the security headers.

Each case runs on SQLite and on PostgreSQL (marked slow): the bounds on
offsets and the strings that reach a query are the database's business.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import secrets
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from aggregator.app import create_app
from aggregator.enrollment import create_token
from aggregator.page_sections import STYLE
from aggregator.settings import Settings
from aggregator.storage import Database
from protocol.keys import SealPrivateKey, SigningKey
from tests.aggregator.conftest import fresh_database_url, postgres  # noqa: F401 - a fixture
from tests.hostile.live_aggregator import (
    OPEN,
    PASSWORD,
    PUBLISHED,
    LiveAggregator,
    problem_type,
    start_live_aggregator,
)

pytestmark = pytest.mark.slow  # a live server on SQLite and PostgreSQL

MAX_OFFSET = 2**53 - 1


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)]
)
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveAggregator]:
    state = tmp_path_factory.mktemp(f"http-{request.param}")
    agg = start_live_aggregator(state, fresh_database_url(request, state))
    try:
        yield agg
    finally:
        agg.stop()


@pytest.fixture
def client(live: LiveAggregator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=30) as c:
        yield c


def nested(depth: int, inner: str = "0") -> bytes:
    return ("[" * depth + inner + "]" * depth).encode()


def fresh_enrollment(live: LiveAggregator) -> dict[str, str]:
    """A valid enrollment body with a token of its own (made beside the server)."""
    db = Database(live.db_url)
    try:
        _, token = create_token(
            db, name=f"Museum {secrets.token_hex(4)}", discipline="museum", province="zeeland",
            valid_for=timedelta(hours=1),
        )  # fmt: skip
    finally:
        db.engine.dispose()
    return {
        "token": token,
        "signing_key": SigningKey.generate().public.to_text(),
        "sealing_key": SealPrivateKey.generate().public.to_text(),
    }


JSON = {"content-type": "application/json"}


# --- deep and large JSON --------------------------------------------------------


def test_a_5000_deep_enrollment_is_deep_json_and_the_token_still_works(
    live: LiveAggregator, client: httpx.Client
) -> None:
    body = fresh_enrollment(live)
    deep = b'{"token":"%s","signing_key":%s}' % (body["token"].encode(), nested(5000))
    for attempt in (nested(5000), deep):
        response = client.post("/v1/enrollments", content=attempt, headers=JSON)
        assert response.status_code == 400
        assert problem_type(response) == "deep-json"
    assert client.post("/v1/enrollments", json=body).status_code == 200


def test_a_2000_deep_token_request_is_deep_json(client: httpx.Client) -> None:
    response = client.post("/v1/auth/tokens", content=nested(2000), headers=JSON)
    assert response.status_code == 400
    assert problem_type(response) == "deep-json"
    ok = client.post("/v1/auth/tokens", json={"username": "po", "password": PASSWORD})
    assert ok.status_code == 200


def test_a_50000_deep_sector_key_upload_is_deep_json(
    live: LiveAggregator, client: httpx.Client
) -> None:
    body = b'{"sealed_keys":' + nested(50_000, "{}") + b"}"
    response = client.post("/v1/sector-keys", content=body, headers={**JSON, **live.taskforce})
    assert response.status_code == 400
    assert problem_type(response) == "deep-json"
    target = f"/v1/sector-keys/{OPEN}/{live.agents[0].institution_id}"
    assert client.get(target, headers=live.signed(target)).status_code == 200


@pytest.mark.parametrize("sealed_keys", [b'""', b"{}", b'{"x":1}', b"null", b"1"])
def test_a_sector_key_upload_needs_a_list(
    live: LiveAggregator, client: httpx.Client, sealed_keys: bytes
) -> None:
    body = b'{"sealed_keys":' + sealed_keys + b"}"
    response = client.post("/v1/sector-keys", content=body, headers={**JSON, **live.taskforce})
    assert response.status_code == 400
    assert problem_type(response) == "malformed-message"


def test_a_deep_submission_is_deep_json_and_the_next_one_is_accepted(
    live: LiveAggregator, client: httpx.Client
) -> None:
    for body in (nested(5000), b'{"payload":' + nested(100_000) + b"}"):
        response = client.post("/v1/submissions", content=body, headers=JSON)
        assert response.status_code == 400
        assert problem_type(response) == "deep-json"
    agent = live.agents[2]
    envelope = agent.seal(agent.payload(OPEN, rho=0.01), live.recipient)
    assert client.post("/v1/submissions", content=envelope, headers=JSON).status_code == 200


def test_nesting_within_the_limit_is_parsed_as_before(client: httpx.Client) -> None:
    # 32 levels is the limit: this is refused for what it is, not for its depth
    response = client.post("/v1/auth/tokens", content=nested(32), headers=JSON)
    assert problem_type(response) == "malformed-message"
    response = client.post("/v1/auth/tokens", content=nested(33), headers=JSON)
    assert problem_type(response) == "deep-json"


def test_brackets_inside_strings_are_not_nesting(client: httpx.Client) -> None:
    # Parsed, then held to the login's schema: a username of 500 "[" is no name at all
    # (malformed-message for the field, not deep-json for the body); brackets in a
    # password are only characters, and the login is refused as any wrong password.
    body = b'{"username":"%s","password":"%s"}' % (b"[" * 500, b"x")
    response = client.post("/v1/auth/tokens", content=body, headers=JSON)
    assert response.status_code == 400
    assert problem_type(response) == "malformed-message"
    body = b'{"username":"nobody","password":"%s"}' % (b'{\\"[' * 200)
    response = client.post("/v1/auth/tokens", content=body, headers=JSON)
    assert response.status_code == 401
    assert problem_type(response) == "unauthenticated"


@pytest.mark.parametrize(
    ("path", "limit"),
    [("/v1/auth/tokens", 4 * 1024), ("/v1/enrollments", 16 * 1024)],
)
def test_a_body_over_its_limit_is_413_with_or_without_a_length(
    client: httpx.Client, path: str, limit: int
) -> None:
    body = b'{"username":"' + b"a" * limit + b'"}'
    assert problem_type(client.post(path, content=body, headers=JSON)) == "payload-too-large"

    def chunks() -> Iterator[bytes]:
        yield body[:100]
        yield body[100:]

    response = client.post(path, content=chunks(), headers=JSON)  # chunked: no length
    assert response.status_code == 413
    assert problem_type(response) == "payload-too-large"


# --- headers ------------------------------------------------------------------


BAD_TIMESTAMPS = [
    b"\xb2",  # latin-1 superscript two: str.isdigit() says yes, int() agrees
    b"17\xb200",
    "١٧٠٠٠٠٠٠٠٠".encode(),  # Arabic-Indic digits, as UTF-8
    b"9" * 400,  # an integer, too large for the clock arithmetic
    b"-1700000000",
    b"+1700000000",
    b"1.7e9",
    b"0x6553f100",
    b"1_700_000_000",
]


@pytest.mark.parametrize("stamp", BAD_TIMESTAMPS)
def test_a_malformed_timestamp_is_401(
    live: LiveAggregator, client: httpx.Client, stamp: bytes
) -> None:
    agent = live.agents[0]
    target = f"/v1/institutions/{agent.institution_id}/periods/{PUBLISHED}/standing"
    headers: dict[str, Any] = {**live.signed(target), "publiek-timestamp": stamp}
    for path in (target, "/v1/me", f"/v1/institutions/{agent.institution_id}/submissions"):
        response = client.get(path, headers=headers)
        assert response.status_code == 401, response.text
        assert problem_type(response) == "unauthenticated"


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("publiek-signature", b"not base64 !"),
        ("publiek-signature", b"\xff\xfe"),
        ("publiek-signature", b"QUJD="),
        ("publiek-institution", b"th\xe9ater-0"),
        ("publiek-key-id", b"\xb2"),
        ("authorization", b"Bearer \xb2\xb3"),
        ("authorization", b"Basic dGY6eA=="),
    ],
)
def test_malformed_credentials_are_401(
    live: LiveAggregator, client: httpx.Client, header: str, value: bytes
) -> None:
    agent = live.agents[0]
    target = f"/v1/institutions/{agent.institution_id}/submissions"
    headers: dict[str, Any] = {**live.signed(target), header: value}
    response = client.get(target, headers=headers)
    assert response.status_code == 401, response.text
    assert problem_type(response) in {"unauthenticated", "invalid-signature"}


# --- query parameters -------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "offset=9223372036854775808",
        "offset=9223372036854775807",
        f"offset={MAX_OFFSET + 1}",
        "offset=-1",
        "offset=%C2%B9",  # superscript one
        "offset=%D9%A1",  # Arabic-Indic one
        "offset=1e3",
        "offset=",
        "limit=0",
        "limit=10001",
        "limit=99999999999999999999999999",
    ],
)
def test_out_of_range_paging_is_400(live: LiveAggregator, client: httpx.Client, query: str) -> None:
    agent = live.agents[0]
    own = f"/v1/institutions/{agent.institution_id}/submissions?{query}"
    for path, headers in (
        (f"/v1/log?{query}", live.privacy_officer),
        (f"/v1/periods/{PUBLISHED}/benchmarks?{query}", {}),
        (own, live.signed(own)),
    ):
        response = client.get(path, headers=headers)
        assert response.status_code == 400, (path, response.text)
        assert problem_type(response) == "usage"


def test_the_largest_offset_is_an_empty_page(live: LiveAggregator, client: httpx.Client) -> None:
    agent = live.agents[0]
    own = f"/v1/institutions/{agent.institution_id}/submissions?offset={MAX_OFFSET}"
    for path, headers, items in (
        (f"/v1/log?offset={MAX_OFFSET}&limit=10000", live.privacy_officer, "entries"),
        (f"/v1/periods/{PUBLISHED}/benchmarks?offset={MAX_OFFSET}", {}, "cells"),
        (own, live.signed(own), "submissions"),
    ):
        response = client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.text)
        page = response.json()
        assert page[items] == []
        assert page["offset"] == MAX_OFFSET
        assert page["next_offset"] is None


def test_strings_that_reach_the_database_may_hold_any_character(
    live: LiveAggregator, client: httpx.Client
) -> None:
    """A NUL is valid JSON and a valid percent-escape; PostgreSQL refuses it in text."""
    login = {"username": "tf\u0000", "password": "x" * 12}  # not a username (its pattern)
    assert problem_type(client.post("/v1/auth/tokens", json=login)) == "malformed-message"
    login = {"username": "nobody", "password": "x\u0000" * 12}  # a password may be anything
    assert problem_type(client.post("/v1/auth/tokens", json=login)) == "unauthenticated"
    enrollment = {**fresh_enrollment(live), "token": "pbk_\u0000"}
    response = client.post("/v1/enrollments", json=enrollment)
    assert problem_type(response) == "malformed-message"  # a token has a pattern too
    for path in (
        "/v1/periods/2026-Q3%00/config",
        "/v1/periods/%00/groups",
        f"/v1/periods/{PUBLISHED}/benchmarks?group=%00&table=%00",
        "/?period=%00&group=%00",
    ):
        response = client.get(path)
        assert 400 <= response.status_code < 500, (path, response.text)
        problem_type(response)


# --- methods and media types --------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("DELETE", "/v1/periods"), ("PUT", "/v1/submissions"), ("GET", "/v1/submissions"),
     ("POST", "/v1/periods"), ("PATCH", "/")],
)  # fmt: skip
def test_a_wrong_method_is_a_405_problem(client: httpx.Client, method: str, path: str) -> None:
    response = client.request(method, path)
    assert response.status_code == 405
    assert problem_type(response) == "method-not-allowed"
    assert response.headers["allow"]


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "application/jsonx",
     "application/json; charset=latin-1", "multipart/form-data; boundary=x"],
)  # fmt: skip
def test_a_body_that_is_not_json_is_415(
    live: LiveAggregator, client: httpx.Client, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    body = fresh_enrollment(live)
    for path, extra in (
        ("/v1/submissions", {}),
        ("/v1/enrollments", {}),
        ("/v1/auth/tokens", {}),
        ("/v1/sector-keys", live.taskforce),
    ):
        response = client.post(path, content=json.dumps(body), headers={**headers, **extra})
        assert response.status_code == 415, (path, response.text)
        assert problem_type(response) == "unsupported-media-type"
    assert client.post("/v1/enrollments", json=body).status_code == 200  # nothing was used up


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "Application/JSON"])
def test_json_with_its_charset_or_in_capitals_is_json(
    live: LiveAggregator, client: httpx.Client, content_type: str
) -> None:
    body = json.dumps(fresh_enrollment(live))
    response = client.post("/v1/enrollments", content=body, headers={"content-type": content_type})
    assert response.status_code == 200, response.text


# --- security headers -----------------------------------------------------------------


def _style_hash() -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode() + "'"


def test_every_answer_carries_the_security_headers(
    live: LiveAggregator, client: httpx.Client
) -> None:
    answers = [
        client.get("/"),
        client.get("/healthz"),
        client.get("/v1/periods"),
        client.get("/openapi.json"),
        client.get(f"/v1/periods/{PUBLISHED}/benchmarks.csv"),
        client.get(f"/v1/periods/{PUBLISHED}/benchmarks.parquet"),
        client.get("/nowhere"),
        client.delete("/v1/periods"),
        client.post("/v1/submissions", content=b"x"),
        client.get("/v1/log"),
        client.get("/v1/log?offset=-1", headers=live.taskforce),
    ]
    for response in answers:
        where = f"{response.request.method} {response.request.url}: {response.status_code}"
        assert response.headers["x-content-type-options"] == "nosniff", where
        assert response.headers["referrer-policy"] == "no-referrer", where
        assert response.headers["x-frame-options"] == "DENY", where
        policy = dict(
            [*d.split(" ", 1), ""][:2]
            for d in response.headers["content-security-policy"].split("; ")
        )
        assert policy == {
            "default-src": "'none'",
            "style-src": _style_hash(),
            "frame-ancestors": "'none'",
            "base-uri": "'none'",
            "form-action": "'self'",
        }, where


def test_the_dashboard_needs_nothing_the_policy_refuses(client: httpx.Client) -> None:
    """No scripts, event handlers, external resources or inline styles but the
    one the policy names by its hash."""
    page = client.get("/").text
    assert not re.search(r"<script|\son\w+=|javascript:|<link|<img|<iframe|<object", page, re.I)
    # Forms (the filters, logging out) go to this site only, as the policy's form-action says.
    assert all(a.startswith("/") for a in re.findall(r'<form[^>]*action="([^"]*)"', page))
    assert not re.search(r"\sstyle=", page, re.I)
    assert re.findall(r"<style>(.*?)</style>", page, re.S) == [STYLE]
    assert not re.search(r"(src|href)=\"?(https?:)?//", page)


def test_an_unexpected_error_is_a_500_problem_with_the_headers(tmp_path: Path) -> None:
    """No route fails like this (the fuzzing checks that); if one did, its
    answer would still be a problem document, saying nothing of the cause."""
    app = create_app(Settings(state_dir=tmp_path))

    @app.get("/v1/broken")
    def broken() -> None:
        raise RuntimeError("a secret detail")

    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://aggregator") as c:
            return await c.get("/v1/broken")

    response = asyncio.run(get())
    app.state.db.engine.dispose()
    assert response.status_code == 500
    assert problem_type(response) == "internal-error"
    assert "secret" not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
