"""The custodian relay (docs/protocol.md 5.3): the aggregator stores and hands
out sealed sector keys it cannot open. The roster and the upload are the
custodian's (a taskforce role); a sealed key is fetched only by its own
institution."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from aggregator.api.dependencies import (
    SIGNED_REQUEST,
    Guard,
    InstitutionId,
    PeriodLabel,
    ServicesDep,
    Taskforce,
    authorize,
)
from aggregator.api.models import (
    MAX_SECTOR_KEY_BATCH,
    Recipients,
    SealedSectorKey,
    SectorKeyUpload,
    Stored,
    parse_body,
)
from aggregator.api.openapi import request_body
from aggregator.api.problems import problems
from aggregator.auth import INSTITUTION
from aggregator.custodian import recipients, sealed_for, store_sealed
from aggregator.request_limits import read_json
from protocol.errors import (
    Forbidden,
    InstitutionRevoked,
    InvalidPayload,
    InvalidSignature,
    MalformedMessage,
    PayloadTooLarge,
    SectorKeyUnavailable,
    Unauthenticated,
    UnknownInstitution,
    UnknownKey,
)
from protocol.messages import check_period, check_slug
from protocol.sector_keys import MAX_SEALED_SECTOR_KEY_BYTES
from protocol.sector_keys import SealedSectorKey as Sealed

UPLOAD_ERRORS = (
    MalformedMessage, PayloadTooLarge, UnknownKey, InvalidSignature, UnknownInstitution,
    InstitutionRevoked, InvalidPayload,
)  # fmt: skip

router = APIRouter(tags=["sector-keys"])


@router.get("/v1/custodian/recipients", response_model=Recipients)
def custodian_recipients(_: Taskforce, svc: ServicesDep) -> dict[str, Any]:
    """Enrolled, non-revoked institutions and their public sealing keys."""
    return {"recipients": recipients(svc.db)}


@router.post(
    "/v1/sector-keys",
    response_model=Stored,
    responses=problems(*UPLOAD_ERRORS),
    openapi_extra=request_body(SectorKeyUpload),
)
async def upload_sector_keys(request: Request, _: Taskforce, svc: ServicesDep) -> dict[str, Any]:
    """Store a period's sealed sector keys, each checked against the registered
    custodian key: all of them or none."""
    limit = MAX_SECTOR_KEY_BATCH * MAX_SEALED_SECTOR_KEY_BYTES
    doc = await read_json(request, limit, what="the sector-key upload")
    listed = doc.get("sealed_keys") if isinstance(doc, dict) else None
    if isinstance(listed, list) and len(listed) > MAX_SECTOR_KEY_BATCH:
        raise PayloadTooLarge(f"at most {MAX_SECTOR_KEY_BATCH} sealed keys per request")
    parse_body(SectorKeyUpload, doc, what="the sector-key upload")  # shape; then each key
    items = [Sealed.from_dict(d) for d in doc["sealed_keys"]]
    return {"stored": store_sealed(svc.db, items)}


class OwnSectorKey(Guard):
    """The institution named in the path, fetching its own sealed key by a
    signed request; the period and id are checked before the credentials."""

    security = (SIGNED_REQUEST,)
    errors = (InvalidPayload, Unauthenticated, InvalidSignature, Forbidden)

    def __call__(
        self, period: PeriodLabel, institution_id: InstitutionId, request: Request, svc: ServicesDep
    ) -> str:
        check_period(period)
        check_slug(institution_id, what="institution_id")
        caller = authorize(request, svc, (INSTITUTION,))
        if caller.name != institution_id:
            raise Forbidden("an institution fetches only its own sealed sector key")
        return institution_id


@router.get(
    "/v1/sector-keys/{period}/{institution_id}",
    response_model=SealedSectorKey,
    responses=problems(SectorKeyUnavailable),
)
def sector_key(
    period: PeriodLabel,
    institution_id: Annotated[str, Depends(OwnSectorKey())],
    svc: ServicesDep,
) -> dict[str, Any]:
    """The institution's own sealed sector key for the period."""
    return sealed_for(svc.db, period, institution_id)
