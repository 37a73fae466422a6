"""Periods: the public list and signed configs; closing and publishing (taskforce)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from aggregator import benchmarks, periods
from aggregator.api.dependencies import PeriodLabel, ServicesDep, Taskforce
from aggregator.api.models import Closed, PeriodConfig, PeriodList, Published
from aggregator.api.problems import problems
from protocol.errors import InvalidPayload, NotFound, PeriodNotOpen, UnknownPeriod, UsageError

router = APIRouter(tags=["periods"])


@router.get("/v1/periods", response_model=PeriodList)
def list_periods(svc: ServicesDep) -> dict[str, Any]:
    """Every period with its state, budget and when it was closed and published."""
    rows = periods.list_periods(svc.db)
    return {
        "periods": [
            {
                "label": p.label,
                "state": p.state,
                "rho_budget": p.rho_budget,
                "closed_at": p.closed_at.isoformat() if p.closed_at else None,
                "published_at": p.published_at.isoformat() if p.published_at else None,
                "inputs_digest": p.inputs_digest,
            }
            for p in rows
        ]
    }


@router.get(
    "/v1/periods/{period}/config",
    response_model=PeriodConfig,
    # NotFound: a period opened before period configs existed.
    responses=problems(InvalidPayload, UnknownPeriod, NotFound),
)
def period_config(period: PeriodLabel, svc: ServicesDep) -> dict[str, Any]:
    """Public: the period's config as fixed at open (budget per institution, δ,
    mechanism, release design and table weights, bounds, k), signed by the
    aggregator's receipt key. Agents verify it before drawing a release."""
    row = periods.get_period(svc.db, period)
    return periods.period_config(row, svc.keyring.receipt_key()).to_dict()


@router.post(
    "/v1/periods/{period}/close",
    response_model=Closed,
    responses=problems(InvalidPayload, UnknownPeriod, PeriodNotOpen),
)
def close(period: PeriodLabel, _: Taskforce, svc: ServicesDep) -> dict[str, Any]:
    """Taskforce: stop intake and compute the period's benchmarks. A stored
    submission with a value that cannot be right is left out and listed in
    ``left_out`` with its reason; it never stops the close."""
    result = periods.close_period(svc.db, period, k=svc.settings.k)
    benchmarks.log_left_out(result)
    return {"period": period, "state": periods.CLOSED, "inputs_digest": result.inputs_digest,
            "groups": len(result.groups),
            "left_out": [x.to_dict() for x in result.left_out]}  # fmt: skip


@router.post(
    "/v1/periods/{period}/publish",
    response_model=Published,
    # UsageError: the period is not closed, or its sector has fewer than k institutions.
    responses=problems(InvalidPayload, UnknownPeriod, UsageError),
)
def publish(period: PeriodLabel, _: Taskforce, svc: ServicesDep) -> dict[str, Any]:
    """Taskforce: make the closed period's benchmarks public."""
    periods.publish_period(svc.db, period)
    return {"period": period, "state": periods.PUBLISHED}
