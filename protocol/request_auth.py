"""Signed HTTP requests: how an institution proves who it is without a password.

An institution already holds an enrolled Ed25519 key; it signs each request
it makes to read its own data. The signed message is the canonical encoding
of the method, the path with its query, the time, the SHA-256 of the body,
the institution id and the key id, under its own signature domain (so a
request signature can never pass for a submission signature). The
aggregator accepts a signature whose time is within ``max_skew`` seconds of
its own clock.

Headers: ``Publiek-Institution``, ``Publiek-Key-Id``, ``Publiek-Timestamp``
(integer Unix seconds) and ``Publiek-Signature`` (base64url).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Mapping

from protocol.encoding import b64decode, b64encode, canonical_bytes
from protocol.errors import InvalidSignature, MalformedMessage, Unauthenticated
from protocol.keys import SigningKey, VerifyKey, verify_with_domain

DOMAIN = b"publiek/1 request"
H_INSTITUTION = "publiek-institution"
H_KEY_ID = "publiek-key-id"
H_TIMESTAMP = "publiek-timestamp"
H_SIGNATURE = "publiek-signature"
HEADERS = (H_INSTITUTION, H_KEY_ID, H_TIMESTAMP, H_SIGNATURE)
DEFAULT_MAX_SKEW = 300
# ASCII digits only (``str.isdigit`` and ``int`` also take "²" and "١٧"), and
# few enough of them for the clock arithmetic: 10 digits last until 2286.
TIMESTAMP_RE = re.compile(r"[0-9]{1,12}")


def signed_message(
    *, method: str, target: str, timestamp: int, body: bytes, institution_id: str, key_id: str
) -> bytes:
    return canonical_bytes(
        {
            "method": method.upper(),
            "target": target,
            "timestamp": timestamp,
            "body_sha256": hashlib.sha256(body).hexdigest(),
            "institution_id": institution_id,
            "key_id": key_id,
        }
    )


def sign_request(
    signer: SigningKey,
    institution_id: str,
    method: str,
    target: str,
    body: bytes = b"",
    *,
    now: float | None = None,
) -> dict[str, str]:
    """The headers that authenticate one request (``target`` = path + query)."""
    timestamp = int(time.time() if now is None else now)
    key_id = signer.public.key_id
    message = signed_message(
        method=method, target=target, timestamp=timestamp, body=body,
        institution_id=institution_id, key_id=key_id,
    )  # fmt: skip
    return {
        H_INSTITUTION: institution_id,
        H_KEY_ID: key_id,
        H_TIMESTAMP: str(timestamp),
        H_SIGNATURE: b64encode(signer.sign(DOMAIN, message)),
    }


def has_signature(headers: Mapping[str, str]) -> bool:
    return any(h in headers for h in HEADERS)


def verify_request(
    headers: Mapping[str, str],
    *,
    method: str,
    target: str,
    body: bytes,
    key_for: Callable[[str, str], VerifyKey],
    now: float | None = None,
    max_skew: int = DEFAULT_MAX_SKEW,
) -> str:
    """Return the authenticated institution id, or raise.

    ``key_for(institution_id, key_id)`` returns the enrolled key or raises."""
    missing = [h for h in HEADERS if not headers.get(h)]
    if missing:
        raise Unauthenticated(
            f"the signed request lacks the header(s) {', '.join(missing)}",
            hint="sign requests with the agent's enrolled key",
        )
    institution_id, key_id = headers[H_INSTITUTION], headers[H_KEY_ID]
    stamp = headers[H_TIMESTAMP]
    if not TIMESTAMP_RE.fullmatch(stamp):
        raise Unauthenticated("Publiek-Timestamp must be integer Unix seconds (ASCII digits)")
    timestamp = int(stamp)
    clock = time.time() if now is None else now
    if abs(clock - timestamp) > max_skew:
        raise Unauthenticated(
            f"the request was signed {abs(clock - timestamp):.0f} s away from the server's clock",
            hint=f"sign again now; the allowed difference is {max_skew} s (check the clock)",
        )
    key = key_for(institution_id, key_id)
    message = signed_message(
        method=method, target=target, timestamp=timestamp, body=body,
        institution_id=institution_id, key_id=key_id,
    )  # fmt: skip
    try:
        signature = b64decode(headers[H_SIGNATURE], what="Publiek-Signature")
    except MalformedMessage as exc:  # a credential that cannot be read: 401, like a wrong one
        raise InvalidSignature(str(exc), hint="sign with the agent's enrolled key") from exc
    verify_with_domain(key, DOMAIN, signature, message)
    return institution_id
