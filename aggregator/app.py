"""The aggregator's HTTP API (FastAPI) and dashboard page.

Versioned JSON under ``/v1/``. Errors are RFC 9457 problem documents
(``application/problem+json``) with the stable types of ``protocol.errors``;
a database that cannot be reached or written (lost connection, full disk)
answers 503 and, because every write is one transaction, leaves nothing
half-written. Request bodies are limited before they are read into memory.
Lists are paginated with ``offset`` and ``limit``; the answer says
``next_offset`` (``null`` on the last page).

Who may read what (ADR 0007): published benchmarks are public; everything
else about a period's benchmarks is for the taskforce; an institution reads
only its own submissions and report (signed requests); the privacy officer
reads the transparency log, budgets and configuration, never an
institution's values.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from aggregator import benchmarks, periods, translog
from aggregator.auth import (
    INSTITUTION,
    PRIVACY_OFFICER,
    TASKFORCE,
    LoginThrottle,
    Principal,
    institution_key,
    principal_for_token,
    throttled_login,
)
from aggregator.dashboard import render_sector
from aggregator.enrollment import redeem_token
from aggregator.exports import MEDIA_TYPES, export
from aggregator.group_commit import GroupCommit
from aggregator.intake import Intake
from aggregator.keyring import Keyring
from aggregator.protocol_routes import register as register_protocol_routes
from aggregator.request_limits import read_limited
from aggregator.settings import Settings
from aggregator.storage import Database, LogEntry, Period, Submission
from protocol.errors import (
    Forbidden,
    MalformedMessage,
    NotFound,
    PubliekError,
    ServiceUnavailable,
    Unauthenticated,
    UsageError,
)
from protocol.keys import SealPublicKey, VerifyKey
from protocol.messages import check_period, check_slug
from protocol.request_auth import has_signature, verify_request

PROBLEM_JSON = "application/problem+json"
MERGE_RULE = (
    "discipline × province × size class; groups below k merge upward: "
    "province → part of the country → national → discipline (all sizes) → sector"
)
DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
Offset = Annotated[int, Query(ge=0, description="Index of the first item.")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")]


def problem_response(error: PubliekError, instance: str) -> JSONResponse:
    return JSONResponse(
        error.problem(instance),
        status_code=error.status,
        media_type=PROBLEM_JSON,
        headers=error.headers(),
    )


def page(items: list[Any], offset: int, limit: int) -> dict[str, Any]:
    end = offset + limit
    return {
        "offset": offset,
        "limit": limit,
        "total": len(items),
        "next_offset": end if end < len(items) else None,
    }


def _database_unavailable(exc: Exception) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"the database cannot be reached or written ({type(exc).__name__}); nothing was changed",
        hint="retry later; operators: check the database server and free disk space",
    )


def create_app(settings: Settings) -> FastAPI:
    db = Database(settings.db_url)
    db.create_schema()
    keyring = Keyring(settings, db)
    keyring.ensure()
    intake = GroupCommit(Intake(db, keyring))
    app = FastAPI(
        # No Swagger/ReDoc pages: they load scripts from a CDN (a non-goal, docs/architecture.md);
        # the schema itself stays at /openapi.json and in docs/openapi.json.
        docs_url=None,
        redoc_url=None,
        title="Publiek aggregator",
        version="1",
        description="Intake of sealed DP submissions and sector benchmarks. "
        "Errors are RFC 9457 problem documents.",
    )
    app.state.db = db
    throttle = LoginThrottle.from_settings(db, settings)

    @app.exception_handler(PubliekError)
    async def _publiek_error(request: Request, exc: PubliekError) -> JSONResponse:
        return problem_response(exc, request.url.path)

    @app.exception_handler(OperationalError)
    async def _db_error(request: Request, exc: OperationalError) -> JSONResponse:
        return problem_response(_database_unavailable(exc), request.url.path)

    @app.exception_handler(DBAPIError)
    async def _dbapi_error(request: Request, exc: DBAPIError) -> JSONResponse:
        if exc.connection_invalidated or isinstance(exc.orig, OSError):
            return problem_response(_database_unavailable(exc), request.url.path)
        raise exc

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        where = "; ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
        return problem_response(UsageError(f"invalid request parameter: {where}"), request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        error: PubliekError = (
            NotFound(f"no such resource: {request.url.path}")
            if exc.status_code == 404
            else UsageError(str(exc.detail))
        )
        response = problem_response(error, request.url.path)
        response.status_code = exc.status_code
        return response

    def who(request: Request) -> Principal | None:
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return principal_for_token(db, auth[7:].strip())
        if auth:
            raise Unauthenticated("only 'Authorization: Bearer <token>' is understood")
        if has_signature(request.headers):
            return Principal(role=INSTITUTION, name=signed_institution(request))
        return None

    def signed_institution(request: Request, *, allow_revoked: bool = False) -> str:
        """The institution whose enrolled key signed this GET (or raise)."""
        raw = request.scope.get("raw_path") or request.url.path.encode()
        query = request.scope.get("query_string", b"")
        target = raw.decode("latin-1") + (f"?{query.decode('latin-1')}" if query else "")
        return verify_request(
            request.headers,
            method=request.method,
            target=target,
            body=b"",
            key_for=lambda i, k: institution_key(db, i, k, allow_revoked=allow_revoked),
            max_skew=settings.request_skew_seconds,
        )

    def require(request: Request, *roles: str) -> Principal:
        principal = who(request)
        if principal is None:
            raise Unauthenticated(
                "this needs credentials",
                hint="staff: 'Authorization: Bearer <token>'; institutions: a signed request",
            )
        return principal.require(*roles)

    register_protocol_routes(app, db, require)

    def load_period(label: str) -> Period:
        return periods.get_period(db, label)

    def readable_benchmarks(request: Request, period: Period) -> str:
        """Published: anyone. Otherwise: taskforce only. Returns the status."""
        if period.state == periods.PUBLISHED:
            return "published"
        require(request, TASKFORCE)
        return "provisional" if period.state == periods.OPEN else "closed"

    def period_groups(period: Period) -> tuple[int, list[dict[str, Any]]]:
        """Summaries plus cells of every group: stored ones, or live while open."""
        if period.state == periods.OPEN:
            with db.session() as s:
                live = benchmarks.compute(s, period.label, k=periods.period_k(period, settings.k))
            return live.k, [{**g.summary(), "cells": g.cells} for g in live.groups]
        with db.session() as s:
            rows = benchmarks.stored(s, period.label)
        k = period.benchmark_k or settings.k
        return k, [
            {
                **benchmarks.group_summary(r.group_id, r.level, r.merged_from, len(r.members)),
                "cells": benchmarks.readable_cells(r.cells),
            }
            for r in rows
        ]

    @app.get("/healthz", tags=["service"])
    def healthz() -> dict[str, str]:
        """The process is up (does not touch the database)."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["service"])
    def readyz() -> dict[str, str]:
        """The database answers; 503 otherwise."""
        with db.session() as s:
            s.execute(text("SELECT 1"))
        return {"status": "ready"}

    @app.get("/v1/keys", tags=["intake"])
    def keys() -> dict[str, Any]:
        return {
            "keys": keyring.published(),
            "receipt_key": keyring.receipt_key().public.to_text(),
        }

    @app.post("/v1/enrollments", tags=["intake"])
    async def enroll(request: Request) -> dict[str, str]:
        body = await read_limited(request, 16 * 1024)
        try:
            doc = json.loads(body)
            signing = VerifyKey.from_text(doc["signing_key"])
            sealing = SealPublicKey.from_text(doc["sealing_key"])
            token = str(doc["token"])
        except (ValueError, KeyError, TypeError) as exc:
            raise MalformedMessage(
                "an enrollment needs 'token', 'signing_key' and 'sealing_key'"
            ) from exc
        inst = redeem_token(db, token, signing, sealing)
        return {
            "institution_id": inst.institution_id,
            "discipline": inst.discipline,
            "province": inst.province,
        }

    @app.post("/v1/submissions", tags=["intake"])
    async def submit(request: Request) -> dict[str, Any]:
        data = await read_limited(request, settings.max_body_bytes)
        receipt = await intake.submit(data)
        return receipt.to_dict()

    @app.post("/v1/auth/tokens", tags=["auth"])
    async def auth_token(request: Request) -> dict[str, Any]:
        """Exchange a staff username and password for an API token."""
        body = await read_limited(request, 4 * 1024)
        try:
            doc = json.loads(body)
            username, password = str(doc["username"]), str(doc["password"])
        except (ValueError, KeyError, TypeError) as exc:
            raise MalformedMessage("send {'username': ..., 'password': ...}") from exc
        token = await run_in_threadpool(
            throttled_login, db, throttle, username, password,
            client=request.client.host if request.client else None,
            valid_for=timedelta(days=settings.token_days),
        )  # fmt: skip
        return {"token": token, "token_type": "Bearer", "expires_in_days": settings.token_days}

    @app.get("/v1/me", tags=["auth"])
    def me(request: Request) -> dict[str, str]:
        principal = require(request, INSTITUTION, TASKFORCE, PRIVACY_OFFICER)
        return {"role": principal.role, "name": principal.name}

    @app.get("/v1/periods", tags=["periods"])
    def list_periods() -> dict[str, Any]:
        rows = periods.list_periods(db)
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

    @app.get("/v1/periods/{period}/config", tags=["periods"])
    def period_config(period: str) -> dict[str, Any]:
        """Public: the period's config as fixed at open (budget per institution, δ,
        mechanism, release design and table weights, bounds, k), signed by the
        aggregator's receipt key. Agents verify it before drawing a release."""
        row = load_period(period)
        return periods.period_config(row, keyring.receipt_key()).to_dict()

    @app.post("/v1/periods/{period}/close", tags=["periods"])
    def close(period: str, request: Request) -> dict[str, Any]:
        """Taskforce: stop intake and compute the period's benchmarks."""
        require(request, TASKFORCE)
        result = periods.close_period(db, period, k=settings.k)
        return {"period": period, "state": periods.CLOSED, "inputs_digest": result.inputs_digest,
                "groups": len(result.groups)}  # fmt: skip

    @app.post("/v1/periods/{period}/publish", tags=["periods"])
    def publish(period: str, request: Request) -> dict[str, str]:
        """Taskforce: make the closed period's benchmarks public."""
        require(request, TASKFORCE)
        periods.publish_period(db, period)
        return {"period": period, "state": periods.PUBLISHED}

    @app.get("/v1/periods/{period}/groups", tags=["benchmarks"])
    def groups(period: str, request: Request) -> dict[str, Any]:
        """Peer groups of the period with their size and how many smaller groups
        were merged into them (counted, never named: a group below k can be one
        institution)."""
        row = load_period(period)
        status = readable_benchmarks(request, row)
        k, all_groups = period_groups(row)
        return {
            "period": period,
            "k": k,
            "status": status,
            "groups": [{x: g[x] for x in g if x != "cells"} for g in all_groups],
        }

    @app.get("/v1/periods/{period}/benchmarks", tags=["benchmarks"])
    def benchmark(  # noqa: PLR0917 - FastAPI route parameters
        period: str,
        request: Request,
        group: str = "sector",
        table: str | None = None,
        offset: Offset = 0,
        limit: Limit = DEFAULT_LIMIT,
    ) -> dict[str, Any]:
        """One peer group's cells (default: the whole sector): each a non-negative
        estimate with its 95% interval, or ``too_uncertain`` and no number."""
        row = load_period(period)
        status = readable_benchmarks(request, row)
        k, all_groups = period_groups(row)
        found = next((g for g in all_groups if g["group_id"] == group), None)
        if found is None:
            raise NotFound(
                f"period {period} has no peer group {group!r}",
                hint=f"list them: GET /v1/periods/{period}/groups",
            )
        cells = [c for c in found["cells"] if table is None or c["table"] == table]
        return {
            "period": period,
            "k": k,
            "status": status,
            "group": {x: found[x] for x in found if x != "cells"},
            "cells": cells[offset : offset + limit],
            **page(cells, offset, limit),
        }

    def _export(period: str, request: Request, fmt: str) -> Response:
        row = load_period(period)
        readable_benchmarks(request, row)
        _, all_groups = period_groups(row)
        return Response(
            export(period, all_groups, fmt),
            media_type=MEDIA_TYPES[fmt],
            headers={"content-disposition": f'attachment; filename="benchmarks-{period}.{fmt}"'},
        )

    @app.get("/v1/periods/{period}/benchmarks.csv", tags=["benchmarks"])
    def benchmark_csv(period: str, request: Request) -> Response:
        """Every group and cell of the period as CSV."""
        return _export(period, request, "csv")

    @app.get("/v1/periods/{period}/benchmarks.parquet", tags=["benchmarks"])
    def benchmark_parquet(period: str, request: Request) -> Response:
        """Every group and cell of the period as Parquet."""
        return _export(period, request, "parquet")

    @app.get("/v1/periods/{period}/budgets", tags=["audit"])
    def budgets(period: str, request: Request) -> dict[str, Any]:
        """Privacy officer and taskforce: ρ spent per institution in the period."""
        require(request, TASKFORCE, PRIVACY_OFFICER)
        row = load_period(period)
        with db.session() as s:
            spent = s.execute(
                select(Submission.institution_id, func.sum(Submission.rho), func.count())
                .where(Submission.period == period)
                .group_by(Submission.institution_id)
                .order_by(Submission.institution_id)
            ).all()
        return {
            "period": period,
            "rho_budget": row.rho_budget,
            "institutions": [
                {"institution_id": i, "rho_spent": float(r), "submissions": int(n)}
                for i, r, n in spent
            ],
        }

    @app.get("/v1/log", tags=["audit"])
    def log(request: Request, offset: Offset = 0, limit: Limit = DEFAULT_LIMIT) -> dict[str, Any]:
        """Privacy officer and taskforce: the hash-chained transparency log."""
        require(request, TASKFORCE, PRIVACY_OFFICER)
        with db.session() as s:
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

    @app.get("/v1/config", tags=["audit"])
    def config(request: Request) -> dict[str, Any]:
        """Privacy officer and taskforce: the policy the aggregator enforces."""
        require(request, TASKFORCE, PRIVACY_OFFICER)
        return {**settings.public(), "peer_groups": MERGE_RULE}

    def own(request: Request, institution_id: str) -> None:
        check_slug(institution_id, what="institution id")
        principal = require(request, INSTITUTION)
        if principal.name != institution_id:
            raise Forbidden("an institution reads only its own values")

    @app.get("/v1/institutions/{institution_id}/submissions", tags=["institutions"])
    def own_submissions(
        institution_id: str,
        request: Request,
        period: str | None = None,
        offset: Offset = 0,
        limit: Limit = 100,
    ) -> dict[str, Any]:
        """The institution itself (signed request): what it submitted, as stored."""
        own(request, institution_id)
        query = select(Submission).where(Submission.institution_id == institution_id)
        if period is not None:
            query = query.where(Submission.period == check_period(period))
        with db.session() as s:
            rows = s.scalars(query.order_by(Submission.log_index)).all()
            items = [
                {
                    "submission_id": r.submission_id,
                    "period": r.period,
                    "digest": r.digest,
                    "log_index": r.log_index,
                    "received_at": r.receipt["received_at"],
                    "tables": r.payload["tables"],
                    "privacy": r.payload["privacy"],
                }
                for r in rows
            ]
        return {"submissions": items[offset : offset + limit], **page(items, offset, limit)}

    @app.get("/v1/institutions/{institution_id}/periods/{period}/standing", tags=["institutions"])
    def own_standing(institution_id: str, period: str, request: Request) -> dict[str, Any]:
        """The institution itself (signed request, also when revoked): the period's
        state, its budget, the ρ this institution already spent there, and whether
        it is revoked; what an agent checks before it draws a release."""
        check_slug(institution_id, what="institution id")
        check_period(period)
        if not has_signature(request.headers):
            raise Unauthenticated("this needs a request signed by the institution's enrolled key")
        if signed_institution(request, allow_revoked=True) != institution_id:
            raise Forbidden("an institution reads only its own standing")
        return periods.standing(db, period, institution_id).to_dict()

    @app.get("/v1/institutions/{institution_id}/periods/{period}/report", tags=["institutions"])
    def own_report(institution_id: str, period: str, request: Request) -> dict[str, Any]:
        """The institution itself: its peer group and that group's published benchmark."""
        own(request, institution_id)
        row = load_period(period)
        if row.state != periods.PUBLISHED:
            raise NotFound(f"period {period} is {row.state}; its benchmarks are not published yet")
        with db.session() as s:
            rows = benchmarks.stored(s, period)
        group = benchmarks.peer_group_of(rows, institution_id)
        if group is None:
            raise NotFound(f"{institution_id} has no submission in period {period}")
        return {
            "period": period,
            "peer_group": benchmarks.group_summary(
                group.group_id, group.level, group.merged_from, len(group.members)
            ),
            "cells": benchmarks.readable_cells(group.cells),
        }

    @app.get("/", response_class=HTMLResponse, tags=["dashboard"])
    def dashboard(period: str | None = None, group: str = "sector") -> Response:
        """The newest published period's benchmark (or the one asked for)."""
        published = [p for p in periods.list_periods(db) if p.state == periods.PUBLISHED]
        if period is not None:
            check_period(period)
            published = [p for p in published if p.label == period]
        if not published:
            raise NotFound(
                "no published period yet",
                hint="close and publish one: publiek aggregator period close/publish",
            )
        chosen = published[-1]
        k, all_groups = period_groups(chosen)
        found = next((g for g in all_groups if g["group_id"] == group), None)
        if found is None:
            raise NotFound(f"period {chosen.label} has no peer group {group!r}")
        html = render_sector(chosen.label, found, all_groups, k=k)
        return HTMLResponse(html)

    return app
