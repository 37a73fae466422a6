"""The one error hierarchy of Publiek.

Every error a peer or an operator can cause is one class with one stable
problem type, one HTTP status and a human diagnostic: what happened and what
to do. The CLI prints ``str(error)`` as a single line (exit code 2), the API
answers ``error.problem()`` as an RFC 9457 problem document. Messages never
carry personal data: callers pass row numbers and column names, not values.
"""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_BASE = "urn:publiek:problem:"


class PubliekError(Exception):
    """Base class: an error with a stable type, a status and a hint."""

    slug: ClassVar[str] = "error"
    status: ClassVar[int] = 400
    title: ClassVar[str] = "Request could not be processed"

    def __init__(self, detail: str, *, hint: str = "") -> None:
        super().__init__(detail)
        self.detail = detail
        self.hint = hint

    @classmethod
    def problem_type(cls) -> str:
        return PROBLEM_BASE + cls.slug

    def __str__(self) -> str:
        return f"{self.detail} — {self.hint}" if self.hint else self.detail

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        """The RFC 9457 problem document for this error."""
        doc: dict[str, Any] = {
            "type": self.problem_type(),
            "title": self.title,
            "status": self.status,
            "detail": str(self),
        }
        if instance:
            doc["instance"] = instance
        return doc

    def headers(self) -> dict[str, str]:
        """HTTP header fields that belong with the problem document (none by default)."""
        return {}


class UsageError(PubliekError):
    """Bad input from the local operator: a file, a flag, a configuration."""

    slug = "usage"
    title = "Invalid input"


class MalformedMessage(PubliekError):
    slug = "malformed-message"
    title = "The message could not be parsed"


class UnsafePublicKey(MalformedMessage):
    """A public key that parses but must not be used: a small-order point (every
    X25519 shared secret with it is all-zero; a signature can verify under an
    Ed25519 one for a message its holder never signed) or a non-canonical
    encoding (a second key id for the same key). Refused where keys are parsed
    (``protocol.keys``), so it is never stored."""

    slug = "unsafe-public-key"
    title = "The public key is a small-order or non-canonical point"


class DeepJson(MalformedMessage):
    """JSON nested deeper than any message of the protocol, refused before it is
    parsed (``protocol.json_limits``): a parser that recursed into it would fail
    in a way nothing expects."""

    slug = "deep-json"
    title = "The JSON is nested too deeply"


class UnsupportedVersion(PubliekError):
    slug = "unsupported-version"
    title = "Unsupported protocol version"


class PayloadTooLarge(PubliekError):
    slug = "payload-too-large"
    status = 413
    title = "The message exceeds the size limit"


class UnsupportedMediaType(PubliekError):
    """A request body that does not say it is JSON: the aggregator parses no
    other media type, and refusing it keeps a browser's form post (which
    needs no preflight) from reaching a route that acts on JSON."""

    slug = "unsupported-media-type"
    status = 415
    title = "The request body is not of the media type the route takes"


class MethodNotAllowed(PubliekError):
    """A method the resource does not have; ``allow`` lists those it has, sent
    as the ``Allow`` header (RFC 9110 section 15.5.6)."""

    slug = "method-not-allowed"
    status = 405
    title = "The resource does not support this method"

    def __init__(self, detail: str, *, hint: str = "", allow: str = "") -> None:
        super().__init__(detail, hint=hint)
        self.allow = allow

    def headers(self) -> dict[str, str]:
        return {"Allow": self.allow} if self.allow else {}


class UnknownKey(PubliekError):
    slug = "unknown-key"
    status = 422
    title = "The envelope is sealed to a key the aggregator does not know"


class RetiredKey(PubliekError):
    slug = "retired-key"
    status = 422
    title = "The envelope is sealed to a retired aggregator key"


class DecryptionFailed(PubliekError):
    slug = "decryption-failed"
    title = "The envelope could not be opened in its stated context"


class InvalidSignature(PubliekError):
    slug = "invalid-signature"
    status = 401
    title = "The signature does not verify"


class UnknownInstitution(PubliekError):
    slug = "unknown-institution"
    status = 403
    title = "The sender is not an enrolled institution"


class InstitutionRevoked(PubliekError):
    slug = "institution-revoked"
    status = 403
    title = "The institution's enrollment has been revoked"


class InvalidPayload(PubliekError):
    slug = "invalid-payload"
    status = 422
    title = "The submission does not match the schema"


class RefusedDeclaration(PubliekError):
    """A submission whose tables are not the release design's, or whose declared
    sensitivity is not the one the aggregator derives from the table's name and
    the declared bounds: its privacy cost cannot be trusted, so it is refused."""

    slug = "refused-declaration"
    status = 422
    title = "The submission's tables or sensitivities are not the release design's"


class UnknownPeriod(PubliekError):
    slug = "unknown-period"
    status = 404
    title = "The period does not exist"


class PeriodNotOpen(PubliekError):
    slug = "period-not-open"
    status = 409
    title = "The period is not open for submissions"


class InsufficientPrivacyBudget(PubliekError):
    slug = "insufficient-privacy-budget"
    status = 409
    title = "The submission would exceed the period's privacy budget"


class SegmentModelMismatch(PubliekError):
    """A submission whose segment model is not the one its period's signed config
    names: its segment cells could not be summed with the other institutions'
    (ADR 0030). Refused before anything is stored; nothing is spent."""

    slug = "segment-model-mismatch"
    status = 409
    title = "The submission's segment model is not the one its period names"


