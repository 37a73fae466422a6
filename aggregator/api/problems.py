"""Every error answer is an RFC 9457 problem document (``application/problem+json``).

The exception handlers turn the project's errors, a database that cannot be
reached or written, request-parameter errors and Starlette's own 404/405 into
problem documents with the stable types of ``protocol.errors``; a browser
asking for a web page gets the same error as a page instead (the ``page``
answer given to :func:`install_handlers`, ``aggregator.api.error_pages``).
:func:`problems` documents the ones a route raises, per status, in the
OpenAPI document (``aggregator.api.openapi`` adds those of its dependencies).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
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

# The error as a web page, or None for the problem document.
PageAnswer = Callable[[Request, PubliekError], Response | None]


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


def install_handlers(app: FastAPI, *, page: PageAnswer | None = None) -> None:
    async def answer(request: Request, error: PubliekError) -> Response:
        # In a worker thread: a page may read who is logged in from the database,
        # which must not hold up the event loop (least of all when it is out of reach).
        shown = await run_in_threadpool(page, request, error) if page is not None else None
        return shown if shown is not None else problem_response(error, request.url.path)

    @app.exception_handler(PubliekError)
    async def _publiek_error(request: Request, exc: PubliekError) -> Response:
        return await answer(request, exc)

    @app.exception_handler(OperationalError)
    async def _db_error(request: Request, exc: OperationalError) -> Response:
        return await answer(request, database_unavailable(exc))

    @app.exception_handler(DBAPIError)
    async def _dbapi_error(request: Request, exc: DBAPIError) -> Response:
        if exc.connection_invalidated or isinstance(exc.orig, OSError):
            return await answer(request, database_unavailable(exc))
        raise exc

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        where = "; ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
        return await answer(request, UsageError(f"invalid request parameter: {where}"))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
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
        return await answer(request, error)


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
