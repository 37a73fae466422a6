"""What the overlaps read from the aggregator's store: the period's sketch
parts (``aggregator.sketch_inputs``: each institution's current submission),
its ``k``, and each institution's province and peer group (ADR 0037).

The province is the one the institution enrolled with (as the benchmarks' peer
groups take it). The peer group is the one the benchmarks compare the
institution with: computed live while the period is open, the narrowest
stored group holding it once the period is closed (``benchmarks.peer_group_of``);
an institution the benchmarks did not count has none (``overlaps.UNKNOWN_GROUP``).

Reading them decodes every submission of the period with its sketch: about
2 s for 500 institutions, once for the crossover and again for the reach. A
closed or published period's inputs are therefore kept per closing, as the
penetration inputs are (``aggregator.penetration_inputs``): a closing fixes
which submissions count (a set-aside changes the inputs digest, a reopen or a
new close the ``closed_at``). Open periods are read on every call.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from aggregator import benchmarks, periods
from aggregator.kept_inputs import KeptPerClosing
from aggregator.overlaps import UNKNOWN_GROUP, PeriodSketches
from aggregator.peergroups import assign
from aggregator.sketch_inputs import period_sketches
from aggregator.storage import Institution, Period
from protocol.errors import NoSketches


@dataclass(frozen=True)
class OverlapInputs:
    period: str
    k: int
    sketches: PeriodSketches
    provinces: dict[str, str]
    peer_groups: dict[str, str]


def period_k(period: Period, k: int) -> int:
    """The k of the period's benchmarks: live while open (never below the
    signed config's), the one they were computed with once closed."""
    if period.state == periods.OPEN:
        return periods.period_k(period, k)
    return period.benchmark_k or periods.period_k(period, k)


_KEPT: KeptPerClosing[OverlapInputs, NoSketches] = KeptPerClosing(NoSketches)


def load(session: Session, period: Period, *, k: int) -> OverlapInputs:
    """The period's inputs; ``NoSketches`` when no counted submission carries
    one. Kept per closing for a period that is not open (read-only: the
    sketches are shared by every answer computed from them)."""
    if period.state == periods.OPEN:
        return _load(session, period, k=k)
    key = (str(session.get_bind().engine.url), period.label, period.state, period.closed_at,
           period.inputs_digest, period_k(period, k))  # fmt: skip
    return _KEPT.get(key, lambda: _load(session, period, k=k))


def forget_kept_inputs() -> None:
    """Drop every kept period's inputs (a bench's first view)."""
    _KEPT.clear()


def _load(session: Session, period: Period, *, k: int) -> OverlapInputs:
    sketches = PeriodSketches.of(period_sketches(session, period.label))
    members = sketches.members()
    provinces = {
        row.institution_id: row.province
        for row in session.scalars(
            select(Institution).where(Institution.institution_id.in_(members))
        )
    }
    k = period_k(period, k)
    if period.state == periods.OPEN:
        assignment, _ = assign(benchmarks.load_inputs(session, period.label).members, k)
    else:
        stored = benchmarks.stored(session, period.label)
        assignment = {}
        for institution_id in members:
            group = benchmarks.peer_group_of(stored, institution_id)
            if group is not None:
                assignment[institution_id] = group.group_id
    peer_groups = {i: assignment.get(i, UNKNOWN_GROUP) for i in members}
    return OverlapInputs(period.label, k, sketches, provinces, peer_groups)
