"""What penetration reads from the aggregator's store: a period's counted
tables, each institution's catchment origin, its peer groups and the
population of the segment model its submissions name (ADR 0031).

The submissions counted are exactly the benchmarks' (``aggregator.benchmarks
.load_inputs``: set-aside ones skipped, implausible ones left out, the latest
table of each name): penetration is one more view of the same tables. An
institution's catchment origin is the ``catchment_origin`` of the submission
whose catchment table counts; a submission without one (every submission
stored before issue 16) has no catchment. The population is built from the
release as stored here (``aggregator.segment_models``), verified again under
its registered model key, and kept per release digest
(:func:`aggregator.penetration.cached_population`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aggregator import benchmarks, periods, segment_models
from aggregator.kept_inputs import KeptPerClosing
from aggregator.peergroups import SECTOR, assign
from aggregator.penetration import (
    CATCHMENT_TABLE,
    Audience,
    Contributor,
    Population,
    cached_population,
    group_in_catchments,
    remember_population,
    sector_in_country,
)
from aggregator.storage import LogEntry, Period, SegmentModelRelease, Submission
from protocol.errors import MalformedMessage, NotFound
from protocol.messages import DEMO_SEGMENT_MODEL
from protocol.translog import SET_ASIDE

PC4 = re.compile(r"[1-9][0-9]{3}")


@dataclass(frozen=True)
class Group:
    """A peer group as penetration needs it (its members stay here)."""

    group_id: str
    level: str
    members: tuple[str, ...]
    merged_from: tuple[str, ...]

    def summary(self) -> dict[str, Any]:
        return benchmarks.group_summary(
            self.group_id, self.level, self.merged_from, len(self.members)
        )


@dataclass(frozen=True)
class PeriodInputs:
    """One period's inputs: its k, groups, the members that name the period's
    segment model, and that model's population."""

    period: str
    k: int
    segment_model: str
    population: Population
    groups: tuple[Group, ...]
    members: dict[str, Contributor]

    def group(self, group_id: str) -> Group | None:
        return next((g for g in self.groups if g.group_id == group_id), None)

    def audience(self, group: Group, radius: str) -> Audience:
        """The group's figures: the sector in the country, any other group in
        its members' catchments at ``radius``."""
        members = [self.members[i] for i in group.members if i in self.members]
        if group.group_id == SECTOR:
            return sector_in_country(members, self.population, k=self.k)
        return group_in_catchments(members, self.population, radius=radius, k=self.k)


def origin_of(payload: Any) -> int | None:
    """A stored payload's catchment origin (a 4-digit PC4), else ``None``."""
    found = payload.get("catchment_origin") if isinstance(payload, dict) else None
    return int(found) if isinstance(found, str) and PC4.fullmatch(found) else None


def _carries(payload: Any, name: str) -> bool:
    tables = payload.get("tables") if isinstance(payload, dict) else None
    return isinstance(tables, list) and any(
        isinstance(t, dict) and t.get("name") == name for t in tables
    )


# The inputs of closed and published periods, by the period's closing
# (``aggregator.kept_inputs``); open periods are read on every call. Every
# caller (the API, the pages) gets the same frozen inputs, or the same NotFound
# (a period without a population).
_KEPT: KeptPerClosing[PeriodInputs, NotFound] = KeptPerClosing(NotFound)


def published_releases(session: Session) -> tuple[tuple[str, str], ...]:
    """The segment-model releases published here, as (version, digest): what
    a kept answer that needs a population depends on besides its closing."""
    return tuple(
        (row.version, row.digest)
        for row in session.execute(
            select(SegmentModelRelease.version, SegmentModelRelease.digest).order_by(
                SegmentModelRelease.version
            )
        )
    )


def load(session: Session, period: Period, *, k: int) -> PeriodInputs:
    """The period's penetration inputs; ``NotFound`` when nothing counts yet or
    the segment model the submissions name is not published here. Kept per
    closing for a period that is not open."""
    if period.state == periods.OPEN:
        return _load(session, period, k=k)
    # The releases published here are in the key as well: a period whose model was
    # missing ("publish it") is read again once the operator has published it.
    key = (str(session.get_bind().engine.url), period.label, period.state, period.closed_at,
           period.inputs_digest, period.benchmark_k or k, published_releases(session))  # fmt: skip
    return _KEPT.get(key, lambda: _load(session, period, k=k))


def forget_kept_inputs() -> None:
    """Drop every kept period's inputs (a bench's first view)."""
    _KEPT.clear()


def _load(session: Session, period: Period, *, k: int) -> PeriodInputs:
    inputs = benchmarks.load_inputs(session, period.label)
    left_out = {x.submission_id for x in inputs.left_out}
    set_aside = select(LogEntry.submission_id).where(
        LogEntry.kind == SET_ASIDE, LogEntry.period == period.label
    )
    rows = session.execute(
        select(Submission.institution_id, Submission.submission_id, Submission.payload)
        .where(Submission.period == period.label, Submission.submission_id.not_in(set_aside))
        .order_by(Submission.log_index)
    ).all()
    origins: dict[str, int | None] = {}
    for institution_id, submission_id, payload in rows:
        if submission_id in left_out or not isinstance(payload, dict):
            continue
        if _carries(payload, CATCHMENT_TABLE):
            origins[institution_id] = origin_of(payload)
    # The benchmarks' inputs count only submissions of the period's one segment
    # model (ADR 0030): their segments and the population are the same model's.
    model = inputs.segment_model
    if model is None or not inputs.tables:
        raise NotFound(f"period {period.label} has no counted submission yet")
    population = stored_population(session, model)
    members = {i: Contributor(i, origins.get(i), tables) for i, tables in inputs.tables.items()}
    if period.state == periods.OPEN:
        k = periods.period_k(period, k)
        _, live = assign(inputs.members, k)
        groups = tuple(Group(g.group_id, g.level, g.members, g.merged_from) for g in live)
    else:
        k = period.benchmark_k or k
        groups = tuple(
            Group(r.group_id, r.level, tuple(r.members), tuple(r.merged_from))
            for r in benchmarks.stored(session, period.label)
        )
    return PeriodInputs(period.label, k, model, population, groups, members)


def stored_population(session: Session, version: str) -> Population:
    """The population of segment model ``version`` as published here, verified
    again under its registered model key the first time its digest is seen."""
    row = session.get(SegmentModelRelease, version)
    if row is None and version == DEMO_SEGMENT_MODEL:
        # The built-in demo model is no release: it has no population to publish.
        raise NotFound(
            f"the period's submissions use the built-in demo model {version}, which has no "
            "population to compare with",
            hint="penetration needs a published release: publiek aggregator period open "
            "--segment-model VERSION for the next period",
        )
    if row is None:
        raise NotFound(
            f"segment model {version}, which the period's submissions name, is not published here",
            hint="publish it: publiek aggregator segment-model publish FILE",
        )
    cached = cached_population(row.digest)
    if cached is not None:
        return cached
    where = f"segment model {version} as stored"
    release = segment_models.verified(session, bytes(row.content), where=where)
    if release.version != version or release.digest != row.digest:
        # The row's digest keys the cache: it must be the digest of the bytes verified.
        raise MalformedMessage(
            f"{where} does not match its listing (version {release.version}, "
            f"digest {release.digest[:16]})",
            hint="the store was changed outside Publiek: restore it from a backup",
        )
    return remember_population(release.digest, release)
