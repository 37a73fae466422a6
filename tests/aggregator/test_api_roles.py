"""The HTTP API against a real server: roles, denials, pagination, problems, exports."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import polars as pl
import pytest

from agent.client import AggregatorClient
from aggregator.app import create_app
from aggregator.auth import create_user, issue_token
from aggregator.intake import Intake
from aggregator.periods import close_period, open_period, publish_period
from aggregator.settings import Settings
from dp.release_design import TABLE_DESIGN, table_names
from protocol.errors import Forbidden
from protocol.keys import SigningKey
from protocol.request_auth import sign_request

pytestmark = pytest.mark.slow  # a live server with published benchmarks

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED, OPEN, EMPTY = "2026-Q3", "2026-Q4", "2027-Q1"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, kit: Any) -> Iterator[SimpleNamespace]:
    state = tmp_path_factory.mktemp("api")
    url = f"sqlite:///{state / 'aggregator.db'}"
    agg = kit.make_aggregator(state, url)
    agents = kit.enroll(agg.db, [(f"Theater {i}", "theater", "utrecht", "small") for i in range(6)])
    intake = Intake(agg.db, agg.keyring)
    for a in agents:
        intake.accept(a.seal(a.payload(PUBLISHED), agg.recipient))
    close_period(agg.db, PUBLISHED, k=5)
    publish_period(agg.db, PUBLISHED)
    open_period(agg.db, OPEN, rho_budget=0.5)
    open_period(agg.db, EMPTY, rho_budget=0.5)
    for a in agents[:2]:
        intake.accept(a.seal(a.payload(OPEN), agg.recipient))
    create_user(agg.db, "tf", "taskforce", PASSWORD)
    create_user(agg.db, "po", "privacy-officer", PASSWORD)
    po_token = issue_token(agg.db, "po", valid_for=timedelta(days=1))
    agg.db.engine.dispose()
    server = kit.start_server(state, url)
    tf_token = httpx.post(
        f"{server.url}/v1/auth/tokens", json={"username": "tf", "password": PASSWORD}
    ).json()["token"]
    client = httpx.Client(base_url=server.url, timeout=30)
    try:
        yield SimpleNamespace(
            url=server.url, client=client, agents=agents, state=state,
            tf={"authorization": f"Bearer {tf_token}"},
            po={"authorization": f"Bearer {po_token}"},
        )  # fmt: skip
    finally:
        client.close()
        server.stop()


def signed(agent: Any, path: str, *, now: float | None = None) -> dict[str, str]:
    return sign_request(agent.signer, agent.institution_id, "GET", path, now=now)


def problem(response: httpx.Response, status: int, slug: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == f"urn:publiek:problem:{slug}"


def test_published_benchmarks_are_public(world: Any) -> None:
    r = world.client.get(f"/v1/periods/{PUBLISHED}/benchmarks")
    assert r.status_code == 200
    assert r.json()["status"] == "published"
    assert all(c["institutions"] == 6 for c in r.json()["cells"])
    assert all(c["estimate"] is None or c["estimate"] >= 0 for c in r.json()["cells"])
    groups = world.client.get(f"/v1/periods/{PUBLISHED}/groups").json()["groups"]
    assert all("merged_from" not in g and g["merged_groups"] >= 0 for g in groups)


def test_anonymous_callers_cannot_read_an_unpublished_benchmark(world: Any) -> None:
    problem(world.client.get(f"/v1/periods/{OPEN}/benchmarks"), 401, "unauthenticated")


def test_an_institution_cannot_read_an_unpublished_benchmark(world: Any) -> None:
    path = f"/v1/periods/{OPEN}/benchmarks"
    problem(world.client.get(path, headers=signed(world.agents[0], path)), 403, "forbidden")


def test_a_privacy_officer_cannot_read_an_unpublished_benchmark(world: Any) -> None:
    r = world.client.get(f"/v1/periods/{OPEN}/benchmarks", headers=world.po)
    problem(r, 403, "forbidden")


def test_the_taskforce_reads_the_provisional_benchmark_of_an_open_period(world: Any) -> None:
    r = world.client.get(f"/v1/periods/{OPEN}/benchmarks", headers=world.tf)
    assert r.status_code == 200
    assert r.json()["status"] == "provisional"
    assert r.json()["cells"] == []  # 2 institutions < k: nothing listed


def test_an_institution_reads_its_own_submissions(world: Any) -> None:
    agent = world.agents[0]
    path = f"/v1/institutions/{agent.institution_id}/submissions?period={PUBLISHED}"
    r = world.client.get(path, headers=signed(agent, path))
    assert r.status_code == 200
    (sub,) = r.json()["submissions"]
    assert {t["name"] for t in sub["tables"]} == set(table_names())


def test_the_agent_client_signs_requests_for_its_own_values(world: Any) -> None:
    agent = world.agents[1]
    with AggregatorClient(world.url) as client:
        doc = client.signed_get(
            f"/v1/institutions/{agent.institution_id}/submissions", agent.signer,
            agent.institution_id,
        )  # fmt: skip
        assert doc["total"] == 2
        with pytest.raises(Forbidden):
            client.signed_get(
                f"/v1/institutions/{world.agents[0].institution_id}/submissions",
                agent.signer, agent.institution_id,
            )  # fmt: skip


def test_an_institution_cannot_read_another_institutions_values(world: Any) -> None:
    other = world.agents[1].institution_id
    path = f"/v1/institutions/{other}/submissions"
    problem(world.client.get(path, headers=signed(world.agents[0], path)), 403, "forbidden")


def test_the_taskforce_cannot_read_an_institutions_values(world: Any) -> None:
    path = f"/v1/institutions/{world.agents[0].institution_id}/submissions"
    problem(world.client.get(path, headers=world.tf), 403, "forbidden")


def test_a_privacy_officer_cannot_read_an_institutions_values(world: Any) -> None:
    path = f"/v1/institutions/{world.agents[0].institution_id}/submissions"
    problem(world.client.get(path, headers=world.po), 403, "forbidden")


def test_anonymous_callers_cannot_read_an_institutions_values(world: Any) -> None:
    path = f"/v1/institutions/{world.agents[0].institution_id}/submissions"
    problem(world.client.get(path), 401, "unauthenticated")


def test_a_privacy_officer_reads_the_log_budgets_and_config(world: Any) -> None:
    log = world.client.get("/v1/log", headers=world.po)
    assert log.status_code == 200
    assert log.json()["total"] == 8
    budgets = world.client.get(f"/v1/periods/{PUBLISHED}/budgets", headers=world.po).json()
    assert len(budgets["institutions"]) == 6
    assert all(b["rho_spent"] > 0 for b in budgets["institutions"])
    config = world.client.get("/v1/config", headers=world.po).json()
    assert config["k"] == 5
    assert "database" in config
    assert "sqlite:" not in json.dumps(config)


def test_an_institution_cannot_read_the_log_budgets_or_config(world: Any) -> None:
    for path in ("/v1/log", f"/v1/periods/{PUBLISHED}/budgets", "/v1/config"):
        problem(world.client.get(path, headers=signed(world.agents[0], path)), 403, "forbidden")


def test_anonymous_callers_cannot_read_the_log(world: Any) -> None:
    problem(world.client.get("/v1/log"), 401, "unauthenticated")


def test_a_wrong_password_gets_no_token(world: Any) -> None:
    r = world.client.post("/v1/auth/tokens", json={"username": "tf", "password": "wrong" * 4})
    problem(r, 401, "unauthenticated")
    r2 = world.client.post("/v1/auth/tokens", json={"username": "nobody", "password": "x" * 20})
    assert r2.json()["detail"] == r.json()["detail"]


def test_an_unknown_bearer_token_is_refused(world: Any) -> None:
    r = world.client.get("/v1/log", headers={"authorization": "Bearer pbk_made-up"})
    problem(r, 401, "unauthenticated")


def test_a_stale_signed_request_is_refused(world: Any) -> None:
    agent = world.agents[0]
    path = f"/v1/institutions/{agent.institution_id}/submissions"
    r = world.client.get(path, headers=signed(agent, path, now=time.time() - 3600))
    problem(r, 401, "unauthenticated")


def test_a_request_signed_with_a_key_that_is_not_enrolled_is_refused(world: Any) -> None:
    agent = world.agents[0]
    path = f"/v1/institutions/{agent.institution_id}/submissions"
    headers = sign_request(SigningKey.generate(), agent.institution_id, "GET", path)
    problem(world.client.get(path, headers=headers), 401, "invalid-signature")


def test_a_signature_for_another_path_is_refused(world: Any) -> None:
    agent = world.agents[0]
    path = f"/v1/institutions/{agent.institution_id}/submissions"
    r = world.client.get(path + "?period=2026-Q4", headers=signed(agent, path))
    problem(r, 401, "invalid-signature")


def test_an_institution_reads_its_report_beside_its_peer_group(world: Any) -> None:
    agent = world.agents[0]
    path = f"/v1/institutions/{agent.institution_id}/periods/{PUBLISHED}/report"
    doc = world.client.get(path, headers=signed(agent, path)).json()
    assert doc["peer_group"]["group_id"] == "theater/utrecht/small"
    assert doc["peer_group"]["institutions"] == 6
    assert "members" not in json.dumps(doc)


def test_only_the_taskforce_closes_a_period(world: Any) -> None:
    problem(world.client.post(f"/v1/periods/{EMPTY}/close", headers=world.po), 403, "forbidden")
    r = world.client.post(f"/v1/periods/{EMPTY}/close", headers=world.tf)
    assert r.status_code == 200
    assert r.json()["state"] == "closed"


def test_benchmarks_download_as_csv_and_parquet(world: Any) -> None:
    total = world.client.get(f"/v1/periods/{PUBLISHED}/groups").json()["groups"]
    csv = world.client.get(f"/v1/periods/{PUBLISHED}/benchmarks.csv")
    parquet = world.client.get(f"/v1/periods/{PUBLISHED}/benchmarks.parquet")
    assert csv.headers["content-type"].startswith("text/csv")
    from_csv = pl.read_csv(io.BytesIO(csv.content))
    from_parquet = pl.read_parquet(io.BytesIO(parquet.content))
    # the kit's payload: 4 provinces, 3 months and one cell in each of the other tables
    cells = 4 + 3 + len(TABLE_DESIGN) - 2
    assert from_csv.height == from_parquet.height == cells * len(total)
    assert {"group_id", "table", "province", "month", "estimate", "ci95_low", "ci95_high", "std",
            "too_uncertain", "merged_groups"} <= set(from_parquet.columns)  # fmt: skip
    assert not {"total", "median", "q1", "q3", "merged_from"} & set(from_parquet.columns)
    assert from_parquet.filter(pl.col("estimate") < 0).height == 0


def test_one_groups_download_is_that_groups_cells(world: Any) -> None:
    """What the dashboard links to: the cells of the group it shows."""
    groups = world.client.get(f"/v1/periods/{PUBLISHED}/groups").json()["groups"]
    csv = world.client.get(f"/v1/periods/{PUBLISHED}/benchmarks.csv", params={"group": "sector"})
    parquet = world.client.get(
        f"/v1/periods/{PUBLISHED}/benchmarks.parquet", params={"group": "sector"}
    )
    every = pl.read_csv(
        io.BytesIO(world.client.get(f"/v1/periods/{PUBLISHED}/benchmarks.csv").content)
    )
    for frame in (
        pl.read_csv(io.BytesIO(csv.content)),
        pl.read_parquet(io.BytesIO(parquet.content)),
    ):
        assert set(frame["group_id"]) == {"sector"}
        assert frame.height == every.height // len(groups)
    nowhere = world.client.get(f"/v1/periods/{PUBLISHED}/benchmarks.csv", params={"group": "x"})
    problem(nowhere, 404, "not-found")


def test_lists_are_paginated(world: Any) -> None:
    first = world.client.get(f"/v1/periods/{PUBLISHED}/benchmarks?limit=10").json()
    assert len(first["cells"]) == 10
    assert first["next_offset"] == 10
    rest = world.client.get(f"/v1/periods/{PUBLISHED}/benchmarks?offset=10&limit=10").json()
    assert rest["next_offset"] is None
    assert len(first["cells"]) + len(rest["cells"]) == first["total"]


def test_errors_are_rfc_9457_problem_documents(world: Any) -> None:
    problem(world.client.get("/v1/nothing-here"), 404, "not-found")
    problem(world.client.get(f"/v1/periods/{PUBLISHED}/benchmarks?limit=0"), 400, "usage")
    problem(world.client.get("/v1/periods/2026-Q1/benchmarks"), 404, "unknown-period")


def test_request_bodies_are_limited(world: Any) -> None:
    r = world.client.post(
        "/v1/auth/tokens", content=b"x" * 10_000, headers={"content-type": "application/json"}
    )
    problem(r, 413, "payload-too-large")


def test_health_and_readiness(world: Any) -> None:
    assert world.client.get("/healthz").json() == {"status": "ok"}
    assert world.client.get("/readyz").json() == {"status": "ready"}


def test_the_dashboard_shows_the_published_period(world: Any) -> None:
    page = world.client.get("/")
    assert page.status_code == 200
    assert PUBLISHED in page.text
    assert "<script" not in page.text
    assert "te onzeker" in page.text  # the legend, in Dutch by default
    assert "median" not in page.text and "merged from" not in page.text
    english = world.client.get("/", params={"lang": "en"})
    assert english.status_code == 200 and "too uncertain" in english.text


def test_the_served_openapi_schema_is_the_checked_in_one(world: Any) -> None:
    served = world.client.get("/openapi.json").json()
    checked_in = json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))
    assert served == checked_in, "regenerate: python -m aggregator.openapi > docs/openapi.json"


def test_the_checked_in_openapi_schema_lists_every_route(tmp_path: Path) -> None:
    app = create_app(Settings(state_dir=tmp_path))
    paths = set(app.openapi()["paths"])
    assert {
        "/healthz", "/readyz", "/v1/keys", "/v1/enrollments", "/v1/submissions",
        "/v1/periods/{period}/benchmarks", "/v1/periods/{period}/benchmarks.csv",
        "/v1/periods/{period}/benchmarks.parquet", "/v1/log", "/v1/config",
    } <= paths  # fmt: skip


def test_the_period_config_is_public_signed_and_the_same_on_every_fetch(world: Any) -> None:
    from dp.release_design import DEFAULT_BOUNDS, DESIGN, TABLE_DESIGN
    from protocol.keys import VerifyKey
    from protocol.messages import PeriodConfig
    from protocol.period_config import verify_period_config

    first = world.client.get(f"/v1/periods/{OPEN}/config")
    assert first.status_code == 200, first.text
    again = world.client.get(f"/v1/periods/{OPEN}/config")
    assert first.content == again.content
    config = PeriodConfig.from_dict(first.json())
    receipt_key = VerifyKey.from_text(world.client.get("/v1/keys").json()["receipt_key"])
    verify_period_config(config, receipt_key)
    assert (config.period, config.rho_budget, config.design) == (OPEN, 0.5, DESIGN)
    assert config.weights == {t.name: t.weight for t in TABLE_DESIGN}
    assert config.bounds == dict(DEFAULT_BOUNDS)
    problem(world.client.get("/v1/periods/2031-Q1/config"), 404, "unknown-period")
    problem(world.client.get("/v1/periods/2026-M07/config"), 422, "invalid-payload")


def test_an_institution_reads_its_own_standing_only(world: Any) -> None:
    mine, other = world.agents[0], world.agents[5]
    path = f"/v1/institutions/{mine.institution_id}/periods/{OPEN}/standing"
    standing = world.client.get(path, headers=signed(mine, path)).json()
    assert standing["state"] == "open" and standing["revoked"] is False
    assert standing["rho_budget"] == 0.5 and standing["submissions"] == 1
    assert 0 < standing["rho_spent"] == pytest.approx(0.5 - standing["rho_left"])
    theirs = f"/v1/institutions/{other.institution_id}/periods/{OPEN}/standing"
    assert world.client.get(theirs, headers=signed(other, theirs)).json()["rho_spent"] == 0.0
    problem(world.client.get(path), 401, "unauthenticated")
    problem(world.client.get(path, headers=signed(other, path)), 403, "forbidden")
    published = f"/v1/institutions/{mine.institution_id}/periods/{PUBLISHED}/standing"
    assert world.client.get(published, headers=signed(mine, published)).json()["state"] == (
        "published"
    )
    unknown = f"/v1/institutions/{mine.institution_id}/periods/2031-Q1/standing"
    problem(world.client.get(unknown, headers=signed(mine, unknown)), 404, "unknown-period")
