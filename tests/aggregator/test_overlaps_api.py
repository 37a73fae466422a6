"""The overlaps API through a real server: crossover matrices and reach where the
benchmarks are readable, an institution's own overlaps and a named pair for
itself only; each denial its own problem document; and the figures against the
true overlaps of synthetic households.

Households are synthetic rows keyed as the agent keys them (HMAC of the
identity of docs/architecture.md under the period's sector key,
tests/integration/sector_truth.py), hashed with the period's public seed and
released in parts by OpenDP (``dp.sketches.release_parts``), one part per
discipline as the agent sends; the submissions are stored past the intake
(the intake's checks of a sketch are tested with it). Each household visits
two to six institutions: overlaps large against the sets, reach a lower bound.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterator, Sequence
from itertools import combinations
from types import SimpleNamespace
from typing import Any

import httpx
import numpy as np
import polars as pl
import pytest

from aggregator.periods import close_period, open_period, period_sketch_of, publish_period
from dp.sketches import hashed, sketch_config
from protocol.request_auth import sign_request
from tests.aggregator.overlap_sectors import sketched
from tests.integration.sector_truth import household_identity, misses_allowed

pytestmark = pytest.mark.slow  # a live server with published periods

PERIOD, PLAIN, SMALL = "2026-Q3", "2026-Q4", "2027-Q1"
# Twelve institutions: six theater, six music, six in each of two provinces.
SPECS = [
    (f"{'Theater' if n < 6 else 'Music'} {n}", "theater" if n < 6 else "music",
     "utrecht" if n % 2 else "gelderland", "medium")
    for n in range(12)
]  # fmt: skip
REFUSER = 11  # did not opt in to named overlaps
PAIR = (0, 6)  # share 3,000 more households on purpose
HOUSEHOLDS = 40_000
# Half a budget of 1: a bucket's noise σ just above 1 (below 1 the discrete
# Gaussian's variance is less than σ², which dp.measurements.noise_std assumes).
SKETCH_RHO = 0.5


def household_keys(count: int, sector_key: bytes) -> list[bytes]:
    """Keys of ``count`` synthetic households as an agent computes them."""
    rows = [
        {"postcode": f"{1000 + n % 9000} {chr(65 + n // 9000 % 26)}B",
         "house_number": str(1 + n // 234000), "email": ""}
        for n in range(count)
    ]  # fmt: skip
    identities = [household_identity(r) for r in rows]
    assert len(set(identities)) == count and None not in identities
    return [hmac.new(sector_key, str(i).encode(), hashlib.sha256).digest() for i in identities]


def visits(rng: np.random.Generator) -> np.ndarray:
    """households × institutions: each household visits two to six institutions,
    so that overlaps are large against the sets (and reach is a lower bound),
    and one pair shares 3,000 more."""
    count = rng.integers(2, 7, HOUSEHOLDS)
    ranks = rng.random((HOUSEHOLDS, len(SPECS))).argsort(axis=1).argsort(axis=1)
    member = ranks < count[:, None]
    apart = np.flatnonzero(~(member[:, PAIR[0]] & member[:, PAIR[1]]))
    shared = rng.choice(apart, 3000, replace=False)
    member[shared, PAIR[0]] = member[shared, PAIR[1]] = True
    return member


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, kit: Any) -> Iterator[SimpleNamespace]:
    state = tmp_path_factory.mktemp("overlaps")
    agg = kit.make_aggregator(state, f"sqlite:///{state / 'aggregator.db'}", period=None)
    agents = kit.enroll(agg.db, [*SPECS, ("Absent", "dance", "utrecht", "small")])
    absent = agents.pop()
    member = visits(np.random.default_rng(17))
    keys = household_keys(HOUSEHOLDS, secrets.token_bytes(32))
    index = 0
    for label, share, count in ((PERIOD, 0.5, len(SPECS)), (PLAIN, 0.0, 6), (SMALL, 0.5, 5)):
        period = open_period(agg.db, label, rho_budget=2 * SKETCH_RHO, overlap_share=share,
                             overlap_households=2000 if share else None)  # fmt: skip
        spec = period_sketch_of(period)
        every = hashed(sketch_config(label, spec), keys) if spec is not None else None
        with agg.db.session() as s:
            for n, agent in enumerate(agents[:count]):
                index += 1
                mine = None if every is None else every.filter(pl.Series(member[:, n]))
                s.add(
                    sketched(
                        agent, period, mine, rho=SKETCH_RHO, consents=n != REFUSER, log_index=index
                    )
                )
        close_period(agg.db, label, k=5)
        publish_period(agg.db, label)
    agg.db.engine.dispose()
    server = kit.start_server(state, f"sqlite:///{state / 'aggregator.db'}")
    client = httpx.Client(base_url=server.url, timeout=60)
    try:
        yield SimpleNamespace(client=client, agents=agents, absent=absent, member=member)
    finally:
        client.close()
        server.stop()


def get_signed(world: Any, agent: Any, path: str, *, period: str = PERIOD) -> httpx.Response:
    target = f"/v1/institutions/{agent.institution_id}/periods/{period}/{path}"
    headers = sign_request(agent.signer, agent.institution_id, "GET", target)
    response: httpx.Response = world.client.get(target, headers=headers)
    return response


def shared(world: Any, left: list[int], right: list[int] | None) -> int:
    """Σ over pairs of different institutions (one in each list; ``right`` None:
    each pair within ``left`` once) of their shared households."""
    m = world.member.astype(np.float64)
    pairs = combinations(left, 2) if right is None else ((i, j) for i in left for j in right)
    return int(sum(m[:, i] @ m[:, j] for i, j in pairs if i != j))


Figures = list[tuple[str, dict[str, Any], float]]


def having(field: int, value: str, among: Sequence[int] = range(12)) -> list[int]:
    return [n for n in among if SPECS[n][field] == value]


def crossover(world: Any, by: str) -> dict[str, Any]:
    r = world.client.get(f"/v1/periods/{PERIOD}/overlaps", params={"by": by})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


@pytest.fixture(scope="module")
def figures(world: Any) -> Figures:
    """Every figure the API states about the period, with its truth."""
    out: Figures = []
    groups = {
        "discipline": {"theater": having(1, "theater"), "music": having(1, "music")},
        "province": {"gelderland": having(2, "gelderland"), "utrecht": having(2, "utrecht")},
        "peer_group": {"theater/nl/medium": having(1, "theater"),
                       "music/nl/medium": having(1, "music")},
    }  # fmt: skip
    for by, members in groups.items():
        for cell in crossover(world, by)["cells"]:
            left, right = members[cell["left"]], members[cell["right"]]
            truth = shared(world, left, None if cell["left"] == cell["right"] else right)
            out.append((f"{by} {cell['left']} × {cell['right']}", cell["shared_households"], truth))
    reach = world.client.get(f"/v1/periods/{PERIOD}/reach").json()
    out.append(("household-institution pairs", reach["household_institution_pairs"],
                int(world.member.sum())))  # fmt: skip
    own = get_signed(world, world.agents[0], "overlaps").json()
    others = list(range(1, 12))
    for side in own["sides"]:
        field = {"discipline": 1, "province": 2}.get(side["kind"])
        right = others if field is None else having(field, side["name"], others)
        out.append((f"own {side['kind']} {side['name']}", side["shared_households"],
                    shared(world, [0], right)))  # fmt: skip
    a, b = PAIR
    pair = get_signed(world, world.agents[a], f"overlaps/{world.agents[b].institution_id}").json()
    out.append(("the named pair", pair["shared_households"], shared(world, [a], [b])))
    return out


def test_every_figure_is_clear_of_its_noise(
    figures: list[tuple[str, dict[str, Any], float]],
) -> None:
    assert len(figures) == 3 * 3 + 1 + 5 + 1
    hidden = [name for name, figure, _ in figures if figure["too_uncertain"]]
    assert not hidden


def test_the_figures_cover_the_truth(figures: Figures) -> None:
    missed = [
        (name, figure, truth)
        for name, figure, truth in figures
        if not figure["ci95_low"] <= truth <= figure["ci95_high"]
    ]
    assert len(missed) <= misses_allowed(len(figures)), missed


# --- the sector's view --------------------------------------------------------------


def test_a_crossover_names_its_groups_and_says_what_it_counts(world: Any) -> None:
    body = crossover(world, "province")
    assert body["counts"] == "shared households per pair of institutions"
    assert "once per pair of different institutions" in body["note"]
    assert [(g["group"], g["institutions"]) for g in body["groups"]] == [
        ("gelderland", 6),
        ("utrecht", 6),
    ]
    assert all(c["listed"] for c in body["cells"]) and len(body["cells"]) == 3


def test_disciplines_nobody_has_are_not_shown(world: Any) -> None:
    body = crossover(world, "discipline")
    assert [(g["group"], g["institutions"]) for g in body["groups"]] == [
        ("music", 6),
        ("theater", 6),
    ]


def test_an_unknown_crossover_is_refused(world: Any) -> None:
    r = world.client.get(f"/v1/periods/{PERIOD}/overlaps", params={"by": "postcode"})
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"


def test_the_reach_is_a_lower_bound_and_says_so(world: Any) -> None:
    r = world.client.get(f"/v1/periods/{PERIOD}/reach")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["lower_bound"] is True and "lower bound" in body["note"]
    assert body["institutions"] == len(SPECS)
    distinct = int(world.member.any(axis=1).sum())
    # households visit up to six institutions: the estimate lies well below the truth
    assert body["reach"]["too_uncertain"] or body["reach"]["ci95_high"] < distinct
    assert body["mean_institutions"]["too_uncertain"] or (
        body["mean_institutions"]["ci95_low"] > int(world.member.sum()) / distinct
    )


def test_a_period_without_sketches_has_no_overlaps(world: Any) -> None:
    for path in ("overlaps", "reach"):
        r = world.client.get(f"/v1/periods/{PLAIN}/{path}")
        assert r.status_code == 404, r.text
        assert r.json()["type"] == "urn:publiek:problem:no-sketches"
    r = get_signed(world, world.agents[0], "overlaps", period=PLAIN)
    assert r.json()["type"] == "urn:publiek:problem:no-sketches"


# --- an institution's own view -------------------------------------------------------


def test_an_institution_reads_its_overlap_with_each_discipline_province_and_the_sector(
    world: Any,
) -> None:
    r = get_signed(world, world.agents[0], "overlaps")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["named_overlaps"] is True
    assert [(s["kind"], s["name"], s["institutions"]) for s in body["sides"]] == [
        ("sector", "sector", 11),
        ("discipline", "music", 6),
        ("discipline", "theater", 5),
        ("province", "gelderland", 5),
        ("province", "utrecht", 6),
    ]


def test_an_institution_cannot_read_anothers_overlaps(world: Any) -> None:
    target = f"/v1/institutions/{world.agents[0].institution_id}/periods/{PERIOD}/overlaps"
    other = world.agents[1]
    headers = sign_request(other.signer, other.institution_id, "GET", target)
    assert world.client.get(target, headers=headers).status_code == 403
    assert world.client.get(target).status_code == 401


def test_the_own_view_needs_k_other_institutions(world: Any) -> None:
    r = get_signed(world, world.agents[0], "overlaps", period=SMALL)  # four others
    assert r.status_code == 409, r.text
    assert r.json()["type"] == "urn:publiek:problem:overlap-below-k"


# --- named pairs: one test per denial --------------------------------------------------


def problem(world: Any, asker: Any, other_id: str) -> tuple[int, str]:
    r = get_signed(world, asker, f"overlaps/{other_id}")
    assert r.headers["content-type"] == "application/problem+json"
    return r.status_code, r.json()["type"].removeprefix("urn:publiek:problem:")


def test_a_named_pair_with_itself_is_refused(world: Any) -> None:
    asker = world.agents[0]
    assert problem(world, asker, asker.institution_id) == (400, "named-overlap-self-pair")


def test_a_named_pair_is_refused_to_an_institution_that_did_not_opt_in(world: Any) -> None:
    asker = world.agents[REFUSER]
    other = world.agents[0].institution_id
    assert problem(world, asker, other) == (403, "named-overlap-not-opted-in")


def test_a_named_pair_is_refused_when_the_other_did_not_opt_in(world: Any) -> None:
    other = world.agents[REFUSER].institution_id
    assert problem(world, world.agents[0], other) == (403, "named-overlap-other-not-opted-in")


def test_a_named_pair_is_refused_when_the_other_did_not_submit(world: Any) -> None:
    other = world.absent.institution_id
    assert problem(world, world.agents[0], other) == (404, "named-overlap-other-not-submitted")


def test_a_named_pair_in_a_period_without_sketches_is_refused(world: Any) -> None:
    other = world.agents[1].institution_id
    r = get_signed(world, world.agents[0], f"overlaps/{other}", period=PLAIN)
    assert r.json()["type"] == "urn:publiek:problem:no-sketches"
