"""A period's stored submissions with their status, and setting one aside
(taskforce; ADR 0020). The privacy officer reads the listing too: ids,
institutions, ρ and status, never a value."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from aggregator import set_aside
from aggregator.api.dependencies import (
    DEFAULT_LIMIT,
    Auditor,
    Limit,
    Offset,
    ServicesDep,
    Taskforce,
    page,
)
from aggregator.api.models import PeriodSubmissions, SetAsideRecord, SetAsideRequest
from aggregator.api.openapi import request_body
from aggregator.api.problems import problems
from aggregator.request_limits import read_limited
from protocol.errors import (
    InvalidPayload,
    MalformedMessage,
    NotFound,
    PayloadTooLarge,
    PeriodNotOpen,
    UnknownPeriod,
    UsageError,
)

MAX_SET_ASIDE_BYTES = 4 * 1024

router = APIRouter(tags=["submissions"])


@router.get(
    "/v1/periods/{period}/submissions",
    response_model=PeriodSubmissions,
    responses=problems(UsageError, InvalidPayload, UnknownPeriod),
)
def period_submissions(
    period: str,
    _: Auditor,
    svc: ServicesDep,
    offset: Offset = 0,
    limit: Limit = DEFAULT_LIMIT,
) -> dict[str, Any]:
    """Taskforce and privacy officer: every stored submission of the period in
    log order, with whether the benchmarks count it (``accepted``), leave it out
    because a value cannot be right (``left-out``), or the taskforce set it
    aside (``set-aside``), and why."""
    state, items = set_aside.period_submissions(svc.db, period)
    return {
        "period": period,
        "state": state,
        "submissions": items[offset : offset + limit],
        **page(items, offset, limit),
    }


@router.post(
    "/v1/submissions/{submission_id}/set-aside",
    response_model=SetAsideRecord,
    # InvalidPayload: a malformed id or reason, or one set aside before with another reason;
    # PeriodNotOpen: the period is published.
    responses=problems(MalformedMessage, PayloadTooLarge, InvalidPayload, NotFound, PeriodNotOpen),
    openapi_extra=request_body(SetAsideRequest),
)
async def set_submission_aside(
    submission_id: str, request: Request, _: Taskforce, svc: ServicesDep
) -> dict[str, Any]:
    """Taskforce: leave a stored submission out of its period's benchmarks, with
    a reason, recorded in the transparency log (a closed period's benchmarks
    are recomputed at once). Final; its ρ stays spent. Sending the same reason
    again answers the same record."""
    set_aside.check_submission_id(submission_id)
    body = await read_limited(request, MAX_SET_ASIDE_BYTES)
    try:
        reason = SetAsideRequest.model_validate_json(body).reason
    except ValidationError as exc:
        where = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        raise MalformedMessage(
            f"send {{'reason': '...'}} ({where})",
            hint="one line of at most 500 characters, without personal data",
        ) from None
    record = await run_in_threadpool(set_aside.set_aside, svc.db, submission_id, reason)
    return record.to_dict()
