"""What routes depend on: the aggregator's services and who is asking.

Who may read what (ADR 0007): published benchmarks are public; everything
else about a period's benchmarks is for the taskforce; an institution reads
only its own submissions and report (signed requests, ``protocol.request_auth``);
the privacy officer reads the transparency log, budgets and configuration,
never an institution's values. Staff authenticate with
``Authorization: Bearer <token>``.

Each check is a dependency (a :class:`Guard`) that runs before the route's
body and raises a problem (401 no or bad credentials, 403 the wrong role or
another institution). A guard also says which security schemes satisfy it
and which problems it raises, so the OpenAPI document names them for every
route that uses it (``aggregator.api.openapi``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request

from aggregator import periods
from aggregator.auth import (
    INSTITUTION,
    PRIVACY_OFFICER,
    TASKFORCE,
    LoginThrottle,
    Principal,
    institution_key,
    principal_for_token,
)
from aggregator.group_commit import GroupCommit
from aggregator.keyring import Keyring
from aggregator.settings import Settings
from aggregator.storage import Database, Period
from protocol.errors import (
    Forbidden,
    InvalidPayload,
    InvalidSignature,
    PubliekError,
    Unauthenticated,
    UnknownPeriod,
)
from protocol.messages import check_period, check_slug
from protocol.request_auth import has_signature, verify_request

ALL_ROLES = (INSTITUTION, TASKFORCE, PRIVACY_OFFICER)
# Security requirements (OpenAPI): a bearer token, or all four headers of a
# signed request; an empty requirement means "no credentials needed".
BEARER = "staffToken"
SIGNED_HEADERS = {
    "signedRequestInstitution": "Publiek-Institution",
    "signedRequestKeyId": "Publiek-Key-Id",
    "signedRequestTimestamp": "Publiek-Timestamp",
    "signedRequestSignature": "Publiek-Signature",
}
SecurityRequirement = dict[str, list[str]]
STAFF_TOKEN: SecurityRequirement = {BEARER: []}
SIGNED_REQUEST: SecurityRequirement = {name: [] for name in SIGNED_HEADERS}
ANONYMOUS: SecurityRequirement = {}

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
# The largest integer every JSON reader keeps exact (RFC 7493), far inside the
# 64-bit integers SQLite and PostgreSQL take for OFFSET; the answer repeats it.
MAX_OFFSET = 2**53 - 1
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Index of the first item.")]
# What a period label and an institution id look like, documented (so that a
# client, or a fuzzer, knows) but checked by the protocol's own functions
# (``check_period``, ``check_slug``), whose refusal is a 422 invalid-payload.
PERIOD_LABEL = {"pattern": "^20[0-9]{2}-Q[1-4]$"}
SLUG = {"pattern": "^[a-z0-9][a-z0-9-]{1,62}$"}
PeriodLabel = Annotated[
    str, Path(description="A quarter, e.g. 2026-Q3.", json_schema_extra=PERIOD_LABEL)
]
PeriodFilter = Annotated[
    str | None, Query(description="A quarter, e.g. 2026-Q3.", json_schema_extra=PERIOD_LABEL)
]
InstitutionId = Annotated[
    str, Path(description="The institution's id (a slug).", json_schema_extra=SLUG)
]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")]


@dataclass(frozen=True)
class Services:
    """What ``create_app`` builds once per process and every route shares."""

    settings: Settings
    db: Database
    keyring: Keyring
    intake: GroupCommit
    throttle: LoginThrottle


async def services(request: Request) -> Services:
    # async: a plain attribute read, not worth a worker thread per request.
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]


def page(items: list[Any], offset: int, limit: int) -> dict[str, Any]:
    """The paging fields of a list answer (``next_offset`` null on the last page)."""
    end = offset + limit
    return {
        "offset": offset,
        "limit": limit,
        "total": len(items),
        "next_offset": end if end < len(items) else None,
    }


# --- who is asking --------------------------------------------------------------


def signed_institution(request: Request, svc: Services, *, allow_revoked: bool = False) -> str:
    """The institution whose enrolled key signed this GET (or raise)."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string", b"")
    target = raw.decode("latin-1") + (f"?{query.decode('latin-1')}" if query else "")
    return verify_request(
        request.headers,
        method=request.method,
        target=target,
        body=b"",
        key_for=lambda i, k: institution_key(svc.db, i, k, allow_revoked=allow_revoked),
        max_skew=svc.settings.request_skew_seconds,
    )


