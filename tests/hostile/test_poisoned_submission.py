"""A stored submission whose values cannot be right, and setting it aside (issue 14).

Before issue 14 the intake accepted a cell of 2^70, 10^15 or 10^400 (over HTTP
and by import); from then on closing the period, the taskforce's benchmarks,
the groups listing and the public CSV and Parquet downloads answered 500, and
there was no way to take the submission out. Intake refuses such values now;
these tests put them in the database the way an older version stored them
(a real submission through the real intake, then its stored payload carrying
the value) and check the second line of defence: every view answers 2xx, the
bad submission is left out and named with its reason, and the taskforce can
set it aside (CLI and HTTP) so that the period closes and publishes without
it, logged for the privacy officer and shown to the institution, while every
other institution's submissions count as before.

Real components: SQLite and PostgreSQL, a uvicorn server on 127.0.0.1, the
``publiek`` command.
"""

from __future__ import annotations

import copy
import io
import json
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select, text
from typer.testing import CliRunner

from aggregator import benchmarks, exports, periods, translog
from aggregator.auth import PRIVACY_OFFICER, TASKFORCE, create_user, issue_token
from aggregator.intake import Intake
from aggregator.migrations import upgrade
from aggregator.screening import NOISE_SPREAD, Implausible, TableInput, tables_of
from aggregator.set_aside import MAX_REASON_CHARS, set_aside
from aggregator.storage import BenchmarkGroup, Database, LogEntry, Submission
from cli import app
from dp.measurements import GAUSSIAN
from dp.release_design import (
    DEFAULT_BOUNDS,
    MAX_CELL_MAGNITUDE,
    TABLE_DESIGN,
    cell_value_bound,
    sensitivity,
)
from protocol.errors import InvalidPayload, NotFound, PeriodNotOpen
from protocol.request_auth import sign_request
from protocol.translog import GENESIS, SET_ASIDE, entry_hash, verify_chain
from tests.aggregator.conftest import (
    PERIOD,
    Agent,
    Aggregator,
    Server,
    copy_aggregator,
    enroll_agents,
    make_aggregator,
    new_postgres_database,
    postgres,  # noqa: F401 - the PostgreSQL fixture, by name
    start_server,
)
from tests.aggregator.overview_page import overview_of

POISONS = {"2^70": 2**70, "10^15": 10**15, "10^400": 10**400}
PASSWORD = "correct horse battery"
runner = CliRunner()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'aggregator.db'}"
    return new_postgres_database(request.getfixturevalue("postgres"))


@dataclass
class World:
    """Six clean institutions; three whose only submission carries a poisoned
    value (one of each of ``POISONS``); one whose earlier submission is clean
    and whose later one carries 10^15."""

    agg: Aggregator
    state: Path
    db_url: str
    clean: list[Agent]
    poisoned: dict[str, tuple[Agent, str]]  # poison name → (institution, submission id)
    twice: Agent
    twice_earlier: str
    twice_later: str

    @property
    def db(self) -> Database:
        db: Database = self.agg.db
        return db

    def bad_ids(self) -> set[str]:
        return {sid for _, sid in self.poisoned.values()} | {self.twice_later}

    def cli(self, *args: str) -> Any:
        return runner.invoke(app, [*args, "--state", str(self.state), "--database", self.db_url])


def poison(db: Database, submission_id: str, value: int, table: str) -> None:
    """Store ``value`` in the first cell of ``table`` of a stored submission, as an
    older version's intake would have stored it."""
    with db.session() as s:
        row = s.get(Submission, submission_id)
        assert row is not None
        payload = copy.deepcopy(row.payload)
        next(t for t in payload["tables"] if t["name"] == table)["values"][0] = value
        row.payload = payload


