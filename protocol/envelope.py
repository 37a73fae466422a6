"""Sign-then-seal of submissions (docs/protocol.md §4, ADR 0003).

payload → canonical bytes → Ed25519 signature by the institution's enrolled
key over ``[header, payload]`` (domain-separated) → HPKE (RFC 9180) base-mode
seal to the aggregator's current public key with the canonical header bound in
``info``. Opening runs the same steps backwards and raises on the first
failure; it never returns a flag for the caller to forget.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke

from protocol import PROTOCOL_VERSION
from protocol.encoding import b64decode, b64encode, canonical_bytes, parse_canonical
from protocol.errors import (
    DecryptionFailed,
    InvalidPayload,
    MalformedMessage,
    PayloadTooLarge,
    UnsupportedVersion,
)
from protocol.keys import SealPrivateKey, SealPublicKey, SigningKey, VerifyKey, verify_with_domain
from protocol.messages import SUITE_NAME, Envelope, EnvelopeHeader, SubmissionPayload

SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)
INFO_DOMAIN = b"publiek/1 submission-envelope\x00"
SIGNATURE_DOMAIN = b"publiek/1 submission-signature"
MAX_ENVELOPE_BYTES = 8 * 1024 * 1024


def envelope_info(header: EnvelopeHeader) -> bytes:
    """HPKE ``info``: the domain tag and the canonical header."""
    return INFO_DOMAIN + canonical_bytes(header.to_dict())


def _signed_message(header: EnvelopeHeader, payload: SubmissionPayload) -> bytes:
    return canonical_bytes([header.to_dict(), payload.to_dict()])


def seal_submission(
    payload: SubmissionPayload,
    *,
    signer: SigningKey,
    recipient: SealPublicKey,
) -> tuple[bytes, bytes]:
    """Sign and seal ``payload``; return (envelope bytes, signed plaintext bytes).

    The plaintext is returned so the agent can keep it beside the envelope for
    ``inspect``; it is exactly what the aggregator will read after opening."""
    if payload.version != PROTOCOL_VERSION:
        raise UnsupportedVersion(
            f"release {payload.submission_id} was drawn under {payload.version}; "
            f"this agent seals {PROTOCOL_VERSION} only",
            hint="its ρ stays spent; the next release is drawn under the current version",
        )
    header = EnvelopeHeader(
        suite=SUITE_NAME,
        kem_key_id=recipient.key_id,
        signer_key_id=signer.public.key_id,
        institution_id=payload.institution_id,
        period=payload.period,
        submission_id=payload.submission_id,
    )
    signature = signer.sign(SIGNATURE_DOMAIN, _signed_message(header, payload))
    plaintext = canonical_bytes({"payload": payload.to_dict(), "signature": b64encode(signature)})
    sealed = SUITE.encrypt(plaintext, recipient.to_crypto(), info=envelope_info(header))
    envelope = canonical_bytes(Envelope(header=header, sealed=sealed).to_dict())
    return envelope, plaintext


def envelope_digest(envelope_bytes: bytes) -> str:
    """The submission digest used for replay detection, receipts and the log."""
    return hashlib.sha256(envelope_bytes).hexdigest()


def parse_envelope(data: bytes) -> Envelope:
    """Size limit, then strict parse. Raises before any cryptography runs."""
    if len(data) > MAX_ENVELOPE_BYTES:
        raise PayloadTooLarge(
            f"the envelope is {len(data)} bytes; the limit is {MAX_ENVELOPE_BYTES}",
            hint="split the release or lower the number of cells",
        )
    return Envelope.from_dict(parse_canonical(data, what="envelope"))


@dataclass(frozen=True)
class OpenedSubmission:
    """A decrypted, signature-checked and schema-valid submission."""

    envelope: Envelope
    payload: SubmissionPayload
    plaintext: bytes
    digest: str


_PLAINTEXT_HEAD = b'{"payload":'
_PLAINTEXT_TAIL = b',"signature":"'


def _payload_bytes(plaintext: bytes) -> bytes:
    """The canonical bytes of the payload, cut out of a strictly parsed plaintext.

    RFC 8785 encodes an object member by member, keys sorted, so the canonical
    ``{"payload": P, "signature": S}`` is ``{"payload":`` ‖ canonical(P) ‖
    ``,"signature":"`` ‖ S ‖ ``"}`` (S is base64url: nothing to escape). Cutting
    canonical(P) out gives the very bytes re-encoding would, without encoding
    the largest part of a submission a second time at intake."""
    return plaintext[len(_PLAINTEXT_HEAD) : plaintext.rindex(_PLAINTEXT_TAIL)]


def open_plaintext(
    header: EnvelopeHeader, plaintext: bytes, signer: VerifyKey
) -> SubmissionPayload:
    """Check the signature inside a plaintext and the payload against the header."""
    inner = parse_canonical(plaintext, what="sealed plaintext")
    if not isinstance(inner, dict) or set(inner) != {"payload", "signature"}:
        raise MalformedMessage("the sealed plaintext must hold exactly 'payload' and 'signature'")
    signature = b64decode(inner["signature"], what="signature")
    if not isinstance(inner["payload"], dict):
        raise InvalidPayload("the payload must be a JSON object")
    signed = b"[" + canonical_bytes(header.to_dict()) + b"," + _payload_bytes(plaintext) + b"]"
    verify_with_domain(signer, SIGNATURE_DOMAIN, signature, signed)
    payload = SubmissionPayload.from_dict(inner["payload"])
    if (payload.institution_id, payload.period, payload.submission_id) != (
        header.institution_id,
        header.period,
        header.submission_id,
    ):
        raise InvalidPayload("the payload's institution, period or id differ from the envelope")
    return payload


def open_submission(
    data: bytes,
    *,
    decryption_key: Callable[[EnvelopeHeader], SealPrivateKey],
    signer_key: Callable[[EnvelopeHeader], VerifyKey],
) -> OpenedSubmission:
    """Parse, decrypt in the stated context, verify and validate.

    ``decryption_key`` and ``signer_key`` are the policy hooks: they raise
    the aggregator's own errors for unknown/retired keys and for unknown or
    revoked institutions."""
    return open_envelope(
        parse_envelope(data), data, decryption_key=decryption_key, signer_key=signer_key
    )


def open_envelope(
    envelope: Envelope,
    data: bytes,
    *,
    decryption_key: Callable[[EnvelopeHeader], SealPrivateKey],
    signer_key: Callable[[EnvelopeHeader], VerifyKey],
) -> OpenedSubmission:
    """:func:`open_submission` of an envelope already parsed from ``data``:
    intake parses a whole batch first to look up its keys in one query."""
    header = envelope.header
    if header.suite != SUITE_NAME:
        raise MalformedMessage(f"unsupported HPKE suite {header.suite!r}; use {SUITE_NAME}")
    private = decryption_key(header)
    try:
        plaintext = SUITE.decrypt(envelope.sealed, private.to_crypto(), info=envelope_info(header))
    except (InvalidTag, ValueError) as exc:
        raise DecryptionFailed(
            "the envelope does not decrypt under its stated header and key",
            hint="the ciphertext or its context was altered; seal the submission again",
        ) from exc
    payload = open_plaintext(header, plaintext, signer_key(header))
    return OpenedSubmission(
        envelope=envelope, payload=payload, plaintext=plaintext, digest=envelope_digest(data)
    )
