"""What the privacy officer (and the taskforce) audit: budgets spent, the
transparency log and the policy in force; never an institution's values."""

from __future__ import annotations

from collections import Counter
from typing import Any

from fastapi import APIRouter
from sqlalchemy import func, select

from aggregator import periods, translog
from aggregator.api.dependencies import (
    DEFAULT_LIMIT,
    Auditor,
    Limit,
    Offset,
    PeriodLabel,
    ServicesDep,
)
from aggregator.api.models import Budgets, LogPage, Policy
from aggregator.api.problems import problems
from aggregator.storage import LogEntry, Submission
from protocol.errors import InvalidPayload, UnknownPeriod, UsageError

MERGE_RULE = (
    "discipline × province × size class; groups below k merge upward: "
    "province → part of the country → national → discipline (all sizes) → sector"
)

router = APIRouter(tags=["audit"])


@router.get(
    "/v1/periods/{period}/budgets",
    response_model=Budgets,
    responses=problems(InvalidPayload, UnknownPeriod),
)
def budgets(period: PeriodLabel, _: Auditor, svc: ServicesDep) -> dict[str, Any]:
    """Privacy officer and taskforce: ρ spent per institution in the period, and
    how many of its submissions were set aside (their ρ stays spent)."""
    row = periods.get_period(svc.db, period)
    with svc.db.session() as s:
        spent = s.execute(
            select(Submission.institution_id, func.sum(Submission.rho), func.count())
            .where(Submission.period == period)
            .group_by(Submission.institution_id)
            .order_by(Submission.institution_id)
        ).all()
        set_aside = Counter(
            x.institution_id for x in translog.set_asides(s, period=period).values()
        )
    return {
        "period": period,
        "rho_budget": row.rho_budget,
        "institutions": [
            {
                "institution_id": i,
                "rho_spent": float(r),
                "submissions": int(n),
                "set_aside": set_aside[i],
            }
            for i, r, n in spent
        ],
    }


@router.get("/v1/log", response_model=LogPage, responses=problems(UsageError))
def log(
    _: Auditor, svc: ServicesDep, offset: Offset = 0, limit: Limit = DEFAULT_LIMIT
) -> dict[str, Any]:
    """Privacy officer and taskforce: the hash-chained transparency log: every
    stored submission and every set-aside, with its reason."""
    with svc.db.session() as s:
        size = translog.size(s)
        rows = s.scalars(
            select(LogEntry).order_by(LogEntry.log_index).offset(offset).limit(limit)
        ).all()
        entries = [translog.entry_dict(r) for r in rows]
    end = offset + limit
    return {
        "entries": entries,
        "offset": offset,
        "limit": limit,
        "total": size,
        "next_offset": end if end < size else None,
    }


@router.get("/v1/config", response_model=Policy)
def config(_: Auditor, svc: ServicesDep) -> dict[str, Any]:
    """Privacy officer and taskforce: the policy the aggregator enforces."""
    return {**svc.settings.public(), "peer_groups": MERGE_RULE}