def build_world(state: Path, db_url: str) -> World:
    agg = make_aggregator(state, db_url)
    specs = [(f"Theater {i}", "theater", "utrecht", "small") for i in range(6)]
    specs += [(f"Poisoned {name}", "theater", "utrecht", "small") for name in POISONS]
    specs += [("Twice", "theater", "utrecht", "small")]
    agents = enroll_agents(agg.db, specs)
    intake = Intake(agg.db, agg.keyring)
    ids = {a.institution_id: intake.accept(a.seal(a.payload(), agg.recipient)).submission_id
           for a in agents}  # fmt: skip
    clean, bad, twice = agents[:6], agents[6:9], agents[9]
    poisoned = {}
    for (name, value), agent in zip(POISONS.items(), bad, strict=True):
        poison(agg.db, ids[agent.institution_id], value, "households_by_province")
        poisoned[name] = (agent, ids[agent.institution_id])
    later = intake.accept(twice.seal(twice.payload(), agg.recipient)).submission_id
    poison(agg.db, later, 10**15, "visits_by_discipline_month")
    return World(agg, state, db_url, clean, poisoned, twice, ids[twice.institution_id], later)


def copy_world(built: World, state: Path, db_url: str) -> World:
    """A copy of the SQLite ``built`` world (``copy_aggregator``); the agents are
    the same (their keys are only read)."""
    return replace(built, agg=copy_aggregator(built.agg, state, db_url), state=state, db_url=db_url)


@pytest.fixture(scope="module")
def sqlite_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One SQLite world, built once: each test gets its own copy (``world``)."""
    root = tmp_path_factory.mktemp("world")
    w = build_world(root / "state", f"sqlite:///{root / 'aggregator.db'}")
    w.db.engine.dispose()
    yield w


@pytest.fixture
def world(request: pytest.FixtureRequest, tmp_path: Path, db_url: str) -> Iterator[World]:
    """A world of its own for each test. On SQLite a copy of one built once per
    module: eleven real DP submissions through the real intake were most of
    each test's time, and a copy holds the same rows, keys and log."""
    if db_url.startswith("sqlite"):
        w = copy_world(request.getfixturevalue("sqlite_world"), tmp_path / "state", db_url)
    else:
        w = build_world(tmp_path / "state", db_url)
    yield w
    w.db.engine.dispose()


@dataclass
class Live:
    world: World
    server: Server
    taskforce: dict[str, str]
    privacy_officer: dict[str, str]

    @property
    def url(self) -> str:
        return self.server.url

    def client(self, headers: dict[str, str] | None = None) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=headers or {}, timeout=60)

    def signed_get(self, agent: Agent, path: str) -> httpx.Response:
        headers = sign_request(agent.signer, agent.institution_id, "GET", path)
        return httpx.get(self.url + path, headers=headers, timeout=60)

    def server_log(self) -> str:
        return (self.world.state / "server.log").read_text(encoding="utf-8", errors="replace")


@pytest.fixture
def live(world: World) -> Iterator[Live]:
    create_user(world.db, "tf", TASKFORCE, PASSWORD)
    create_user(world.db, "po", PRIVACY_OFFICER, PASSWORD)
    tf = issue_token(world.db, "tf", valid_for=timedelta(days=1))
    po = issue_token(world.db, "po", valid_for=timedelta(days=1))
    server = start_server(world.state, world.db_url)
    try:
        yield Live(
            world, server, {"authorization": f"Bearer {tf}"}, {"authorization": f"Bearer {po}"}
        )
    finally:
        server.stop()


def sector(groups: dict[str, Any]) -> dict[str, Any]:
    return next(g for g in groups["groups"] if g["group_id"] == "sector")


def check_downloads(client: httpx.Client, counted: int) -> None:
    """CSV and Parquet answer, parse, and hold only numbers a group can have."""
    csv = client.get(f"/v1/periods/{PERIOD}/benchmarks.csv")
    assert csv.status_code == 200, csv.text
    assert pl.read_csv(io.BytesIO(csv.content)).height > 0
    parquet = client.get(f"/v1/periods/{PERIOD}/benchmarks.parquet")
    assert parquet.status_code == 200, parquet.text
    frame = pl.read_parquet(io.BytesIO(parquet.content))
    assert frame.schema["estimate"] == pl.Int64
    assert frame.filter(pl.col("group_id") == "sector")[
        "group_institutions"
    ].unique().to_list() == [counted]
    assert frame["estimate"].drop_nulls().abs().max() < counted * MAX_CELL_MAGNITUDE  # type: ignore[operator]


# --- every view answers, and names the bad rows ------------------------------------