def caller(request: Request, svc: Services) -> Principal | None:
    """Staff by bearer token, an institution by a signed request, else nobody."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return principal_for_token(svc.db, auth[7:].strip())
    if auth:
        raise Unauthenticated("only 'Authorization: Bearer <token>' is understood")
    if has_signature(request.headers):
        return Principal(role=INSTITUTION, name=signed_institution(request, svc))
    return None


def authorize(request: Request, svc: Services, roles: tuple[str, ...]) -> Principal:
    principal = caller(request, svc)
    if principal is None:
        raise Unauthenticated(
            "this needs credentials",
            hint="staff: 'Authorization: Bearer <token>'; institutions: a signed request",
        )
    return principal.require(*roles)


class Guard:
    """A dependency that authenticates or authorises the caller.

    ``security``: the OpenAPI security requirements that satisfy it (any one);
    ``errors``: the problems it raises."""

    security: tuple[SecurityRequirement, ...]
    errors: tuple[type[PubliekError], ...]


class RequireRole(Guard):
    """The caller, authenticated, holding one of ``roles``."""

    def __init__(self, *roles: str) -> None:
        self.roles = roles
        staff = [r for r in roles if r != INSTITUTION]
        self.security = ((STAFF_TOKEN,) if staff else ()) + (
            (SIGNED_REQUEST,) if INSTITUTION in roles else ()
        )
        # Either kind of credential is checked whatever the role asked for, so
        # a bad signature is a 401 on a staff route too; 403 only when some
        # role is left out.
        self.errors = (Unauthenticated, InvalidSignature) + (
            (Forbidden,) if set(ALL_ROLES) - set(roles) else ()
        )

    def __call__(self, request: Request, svc: ServicesDep) -> Principal:
        return authorize(request, svc, self.roles)


Taskforce = Annotated[Principal, Depends(RequireRole(TASKFORCE))]
Auditor = Annotated[Principal, Depends(RequireRole(TASKFORCE, PRIVACY_OFFICER))]
AnyRole = Annotated[Principal, Depends(RequireRole(*ALL_ROLES))]


class OwnInstitution(Guard):
    """The institution named in the path, asking for itself by a signed request.

    The id is checked before the credentials, so a malformed id is a 422
    whoever asks."""

    security = (SIGNED_REQUEST,)
    errors = (InvalidPayload, Unauthenticated, InvalidSignature, Forbidden)

    def __call__(self, institution_id: InstitutionId, request: Request, svc: ServicesDep) -> str:
        check_slug(institution_id, what="institution id")
        principal = authorize(request, svc, (INSTITUTION,))
        if principal.name != institution_id:
            raise Forbidden("an institution reads only its own values")
        return institution_id


class OwnStanding(Guard):
    """The institution named in the path, by a request signed with its enrolled
    key, also when it is revoked: a revoked agent must learn that it is revoked
    before it draws a release, and reads nothing else this way."""

    security = (SIGNED_REQUEST,)
    errors = (InvalidPayload, Unauthenticated, InvalidSignature, Forbidden)

    def __call__(
        self, institution_id: InstitutionId, period: PeriodLabel, request: Request, svc: ServicesDep
    ) -> str:
        check_slug(institution_id, what="institution id")
        check_period(period)
        if not has_signature(request.headers):
            raise Unauthenticated("this needs a request signed by the institution's enrolled key")
        if signed_institution(request, svc, allow_revoked=True) != institution_id:
            raise Forbidden("an institution reads only its own standing")
        return institution_id


OwnId = Annotated[str, Depends(OwnInstitution())]
OwnStandingId = Annotated[str, Depends(OwnStanding())]


@dataclass(frozen=True)
class ReadablePeriod:
    """A period whose benchmarks the caller may read, and how far along they are."""

    period: Period
    status: str  # published | provisional (open, computed live) | closed


class ReadableBenchmarks(Guard):
    """A period's benchmarks: published ones for anyone, the others (provisional
    while open, closed before publishing) for the taskforce only. The period is
    looked up first: an unknown one is a 404 whoever asks."""

    security = (ANONYMOUS, STAFF_TOKEN)
    errors = (InvalidPayload, UnknownPeriod, Unauthenticated, InvalidSignature, Forbidden)

    def __call__(self, period: PeriodLabel, request: Request, svc: ServicesDep) -> ReadablePeriod:
        row = periods.get_period(svc.db, period)
        if row.state == periods.PUBLISHED:
            return ReadablePeriod(row, "published")
        authorize(request, svc, (TASKFORCE,))
        return ReadablePeriod(row, "provisional" if row.state == periods.OPEN else "closed")


Readable = Annotated[ReadablePeriod, Depends(ReadableBenchmarks())]
