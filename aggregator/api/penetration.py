"""Penetration, audience profiles and not-yet-visitors (ADR 0031): a peer
group's or the sector's, readable wherever the period's benchmarks are, and
an institution's own, in its own catchment, for itself only (signed request):
no institution's figures are published by name."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from aggregator import benchmarks, periods
from aggregator.api.dependencies import OwnId, PeriodLabel, Readable, ServicesDep
from aggregator.api.models import OwnPenetration, Penetration
from aggregator.api.problems import problems
from aggregator.penetration import (
    CATCHMENTS,
    DEFAULT_RADIUS,
    OWN_CATCHMENT,
    against_peer_group,
    clear,
    own_in_catchment,
    ranked_not_yet_visitors,
    represented,
    shown,
    visitors_interval,
)
from aggregator.penetration_inputs import load
from protocol.errors import InvalidPayload, NotFound, UnknownPeriod, UsageError

router = APIRouter(tags=["penetration"])

Catchment = Annotated[
    str,
    Query(
        description="Each member's catchment: the cumulative radius around its own PC4, "
        "or its PC4's province (ignored for the sector, whose catchment is the country).",
        json_schema_extra={"enum": list(CATCHMENTS)},
    ),
]


def _radius(catchment: str) -> str:
    if catchment not in CATCHMENTS:
        raise UsageError(
            "the catchment is not a known radius or province",
            hint=f"use one of {', '.join(CATCHMENTS)}",
        )
    return catchment


@router.get(
    "/v1/periods/{period}/penetration",
    response_model=Penetration,
    responses=problems(UsageError, NotFound),
)
def group_penetration(
    period: PeriodLabel,
    readable: Readable,
    svc: ServicesDep,
    group: str = "sector",
    catchment: Catchment = DEFAULT_RADIUS,
) -> dict[str, Any]:
    """A peer group's penetration per segment in its members' catchments (the
    sector's in the country, and by province), its audience profile against
    the population, and its not-yet-visitors, largest first."""
    radius = _radius(catchment)
    with svc.db.session() as s:
        inputs = load(s, readable.period, k=svc.settings.k)
    found = inputs.group(group)
    if found is None:
        raise NotFound(
            f"period {period} has no peer group {group!r}",
            hint=f"list them: GET /v1/periods/{period}/groups",
        )
    audience = inputs.audience(found, radius)
    listed = audience.listed
    return {
        "period": period,
        "k": inputs.k,
        "status": readable.status,
        "group": found.summary(),
        "segment_model": inputs.segment_model,
        "synthetic": inputs.population.synthetic,
        "catchment": audience.catchment,
        "institutions": audience.institutions,
        "listed": listed,
        "note": audience.note,
        "segments": [r.to_dict() for r in audience.segments] if listed else [],
        "not_yet_visitors": ranked_not_yet_visitors(audience.segments) if listed else [],
        "provinces": [r.to_dict() for r in audience.provinces] if listed else [],
    }


@router.get(
    "/v1/institutions/{institution_id}/periods/{period}/penetration",
    response_model=OwnPenetration,
    # NotFound: the period is not published, or the institution has no catchment in it.
    responses=problems(UsageError, InvalidPayload, UnknownPeriod, NotFound),
)
def own_penetration(
    institution_id: OwnId,
    period: PeriodLabel,
    svc: ServicesDep,
    catchment: Catchment = DEFAULT_RADIUS,
) -> dict[str, Any]:
    """The institution itself (signed request): its penetration and
    not-yet-visitors in its own catchment, its audience profile against its
    catchment's population and against its peer group's audience."""
    radius = _radius(catchment)
    row = periods.get_period(svc.db, period)
    if row.state != periods.PUBLISHED:
        raise NotFound(f"period {period} is {row.state}; its benchmarks are not published yet")
    with svc.db.session() as s:
        inputs = load(s, row, k=svc.settings.k)
        mine = benchmarks.peer_group_of(benchmarks.stored(s, period), institution_id)
    member = inputs.members.get(institution_id)
    own = own_in_catchment(member, inputs.population, radius=radius) if member else None
    if member is None or own is None:
        raise NotFound(
            f"{institution_id} has no counted catchment in period {period}",
            hint="its submission carries no catchment table or no catchment_origin (its own "
            "PC4 in the segment model); the agent sends both from issue 16 on",
        )
    group = inputs.group(mine.group_id) if mine is not None else None
    peer = inputs.audience(group, radius) if group is not None else None
    relative = against_peer_group(own, peer) if peer is not None and peer.listed else {}
    segments = []
    for r in own.segments:
        versus = relative.get(r.segment) if clear(visitors_interval(r.visitors)) else None
        segments.append(
            {
                **r.to_dict(),
                "peer_group_index": shown(versus, digits=0).to_dict(),
                "represented_vs_peer_group": represented(relative.get(r.segment)),
            }
        )
    return {
        "period": period,
        "segment_model": inputs.segment_model,
        "synthetic": inputs.population.synthetic,
        "catchment": radius,
        "origin": str(member.origin),
        "peer_group": group.summary() if group is not None else None,
        "peer_group_listed": peer is not None and peer.listed,
        "note": OWN_CATCHMENT,
        "segments": segments,
        "not_yet_visitors": ranked_not_yet_visitors(own.segments),
    }