@pytest.mark.slow  # a server of its own
def test_every_view_answers_and_close_names_each_poisoned_submission(live: Live) -> None:
    w = live.world
    counted = len(w.clean) + 1  # the twice-submitting institution's earlier submission counts
    with live.client(live.taskforce) as tf:
        groups = tf.get(f"/v1/periods/{PERIOD}/groups")
        assert groups.status_code == 200, groups.text
        assert sector(groups.json())["institutions"] == counted
        bench = tf.get(f"/v1/periods/{PERIOD}/benchmarks")
        assert bench.status_code == 200, bench.text
        assert all(c["institutions"] <= counted for c in bench.json()["cells"])
        check_downloads(tf, counted)

        listing = tf.get(f"/v1/periods/{PERIOD}/submissions").json()["submissions"]
        status = {s["submission_id"]: s for s in listing}
        assert {sid for sid, s in status.items() if s["status"] == "left-out"} == w.bad_ids()
        assert status[w.twice_earlier]["status"] == "accepted"
        for name, (_, sid) in w.poisoned.items():
            reason = status[sid]["reason"]
            # beyond the design's bound, or (2^70) beyond what the protocol can carry at all
            assert "households_by_province" in reason
            assert "beyond" in reason or "2**53 - 1" in reason
            assert str(POISONS[name]) not in reason  # the value itself is never repeated
        agent, sid = w.poisoned["10^400"]  # and the institution sees why
        mine = live.signed_get(agent, f"/v1/institutions/{agent.institution_id}/submissions")
        assert mine.status_code == 200, mine.text
        (only,) = mine.json()["submissions"]
        assert (only["submission_id"], only["status"]) == (sid, "left-out")
        assert only["reason"] == status[sid]["reason"]

        closed = tf.post(f"/v1/periods/{PERIOD}/close")
        assert closed.status_code == 200, closed.text
        left_out = {x["submission_id"]: x for x in closed.json()["left_out"]}
        assert set(left_out) == w.bad_ids()
        assert left_out[w.twice_later]["institution_id"] == w.twice.institution_id
        assert tf.get(f"/v1/periods/{PERIOD}/groups").status_code == 200
        check_downloads(tf, counted)
        assert tf.post(f"/v1/periods/{PERIOD}/publish").status_code == 200

    with live.client() as public:
        page = public.get("/", params={"period": PERIOD})
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert public.get(
            "/", params={"period": PERIOD, "group": "theater/utrecht/small"}
        ).is_success
        check_downloads(public, counted)
    log = live.server_log()
    for sid in w.bad_ids():
        assert f"submission {sid} of " in log and "left out of the benchmarks" in log


def test_closing_from_the_command_line_warns_of_each_left_out_submission(world: World) -> None:
    result = world.cli("aggregator", "period", "close", PERIOD)
    assert result.exit_code == 0, result.output
    for sid in world.bad_ids():
        assert f"warning: submission {sid}" in result.stderr
    assert "7 institutions" in result.stdout


def test_offline_exports_and_pages_survive_the_poisoned_rows(world: World) -> None:
    periods.close_period(world.db, PERIOD, k=5)
    row = periods.get_period(world.db, PERIOD)
    k, groups = periods.visible_groups(world.db, row, k=5)
    for fmt in exports.FORMATS:
        assert exports.export(PERIOD, groups, fmt)
    assert "<table>" in overview_of(groups[-1], groups, period=PERIOD, k=k)


# --- set aside from the command line -------------------------------------------


