"""The shared HTTP client against a real HTTP server on 127.0.0.1.

The server is the standard library's, scripted per test with the answers it
gives in order, so retries, problem documents and headers are seen as they
cross a real socket.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from protocol.client import ProblemClient
from protocol.errors import (
    MalformedMessage,
    PubliekError,
    ServiceUnavailable,
    Unauthenticated,
)
from protocol.keys import SigningKey
from protocol.request_auth import H_INSTITUTION, H_SIGNATURE, verify_request
from tests.protocol.scripted_server import Answer, ScriptedServers


class Script:
    """The answers the server gives, in order, and the requests it saw."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.seen: list[tuple[str, str, dict[str, str]]] = []


def problem(status: int, slug: str, detail: str) -> Answer:
    doc = {"type": f"urn:publiek:problem:{slug}", "title": "t", "status": status, "detail": detail}
    return status, "application/problem+json", json.dumps(doc).encode()


def ok(doc: Any) -> Answer:
    return 200, "application/json", json.dumps(doc).encode()


@pytest.fixture
def serve() -> Iterator[Any]:
    with ScriptedServers() as servers:

        def start(script: Script) -> str:
            def answer(request: BaseHTTPRequestHandler) -> Answer:
                headers = {k.lower(): v for k, v in request.headers.items()}
                script.seen.append(("GET", request.path, headers))
                return script.answers.pop(0)

            return servers.start(answer)

        yield start


def test_a_5xx_is_retried_and_the_later_answer_returned(serve: Any) -> None:
    script = Script((502, "text/html", b"<h1>Bad Gateway</h1>"), ok({"status": "ready"}))
    with ProblemClient(serve(script), backoff=0.01) as client:
        assert client.get("/readyz") == {"status": "ready"}
    assert len(script.seen) == 2


def test_a_problem_document_is_raised_as_its_class_on_one_line(serve: Any) -> None:
    script = Script(problem(401, "unauthenticated", "the API token is unknown"))
    with ProblemClient(serve(script), backoff=0.01) as client, pytest.raises(Unauthenticated) as e:
        client.get("/v1/log")
    assert str(e.value) == "aggregator answered 401 (unauthenticated): the API token is unknown"
    assert len(script.seen) == 1, "a 4xx is an answer, not a failure to retry"


def test_a_persistent_5xx_is_raised_after_the_last_attempt(serve: Any) -> None:
    script = Script(*[problem(503, "service-unavailable", "database down")] * 3)
    client = ProblemClient(serve(script), attempts=3, backoff=0.01)
    with client, pytest.raises(ServiceUnavailable, match="database down"):
        client.get("/readyz")
    assert len(script.seen) == 3


def test_an_error_page_that_is_no_problem_document_still_gives_one_line(serve: Any) -> None:
    script = Script((404, "text/html", b"<html>\n<h1>nope</h1>\n</html>"))
    with ProblemClient(serve(script)) as client, pytest.raises(PubliekError) as e:
        client.get("/v1/keys")
    assert str(e.value) == "aggregator answered 404: Not Found"


def test_an_answer_that_is_not_json_is_a_malformed_message(serve: Any) -> None:
    client = ProblemClient(serve(Script((200, "text/plain", b"hello"))))
    with client, pytest.raises(MalformedMessage, match="not JSON"):
        client.get("/v1/keys")


def test_a_closed_port_is_service_unavailable_naming_only_the_url() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = ProblemClient(f"http://127.0.0.1:{port}", token="s3cret", attempts=2, backoff=0.01)
    with client, pytest.raises(ServiceUnavailable) as e:
        client.get("/v1/log")
    assert f"127.0.0.1:{port}" in str(e.value)
    assert "s3cret" not in str(e.value)
    assert "\n" not in str(e.value)


def test_a_staff_token_is_sent_as_a_bearer_token(serve: Any) -> None:
    script = Script(ok({}), ok({}))
    with ProblemClient(serve(script), token="tok") as client:
        client.get("/v1/log", params={"offset": 0})
        client.post("/v1/sector-keys", json={"sealed_keys": []})
    assert [h["authorization"] for _, _, h in script.seen] == ["Bearer tok", "Bearer tok"]


def test_a_signed_get_carries_a_request_signature_the_aggregator_accepts(serve: Any) -> None:
    signer = SigningKey.generate()
    script = Script(ok({"ok": True}))
    with ProblemClient(serve(script)) as client:
        client.signed_get("/v1/institutions/theater-zuid/x?y=1", signer, "theater-zuid")
    _, path, headers = script.seen[0]
    assert headers[H_INSTITUTION] == "theater-zuid" and H_SIGNATURE in headers
    assert "authorization" not in headers
    verify_request(
        headers, method="GET", target=path, body=b"", key_for=lambda _i, _k: signer.public
    )
