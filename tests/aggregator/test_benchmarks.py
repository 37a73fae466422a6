"""Benchmarks per period, peer group, table and cell, from real DP submissions."""

from __future__ import annotations

import statistics
from typing import Any

import pytest

from aggregator import benchmarks
from aggregator.intake import Intake
from aggregator.periods import close_period, publish_period, reopen_period
from aggregator.storage import Period
from dp.release_design import table_names
from protocol.errors import PeriodNotOpen, UsageError

SPECS = (
    [(f"Theater U{i}", "theater", "utrecht", "small") for i in range(5)]
    + [(f"Theater Z{i}", "theater", "zeeland", "small") for i in range(2)]
    + [(f"Museum G{i}", "museum", "groningen", "large") for i in range(3)]
)


def submit_all(agg: Any, agents: list[Any]) -> dict[str, Any]:
    intake = Intake(agg.db, agg.keyring)
    payloads = {}
    for a in agents:
        payload = a.payload()
        intake.accept(a.seal(payload, agg.recipient))
        payloads[a.institution_id] = payload
    return payloads


@pytest.fixture
def closed(sqlite_aggregator: Any, kit: Any) -> tuple[Any, Any, dict[str, Any]]:
    agents = kit.enroll(sqlite_aggregator.db, SPECS)
    payloads = submit_all(sqlite_aggregator, agents)
    result = close_period(sqlite_aggregator.db, kit.PERIOD, k=5)
    return sqlite_aggregator, result, payloads


def cell(group: Any, table: str, **labels: str) -> dict[str, Any]:
    return next(
        c for c in group.cells
        if c["table"] == table and all(c[d] == v for d, v in labels.items())
    )  # fmt: skip


def test_every_table_of_the_submissions_is_benchmarked_by_its_own_name(closed: Any) -> None:
    _, result, _ = closed
    sector = result.group("sector")
    assert {c["table"] for c in sector.cells} == set(table_names())


def test_the_sector_total_is_the_sum_of_the_institutions_noisy_values(closed: Any) -> None:
    _, result, payloads = closed
    values = [
        dict(zip(t.keys, t.values, strict=True))[("zeeland",)]
        for p in payloads.values()
        for t in p.tables
        if t.name == "households_by_province"
    ]
    c = cell(result.group("sector"), "households_by_province", province="zeeland")
    assert c["total"] == sum(values)
    assert c["institutions"] == 10
    assert c["ci95_low"] < c["total"] < c["ci95_high"]


def test_median_and_quartiles_are_over_the_institutions(closed: Any) -> None:
    _, result, payloads = closed
    values = sorted(
        dict(zip(t.keys, t.values, strict=True))[("utrecht",)]
        for p in payloads.values()
        for t in p.tables
        if t.name == "households_by_province"
    )
    c = cell(result.group("sector"), "households_by_province", province="utrecht")
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    assert (c["q1"], c["median"], c["q3"]) == (round(q1, 1), round(median, 1), round(q3, 1))


def test_a_cell_with_fewer_than_k_institutions_is_not_listed(closed: Any) -> None:
    _, result, payloads = closed
    senders = [
        p for p in payloads.values()
        for t in p.tables
        if t.name == "visits_by_discipline_month" and ("museum", "07") in t.keys
    ]  # fmt: skip
    assert len(senders) == 3
    listed = [
        c for c in result.group("sector").cells
        if c["table"] == "visits_by_discipline_month"
        and (c["discipline"], c["month"]) == ("museum", "07")
    ]  # fmt: skip
    assert listed == []  # only 3 institutions sent this key; k is 5
    assert all(c["institutions"] >= 5 and c["published"] for c in result.group("sector").cells)


def test_small_groups_are_merged_upward_and_the_merge_is_shown(closed: Any) -> None:
    _, result, _ = closed
    assert result.assignment["theater-u0"] == "theater/utrecht/small"
    assert result.assignment["theater-z0"] == "theater/west/small"
    west = result.group("theater/west/small")
    assert west.summary()["merged_from"] == ["theater/zeeland/small"]
    assert west.summary()["institutions"] == 7
    assert result.assignment["museum-g0"] == "sector"


def test_benchmarks_are_reproducible_from_what_is_stored(aggregator: Any, kit: Any) -> None:
    agents = kit.enroll(aggregator.db, SPECS[:6])
    submit_all(aggregator, agents)
    close_period(aggregator.db, kit.PERIOD, k=5)
    with aggregator.db.session() as s:
        stored = benchmarks.stored_form(benchmarks.stored(s, kit.PERIOD))
        again = benchmarks.compute(s, kit.PERIOD, k=5)
        period = s.get(Period, kit.PERIOD)
        assert period is not None
        assert period.inputs_digest == again.inputs_digest
    assert benchmarks.as_stored(again) == stored


def test_closing_twice_is_refused(closed: Any, kit: Any) -> None:
    agg, _, _ = closed
    with pytest.raises(PeriodNotOpen):
        close_period(agg.db, kit.PERIOD, k=5)


def test_reopening_admits_a_late_institution_and_recomputes_at_close(closed: Any, kit: Any) -> None:
    agg, first, _ = closed
    reopen_period(agg.db, kit.PERIOD)
    (late,) = kit.enroll(agg.db, [("Theater Late", "theater", "utrecht", "small")])
    submit_all(agg, [late])
    second = close_period(agg.db, kit.PERIOD, k=5)
    assert second.inputs_digest != first.inputs_digest
    assert second.group("theater/utrecht/small").summary()["institutions"] == 6


def test_a_published_period_cannot_reopen(closed: Any, kit: Any) -> None:
    agg, _, _ = closed
    publish_period(agg.db, kit.PERIOD)
    with pytest.raises(UsageError):
        reopen_period(agg.db, kit.PERIOD)