def test_set_aside_from_the_command_line_is_logged_and_the_period_publishes_without_it(
    world: World, tmp_path: Path
) -> None:
    before = {a.institution_id: periods.standing(world.db, PERIOD, a.institution_id)
              for a in world.clean}  # fmt: skip
    listed = world.cli("aggregator", "submission", "list", PERIOD)
    assert listed.exit_code == 0 and listed.stdout.count(" left-out: ") == 4, listed.output
    for name, (_, sid) in world.poisoned.items():
        reason = f"a households cell of {name}: agent bug, ticket 123"
        result = world.cli("aggregator", "submission", "set-aside", sid, "--reason", reason)
        assert result.exit_code == 0, result.output
        assert f"submission {sid} of " in result.stdout and "is set aside" in result.stdout
    result = world.cli(
        "aggregator", "submission", "set-aside", world.twice_later, "--reason", "visits of 10^15"
    )
    assert result.exit_code == 0, result.output
    listed = world.cli("aggregator", "submission", "list", PERIOD).stdout
    assert listed.count(" set-aside: ") == 4 and " left-out" not in listed

    closed = world.cli("aggregator", "period", "close", PERIOD)
    assert closed.exit_code == 0 and "warning" not in closed.output, closed.output
    assert world.cli("aggregator", "period", "publish", PERIOD).exit_code == 0

    with world.db.session() as s:
        entries = translog.entries(s)
    saved = tmp_path / "log.json"
    saved.write_text(json.dumps({"entries": entries}), encoding="utf-8")
    audit = runner.invoke(app, ["audit", "verify-log", "--log", str(saved)])
    assert audit.exit_code == 0, audit.output
    assert audit.stdout.count(" set aside at ") == 4 and "agent bug, ticket 123" in audit.stdout

    agent, sid = world.poisoned["2^70"]
    standing = periods.standing(world.db, PERIOD, agent.institution_id)
    assert [x["submission_id"] for x in standing.set_aside] == [sid]
    assert standing.rho_spent > 0  # the noise was drawn: the set-aside's ρ stays spent
    for iid, was in before.items():  # every other institution unaffected
        assert periods.standing(world.db, PERIOD, iid) == replace(was, state="published")


def test_a_set_aside_from_the_command_line_needs_a_reason_without_line_breaks(
    world: World,
) -> None:
    _, sid = world.poisoned["10^15"]
    result = world.cli("aggregator", "submission", "set-aside", sid, "--reason", "one\ntwo")
    assert result.exit_code == 2 and "one line" in result.output
    too_long = "x" * (MAX_REASON_CHARS + 1)
    result = world.cli("aggregator", "submission", "set-aside", sid, "--reason", too_long)
    assert result.exit_code == 2 and f"at most {MAX_REASON_CHARS}" in result.output
    unknown = world.cli("aggregator", "submission", "set-aside", "0" * 32, "--reason", "why")
    assert unknown.exit_code == 2 and "no stored submission" in unknown.output


# --- set aside over HTTP --------------------------------------------------------


