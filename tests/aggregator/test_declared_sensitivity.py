"""The aggregator derives each table's sensitivity itself, from the table's name
and the submission's declared bounds (the code the agent uses), and recomputes
ρ from that: a table that declares a smaller sensitivity to look cheap, a
table outside the release design, or a set of tables other than the design's
is refused with ``refused-declaration`` and nothing is stored."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from sqlalchemy import func, select

from aggregator.intake import Intake
from aggregator.storage import Submission
from dp.measurements import GAUSSIAN, table_rho
from dp.release_design import MAX_VISITS, TABLE_DESIGN
from protocol.errors import RefusedDeclaration
from protocol.messages import PrivacySpend, ReleasedTable, SubmissionPayload

SPEC = [("Theater Zuinig", "theater", "utrecht", "small")]


def _stored(agg: Any) -> int:
    with agg.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Submission)) or 0)


def _with_tables(
    payload: SubmissionPayload, tables: tuple[ReleasedTable, ...], **changes: Any
) -> SubmissionPayload:
    """``payload`` with other tables and the total ρ they declare (consistent, so
    only the table set or the sensitivity can be what intake objects to)."""
    rho = sum(t.rho for t in tables)
    return dataclasses.replace(
        payload,
        tables=tables,
        privacy=PrivacySpend(rho=rho, epsilon=payload.privacy.epsilon, delta=1e-7),
        **changes,
    )


def _refused(agg: Any, agent: Any, payload: SubmissionPayload) -> RefusedDeclaration:
    intake = Intake(agg.db, agg.keyring)
    with pytest.raises(RefusedDeclaration) as refused:
        intake.accept(agent.seal(payload, agg.recipient))
    assert _stored(agg) == 0
    return refused.value


@pytest.mark.parametrize("max_visits", [12, 20])
def test_a_visits_table_declared_at_sensitivity_1_is_refused(
    sqlite_aggregator: Any, kit: Any, max_visits: int
) -> None:
    (agent,) = kit.enroll(sqlite_aggregator.db, SPEC)
    honest = agent.payload()
    # σ = 5.1 with a declared sensitivity of 1 looks like ρ ≈ 0.019; with the
    # sensitivity the bounds give (12 or 20 tickets) it costs 2.8 or 7.7.
    cheap = table_rho(1.0, GAUSSIAN, 5.1)
    assert cheap == pytest.approx(0.0192, abs=1e-4)
    assert table_rho(float(max_visits), GAUSSIAN, 5.1) > 100 * cheap
    tables = tuple(
        dataclasses.replace(t, sensitivity=1.0, scale=5.1, rho=cheap)
        if t.name == "visits_by_month"
        else t
        for t in honest.tables
    )
    cheat = _with_tables(honest, tables, bounds={MAX_VISITS: max_visits})
    error = _refused(sqlite_aggregator, agent, cheat)
    assert "visits_by_month declares sensitivity 1" in str(error)
    assert f"give {max_visits}" in str(error)
    problem = error.problem()
    assert (problem["status"], problem["type"]) == (422, "urn:publiek:problem:refused-declaration")


def test_the_honest_release_of_the_same_tables_is_accepted(
    sqlite_aggregator: Any, kit: Any
) -> None:
    (agent,) = kit.enroll(sqlite_aggregator.db, SPEC)
    Intake(sqlite_aggregator.db, sqlite_aggregator.keyring).accept(
        agent.seal(agent.payload(), sqlite_aggregator.recipient)
    )
    assert _stored(sqlite_aggregator) == 1


def test_a_table_outside_the_design_is_refused(sqlite_aggregator: Any, kit: Any) -> None:
    (agent,) = kit.enroll(sqlite_aggregator.db, SPEC)
    honest = agent.payload()
    old = dataclasses.replace(
        honest.tables[0], name="households_by_age_band", dimensions=("age_band",), keys=(("x",),)
    )
    error = _refused(sqlite_aggregator, agent, _with_tables(honest, (*honest.tables, old)))
    assert "households_by_age_band" in str(error)


def test_a_missing_design_table_is_refused(sqlite_aggregator: Any, kit: Any) -> None:
    (agent,) = kit.enroll(sqlite_aggregator.db, SPEC)
    honest = agent.payload()
    error = _refused(sqlite_aggregator, agent, _with_tables(honest, honest.tables[1:]))
    assert f"not the {len(TABLE_DESIGN)} tables" in str(error)


def test_a_design_name_over_other_dimensions_is_refused(sqlite_aggregator: Any, kit: Any) -> None:
    (agent,) = kit.enroll(sqlite_aggregator.db, SPEC)
    honest = agent.payload()
    first, *rest = honest.tables
    moved = dataclasses.replace(first, dimensions=("province", "discipline"))
    _refused(sqlite_aggregator, agent, _with_tables(honest, (moved, *rest)))


def test_bounds_without_the_visits_cap_are_refused(sqlite_aggregator: Any, kit: Any) -> None:
    (agent,) = kit.enroll(sqlite_aggregator.db, SPEC)
    honest = agent.payload()
    no_cap = _with_tables(honest, honest.tables, bounds={"visits_per_household": 4})
    error = _refused(sqlite_aggregator, agent, no_cap)
    assert MAX_VISITS in str(error)


def test_bounds_other_than_the_period_config_fixed_are_refused(
    sqlite_aggregator: Any, kit: Any
) -> None:
    """Honest in itself (sensitivity 20 for a cap of 20, ρ recomputed), but the
    period's signed config told every agent the cap of 12: intake holds the
    submission to the period's terms, not only to this code's design."""
    (agent,) = kit.enroll(sqlite_aggregator.db, SPEC)
    honest = agent.payload()
    # The visits tables' noise scaled with their sensitivity (20/12), so each keeps its ρ
    # and the design's split of ρ holds: only the bounds differ from the period's.
    tables = tuple(
        dataclasses.replace(
            t,
            sensitivity=20.0,
            scale=t.scale * 20 / 12,
            rho=table_rho(20.0, GAUSSIAN, t.scale * 20 / 12),
        )
        if t.measure == "visits"
        else t
        for t in honest.tables
    )
    error = _refused(
        sqlite_aggregator, agent, _with_tables(honest, tables, bounds={MAX_VISITS: 20})
    )
    assert "fixes the bounds" in str(error)


def test_a_split_of_rho_other_than_the_designs_is_refused(sqlite_aggregator: Any, kit: Any) -> None:
    """Every table's ρ honest by itself, but one table takes ten times its share
    (its noise far smaller) and the others less: the benchmarks could not weigh
    such a submission's tables together, so intake refuses the split."""
    (agent,) = kit.enroll(sqlite_aggregator.db, SPEC)
    honest = agent.payload()
    first = honest.tables[0]
    greedy = dataclasses.replace(
        first,
        scale=first.scale / 10**0.5,
        rho=table_rho(first.sensitivity, first.mechanism, first.scale / 10**0.5),
    )
    tables = (greedy, *honest.tables[1:])
    error = _refused(sqlite_aggregator, agent, _with_tables(honest, tables))
    assert f"table {first.name} spends" in str(error)
    assert "of the release design" in str(error)
