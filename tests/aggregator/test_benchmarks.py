"""Benchmarks per period, peer group, table and cell, from real DP submissions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
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


def close_with_specs(agg: Any, kit: Any) -> tuple[Any, Any, dict[str, Any]]:
    agents = kit.enroll(agg.db, SPECS)
    payloads = submit_all(agg, agents)
    result = close_period(agg.db, kit.PERIOD, k=5)
    return agg, result, payloads


@pytest.fixture(scope="module")
def closed_once(
    tmp_path_factory: pytest.TempPathFactory, kit: Any
) -> Iterator[tuple[Any, Any, dict[str, Any]]]:
    """A period of ``SPECS``'s institutions, closed, made once per module for the
    tests that only read it: ten real DP submissions through the intake are
    most of such a test's time."""
    state = tmp_path_factory.mktemp("closed")
    agg = kit.make_aggregator(state / "state", f"sqlite:///{state / 'aggregator.db'}")
    yield close_with_specs(agg, kit)
    agg.db.engine.dispose()


@pytest.fixture
def closed(closed_once: Any, tmp_path: Path, kit: Any) -> Iterator[tuple[Any, Any, dict[str, Any]]]:
    """The same closed period for a test that changes it: a copy of its own."""
    built, result, payloads = closed_once
    agg = kit.copy_aggregator(built, tmp_path / "state", f"sqlite:///{tmp_path / 'aggregator.db'}")
    yield agg, result, payloads
    agg.db.engine.dispose()


def cell(group: Any, table: str, **labels: str) -> dict[str, Any]:
    return next(
        c for c in group.cells
        if c["table"] == table and all(c[d] == v for d, v in labels.items())
    )  # fmt: skip


@pytest.mark.slow  # 0.4 s or more: outside the inner loop (ADR 0032)
def test_every_table_of_the_submissions_is_benchmarked_by_its_own_name(closed_once: Any) -> None:
    _, result, _ = closed_once
    sector = result.group("sector")
    assert {c["table"] for c in sector.cells} == set(table_names())


def test_a_lone_positive_table_is_estimated_by_the_sum_of_the_noisy_values() -> None:
    """With no other table of its measure and no negative sums, the least
    squares estimate is the sum itself and post-processing changes nothing."""
    values = {f"i{n}": (200 + n, 300 - n, 150 + 2 * n) for n in range(5)}
    tables = {
        inst: {
            "households_by_province": benchmarks.TableInput(
                "households_by_province", "households", ("province",),
                (("utrecht",), ("zeeland",), ("groningen",)), v, noise_std=3.0,
            )
        }
        for inst, v in values.items()
    }  # fmt: skip
    cells = benchmarks.group_cells(tuple(tables), tables, k=5)
    assert [c["estimate"] for c in cells] == [
        sum(v[i] for v in values.values())
        for i in (2, 0, 1)  # sorted: groningen, utrecht, zeeland
    ]
    assert all(c["institutions"] == 5 and not c["too_uncertain"] for c in cells)
    assert all(c["ci95_low"] < c["estimate"] < c["ci95_high"] for c in cells)


def test_every_listed_cell_has_at_least_k_institutions_and_no_negative_number(
    closed_once: Any,
) -> None:
    _, result, _ = closed_once
    c = cell(result.group("sector"), "households_by_province", province="zeeland")
    assert c["institutions"] == 10
    for group in result.groups:
        for c in group.cells:
            assert c["institutions"] >= 5
            assert c["estimate"] is None or c["estimate"] >= 0


def test_no_quartiles_over_institutions_are_published(closed_once: Any) -> None:
    _, result, _ = closed_once
    for group in result.groups:
        for c in group.cells:
            assert not {"q1", "median", "q3", "total"} & set(c)
            assert set(benchmarks.STAT_FIELDS) <= set(c)


def test_no_published_number_is_negative_or_too_uncertain(closed_once: Any) -> None:
    _, result, _ = closed_once
    for group in result.groups:
        for c in group.cells:
            if c["too_uncertain"]:
                assert c["estimate"] is None and c["ci95_low"] is None
            else:
                assert c["estimate"] >= 0 and c["ci95_low"] >= 0
                assert c["ci95_high"] - c["estimate"] <= c["estimate"] / 2 + 0.5


def test_a_cell_with_fewer_than_k_institutions_is_not_listed(closed_once: Any) -> None:
    _, result, payloads = closed_once
    senders = [
        p for p in payloads.values()
        for t in p.tables
        if t.name == "visits_by_discipline_month" and ("museum", "2026-07") in t.keys
    ]  # fmt: skip
    assert len(senders) == 3
    listed = [
        c for c in result.group("sector").cells
        if c["table"] == "visits_by_discipline_month"
        and (c["discipline"], c["month"]) == ("museum", "2026-07")
    ]  # fmt: skip
    assert listed == []  # only 3 institutions sent this key; k is 5
    assert all(c["institutions"] >= 5 for c in result.group("sector").cells)


def test_small_groups_are_merged_upward_and_counted_not_named(closed_once: Any) -> None:
    _, result, _ = closed_once
    assert result.assignment["theater-u0"] == "theater/utrecht/small"
    assert result.assignment["theater-z0"] == "theater/west/small"
    west = result.group("theater/west/small")
    assert west.summary()["merged_groups"] == 1  # counted: its name could identify one theater
    assert "merged_from" not in west.summary()
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