@pytest.mark.slow  # a server of its own
def test_set_aside_over_http_is_logged_visible_and_the_period_publishes_without_it(
    live: Live,
) -> None:
    w = live.world
    agent, sid = w.poisoned["2^70"]
    path = f"/v1/submissions/{sid}/set-aside"
    reason = {"reason": "a households cell of 2^70: not a count"}
    with live.client() as anonymous:
        assert anonymous.post(path, json=reason).status_code == 401
    with live.client(live.privacy_officer) as po:
        assert po.post(path, json=reason).status_code == 403
    with live.client(live.taskforce) as tf:
        done = tf.post(path, json=reason)
        assert done.status_code == 200, done.text
        record = done.json()
        assert record["submission_id"] == sid and record["reason"] == reason["reason"]
        assert tf.post(path, json=reason).json() == record  # a retry answers the same record
        other = tf.post(path, json={"reason": "another reason"})
        assert other.status_code == 422 and "already set aside" in other.json()["detail"]
        for bad in w.bad_ids() - {sid}:
            assert tf.post(f"/v1/submissions/{bad}/set-aside", json=reason).status_code == 200

    with live.client(live.privacy_officer) as po:
        entries = po.get("/v1/log", params={"limit": 1000}).json()["entries"]
        verify_chain(entries)
        aside = [e for e in entries if e["kind"] == SET_ASIDE]
        assert {e["submission_id"] for e in aside} == w.bad_ids()
        assert aside[0]["log_index"] == record["log_index"]
        assert aside[0]["reason"] == reason["reason"]
        listing = po.get(f"/v1/periods/{PERIOD}/submissions").json()["submissions"]
        statuses = {s["submission_id"]: s["status"] for s in listing}
        assert {k for k, v in statuses.items() if v == "set-aside"} == w.bad_ids()
        assert {k for k, v in statuses.items() if v != "set-aside"} == {
            s["submission_id"] for s in listing if s["status"] == "accepted"
        }
        budgets = po.get(f"/v1/periods/{PERIOD}/budgets").json()["institutions"]
        spend = {b["institution_id"]: b for b in budgets}
        assert spend[agent.institution_id]["set_aside"] == 1
        assert spend[agent.institution_id]["rho_spent"] > 0
        assert spend[w.clean[0].institution_id]["set_aside"] == 0

    po_token = live.privacy_officer["authorization"].removeprefix("Bearer ")
    audit = runner.invoke(
        app, ["audit", "verify-log", "--aggregator", live.url, "--token", po_token]
    )
    assert audit.exit_code == 0, audit.output
    assert f"submission {sid} of {agent.institution_id}" in audit.stdout
    audit = runner.invoke(
        app, ["audit", "submissions", PERIOD, "--aggregator", live.url, "--token", po_token]
    )
    assert audit.exit_code == 0 and f"{sid} {agent.institution_id}" in audit.stdout, audit.output
    assert audit.stdout.count(" set-aside: ") == 4

    mine = live.signed_get(agent, f"/v1/institutions/{agent.institution_id}/submissions").json()
    (only,) = mine["submissions"]
    assert only["status"] == "set-aside" and only["reason"] == reason["reason"]
    assert only["set_aside_log_index"] == record["log_index"]
    standing_path = f"/v1/institutions/{agent.institution_id}/periods/{PERIOD}/standing"
    standing = live.signed_get(agent, standing_path).json()
    assert standing["set_aside"] == [
        {"submission_id": sid, "reason": reason["reason"], "set_aside_at": record["set_aside_at"]}
    ]
    clean = w.clean[0]
    theirs = live.signed_get(clean, f"/v1/institutions/{clean.institution_id}/submissions").json()
    assert [s["status"] for s in theirs["submissions"]] == ["accepted"]

    with live.client(live.taskforce) as tf:
        closed = tf.post(f"/v1/periods/{PERIOD}/close")
        assert closed.status_code == 200 and closed.json()["left_out"] == [], closed.text
        assert sector(tf.get(f"/v1/periods/{PERIOD}/groups").json())["institutions"] == 7
        assert tf.post(f"/v1/periods/{PERIOD}/publish").status_code == 200
        late = tf.post(f"/v1/submissions/{w.twice_earlier}/set-aside", json=reason)
        assert late.status_code == 409 and late.json()["type"].endswith("period-not-open")
    with live.client() as public:
        assert public.get("/").status_code == 200
        check_downloads(public, 7)

    report = live.signed_get(
        w.twice, f"/v1/institutions/{w.twice.institution_id}/periods/{PERIOD}/report"
    )
    assert report.status_code == 200, report.text
    assert [x["submission_id"] for x in report.json()["set_aside"]] == [w.twice_later]
    gone = live.signed_get(
        agent, f"/v1/institutions/{agent.institution_id}/periods/{PERIOD}/report"
    )
    assert gone.status_code == 404 and reason["reason"] in gone.json()["detail"]


@pytest.mark.slow  # a server of its own
def test_a_malformed_set_aside_request_is_refused_with_a_problem(live: Live) -> None:
    _, sid = live.world.poisoned["10^15"]
    path = f"/v1/submissions/{sid}/set-aside"
    cases = [
        ("/v1/submissions/not-an-id/set-aside", {"reason": "why"}, 422),
        (f"/v1/submissions/{'0' * 32}/set-aside", {"reason": "why"}, 404),
        (path, {"reason": "one\ntwo"}, 422),
        (path, {"reason": "   "}, 422),
        (path, {"reason": "x" * (MAX_REASON_CHARS + 1)}, 400),
        (path, {"reason": "why", "extra": 1}, 400),
        (path, {"why": "no reason field"}, 400),
    ]
    with live.client(live.taskforce) as tf:
        for target, body, status in cases:
            answer = tf.post(target, json=body)
            assert answer.status_code == status, (target, body, answer.text)
            assert answer.headers["content-type"].startswith("application/problem+json")
        for raw in (b"not json", b"[" * 5000, b'{"reason": "' + b"x" * 5000 + b'"}'):
            answer = tf.post(path, content=raw, headers={"content-type": "application/json"})
            assert answer.status_code in (400, 413), answer.text
        with live.world.db.session() as s:
            assert s.scalar(select(LogEntry).where(LogEntry.kind == SET_ASIDE)) is None


