"""The public dashboard: the newest published period's benchmark as one HTML
page, in Dutch or English (no scripts, no CDN; ``aggregator.dashboard``
renders it, ADR 0039)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from aggregator import periods
from aggregator.api.dependencies import PeriodFilter, ServicesDep
from aggregator.api.problems import problems
from aggregator.dashboard import render_sector
from protocol.errors import InvalidPayload, NotFound, UsageError
from protocol.messages import check_period

router = APIRouter(tags=["dashboard"])
Language = Annotated[
    Literal["nl", "en"], Query(description="The page's language: nl (Dutch, the default) or en.")
]


@router.get(
    "/",
    response_class=HTMLResponse,
    # NotFound: no published period (or not the one asked for), or no such group;
    # UsageError: a language the pages do not have.
    responses=problems(InvalidPayload, NotFound, UsageError),
)
def dashboard(
    svc: ServicesDep, period: PeriodFilter = None, group: str = "sector", lang: Language = "nl"
) -> HTMLResponse:
    """The newest published period's benchmark (or the one asked for)."""
    published = [p for p in periods.list_periods(svc.db) if p.state == periods.PUBLISHED]
    if period is not None:
        check_period(period)
        published = [p for p in published if p.label == period]
    if not published:
        raise NotFound(
            "no published period yet",
            hint="close and publish one: publiek aggregator period close/publish",
        )
    chosen = published[-1]
    k, visible = periods.visible_groups(svc.db, chosen, k=svc.settings.k, cells_of=group)
    found = next((g for g in visible if g["group_id"] == group), None)
    if found is None:
        raise NotFound(f"period {chosen.label} has no peer group {group!r}")
    page = render_sector(
        chosen.label, found, visible, k=k, lang=lang, segment_model=chosen.segment_model
    )
    return HTMLResponse(page)
