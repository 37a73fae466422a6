"""The OpenAPI document is the API's contract: checked in, complete, and true to
what the server sends (statuses, media types, credentials, problem documents)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import numpy as np
import polars as pl
import pytest

from aggregator.auth import create_user, issue_token
from aggregator.enrollment import create_token
from aggregator.intake import Intake
from aggregator.openapi import schema_json
from aggregator.periods import close_period, open_period, publish_period
from aggregator.segment_models import publish_release, register_model_key
from dp.release_design import DEMO_SEGMENTS
from protocol.errors import ALL_ERRORS
from protocol.keys import SealPrivateKey, SigningKey
from protocol.request_auth import HEADERS, sign_request
from tests.aggregator.overlap_sectors import sketched
from tests.aggregator.penetration_submissions import payload, stored
from tests.small_release import small_release

ROOT = Path(__file__).resolve().parents[2]
DOC: dict[str, Any] = json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))
PROBLEM_JSON = "application/problem+json"
JSON = {"content-type": "application/json"}
PROBLEM = {"schema": {"$ref": "#/components/schemas/Problem"}}
# Operations anyone may call. An enrollment and a submission authenticate inside
# their body (a one-time token; an envelope signed by the enrolled key), not by
# a header, so they name no security scheme either.
PUBLIC = {
    ("get", "/healthz"), ("get", "/readyz"), ("get", "/"), ("get", "/trends"), ("get", "/v1/keys"),
    ("get", "/v1/periods"), ("get", "/v1/periods/{period}/config"),
    ("post", "/v1/enrollments"), ("post", "/v1/submissions"), ("post", "/v1/auth/tokens"),
    ("get", "/v1/segment-models"), ("get", "/v1/segment-models/{version}"),
}  # fmt: skip
STATUS_OF_TYPE = {e.problem_type(): e.status for e in ALL_ERRORS}
SEGMENT_MODEL = "synthetic-demo-2026"  # what the kit's submissions name
OVERLAPS = "2025-Q4"  # a published period with household sketches
PC4_OF_MODEL = 9505  # the first PC4 of the small synthetic release


def operations(doc: dict[str, Any] = DOC) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


def test_the_checked_in_document_is_what_the_app_generates() -> None:
    checked_in = (ROOT / "docs" / "openapi.json").read_text(encoding="utf-8")
    assert schema_json() == checked_in, (
        "regenerate: python -m aggregator.openapi > docs/openapi.json"
    )


def test_every_operation_documents_a_success_with_its_media_type() -> None:
    for method, path, operation in operations():
        successes = {s: r for s, r in operation["responses"].items() if s.startswith("2")}
        assert successes, f"{method} {path}"
        for response in successes.values():
            assert response["content"], f"{method} {path}"
            assert all("schema" in media for media in response["content"].values())


def test_every_error_answer_is_a_problem_document_with_its_types() -> None:
    for method, path, operation in operations():
        for status, response in operation["responses"].items():
            if status.startswith("2"):
                continue
            where = f"{method} {path} {status}"
            content = dict(response["content"])
            if "text/html" in operation["responses"]["200"]["content"]:
                # A web page's error is also a page, to a browser (ADR 0044).
                assert content.pop("text/html") == {"schema": {"type": "string"}}, where
            assert content == {PROBLEM_JSON: PROBLEM}, where
            types = response["x-problem-types"]
            assert types, where
            assert all(STATUS_OF_TYPE[t] == int(status) for t in types), where


def test_every_operation_that_uses_the_database_documents_503() -> None:
    for method, path, operation in operations():
        if path != "/healthz":
            assert "503" in operation["responses"], f"{method} {path}"


def test_operations_with_checked_parameters_document_the_400() -> None:
    for method, path, operation in operations():
        checked = [
            p
            for p in operation.get("parameters", [])
            if p["schema"].get("type") == "integer" or "minimum" in p["schema"]
        ]
        if checked:
            assert "urn:publiek:problem:usage" in operation["responses"]["400"]["x-problem-types"]
        assert "422" not in operation["responses"] or (
            "HTTPValidationError" not in json.dumps(operation["responses"]["422"])
        ), f"{method} {path}: a bad parameter is a 400 here"


def test_every_operation_but_the_public_ones_names_its_credentials() -> None:
    schemes = DOC["components"]["securitySchemes"]
    for method, path, operation in operations():
        if (method, path) in PUBLIC:
            assert "security" not in operation, f"{method} {path}"
            continue
        security = operation.get("security")
        assert security, f"{method} {path} names no security scheme"
        assert any(requirement for requirement in security), f"{method} {path}"
        assert all(name in schemes for requirement in security for name in requirement)
        assert "401" in operation["responses"], f"{method} {path}"


def test_a_signed_request_needs_all_four_headers() -> None:
    schemes = DOC["components"]["securitySchemes"]
    signed = [r for _, _, op in operations() for r in op.get("security", []) if len(r) > 1]
    assert signed
    for requirement in signed:
        headers = {schemes[name]["name"].lower() for name in requirement}
        assert headers == set(HEADERS)
        assert all(schemes[name]["in"] == "header" for name in requirement)
    assert schemes["staffToken"] == {**schemes["staffToken"], "type": "http", "scheme": "bearer"}


def test_bodies_read_as_bytes_are_documented_with_their_limit() -> None:
    for method, path, operation in operations():
        if method != "post" or path.endswith(("/close", "/publish")):
            continue
        body = operation["requestBody"]
        assert body["required"] is True
        ref = body["content"]["application/json"]["schema"]["$ref"]
        assert ref.removeprefix("#/components/schemas/") in DOC["components"]["schemas"]
        assert "413" in operation["responses"], f"{method} {path}"


def test_every_reference_resolves() -> None:
    text = json.dumps(DOC)
    refs = {part.split('"')[0] for part in text.split('"$ref": "')[1:]}
    for ref in refs:
        node: Any = DOC
        for key in ref.removeprefix("#/").split("/"):
            node = node[key]
        assert node, ref


# --- what the server really sends ---------------------------------------------


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, kit: Any) -> Iterator[SimpleNamespace]:
    state = tmp_path_factory.mktemp("openapi")
    url = f"sqlite:///{state / 'aggregator.db'}"
    agg = kit.make_aggregator(state, url)  # opens 2026-Q3
    agents = kit.enroll(agg.db, [(f"Museum {i}", "museum", "zeeland", "small") for i in range(5)])
    intake = Intake(agg.db, agg.keyring)
    open_period(agg.db, "2026-Q2", rho_budget=0.5)
    for agent in agents:
        intake.accept(agent.seal(agent.payload("2026-Q3"), agg.recipient))
        intake.accept(agent.seal(agent.payload("2026-Q2"), agg.recipient))
    close_period(agg.db, "2026-Q3", k=5)
    publish_period(agg.db, "2026-Q3")
    close_period(agg.db, "2026-Q2", k=5)  # closed, published over HTTP
    open_period(agg.db, "2026-Q4", rho_budget=0.5)
    create_user(agg.db, "tf", "taskforce", "correct horse battery")
    tf = issue_token(agg.db, "tf", valid_for=timedelta(days=1))
    _, token = create_token(
        agg.db, name="Dance", discipline="dance", province="limburg",
        valid_for=timedelta(hours=1), size_class="medium",
    )  # fmt: skip
    sealed = kit.seal_with_new_custodian(agg.db, agents[0].institution_id, "2026-Q4", bytes(32))
    envelope = agents[1].seal(agents[1].payload("2026-Q4"), agg.recipient)
    model_key = SigningKey.generate()
    register_model_key(agg.db, model_key.public)
    publish_release(agg.db, small_release(model_key), where="test")
    # Penetration: the model the kit's submissions name, and one stored
    # submission with a catchment (the intake takes them from design v3 on).
    publish_release(agg.db, small_release(model_key, SEGMENT_MODEL), where="test")
    with agg.db.session() as s:
        body = payload(agents[0].institution_id, "2026-Q3", origin=str(PC4_OF_MODEL),
                       segment_model=SEGMENT_MODEL, segments=DEMO_SEGMENTS)  # fmt: skip
        s.add(stored(body, log_index=1_000))
    # Overlaps: a published period with sketches from six institutions (k = 5).
    others = kit.enroll(agg.db, [("Museum 5", "museum", "zeeland", "small")])
    overlaps = open_period(agg.db, OVERLAPS, rho_budget=1.0, overlap_share=0.5,
                           overlap_households=1000)  # fmt: skip
    households = pl.Series(np.random.default_rng(7).integers(0, 2**63, 3000, dtype=np.uint64))
    with agg.db.session() as s:
        for n, agent in enumerate([*agents, *others]):
            mine = households[n * 300 : n * 300 + 1200]
            s.add(sketched(agent, overlaps, mine, rho=0.5, consents=True, log_index=2_000 + n))
    close_period(agg.db, OVERLAPS, k=5)
    publish_period(agg.db, OVERLAPS)
    agg.db.engine.dispose()
    server = kit.start_server(state, url)
    client = httpx.Client(base_url=server.url, timeout=30)
    try:
        yield SimpleNamespace(
            client=client, agents=agents, tf={"authorization": f"Bearer {tf}"},
            enrollment={
                "token": token,
                "signing_key": SigningKey.generate().public.to_text(),
                "sealing_key": SealPrivateKey.generate().public.to_text(),
            },
            sealed={"sealed_keys": [sealed.to_dict()]}, envelope=envelope,
        )  # fmt: skip
    finally:
        client.close()
        server.stop()


def requests(w: SimpleNamespace) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(method, documented path, URL, request options): each operation's answers."""
    me, other = w.agents[0], w.agents[1]

    def signed(url: str, agent: Any = me) -> dict[str, Any]:
        return {"headers": sign_request(agent.signer, agent.institution_id, "GET", url)}

    inst = f"/v1/institutions/{me.institution_id}"
    for method, path, url, options in [
        ("get", "/healthz", "/healthz", {}),
        ("get", "/readyz", "/readyz", {}),
        ("get", "/v1/keys", "/v1/keys", {}),
        ("get", "/v1/periods", "/v1/periods", {}),
        ("get", "/v1/segment-models", "/v1/segment-models", {}),
        ("get", "/v1/segment-models/{version}", "/v1/segment-models/synthetic-2026.1", {}),
        ("get", "/v1/segment-models/{version}", "/v1/segment-models/other-2026", {}),
        ("get", "/", "/", {}),
        ("get", "/", "/?period=2026-Q4", {}),
        ("get", "/", "/?period=bad", {}),
        ("get", "/trends", "/trends", {}),
        ("get", "/trends", "/trends?lang=xx", {}),
        ("get", "/v1/me", "/v1/me", {}),
        ("get", "/v1/me", "/v1/me", {"headers": w.tf}),
        ("get", "/v1/log", "/v1/log", {"headers": w.tf}),
        ("get", "/v1/log", "/v1/log?limit=0", {"headers": w.tf}),
        ("get", "/v1/config", "/v1/config", {}),
        ("get", "/v1/config", "/v1/config", {"headers": w.tf}),
        ("get", "/v1/custodian/recipients", "/v1/custodian/recipients", {"headers": w.tf}),
        ("post", "/v1/sector-keys", "/v1/sector-keys",
         {"content": b"[]", "headers": {**w.tf, **JSON}}),
        ("post", "/v1/sector-keys", "/v1/sector-keys", {"json": w.sealed, "headers": w.tf}),
        ("post", "/v1/sector-keys", "/v1/sector-keys", {"json": w.sealed}),
        ("post", "/v1/auth/tokens", "/v1/auth/tokens", {"content": b"x" * 5000, "headers": JSON}),
        ("post", "/v1/auth/tokens", "/v1/auth/tokens", {"json": {"username": "tf"}}),
        ("post", "/v1/auth/tokens", "/v1/auth/tokens",
         {"json": {"username": "tf", "password": "correct horse battery"}}),
        ("post", "/v1/enrollments", "/v1/enrollments", {"json": w.enrollment}),
        ("post", "/v1/enrollments", "/v1/enrollments", {"json": w.enrollment}),
        ("post", "/v1/submissions", "/v1/submissions", {"content": b"{}", "headers": JSON}),
        ("post", "/v1/submissions", "/v1/submissions", {"content": w.envelope, "headers": JSON}),
        ("post", "/v1/periods/{period}/close", "/v1/periods/2026-Q3/close", {"headers": w.tf}),
        ("post", "/v1/periods/{period}/close", "/v1/periods/2026-Q4/close", {}),
        ("post", "/v1/periods/{period}/close", "/v1/periods/2026-Q4/close", {"headers": w.tf}),
        ("post", "/v1/periods/{period}/publish", "/v1/periods/2026-Q4/publish",
         {"headers": w.tf}),
        ("post", "/v1/periods/{period}/publish", "/v1/periods/2026-Q2/publish",
         {"headers": w.tf}),
    ]:  # fmt: skip
        yield method, path, url, options
    for period in ("2026-Q3", "2026-Q4", OVERLAPS, "2031-Q1", "2026-M07", "bad"):
        yield "get", "/v1/periods/{period}/config", f"/v1/periods/{period}/config", {}
        for what in ("groups", "benchmarks", "benchmarks.csv", "benchmarks.parquet", "budgets",
                     "submissions"):  # fmt: skip
            url = f"/v1/periods/{period}/{what}"
            for options in ({}, {"headers": w.tf}, signed(url)):
                yield "get", f"/v1/periods/{{period}}/{what}", url, options
        for what in ("penetration", "penetration?group=museum/zeeland/small&catchment=60_km",
                     "penetration?catchment=1_km"):  # fmt: skip
            url = f"/v1/periods/{period}/{what}"
            for options in ({}, {"headers": w.tf}, signed(url)):
                yield "get", "/v1/periods/{period}/penetration", url, options
        for what in ("standing", "report", "penetration", "penetration?catchment=15_km"):
            url = f"{inst}/periods/{period}/{what}"
            path = f"/v1/institutions/{{institution_id}}/periods/{{period}}/{what.split('?')[0]}"
            for options in ({}, {"headers": w.tf}, signed(url), signed(url, other)):
                yield "get", path, url, options
        for what in ("overlaps", "overlaps?by=province", "overlaps?by=x", "reach"):
            url = f"/v1/periods/{period}/{what}"
            for options in ({}, {"headers": w.tf}, signed(url)):
                yield "get", f"/v1/periods/{{period}}/{what.split('?')[0]}", url, options
        own = "/v1/institutions/{institution_id}/periods/{period}/overlaps"
        for what, path in (
            ("overlaps", own),
            (f"overlaps/{other.institution_id}", f"{own}/{{other_id}}"),
            (f"overlaps/{me.institution_id}", f"{own}/{{other_id}}"),
            ("overlaps/BAD", f"{own}/{{other_id}}"),
        ):
            url = f"{inst}/periods/{period}/{what}"
            for options in ({}, {"headers": w.tf}, signed(url), signed(url, other)):
                yield "get", path, url, options  # fmt: skip
        url = f"/v1/sector-keys/{period}/{me.institution_id}"
        for options in ({}, signed(url), signed(url, other)):
            yield "get", "/v1/sector-keys/{period}/{institution_id}", url, options
    for query in ("", "?period=2026-Q3", "?limit=0", "?period=bad"):
        url = f"{inst}/submissions{query}"
        for options in ({}, signed(url), signed(url, other)):
            yield "get", "/v1/institutions/{institution_id}/submissions", url, options
    yield "get", "/v1/periods/{period}/benchmarks", "/v1/periods/2026-Q3/benchmarks?group=x", {}
    stored = json.loads(w.envelope)["submission_id"]  # by POST /v1/submissions above
    reason = {"json": {"reason": "why"}}
    for sid, options in [
        (stored, reason), ("bad", {**reason, "headers": w.tf}),
        ("0" * 32, {**reason, "headers": w.tf}), (stored, {"content": b"x", "headers": w.tf}),
        (stored, {**reason, "headers": w.tf}),
    ]:  # fmt: skip
        url = f"/v1/submissions/{sid}/set-aside"
        yield "post", "/v1/submissions/{submission_id}/set-aside", url, options


@pytest.mark.slow
def test_the_server_sends_only_documented_statuses_and_media_types(world: Any) -> None:
    seen: set[tuple[str, str, str]] = set()
    for method, path, url, options in requests(world):
        response = world.client.request(method.upper(), url, **options)
        documented = DOC["paths"][path][method]["responses"]
        status = str(response.status_code)
        where = f"{method.upper()} {url} answered {status}: {response.text[:200]}"
        assert status in documented, where
        media = response.headers["content-type"].split(";")[0]
        assert media in documented[status]["content"], where
        if media == PROBLEM_JSON:
            assert response.json()["type"] in documented[status]["x-problem-types"], where
        seen.add((method, path, status))
    # every operation was seen answering a success
    assert {(m, p) for m, p, s in seen if s.startswith("2")} == {(m, p) for m, p, _ in operations()}