# --- the rules of a set-aside ---------------------------------------------------


def test_a_set_aside_in_a_closed_period_recomputes_its_benchmarks(world: World) -> None:
    closed = periods.close_period(world.db, PERIOD, k=5)
    set_aside(world.db, world.poisoned["10^15"][1], "left out already; recorded")
    clean_sid = next(
        sid for sid, iid in _submissions(world.db).items() if iid == world.clean[0].institution_id
    )
    set_aside(world.db, clean_sid, "the institution withdrew it")
    row = periods.get_period(world.db, PERIOD)
    assert row.state == periods.CLOSED and row.inputs_digest != closed.inputs_digest
    _, groups = periods.visible_groups(world.db, row, k=5)
    assert next(g for g in groups if g["group_id"] == "sector")["institutions"] == 6


def test_nothing_in_a_published_period_can_be_set_aside(world: World) -> None:
    periods.close_period(world.db, PERIOD, k=5)
    periods.publish_period(world.db, PERIOD)
    with pytest.raises(PeriodNotOpen, match="published"):
        set_aside(world.db, world.poisoned["2^70"][1], "too late")


def test_a_set_aside_is_final_and_keeps_its_first_reason(world: World) -> None:
    sid = world.poisoned["2^70"][1]
    first = set_aside(world.db, sid, "a cell of 2^70")
    assert set_aside(world.db, sid, "a cell of 2^70") == first
    with pytest.raises(InvalidPayload, match="already set aside"):
        set_aside(world.db, sid, "another reason")
    with pytest.raises(NotFound):
        set_aside(world.db, "f" * 32, "no such submission")


def _submissions(db: Database) -> dict[str, str]:
    with db.session() as s:
        return dict(s.execute(select(Submission.submission_id, Submission.institution_id)).all())


# --- what counts as a value that cannot be right ----------------------------------


def _payload() -> dict[str, Any]:
    agent = enroll_free_agent()
    return dict(agent.payload().to_dict())


def enroll_free_agent() -> Agent:
    """An agent that is enrolled nowhere: only its payloads are used."""
    from protocol.keys import SigningKey

    return Agent("theater-x", "theater", "utrecht", "small", SigningKey.generate())


