"""The one canonical encoding of protocol messages: RFC 8785 (JCS).

Signatures, digests and HPKE ``info`` are always computed over these bytes,
never over whatever a JSON library happened to emit. The encoding is the JSON
Canonicalization Scheme (RFC 8785), produced by the ``rfc8785`` package, so
that a second implementation in another language gets the same bytes from its
own JCS library: UTF-8, object keys sorted by their UTF-16 code units, no
insignificant whitespace, strings escaped only where JSON requires it, and
numbers as ECMAScript writes a double (``1e-7``, ``0.25``, ``1`` for 1.0).

Numbers are I-JSON (RFC 7493): IEEE doubles. An integer is encoded only
within ±(2**53 - 1), where a double holds it exactly; a larger Python int is
refused rather than rounded (docs/adr/0014-rfc8785-canonical-json.md).

Decoding is strict: parse, re-encode, compare. Bytes that are not exactly the
canonical form of what they decode to are rejected, so one message has
exactly one byte string.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import rfc8785

from protocol.errors import MalformedMessage
from protocol.json_limits import check_depth

# The largest integer a double holds exactly and every JSON parser reads back
# unchanged (I-JSON, RFC 7493 §2.2).
MAX_SAFE_INTEGER = 2**53 - 1


def _reason(exc: rfc8785.CanonicalizationError) -> str:
    # A fixed text per kind of failure: the library's own message quotes the
    # offending value, and an error message never carries message content.
    if isinstance(exc, rfc8785.IntegerDomainError):
        return f"an integer lies outside ±{MAX_SAFE_INTEGER} (I-JSON)"
    if isinstance(exc, rfc8785.FloatDomainError):
        return "a number is NaN or infinite"
    return "it holds a value JSON cannot carry (a lone surrogate, a non-string key or a type)"


def canonical_bytes(obj: Any) -> bytes:
    """Encode ``obj`` (dicts, lists, tuples, str, int, float, bool, None) per RFC 8785."""
    try:
        return rfc8785.dumps(obj)
    except rfc8785.CanonicalizationError as exc:
        raise MalformedMessage(
            f"the message cannot be encoded canonically: {_reason(exc)}",
            hint="keep integers within ±(2**53 - 1) and numbers finite; send larger ones as text",
        ) from exc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-finite number {name}")


def _number_without_fraction(text: str) -> int | float:
    """A JSON integer literal as the double it denotes (I-JSON).

    Within ±(2**53 - 1) that double is exactly the Python int; beyond, it is a
    float, so that ``1e20`` (which JCS writes as 21 digits) reads back as the
    number it was and an integer field sees a non-integer and refuses it."""
    value = int(text)
    return value if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER else float(value)


def parse_canonical(data: bytes, *, what: str) -> Any:
    """Decode canonical bytes, rejecting anything that is not canonical (and,
    first, anything nested deeper than a message can be: ``deep-json``)."""
    check_depth(data, what=what)
    try:
        obj = json.loads(
            data.decode("utf-8"),
            parse_constant=_reject_constant,
            parse_int=_number_without_fraction,
        )
        # Re-encoding refuses what json.loads lets through: numbers that overflow
        # to infinity and lone surrogates; deep nesting raises RecursionError, an
        # integer literal beyond a double's range OverflowError.
        # (rfc8785's CanonicalizationError is a ValueError.)
        canonical = rfc8785.dumps(obj)
    except (ValueError, OverflowError, RecursionError) as exc:
        raise MalformedMessage(
            f"{what} is not valid canonical JSON", hint="send the bytes the encoder produced"
        ) from exc
    if canonical != data:
        raise MalformedMessage(
            f"{what} is not in canonical form (RFC 8785)",
            hint="re-encode with an RFC 8785 (JCS) encoder",
        )
    return obj


def b64encode(data: bytes) -> str:
    """Unpadded base64url, the only binary-to-text form on the wire."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64decode(text: str, *, what: str) -> bytes:
    """Strict inverse of :func:`b64encode`."""
    if not isinstance(text, str) or "=" in text:
        raise MalformedMessage(f"{what} is not unpadded base64url")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise MalformedMessage(f"{what} is not unpadded base64url") from exc
    if b64encode(raw) != text:
        raise MalformedMessage(f"{what} is not canonical base64url")
    return raw
