"""Every route of the OpenAPI document, fuzzed against a real server (issue 14).

Schemathesis generates requests from ``docs/openapi.json``, valid and
invalid (parameters, bodies, headers; the four headers of a signed request
included), and sends them to a live aggregator on 127.0.0.1 that has
something in every state (``live_aggregator``). Each operation is fuzzed by
every kind of caller:

- ``anonymous``: no credentials but what the generator makes up;
- ``taskforce`` and ``privacy-officer``: a valid bearer token;
- ``institution``: each request signed, as sent, with an enrolled
  institution's key, and the ``institution_id`` of the path its own, so the
  generated parameters reach the route behind the signature check.

Every answer must pass schemathesis's checks: no server error, and the
status, media type, headers and body the document gives for the operation.
The run is derandomized (the same cases on every run) and bounded:
``MAX_EXAMPLES`` per operation and caller keeps it near a minute on two cores.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.hostile.live_aggregator import LiveAggregator, start_live_aggregator

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = schemathesis.openapi.from_path(ROOT / "docs" / "openapi.json")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
ROLES = ("anonymous", "taskforce", "privacy-officer", "institution")
# A longer run, not part of `make test`:
#   PUBLIEK_FUZZ_EXAMPLES=500 pytest tests/hostile/test_api_fuzz.py -s
MAX_EXAMPLES = int(os.environ.get("PUBLIEK_FUZZ_EXAMPLES", "50"))
CASES: Counter[tuple[str, int]] = Counter()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveAggregator]:
    state = tmp_path_factory.mktemp("fuzz")
    agg = start_live_aggregator(state, f"sqlite:///{state / 'aggregator.db'}")
    started = time.monotonic()
    try:
        yield agg
    finally:
        agg.stop()
        summary = ", ".join(f"{role} {status}: {n}" for (role, status), n in sorted(CASES.items()))
        print(
            f"\nfuzzed {sum(CASES.values())} cases in {time.monotonic() - started:.0f} s: {summary}"
        )


class SignedBy(requests.auth.AuthBase):
    """Sign the request as it will be sent (path and query after encoding)."""

    def __init__(self, sign: Callable[[str, str], dict[str, str]]) -> None:
        self.sign = sign

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers.update(self.sign(request.path_url, str(request.method)))
        return request


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


@pytest.mark.parametrize("role", ROLES)
@SCHEMA.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_route_answers_as_documented(
    case: Any, role: str, live: LiveAggregator, session: requests.Session
) -> None:
    kwargs: dict[str, Any] = {}
    if role == "taskforce":
        case.headers = {**(case.headers or {}), **live.taskforce}
    elif role == "privacy-officer":
        case.headers = {**(case.headers or {}), **live.privacy_officer}
    elif role == "institution":
        me = live.agents[0]
        if case.path_parameters and "institution_id" in case.path_parameters:
            case.path_parameters["institution_id"] = me.institution_id
        kwargs["auth"] = SignedBy(lambda target, method: live.signed(target, me, method))
    response = case.call(base_url=live.url, session=session, **kwargs)
    CASES[role, response.status_code] += 1
    case.validate_response(response, checks=CHECKS)
