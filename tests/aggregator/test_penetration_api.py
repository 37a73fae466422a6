"""The penetration API: a group's and the sector's figures where the benchmarks
are readable, an institution's own view for itself only."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from aggregator.penetration_text import SYNTHETIC, period_penetration
from aggregator.periods import close_period, open_period, publish_period
from aggregator.segment_models import publish_release, register_model_key
from dp.release_design import PROVINCES
from protocol.keys import SigningKey
from protocol.request_auth import sign_request
from protocol.segment_release import verify_release
from segments.synthetic import SYNTHETIC_VERSION
from tests.aggregator.penetration_submissions import payload, stored
from tests.small_release import small_release

pytestmark = pytest.mark.slow  # a live server with a published period

PERIOD = "2026-Q3"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, kit: Any) -> Iterator[SimpleNamespace]:
    state = tmp_path_factory.mktemp("penetration")
    agg = kit.make_aggregator(state, f"sqlite:///{state / 'aggregator.db'}", period=None)
    model_key = SigningKey.generate()
    data = small_release(model_key)
    register_model_key(agg.db, model_key.public)
    publish_release(agg.db, data, where="test")
    open_period(agg.db, PERIOD, rho_budget=0.5)  # names the release just published
    release = verify_release(data, model_key=model_key.public, where="test")
    origins = [str(x) for x in release.pc4["pc4"].to_list()[:: release.pc4.height // 5][:5]]
    agents = kit.enroll(agg.db, [(f"Theater {i}", "theater", "utrecht", "small") for i in range(6)])
    with agg.db.session() as s:
        for index, (agent, origin) in enumerate(zip(agents, [*origins, None], strict=True)):
            body = payload(
                agent.institution_id,
                PERIOD,
                origin=origin,
                segment_model=SYNTHETIC_VERSION,
                segments=release.segments,
            )
            s.add(stored(body, log_index=index + 1))
    close_period(agg.db, PERIOD, k=5)
    publish_period(agg.db, PERIOD)
    text = period_penetration(agg.db, PERIOD, k=5)
    agg.db.engine.dispose()
    server = kit.start_server(state, f"sqlite:///{state / 'aggregator.db'}")
    client = httpx.Client(base_url=server.url, timeout=30)
    try:
        yield SimpleNamespace(
            client=client, agents=agents, origins=origins, release=release, text=text
        )
    finally:
        client.close()
        server.stop()


def own_path(agent: Any, catchment: str = "30_km") -> str:
    own = f"/v1/institutions/{agent.institution_id}/periods/{PERIOD}"
    return f"{own}/penetration?catchment={catchment}"


def signed(agent: Any, path: str) -> dict[str, str]:
    return sign_request(agent.signer, agent.institution_id, "GET", path)


def test_the_sectors_penetration_is_public_in_the_country_and_by_province(world: Any) -> None:
    r = world.client.get(f"/v1/periods/{PERIOD}/penetration")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["catchment"], body["institutions"], body["listed"]) == ("country", 6, True)
    assert body["synthetic"] is world.release.synthetic
    assert [s["segment"] for s in body["segments"]] == list(world.release.segments)
    assert {p["province"] for p in body["provinces"]} <= set(PROVINCES)
    assert "counts twice" in body["note"]
    for row in body["segments"] + body["provinces"]:
        for figure in ("visitors", "penetration", "not_yet_visitors", "profile_index"):
            value = row[figure]
            assert value["too_uncertain"] or value["estimate"] >= 0 <= value["ci95_low"]


def test_a_peer_group_counts_the_members_with_a_catchment(world: Any) -> None:
    r = world.client.get(
        f"/v1/periods/{PERIOD}/penetration",
        params={"group": "theater/utrecht/small", "catchment": "15_km"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["catchment"], body["institutions"], body["listed"]) == ("15_km", 5, True)
    assert body["provinces"] == []
    assert "at most the number shown" in body["note"]  # summed over the members' catchments
    assert set(body["not_yet_visitors"]) <= set(world.release.segments)
    populations = [s["population"] for s in body["segments"]]
    assert all(p >= 0 for p in populations) and sum(populations) > 0


def test_an_unknown_catchment_or_group_is_refused(world: Any) -> None:
    r = world.client.get(f"/v1/periods/{PERIOD}/penetration", params={"catchment": "5_km"})
    assert r.status_code == 400
    r = world.client.get(f"/v1/periods/{PERIOD}/penetration", params={"group": "nope"})
    assert r.status_code == 404


def test_an_institution_reads_its_own_penetration_beside_its_peer_group(world: Any) -> None:
    agent = world.agents[0]
    path = own_path(agent)
    r = world.client.get(path, headers=signed(agent, path))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["origin"] == world.origins[0]
    assert body["peer_group"]["group_id"] == "theater/utrecht/small"
    assert body["peer_group_listed"] is True
    assert all("peer_group_index" in s for s in body["segments"])


def test_an_institution_cannot_read_anothers_penetration(world: Any) -> None:
    path = own_path(world.agents[0])
    r = world.client.get(path, headers=signed(world.agents[1], path))
    assert r.status_code == 403
    assert world.client.get(path).status_code == 401


def test_an_institution_without_a_catchment_origin_has_no_own_view(world: Any) -> None:
    agent = world.agents[5]
    path = own_path(agent)
    r = world.client.get(path, headers=signed(agent, path))
    assert r.status_code == 404
    assert "catchment" in r.json()["detail"]


def test_the_demo_text_of_a_period_names_the_sector_and_a_peer_group(world: Any) -> None:
    first, second = world.text.splitlines()[:2]
    version = world.release.version
    synthetic = SYNTHETIC.format(model=version)
    assert first == (synthetic if world.release.synthetic else f"segment model {version}")
    assert second == "Penetration of the sector by segment (6 institutions):"
    assert "Largest not-yet-visitor segments of theater/utrecht/small" in world.text
    assert all(s in world.text for s in world.release.segments)