def _mutate(payload: dict[str, Any], table: str, field: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(payload)
    target = next(t for t in out["tables"] if t["name"] == table)
    if field == "values[0]":
        target["values"][0] = value
    else:
        target[field] = value
    return out


MUTATIONS = {
    "2^70": ("households_by_province", "values[0]", 2**70),
    "minus 10^15": ("households_by_province", "values[0]", -(10**15)),
    "10^400": ("visits_by_month", "values[0]", 10**400),
    "a string": ("households_by_province", "values[0]", "12"),
    "a boolean": ("households_by_province", "values[0]", True),
    "a fraction": ("households_by_province", "values[0]", 1.5),
    "scale 0": ("households_by_province", "scale", 0),
    "scale 10^400": ("households_by_province", "scale", 10**400),
    "scale NaN": ("households_by_province", "scale", math.nan),
    "scale 10^-9": ("households_by_province", "scale", 1e-9),
    "scale 10^300": ("visits_by_month", "scale", 1e300),
    "an unknown mechanism": ("households_by_province", "mechanism", "uniform"),
    "other dimensions": ("households_by_province", "dimensions", ["segment"]),
    "a reserved dimension": ("households_by_province", "dimensions", ["estimate"]),
    "a key of two labels": ("households_by_province", "keys", [["a", "b"]] * 4),
    "a personal-data name": ("households_by_province", "name", "jan@example.nl"),
}


@pytest.mark.slow  # 0.4 s or more: outside the inner loop (ADR 0032)
@pytest.mark.parametrize("mutation", MUTATIONS.values(), ids=MUTATIONS.keys())
def test_a_stored_table_that_cannot_be_right_is_refused_with_a_reason_without_values(
    mutation: tuple[str, str, Any],
) -> None:
    table, field, value = mutation
    with pytest.raises(Implausible) as caught:
        tables_of(_mutate(_payload(), table, field, value))
    reason = str(caught.value)
    assert "jan@example" not in reason
    if isinstance(value, int) and abs(value) > 10**6:
        assert str(value) not in reason and str(abs(value)) not in reason


@pytest.mark.parametrize(
    "payload",
    [None, [], {"tables": []}, {"tables": "x", "bounds": {}}, {"tables": [{}], "bounds": None}],
)
def test_a_stored_payload_of_the_wrong_shape_is_refused(payload: Any) -> None:
    with pytest.raises(Implausible):
        tables_of(payload)


def test_a_visits_table_without_a_ticket_cap_cannot_be_vouched_for() -> None:
    payload = _payload()
    payload["bounds"] = {}
    with pytest.raises(Implausible, match="max_visits_per_household"):
        tables_of(payload)


def test_an_honest_payload_passes_and_its_tables_are_read_as_stored() -> None:
    payload = _payload()
    found = tables_of(payload)
    assert set(found) == {t["name"] for t in payload["tables"]}
    first = payload["tables"][0]
    assert found[first["name"]].values == tuple(first["values"])


def test_the_cell_bound_follows_the_documented_maximum_institution_and_the_noise() -> None:
    assert cell_value_bound("households", DEFAULT_BOUNDS, 20.0) == 10_000_000 + 800
    assert cell_value_bound("visits", DEFAULT_BOUNDS, 200.0) == 12 * 10_000_000 + 8000
    assert cell_value_bound("visits", {"max_visits_per_household": 10**9}, 1.0) == (
        MAX_CELL_MAGNITUDE
    )
    assert cell_value_bound("an_older_measure", {}, 1.0) == MAX_CELL_MAGNITUDE
    assert MAX_CELL_MAGNITUDE * 9000 < 2**53  # a sum over 9,000 institutions stays exact


# --- stored benchmarks from an older version ---------------------------------------


def test_stored_cells_with_numbers_no_group_can_have_show_no_number(world: World) -> None:
    periods.close_period(world.db, PERIOD, k=5)
    with world.db.session() as s:
        group = s.get(BenchmarkGroup, (PERIOD, "sector"))
        assert group is not None
        cells = copy.deepcopy(group.cells)
        cells[0].update(estimate=2**70, ci95_high=1e300)
        cells[1].update(std=1e40)
        group.cells = cells
    row = periods.get_period(world.db, PERIOD)
    _, groups = periods.visible_groups(world.db, row, k=5)
    shown = next(g for g in groups if g["group_id"] == "sector")["cells"]
    assert shown[0]["estimate"] is None and shown[1]["std"] is None
    for fmt in exports.FORMATS:
        assert exports.export(PERIOD, groups, fmt)


# --- the estimates never fail for values within the bound -------------------------


@st.composite
def checked_tables(draw: st.DrawFn) -> dict[str, dict[str, TableInput]]:
    """Five institutions' tables of the release design (two labels per
    dimension) with any values and noise that the checks let through: each
    institution its own ρ (noise from 0.1 to 10^6 per unit of weight and
    sensitivity), each table up to ``NOISE_SPREAD`` off the design's split."""
    out: dict[str, dict[str, TableInput]] = {}
    for n in range(5):
        per_unit = 10 ** draw(st.floats(min_value=-1, max_value=6))
        tables = []
        for design in TABLE_DESIGN:
            keys = _keys(len(design.dimensions))
            delta = sensitivity(design.name, DEFAULT_BOUNDS, GAUSSIAN)
            spread = draw(st.floats(min_value=1, max_value=NOISE_SPREAD * 0.99))
            std = per_unit * spread * delta / math.sqrt(design.weight)
            bound = cell_value_bound(design.measure, DEFAULT_BOUNDS, std)
            values = draw(st.lists(st.integers(-bound, bound), min_size=len(keys),
                                   max_size=len(keys)))  # fmt: skip
            tables.append({
                "name": design.name, "measure": design.measure,
                "dimensions": list(design.dimensions), "keys": [list(k) for k in keys],
                "values": values, "mechanism": GAUSSIAN, "scale": std, "sensitivity": delta,
                "rho": 0.01, "ci95": 2 * std,
            })  # fmt: skip
        out[f"i{n}"] = tables_of({"tables": tables, "bounds": dict(DEFAULT_BOUNDS)})
    return out


def _keys(dimensions: int) -> tuple[tuple[str, ...], ...]:
    if dimensions == 1:
        return (("a",), ("b",))
    return (("a", "x"), ("a", "y"), ("b", "x"), ("b", "y"))


@pytest.mark.slow  # 60 examples, each a whole benchmark computation
@settings(max_examples=60)
@given(checked_tables())
def test_any_submissions_that_pass_the_checks_give_every_cell_finite_and_exportable(
    tables: dict[str, dict[str, TableInput]],
) -> None:
    failures: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = failures.append  # type: ignore[method-assign]
    benchmarks.logger.addHandler(handler)
    try:
        cells = benchmarks.group_cells(tuple(tables), tables, k=5, group_id="sector")
    finally:
        benchmarks.logger.removeHandler(handler)
    assert failures == []  # no family of tables was dropped
    assert len(cells) == sum(len(_keys(len(d.dimensions))) for d in TABLE_DESIGN)
    limit = 5 * MAX_CELL_MAGNITUDE
    for cell in cells:
        for f in benchmarks.STAT_FIELDS:
            assert cell[f] is None or (math.isfinite(cell[f]) and abs(cell[f]) <= limit)
    groups = [{**benchmarks.group_summary("sector", "sector", (), 5), "cells": cells}]
    for fmt in exports.FORMATS:
        assert exports.export(PERIOD, groups, fmt)


def test_tables_whose_noise_does_not_follow_the_design_split_are_left_out() -> None:
    payload = _payload()
    first = payload["tables"][0]
    first["scale"] = first["scale"] * NOISE_SPREAD * 2
    with pytest.raises(Implausible, match="split of ρ"):
        tables_of(payload)


# --- an aggregator upgraded from revision 0004 -----------------------------------


def test_a_log_written_before_set_asides_still_verifies_after_the_upgrade(db_url: str) -> None:
    db = Database(db_url)
    upgrade(db.engine, "0004")
    rows, prev = [], GENESIS
    for i in range(3):
        fields = {
            "log_index": i, "submission_id": f"{i:032x}", "institution_id": "theater-a",
            "period": PERIOD, "digest": f"{i:064x}", "appended_at": "2026-10-01T00:00:00+00:00",
        }  # fmt: skip
        prev_hash, prev = prev, entry_hash(fields, prev)
        rows.append({**fields, "prev_hash": prev_hash, "entry_hash": prev})
    columns = ", ".join(rows[0])
    values = ", ".join(f":{c}" for c in rows[0])
    with db.engine.begin() as conn:  # the revision 0004 schema: no kind, no reason
        conn.execute(text(f"INSERT INTO log_entries ({columns}) VALUES ({values})"), rows)
    db.create_schema()
    with db.session() as s:
        entries = translog.entries(s)
    assert [e["kind"] for e in entries] == ["submission"] * 3
    assert verify_chain(entries) == rows[-1]["entry_hash"]
    with db.session() as s:  # the same submission id may now have a set-aside entry too
        tail = translog.Tail(s)
        tail.append_set_aside(
            submission_id=rows[0]["submission_id"], institution_id="theater-a", period=PERIOD,
            digest=rows[0]["digest"], at="2026-10-02T00:00:00+00:00", reason="withdrawn",
        )  # fmt: skip
        tail.write(s)
    with db.session() as s:
        verify_chain(translog.entries(s))
    db.engine.dispose()


def test_the_set_aside_entry_columns_need_no_unique_submission_id(db_url: str) -> None:
    """The database enforces one entry per submission and kind, not one per submission."""
    db = Database(db_url)
    db.create_schema()
    row = {"log_index": 0, "kind": "submission", "submission_id": "a" * 32,
           "institution_id": "theater-a", "period": PERIOD, "digest": "b" * 64,
           "appended_at": "x", "prev_hash": GENESIS, "entry_hash": "c" * 64}  # fmt: skip
    with db.engine.begin() as conn:
        conn.execute(insert(LogEntry), [row, {**row, "log_index": 1, "kind": SET_ASIDE}])
    with pytest.raises(Exception, match=r"(?i)unique"), db.engine.begin() as conn:
        conn.execute(insert(LogEntry), [{**row, "log_index": 2}])
    db.engine.dispose()
