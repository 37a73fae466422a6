"""Every error answer is an RFC 9457 problem document (``application/problem+json``).

The exception handlers turn the project's errors, a database that cannot be
reached or written, request-parameter errors and Starlette's own 404/405 into
problem documents with the stable types of ``protocol.errors``.
:func:`problems` documents the ones a route raises, per status, in the
OpenAPI document (``aggregator.api.openapi`` adds those of its dependencies).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from protocol.errors import (
    MethodNotAllowed,
    NotFound,
    PubliekError,
    ServiceUnavailable,
    UsageError,
)

PROBLEM_JSON = "application/problem+json"
PROBLEM_SCHEMA = {"$ref": "#/components/schemas/Problem"}
# The problem types of one documented response (an OpenAPI extension field):
# the openapi module merges a route's own and its dependencies' by this list.
PROBLEM_TYPES = "x-problem-types"


def problem_response(error: PubliekError, instance: str) -> JSONResponse:
    return JSONResponse(
        error.problem(instance),
        status_code=error.status,
        media_type=PROBLEM_JSON,
        headers=error.headers(),
    )


def database_unavailable(exc: Exception) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"the database cannot be reached or written ({type(exc).__name__}); nothing was changed",
        hint="retry later; operators: check the database server and free disk space",
    )


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(PubliekError)
    async def _publiek_error(request: Request, exc: PubliekError) -> JSONResponse:
        return problem_response(exc, request.url.path)

    @app.exception_handler(OperationalError)
    async def _db_error(request: Request, exc: OperationalError) -> JSONResponse:
        return problem_response(database_unavailable(exc), request.url.path)

    @app.exception_handler(DBAPIError)
    async def _dbapi_error(request: Request, exc: DBAPIError) -> JSONResponse:
        if exc.connection_invalidated or isinstance(exc.orig, OSError):
            return problem_response(database_unavailable(exc), request.url.path)
        raise exc

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        where = "; ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
        return problem_response(UsageError(f"invalid request parameter: {where}"), request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Starlette's own: no route (404), or a route without this method (405).
        # The document's status is the answer's.
        error: PubliekError
        if exc.status_code == 404:
            error = NotFound(f"no such resource: {request.url.path}")
        elif exc.status_code == 405:
            allow = (exc.headers or {}).get("Allow", "")
            error = MethodNotAllowed(
                f"{request.method} is not a method of {request.url.path}",
                hint=f"it takes {allow}" if allow else "",
                allow=allow,
            )
        else:
            error = UsageError(str(exc.detail))
        return problem_response(error, request.url.path)


def problem_description(types: Iterable[str]) -> str:
    return "Problem document; `type` is one of: " + ", ".join(f"`{t}`" for t in sorted(types))


def problems(*errors: type[PubliekError]) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` entry of a route for the errors it raises itself."""
    by_status: dict[int, set[str]] = defaultdict(set)
    for error in errors:
        by_status[error.status].add(error.problem_type())
    return {
        status: {
            "description": problem_description(types),
            "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}},
            PROBLEM_TYPES: sorted(types),
        }
        for status, types in sorted(by_status.items())
    }