def test_publishing_a_period_with_fewer_than_k_institutions_is_refused(
    sqlite_aggregator: Any, kit: Any
) -> None:
    agents = kit.enroll(sqlite_aggregator.db, SPECS[:4])
    submit_all(sqlite_aggregator, agents)
    close_period(sqlite_aggregator.db, kit.PERIOD, k=5)
    with pytest.raises(UsageError, match=r"4 institutions, fewer than k = 5"):
        publish_period(sqlite_aggregator.db, kit.PERIOD)
    reopen_period(sqlite_aggregator.db, kit.PERIOD)
    submit_all(sqlite_aggregator, kit.enroll(sqlite_aggregator.db, SPECS[4:5]))
    close_period(sqlite_aggregator.db, kit.PERIOD, k=5)
    publish_period(sqlite_aggregator.db, kit.PERIOD)


SEGMENTS, DISCIPLINES = ("a", "b", "c"), ("theater", "music", "film")


def v2_tables(institution: int) -> dict[str, benchmarks.TableInput]:
    """Noisy-looking household tables of the v2 design: nobody has film (its
    cells are noise around 0, some negative), segment c is small."""
    wobble = (-3, 2, -1, 4, 0)[institution]
    product = {
        (s, d): (0 if d == "film" else 40 if s == "c" else 300)
        + wobble * (1 if d != "music" else -2)
        for s in SEGMENTS
        for d in DISCIPLINES
    }

    def table(name: str, dims: tuple[str, ...], cells: dict[tuple[str, ...], int]) -> Any:
        return benchmarks.TableInput(name, "households", dims, tuple(cells), tuple(cells.values()),
                                     noise_std=4.0)  # fmt: skip

    by_segment = {(s,): sum(v for k, v in product.items() if k[0] == s) + wobble for s in SEGMENTS}
    by_discipline = {(d,): sum(v for k, v in product.items() if k[1] == d) - wobble
                     for d in DISCIPLINES}  # fmt: skip
    return {
        "households_by_segment_discipline": table(
            "households_by_segment_discipline", ("segment", "discipline"), product
        ),
        "households_by_segment": table("households_by_segment", ("segment",), by_segment),
        "households_by_discipline": table(
            "households_by_discipline", ("discipline",), by_discipline
        ),
    }


def test_a_groups_tables_are_combined_non_negative_and_additive() -> None:
    tables = {f"i{n}": v2_tables(n) for n in range(5)}
    cells = benchmarks.group_cells(tuple(tables), tables, k=5)
    assert len(cells) == 9 + 3 + 3
    film = [c for c in cells if c.get("discipline") == "film"]
    assert film and all(c["too_uncertain"] and c["estimate"] is None for c in film)
    shown = [c for c in cells if c["published"]]
    assert all(c["estimate"] >= 0 for c in shown)
    product = {
        (c["segment"], c["discipline"]): c for c in cells
        if c["table"] == "households_by_segment_discipline"
    }  # fmt: skip
    checked = 0
    for c in cells:
        if c["table"] == "households_by_segment" and c["published"]:
            row = [product[(c["segment"], d)] for d in DISCIPLINES]
            shown_sum = sum(r["estimate"] for r in row if r["published"])
            # a hidden cell's estimate is below twice its half-width (that is why it is hidden)
            hidden_max = sum(2 * 1.96 * r["std"] for r in row if not r["published"])
            assert -2 <= c["estimate"] - shown_sum <= hidden_max + 2  # 2: rounding
            checked += 1
    assert checked == 3


def test_a_key_sent_by_fewer_than_k_institutions_leaves_its_table_estimated_alone() -> None:
    tables = {f"i{n}": v2_tables(n) for n in range(5)}
    extra = tables["i0"]["households_by_segment"]
    tables["i0"]["households_by_segment"] = benchmarks.TableInput(
        extra.name, extra.measure, extra.dimensions, (*extra.keys, ("d",)),
        (*extra.values, 10_000), extra.noise_std,
    )  # fmt: skip
    cells = benchmarks.group_cells(tuple(tables), tables, k=5)
    assert not [c for c in cells if c.get("segment") == "d"]
    by_segment = [c for c in cells if c["table"] == "households_by_segment"]
    alone = sum(tables[i]["households_by_segment"].values[0] for i in tables)
    assert by_segment[0]["estimate"] == alone  # its own sum, not combined with the others


def test_a_published_period_cannot_reopen(closed: Any, kit: Any) -> None:
    agg, _, _ = closed
    publish_period(agg.db, kit.PERIOD)
    with pytest.raises(UsageError):
        reopen_period(agg.db, kit.PERIOD)


def test_cells_stored_by_an_earlier_algorithm_show_no_number() -> None:
    old = {
        "table": "households_by_province", "measure": "households", "dimensions": ["province"],
        "province": "zeeland", "institutions": 5, "published": True, "total": -12,
        "ci95_low": -40.2, "ci95_high": 16.2, "q1": -3.0, "median": -2.0, "q3": 1.0,
    }  # fmt: skip
    (cell,) = benchmarks.readable_cells([old])
    assert cell["province"] == "zeeland" and cell["institutions"] == 5
    assert not cell["published"] and cell["estimate"] is None and cell["ci95_low"] is None
    assert not {"total", "q1", "median", "q3"} & set(cell)
