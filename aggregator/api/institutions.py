"""An institution's own data, by requests signed with its enrolled key: what it
submitted, its standing in a period, and its report beside its peer group.
Nobody else reads these, not the taskforce and not the privacy officer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import select

from aggregator import benchmarks, periods, set_aside, translog
from aggregator.api.dependencies import (
    Limit,
    Offset,
    OwnId,
    OwnStandingId,
    PeriodFilter,
    PeriodLabel,
    ServicesDep,
    page,
)
from aggregator.api.models import Report, Standing, SubmissionPage
from aggregator.api.problems import problems
from aggregator.storage import Submission
from protocol.errors import InvalidPayload, NotFound, UnknownPeriod, UsageError
from protocol.messages import check_period

router = APIRouter(tags=["institutions"])


@router.get(
    "/v1/institutions/{institution_id}/submissions",
    response_model=SubmissionPage,
    responses=problems(UsageError, InvalidPayload),
)
def own_submissions(
    institution_id: OwnId,
    svc: ServicesDep,
    period: PeriodFilter = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> dict[str, Any]:
    """The institution itself (signed request): what it submitted, as stored, and
    whether each counts (``status``: accepted, left-out or set-aside, with the
    reason)."""
    query = select(Submission).where(Submission.institution_id == institution_id)
    if period is not None:
        query = query.where(Submission.period == check_period(period))
    with svc.db.session() as s:
        rows = s.scalars(query.order_by(Submission.log_index)).all()
        status = set_aside.statuses(s, rows)
        items = [
            {
                "submission_id": r.submission_id,
                "period": r.period,
                "digest": r.digest,
                "log_index": r.log_index,
                "received_at": r.receipt["received_at"],
                "tables": r.payload["tables"],
                "privacy": r.payload["privacy"],
                **status[r.submission_id].to_dict(),
            }
            for r in rows
        ]
    return {"submissions": items[offset : offset + limit], **page(items, offset, limit)}


@router.get(
    "/v1/institutions/{institution_id}/periods/{period}/standing",
    response_model=Standing,
    responses=problems(UnknownPeriod),
)
def own_standing(
    institution_id: OwnStandingId, period: PeriodLabel, svc: ServicesDep
) -> dict[str, Any]:
    """The institution itself (signed request, also when revoked): the period's
    state, its budget, the ρ this institution already spent there, and whether
    it is revoked; what an agent checks before it draws a release."""
    return periods.standing(svc.db, period, institution_id).to_dict()


@router.get(
    "/v1/institutions/{institution_id}/periods/{period}/report",
    response_model=Report,
    # NotFound: the period is not published, or the institution sent nothing in it.
    responses=problems(InvalidPayload, UnknownPeriod, NotFound),
)
def own_report(institution_id: OwnId, period: PeriodLabel, svc: ServicesDep) -> dict[str, Any]:
    """The institution itself: its peer group and that group's published
    benchmark, and which of its submissions were set aside."""
    row = periods.get_period(svc.db, period)
    if row.state != periods.PUBLISHED:
        raise NotFound(f"period {period} is {row.state}; its benchmarks are not published yet")
    with svc.db.session() as s:
        mine = benchmarks.peer_group_of(benchmarks.stored(s, period), institution_id)
        notes = [
            x.note()
            for x in translog.set_asides(s, period=period, institution_id=institution_id).values()
        ]
    if mine is None:
        aside = f" (set aside: {'; '.join(n['reason'] for n in notes)})" if notes else ""
        raise NotFound(f"{institution_id} has no counted submission in period {period}{aside}")
    _, visible = periods.visible_groups(svc.db, row, k=svc.settings.k)
    group = next(g for g in visible if g["group_id"] == mine.group_id)
    return {
        "period": period,
        "peer_group": {x: group[x] for x in group if x != "cells"},
        "cells": group["cells"],
        "set_aside": notes,
    }