class SketchMismatch(PubliekError):
    """A submission whose household sketch does not follow its period's signed
    config: a sketch where the period fixes none or none where it fixes one,
    another design, width or mechanism, or another share of ρ (ADR 0036). Its
    sketch could not be combined with the other institutions'. Refused before
    anything is stored; nothing is spent."""

    slug = "sketch-mismatch"
    status = 409
    title = "The submission's household sketch is not the one its period fixes"


class SubmissionConflict(PubliekError):
    slug = "submission-id-conflict"
    status = 409
    title = "The submission id was already used for other bytes"


class KeyAlreadyEnrolled(PubliekError):
    """A signing key that some institution already holds: one key names one
    sender, so it cannot be bound to a second enrollment."""

    slug = "key-already-enrolled"
    status = 409
    title = "The signing key is already enrolled"


class InvalidToken(PubliekError):
    slug = "invalid-enrollment-token"
    status = 403
    title = "The enrollment token is unknown, used or expired"


class SectorKeyUnavailable(PubliekError):
    slug = "sector-key-unavailable"
    status = 404
    title = "No sealed sector key for this institution and period"


class LogInconsistent(PubliekError):
    slug = "log-inconsistent"
    status = 409
    title = "The transparency log or a receipt does not check out"


class NotFound(PubliekError):
    slug = "not-found"
    status = 404
    title = "Not found"


class TooManyRequests(PubliekError):
    """Refused before any work was done; ``retry_after`` (seconds) becomes the
    ``Retry-After`` header, so a client need not parse the detail to wait."""

    slug = "too-many-requests"
    status = 429
    title = "Too many attempts; wait before trying again"

    def __init__(self, detail: str, *, hint: str = "", retry_after: int | None = None) -> None:
        super().__init__(detail, hint=hint)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}


class ServiceUnavailable(PubliekError):
    slug = "service-unavailable"
    status = 503
    title = "The service cannot take requests right now"


class Unauthenticated(PubliekError):
    slug = "unauthenticated"
    status = 401
    title = "The request carries no valid credentials"


class Forbidden(PubliekError):
    slug = "forbidden"
    status = 403
    title = "The caller's role may not read or change this resource"


class InternalError(PubliekError):
    """An error the aggregator did not expect: always a bug. The answer is still
    a problem document (with the security headers), and says nothing of the
    cause; the server's log has it."""

    slug = "internal-error"
    status = 500
    title = "The aggregator failed unexpectedly"


class NoSketches(PubliekError):
    """A period whose counted submissions carry no household sketch: there is no
    overlap to estimate (ADR 0037)."""

    slug = "no-sketches"
    status = 404
    title = "The period has no household sketches"


class OverlapBelowK(PubliekError):
    """An overlap over fewer than ``k`` institutions: it would single out what
    one institution's households do (ADR 0037)."""

    slug = "overlap-below-k"
    status = 409
    title = "The overlap would count fewer than k institutions"


class NamedOverlapSelfPair(PubliekError):
    slug = "named-overlap-self-pair"
    status = 400
    title = "An institution has no named overlap with itself"


class NamedOverlapNotOptedIn(PubliekError):
    """The asking institution did not opt in to named overlaps in its
    submission: it sees no other institution's by name (ADR 0037)."""

    slug = "named-overlap-not-opted-in"
    status = 403
    title = "The institution did not opt in to named overlaps"


class NamedOverlapOtherNotSubmitted(PubliekError):
    slug = "named-overlap-other-not-submitted"
    status = 404
    title = "The other institution has no sketch in the period"


class NamedOverlapOtherNotOptedIn(PubliekError):
    """The other institution did not opt in: a named overlap needs both."""

    slug = "named-overlap-other-not-opted-in"
    status = 403
    title = "The other institution did not opt in to named overlaps"


ALL_ERRORS: tuple[type[PubliekError], ...] = (
    UsageError,
    MalformedMessage,
    UnsafePublicKey,
    DeepJson,
    UnsupportedVersion,
    PayloadTooLarge,
    UnsupportedMediaType,
    MethodNotAllowed,
    UnknownKey,
    RetiredKey,
    DecryptionFailed,
    InvalidSignature,
    UnknownInstitution,
    InstitutionRevoked,
    InvalidPayload,
    RefusedDeclaration,
    UnknownPeriod,
    PeriodNotOpen,
    InsufficientPrivacyBudget,
    SegmentModelMismatch,
    SketchMismatch,
    SubmissionConflict,
    KeyAlreadyEnrolled,
    InvalidToken,
    SectorKeyUnavailable,
    LogInconsistent,
    NotFound,
    TooManyRequests,
    ServiceUnavailable,
    Unauthenticated,
    Forbidden,
    InternalError,
    NoSketches,
    OverlapBelowK,
    NamedOverlapSelfPair,
    NamedOverlapNotOptedIn,
    NamedOverlapOtherNotSubmitted,
    NamedOverlapOtherNotOptedIn,
)


_BY_TYPE: dict[str, type[PubliekError]] = {cls.problem_type(): cls for cls in ALL_ERRORS}


def error_from_problem(status: int, doc: object, fallback: str = "") -> PubliekError:
    """The local error for a peer's RFC 9457 document (``PubliekError`` when the
    type is unknown), so clients raise the same classes the server raised."""
    fields = doc if isinstance(doc, dict) else {}
    cls = _BY_TYPE.get(str(fields.get("type", "")), PubliekError)
    # The slug names the problem in the one line an operator sees, so it can be
    # looked up in docs/protocol.md section 6 whatever the detail says.
    named = f" ({cls.slug})" if cls is not PubliekError else ""
    return cls(f"aggregator answered {status}{named}: {fields.get('detail', fallback)}")
