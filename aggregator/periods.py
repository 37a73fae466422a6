"""Periods: the unit of reporting and of privacy budget (open → closed → published).

* open: submissions are accepted.
* closed: the deadline has passed; benchmarks are computed from what is
  stored, in the same transaction that closes the period and under the
  intake write lock, so no submission can slip in between. Late submissions
  are refused (``period-not-open``).
* published: the stored benchmarks become readable by everyone; nothing
  about the period changes any more. A period whose sector has fewer than
  ``k`` institutions (so every group has fewer) is never published.

A late institution can only be admitted by reopening a closed, unpublished
period: reopening discards the computed benchmarks, and the next close
recomputes them from everything stored (ADR 0007).

Periods are quarters only. What a period's submissions may spend and carry
is fixed when it is opened (budget, δ, mechanism, release design and table
weights, default bounds, k, the segment model release) and served signed as
its period config; the intake enforces the same ``rho_budget`` and segment
model (ADR 0030).
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aggregator import benchmarks, translog
from aggregator.peergroups import SECTOR
from aggregator.storage import (
    BenchmarkGroup,
    Database,
    Institution,
    Period,
    SegmentModelRelease,
    Submission,
)
from dp import release_design, sketches
from dp.measurements import GAUSSIAN
from protocol.errors import NotFound, PeriodNotOpen, UnknownPeriod, UsageError
from protocol.keys import SigningKey
from protocol.messages import (
    DEMO_SEGMENT_MODEL,
    MAX_SKETCH_BUCKETS,
    MECHANISMS,
    SEGMENT_MODELS,
    PeriodConfig,
    PeriodSketch,
    PeriodTable,
    check_period,
)
from protocol.period_config import sign_period_config

OPEN = "open"
CLOSED = "closed"
PUBLISHED = "published"
STATES = (OPEN, CLOSED, PUBLISHED)


def open_period(
    db: Database,
    label: str,
    *,
    rho_budget: float,
    delta: float = 1e-7,
    mechanism: str = GAUSSIAN,
    k: int = 5,
    segment_model: str | None = None,
    overlap_share: float = 0.0,
    overlap_households: float | None = None,
) -> Period:
    """Create the period if needed; an existing open period is left as it is.

    The config is fixed here: the budget per institution, δ, the mechanism,
    k, the release design of this code (its tables, weights and default
    bounds), the segment model release (:func:`period_segment_model`) and
    the household sketch, if any (:func:`period_sketch`), so a later upgrade
    or release cannot change what an open period asks for."""
    check_period(label)
    if not (math.isfinite(rho_budget) and rho_budget > 0):
        raise UsageError("the period's ρ budget must be a positive number")
    if not 0 < delta < 1:
        raise UsageError("the period's δ must lie strictly between 0 and 1")
    if mechanism not in MECHANISMS:
        raise UsageError(f"mechanism must be one of {', '.join(MECHANISMS)}")
    sketch = period_sketch(
        overlap_share, overlap_households, rho_budget=rho_budget, mechanism=mechanism
    )
    table_share = 1.0 - (0.0 if sketch is None else sketch.weight)
    with db.session() as s:
        period = s.get(Period, label)
        if period is None:
            model, digest = period_segment_model(s, segment_model)
            period = Period(
                label=label,
                state=OPEN,
                rho_budget=rho_budget,
                delta=delta,
                mechanism=mechanism,
                design=release_design.DESIGN,
                tables=[
                    {"name": t.name, "weight": t.weight * table_share}
                    for t in release_design.TABLE_DESIGN
                ],
                bounds=dict(release_design.DEFAULT_BOUNDS),
                k=k,
                segment_model=model,
                segment_model_digest=digest,
                sketch=None if sketch is None else sketch.to_dict(),
                opened_at=datetime.now(UTC).replace(microsecond=0),
            )
            s.add(period)
        elif period.state != OPEN:
            raise UsageError(f"period {label} is {period.state} and cannot be reopened")
        s.flush()
        s.expunge(period)
        return period


def period_sketch(
    share: float, households: float | None, *, rho_budget: float, mechanism: str
) -> PeriodSketch | None:
    """The household sketch a new period fixes, or None (the default: no sketches).

    ``share`` is the sketch's part of each submission's ρ (the tables keep
    1 − share, their weights scaled by it); ``households`` the expected
    number of households per compared set, from which the width follows
    (:func:`dp.sketches.width_for` at the sketch's ρ), capped so that one
    part per discipline fits an envelope. The seed is 32 fresh random bytes:
    public, and only sketches of this period share it (ADR 0036)."""
    if not math.isfinite(share) or not 0.0 <= share < 1.0:
        raise UsageError(
            "--overlap-share must be at least 0 and below 1 (the sketch's share of ρ)",
            hint="e.g. --overlap-share 0.25 leaves the tables 75% of each submission's ρ",
        )
    if share == 0.0:
        if households is not None:
            raise UsageError(
                "--overlap-households needs --overlap-share: without a share there is no sketch",
                hint="add --overlap-share 0.25, or leave out --overlap-households",
            )
        return None
    if households is None or not (math.isfinite(households) and households >= 1):
        raise UsageError(
            "a sketch needs --overlap-households N, the expected households per compared set "
            "(at least 1); the sketch's width follows from it",
            hint="e.g. --overlap-households 50000 for institutions of about 50,000 households",
        )
    widest = sketch_width_limit()
    width = min(sketches.width_for(households, rho=share * rho_budget, mechanism=mechanism), widest)
    return PeriodSketch(width=width, seed=secrets.token_bytes(sketches.SEED_BYTES), weight=share)


def sketch_width_limit() -> int:
    """The widest sketch whose parts (at most one per discipline, when an institution
    declares them all) fit in one submission."""
    limit = MAX_SKETCH_BUCKETS // len(release_design.DISCIPLINES)
    return 1 << (limit.bit_length() - 1)


def period_segment_model(session: Session, version: str | None) -> tuple[str, str | None]:
    """The segment model a new period names, and its release digest.

    ``version`` None: the release published last on this aggregator, or the
    built-in demo model when none is published (so the demo and a fresh
    install work without a release). A version must be published here: the
    agents fetch it from this aggregator and check it against the digest the
    config states. The demo model has no signed release, hence no digest."""
    if version is None:
        newest = session.scalars(
            select(SegmentModelRelease)
            .order_by(SegmentModelRelease.published_at.desc(), SegmentModelRelease.version)
            .limit(1)
        ).first()
        version = DEMO_SEGMENT_MODEL if newest is None else newest.version
    if version == DEMO_SEGMENT_MODEL:
        return version, None
    if version not in SEGMENT_MODELS:
        raise UsageError(
            f"segment model {version!r} is not one this release of Publiek knows",
            hint=f"known: {', '.join(SEGMENT_MODELS)}",
        )
    release = session.get(SegmentModelRelease, version)
    if release is None:
        raise UsageError(
            f"segment model {version} is not published on this aggregator; a period can "
            "name only a published release",
            hint=f"publish it first: publiek aggregator segment-model publish {version}.segments",
        )
    return version, release.digest


def period_config(period: Period, key: SigningKey) -> PeriodConfig:
    """The period's config as fixed at open, signed by the aggregator's receipt key.

    Ed25519 signatures are deterministic and the config never changes, so
    every fetch returns the same bytes."""
    if (
        period.design is None
        or period.tables is None
        or period.opened_at is None
        or period.segment_model is None
    ):
        raise NotFound(
            f"period {period.label} was opened before period configs named a segment model",
            hint="agents need a period opened by this version: open the next quarter",
        )
    opened = period.opened_at if period.opened_at.tzinfo else period.opened_at.replace(tzinfo=UTC)
    unsigned = PeriodConfig(
        period=period.label,
        rho_budget=period.rho_budget,
        delta=float(period.delta or 0.0),
        mechanism=str(period.mechanism),
        design=period.design,
        tables=tuple(PeriodTable(name=t["name"], weight=t["weight"]) for t in period.tables),
        bounds=dict(period.bounds or {}),
        k=int(period.k or 0),
        segment_model=period.segment_model,
        segment_model_digest=period.segment_model_digest,
        issued_at=opened.isoformat(),
        aggregator_key_id=key.public.key_id,
        sketch=period_sketch_of(period),
    )
    return sign_period_config(unsigned, key)


def period_sketch_of(period: Period) -> PeriodSketch | None:
    """The sketch the period's config fixed, None for a period without sketches."""
    return None if period.sketch is None else PeriodSketch.from_dict(period.sketch)


@dataclass(frozen=True)
class Standing:
    """What one institution may still do in one period (no values, only ρ), and
    which of its submissions the taskforce set aside, with the reasons (their
    ρ stays spent: ADR 0020)."""

    institution_id: str
    period: str
    state: str
    rho_budget: float
    rho_spent: float
    submissions: int
    revoked: bool
    set_aside: tuple[dict[str, Any], ...] = ()

    @property
    def rho_left(self) -> float:
        return max(self.rho_budget - self.rho_spent, 0.0)

    def to_dict(self) -> dict[str, object]:
        return {
            "institution_id": self.institution_id,
            "period": self.period,
            "state": self.state,
            "rho_budget": self.rho_budget,
            "rho_spent": self.rho_spent,
            "rho_left": self.rho_left,
            "submissions": self.submissions,
            "revoked": self.revoked,
            "set_aside": [dict(x) for x in self.set_aside],
        }


def standing(db: Database, label: str, institution_id: str) -> Standing:
    """The period's state and the institution's spent ρ there, as intake would see them."""
    check_period(label)
    with db.session() as s:
        period = _existing(s, label)
        inst = s.get(Institution, institution_id)
        spent, count = s.execute(
            select(func.coalesce(func.sum(Submission.rho), 0.0), func.count()).where(
                Submission.period == label, Submission.institution_id == institution_id
            )
        ).one()
        return Standing(
            institution_id=institution_id,
            period=label,
            state=period.state,
            rho_budget=period.rho_budget,
            rho_spent=float(spent),
            submissions=int(count),
            revoked=inst is None or inst.revoked_at is not None,
            set_aside=tuple(
                x.note()
                for x in translog.set_asides(
                    s, period=label, institution_id=institution_id
                ).values()
            ),
        )


def _existing(session: Session, label: str) -> Period:
    period = session.get(Period, label)
    if period is None:
        raise UnknownPeriod(f"period {label} does not exist")
    return period


def get_period(db: Database, label: str) -> Period:
    check_period(label)
    with db.session() as s:
        period = _existing(s, label)
        s.expunge(period)
        return period


def list_periods(db: Database) -> list[Period]:
    from sqlalchemy import select

    with db.session() as s:
        rows = list(s.scalars(select(Period).order_by(Period.label)))
        for r in rows:
            s.expunge(r)
        return rows


def submitted_institutions(db: Database) -> dict[str, int]:
    """How many institutions stored a submission, per period label."""
    from sqlalchemy import distinct

    query = select(Submission.period, func.count(distinct(Submission.institution_id)))
    with db.session() as s:
        return {p: int(n) for p, n in s.execute(query.group_by(Submission.period))}


def period_k(period: Period, k: int) -> int:
    """The k a period's benchmarks use: never below the k its signed config
    promised the institutions when it was opened, whatever the settings say now."""
    return max(k, period.k or 0)


def visible_groups(
    db: Database, period: Period, *, k: int, cells_of: str | None = None
) -> tuple[int, list[dict[str, Any]]]:
    """The k and every peer group of the period as a reader of its benchmarks
    sees them: each group's public summary (its size, and the groups merged
    into it counted, never named; no members) with its listed cells.

    ``cells_of`` names the one group whose cells the caller shows (the
    dashboard's page): the others' summaries then come without ``cells``, and
    their stored cells are not checked (``benchmarks.readable_cells``), which
    for a sector of 500 institutions is most of a page's time.

    Computed live (provisional) while the period is open, as stored once it is
    closed. The one place that decides what a reader sees of a group: the API
    (groups, benchmarks, exports, the dashboard, an institution's report) and
    ``aggregator benchmarks`` all list groups through it. Whether the caller
    may read the period at all is the caller's check (the API's
    ``ReadableBenchmarks``: published for anyone, otherwise the taskforce)."""

    def shown(group_id: str) -> bool:
        return cells_of is None or group_id == cells_of

    if period.state == OPEN:
        with db.session() as s:
            live = benchmarks.compute(s, period.label, k=period_k(period, k))
        benchmarks.log_left_out(live)
        return live.k, [
            {**g.summary(), "cells": g.cells} if shown(g.group.group_id) else g.summary()
            for g in live.groups
        ]
    visible = []
    with db.session() as s:
        for r in benchmarks.stored(s, period.label, cells=cells_of is None):
            summary = benchmarks.group_summary(r.group_id, r.level, r.merged_from, len(r.members))
            if shown(r.group_id):
                summary["cells"] = benchmarks.readable_cells(r.cells)
            visible.append(summary)
    return period.benchmark_k or k, visible


def close_period(db: Database, label: str, *, k: int) -> benchmarks.PeriodBenchmarks:
    """Stop intake for the period and store its benchmarks, atomically."""
    check_period(label)
    with db.write_session() as s:
        period = _existing(s, label)
        if period.state != OPEN:
            raise PeriodNotOpen(f"period {label} is already {period.state}")
        k = period_k(period, k)
        result = benchmarks.compute(s, label, k=k)
        benchmarks.store(s, result)
        period.state = CLOSED
        period.closed_at = datetime.now(UTC)
        period.inputs_digest = result.inputs_digest
        period.benchmark_k = k
        return result


def publish_period(db: Database, label: str) -> None:
    """Closed → published. Refused while fewer than ``k`` institutions submitted
    in the whole period: every group would then have fewer (ADR 0012)."""
    check_period(label)
    with db.write_session() as s:
        period = _existing(s, label)
        if period.state != CLOSED:
            raise UsageError(
                f"period {label} is {period.state}; only a closed period can be published",
                hint=f"close it first: publiek aggregator period close {label}",
            )
        k = period.benchmark_k or 0
        sector = s.get(BenchmarkGroup, (label, SECTOR))
        count = len(sector.members) if sector is not None else 0
        if count < k:
            raise UsageError(
                f"period {label} has submissions from {count} institutions, fewer than "
                f"k = {k}: publishing it could single out an institution",
                hint=f"reopen it (publiek aggregator period reopen {label}) and close it "
                f"again once at least {k} institutions have submitted",
            )
        period.state = PUBLISHED
        period.published_at = datetime.now(UTC)


def reopen_period(db: Database, label: str) -> None:
    """Admit late submissions: closed (not published) → open, benchmarks discarded."""
    check_period(label)
    with db.write_session() as s:
        period = _existing(s, label)
        if period.state != CLOSED:
            raise UsageError(f"period {label} is {period.state}; only a closed one can reopen")
        s.query(BenchmarkGroup).filter(BenchmarkGroup.period == label).delete()
        period.state = OPEN
        period.closed_at = None
        period.inputs_digest = None
        period.benchmark_k = None
