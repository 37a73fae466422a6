"""Intake: the aggregator's keys, enrollment and submissions (docs/protocol.md 5.1-5.4).

The request bodies are read as bytes, size-limited before they are read into
memory, and parsed by the protocol code; a submission is verified from
exactly the bytes that arrived (ADR 0013). Neither route needs credentials in
headers: an enrollment carries its one-time token, a submission is signed
inside its envelope by the institution's enrolled key.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from aggregator.api.dependencies import ServicesDep
from aggregator.api.models import (
    Enrolled,
    EnrollmentRequest,
    Envelope,
    KeySet,
    Receipt,
    parse_body,
)
from aggregator.api.openapi import request_body
from aggregator.api.problems import problems
from aggregator.enrollment import redeem_token
from aggregator.request_limits import read_json, read_limited
from protocol.errors import (
    DecryptionFailed,
    InstitutionRevoked,
    InsufficientPrivacyBudget,
    InvalidPayload,
    InvalidSignature,
    InvalidToken,
    KeyAlreadyEnrolled,
    MalformedMessage,
    PayloadTooLarge,
    PeriodNotOpen,
    RefusedDeclaration,
    RetiredKey,
    SubmissionConflict,
    UnknownInstitution,
    UnknownKey,
    UnknownPeriod,
    UnsupportedVersion,
)
from protocol.keys import SealPublicKey, VerifyKey

MAX_ENROLLMENT_BYTES = 16 * 1024
# What intake can answer a submission (docs/protocol.md 5.4 and section 6).
SUBMISSION_ERRORS = (
    MalformedMessage, UnsupportedVersion, DecryptionFailed, InvalidSignature, UnknownInstitution,
    InstitutionRevoked, UnknownPeriod, PeriodNotOpen, InsufficientPrivacyBudget,
    SubmissionConflict, PayloadTooLarge, UnknownKey, RetiredKey, InvalidPayload,
    RefusedDeclaration,
)  # fmt: skip

router = APIRouter(tags=["intake"])


@router.get("/v1/keys", response_model=KeySet)
def keys(svc: ServicesDep) -> dict[str, Any]:
    """The non-retired intake keys (``current``: the one to seal new envelopes
    to) and the receipt key."""
    return {
        "keys": svc.keyring.published(),
        "receipt_key": svc.keyring.receipt_key().public.to_text(),
    }


@router.post(
    "/v1/enrollments",
    response_model=Enrolled,
    responses=problems(MalformedMessage, InvalidToken, KeyAlreadyEnrolled, PayloadTooLarge),
    openapi_extra=request_body(EnrollmentRequest),
)
async def enroll(request: Request, svc: ServicesDep) -> dict[str, Any]:
    """Bind the agent's public keys to the institution of a one-time token."""
    doc = await read_json(request, MAX_ENROLLMENT_BYTES, what="the enrollment")
    enrollment = parse_body(EnrollmentRequest, doc, what="the enrollment")
    signing = VerifyKey.from_text(enrollment.signing_key)
    sealing = SealPublicKey.from_text(enrollment.sealing_key)
    inst = redeem_token(svc.db, enrollment.token, signing, sealing)
    return {
        "institution_id": inst.institution_id,
        "discipline": inst.discipline,
        "province": inst.province,
    }


@router.post(
    "/v1/submissions",
    response_model=Receipt,
    responses=problems(*SUBMISSION_ERRORS),
    openapi_extra=request_body(Envelope),
)
async def submit(request: Request, svc: ServicesDep) -> dict[str, Any]:
    """Verify and store one sealed submission; answer its signed receipt (the
    same receipt again for a retry of the same bytes). Checks in the order of
    docs/protocol.md 5.4."""
    data = await read_limited(request, svc.settings.max_body_bytes)
    receipt = await svc.intake.submit(data)
    return receipt.to_dict()
