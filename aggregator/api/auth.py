"""Staff tokens and "who am I"."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from aggregator.api.dependencies import AnyRole, ServicesDep
from aggregator.api.models import Me, Token, TokenRequest, parse_body
from aggregator.api.openapi import request_body
from aggregator.api.problems import problems
from aggregator.auth import throttled_login
from aggregator.request_limits import read_json
from protocol.errors import MalformedMessage, PayloadTooLarge, TooManyRequests, Unauthenticated

MAX_LOGIN_BYTES = 4 * 1024

router = APIRouter(tags=["auth"])


@router.post(
    "/v1/auth/tokens",
    response_model=Token,
    responses=problems(MalformedMessage, Unauthenticated, PayloadTooLarge, TooManyRequests),
    openapi_extra=request_body(TokenRequest),
)
async def auth_token(request: Request, svc: ServicesDep) -> dict[str, Any]:
    """Exchange a staff username and password for an API token. Failed logins
    are throttled per account and per client address (429 with Retry-After)."""
    doc = await read_json(request, MAX_LOGIN_BYTES, what="the login")
    login = parse_body(TokenRequest, doc, what="the token request")
    username, password = login.username, login.password
    settings = svc.settings
    token = await run_in_threadpool(
        throttled_login, svc.db, svc.throttle, username, password,
        client=request.client.host if request.client else None,
        valid_for=timedelta(days=settings.token_days),
    )  # fmt: skip
    return {"token": token, "token_type": "Bearer", "expires_in_days": settings.token_days}


@router.get("/v1/me", response_model=Me)
def me(principal: AnyRole) -> dict[str, Any]:
    """The caller's role and name, as the aggregator authenticated them."""
    return {"role": principal.role, "name": principal.name}
