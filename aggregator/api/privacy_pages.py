"""The privacy officer's pages (issue 18): the transparency log with its
verification, budgets spent per institution and period, the periods' signed
configs, and the policy and versions in force.

HTML for a person logged in with the privacy officer's role
(``PrivacyOfficerPage``: anonymous → the login page, another role → a 403
page); the same figures as the audit API (``aggregator.privacy_view``). Not in
the OpenAPI document, which is the contract for programs.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from aggregator import periods
from aggregator.api.dependencies import Offset, PeriodFilter, ServicesDep
from aggregator.api.web_session import PrivacyOfficerPage
from aggregator.privacy_view import budget_view, config_view, log_view, overview_view
from aggregator.privacy_view_pages import (
    render_budgets,
    render_log,
    render_overview,
    render_periods,
)
from aggregator.storage import Period
from aggregator.web_chrome import chrome
from protocol.messages import check_period
from views.labels import language

router = APIRouter(include_in_schema=False)
Lang = Annotated[str | None, Query(description="nl (the default) or en.")]


@router.get("/privacy", response_class=HTMLResponse)
def overview(
    request: Request, principal: PrivacyOfficerPage, svc: ServicesDep, lang: Lang = None
) -> HTMLResponse:
    """Versions, the policy in force and whether the log verifies."""
    shown = language(lang)
    view = overview_view(svc, principal)
    return HTMLResponse(render_overview(view, shown, chrome(request, principal, shown)))


@router.get("/privacy/log", response_class=HTMLResponse)
def log(
    request: Request,
    principal: PrivacyOfficerPage,
    svc: ServicesDep,
    offset: Offset = 0,
    lang: Lang = None,
) -> HTMLResponse:
    """One page of the transparency log, each entry checked, and the whole chain's verdict."""
    shown = language(lang)
    view = log_view(svc, principal, offset=offset)
    base_url = str(request.base_url).rstrip("/")
    return HTMLResponse(render_log(view, shown, chrome(request, principal, shown), base_url))


@router.get("/privacy/budgets", response_class=HTMLResponse)
def budgets(
    request: Request,
    principal: PrivacyOfficerPage,
    svc: ServicesDep,
    period: PeriodFilter = None,
    lang: Lang = None,
) -> HTMLResponse:
    """Every period's budget and how many institutions spent from it; one period
    (the one asked for, else the newest with a submission) per institution."""
    shown = language(lang)
    rows = periods.list_periods(svc.db)
    submitted = periods.submitted_institutions(svc.db)
    chosen: Period | None
    if period is not None:
        check_period(period)
        chosen = periods.get_period(svc.db, period)  # unknown-period otherwise
    else:
        with_submissions = [p for p in rows if submitted.get(p.label)]
        chosen = with_submissions[-1] if with_submissions else (rows[-1] if rows else None)
    summary = [
        {
            "label": p.label,
            "state": p.state,
            "rho_budget": p.rho_budget,
            "institutions": submitted.get(p.label, 0),
        }
        for p in rows
    ]
    view = None if chosen is None else budget_view(svc, principal, chosen)
    return HTMLResponse(render_budgets(view, summary, shown, chrome(request, principal, shown)))


@router.get("/privacy/periods", response_class=HTMLResponse)
def period_configs(
    request: Request, principal: PrivacyOfficerPage, svc: ServicesDep, lang: Lang = None
) -> HTMLResponse:
    """Each period's signed config and whether its signature verifies."""
    shown = language(lang)
    views = [config_view(p, svc) for p in periods.list_periods(svc.db)]
    return HTMLResponse(render_periods(views, shown, chrome(request, principal, shown)))
