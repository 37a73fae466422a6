"""``publiek agent overlaps`` against a real aggregator on 127.0.0.1 (issue 17):
the own view and a named pair printed from the signed API, and each refusal
one line with exit code 2: the other institution did not consent (the hint
names release.toml's share_named_overlaps), the period is not published yet.

Twelve institutions submit sketches of synthetic household keys (each
household visits two to six of them, so that the overlaps are clear of the
noise), stored past the intake as in tests/aggregator/test_overlaps_api.py;
the agents' workspaces hold only what enrollment leaves (agent.toml and the
signing key), which is all the command needs.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from agent.overlaps_text import format_named, format_own
from agent.workspace import AgentConfig, Workspace
from aggregator.periods import close_period, open_period, period_sketch_of, publish_period
from cli import app
from dp.sketches import hashed, sketch_config
from protocol.errors import MalformedMessage
from tests.aggregator.conftest import enroll_agents, make_aggregator, start_server
from tests.aggregator.overlap_sectors import sketched

runner = CliRunner()
PUBLISHED, OPEN = "2026-Q3", "2026-Q4"
SPECS = [
    (f"{'Theater' if n < 6 else 'Music'} {n}", "theater" if n < 6 else "music",
     "utrecht" if n % 2 else "gelderland", "medium")
    for n in range(12)
]  # fmt: skip
REFUSER = 11  # did not consent to named overlaps
PAIR = (0, 6)  # share 3,000 more households, so that their named overlap is clear
HOUSEHOLDS = 20_000
SKETCH_RHO = 0.5
FIGURE = re.compile(r"^[\d,]+ \(95%: [\d,]+–[\d,]+\)$|^too uncertain$")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    state = tmp_path_factory.mktemp("overlaps-cli")
    db_url = f"sqlite:///{state / 'aggregator.db'}"
    agg = make_aggregator(state, db_url, period=None)
    agents = enroll_agents(agg.db, SPECS)
    rng = np.random.default_rng(17)
    ranks = rng.random((HOUSEHOLDS, len(SPECS))).argsort(axis=1).argsort(axis=1)
    member = ranks < rng.integers(2, 7, HOUSEHOLDS)[:, None]
    apart = np.flatnonzero(~(member[:, PAIR[0]] & member[:, PAIR[1]]))
    member[rng.choice(apart, 3000, replace=False)[:, None], PAIR] = True
    keys = [secrets.token_bytes(32) for _ in range(HOUSEHOLDS)]
    period = open_period(agg.db, PUBLISHED, rho_budget=2 * SKETCH_RHO, overlap_share=0.5,
                         overlap_households=2000)  # fmt: skip
    every = hashed(sketch_config(PUBLISHED, period_sketch_of(period)), keys)
    with agg.db.session() as s:
        for n, agent in enumerate(agents):
            mine = every.filter(pl.Series(member[:, n]))
            s.add(sketched(agent, period, mine, rho=SKETCH_RHO, consents=n != REFUSER,
                           log_index=n + 1))  # fmt: skip
    close_period(agg.db, PUBLISHED, k=5)
    publish_period(agg.db, PUBLISHED)
    open_period(agg.db, OPEN, rho_budget=2 * SKETCH_RHO, overlap_share=0.5,
                overlap_households=2000)  # fmt: skip
    agg.db.engine.dispose()
    server = start_server(state, db_url)
    try:
        workspaces = []
        for agent in agents:
            ws = Workspace(state / "agents" / agent.institution_id).ensure()
            ws.save_config(AgentConfig(agent.institution_id, server.url, agent.discipline,
                                       agent.province))  # fmt: skip
            agent.signer.save(ws.signing_key_path)
            workspaces.append(ws)
        yield SimpleNamespace(agents=agents, workspaces=workspaces)
    finally:
        server.stop()


def overlaps(world: SimpleNamespace, *args: str) -> tuple[int, str, str]:
    ws = world.workspaces[0]
    result = runner.invoke(app, ["agent", "overlaps", "-w", str(ws.root), *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.slow
def test_the_own_view_prints_each_side_with_its_interval_and_the_note(
    world: SimpleNamespace,
) -> None:
    code, out, err = overlaps(world, "--period", PUBLISHED)
    assert code == 0, err
    lines = out.splitlines()
    own = world.agents[0].institution_id
    assert (
        lines[0]
        == f"household overlaps of {own} in {PUBLISHED} (k = 5; opted in to named overlaps)"
    )
    sides = [re.split(r"\s{2,}", line.strip()) for line in lines[1:-1]]
    assert [(side[0], side[1]) for side in sides] == [
        ("sector", "11 other institutions"),
        ("discipline music", "6 other institutions"),
        ("discipline theater", "5 other institutions"),
        ("province gelderland", "5 other institutions"),
        ("province utrecht", "6 other institutions"),
    ]
    assert all(FIGURE.match(side[2]) for side in sides), sides
    assert "(95%:" in lines[1]  # the sector's overlap is large and clear of the noise
    assert lines[-1].startswith("note: Households the institution shares")
    assert "never negative" in lines[-1] and "-" not in "".join(s[2] for s in sides)


@pytest.mark.slow
def test_a_named_pair_both_consented_to_is_printed(world: SimpleNamespace) -> None:
    other = world.agents[PAIR[1]].institution_id
    code, out, err = overlaps(world, "--period", PUBLISHED, "--with", other)
    assert code == 0, err
    first, note = out.splitlines()
    prefix = f"households {world.agents[0].institution_id} shares with {other} in {PUBLISHED}: "
    assert first.startswith(prefix) and FIGURE.match(first.removeprefix(prefix)), first
    assert "(95%:" in first  # 3,000 shared on purpose: clear of the noise
    assert note.startswith("note: Households both institutions' sketches hold")


@pytest.mark.slow
def test_a_pair_the_other_did_not_consent_to_is_one_line_naming_the_setting(
    world: SimpleNamespace,
) -> None:
    other = world.agents[REFUSER].institution_id
    code, out, err = overlaps(world, "--period", PUBLISHED, "--with", other)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(
        "error: The other institution did not opt in to named overlaps: aggregator answered 403 "
        "(named-overlap-other-not-opted-in)"
    )
    assert f"that consent is {other}'s own" in err
    assert "share_named_overlaps = true in its release.toml" in err


@pytest.mark.slow
def test_a_period_not_published_yet_is_one_line_with_exit_code_2(world: SimpleNamespace) -> None:
    code, out, err = overlaps(world, "--period", OPEN)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "(not-found)" in err
    assert f"period {OPEN} is open; its overlaps are not published yet" in err
    assert f"overlaps are read once the taskforce publishes {OPEN}" in err


# --- the text alone --------------------------------------------------------------------


def test_a_figure_is_never_negative_and_an_uncertain_one_has_no_number() -> None:
    answer = {
        "period": PUBLISHED, "k": 5, "institution_id": "zaal-a", "named_overlaps": False,
        "note": "n.",
        "sides": [
            {"kind": "sector", "name": "sector", "institutions": 9,
             "shared_households": {"estimate": 1200.0, "ci95_low": -3.0, "ci95_high": 2400.0,
                                   "too_uncertain": False}},
            {"kind": "province", "name": "pooled", "institutions": 5,
             "shared_households": {"estimate": None, "ci95_low": None, "ci95_high": None,
                                   "too_uncertain": True}},
        ],
    }  # fmt: skip
    assert format_own(answer).splitlines() == [
        "household overlaps of zaal-a in 2026-Q3 (k = 5; did not opt in to named overlaps)",
        "  sector           9 other institutions  1,200 (95%: 0–2,400)",
        "  province pooled  5 other institutions  too uncertain",
        "note: n.",
    ]


def test_an_answer_without_its_fields_is_one_error() -> None:
    with pytest.raises(MalformedMessage):
        format_named({"period": PUBLISHED, "other_id": "zaal-b"})


def test_a_mistyped_period_or_id_is_refused_before_any_request(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws").ensure()
    ws.save_config(AgentConfig("zaal-a", "http://127.0.0.1:9", "theater", "utrecht"))
    base = ["agent", "overlaps", "-w", str(ws.root)]
    result = runner.invoke(app, [*base, "--period", "2026-Q9"])
    assert result.exit_code == 2 and "give a quarter, e.g. --period 2026-Q3" in result.stderr
    result = runner.invoke(app, [*base, "--period", PUBLISHED, "--with", "Zaal B"])
    assert result.exit_code == 2 and "the id the other institution enrolled with" in result.stderr
