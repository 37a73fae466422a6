"""The one canonical encoding of protocol messages.

Signatures, digests and HPKE ``info`` are always computed over these bytes,
never over whatever a JSON library happened to emit. The encoding is JSON with
sorted keys, no insignificant whitespace, UTF-8, no NaN/Infinity, integers as
integers and floats in Python's shortest round-trip form. Decoding is strict:
bytes that are not exactly the canonical form of what they decode to are
rejected, so one message has exactly one byte string.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from protocol.errors import MalformedMessage
from protocol.json_limits import check_depth


def canonical_bytes(obj: Any) -> bytes:
    """Encode ``obj`` (dicts, lists, str, int, float, bool, None) canonically."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-finite number {name}")


def parse_canonical(data: bytes, *, what: str) -> Any:
    """Decode canonical bytes, rejecting anything that is not canonical (and,
    first, anything nested deeper than a message can be: ``deep-json``)."""
    check_depth(data, what=what)
    try:
        obj = json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
        # Re-encoding refuses what json.loads lets through: numbers that overflow to
        # infinity and lone surrogates (ValueError); nesting too deep to handle.
        canonical = canonical_bytes(obj)
    except (ValueError, RecursionError) as exc:
        raise MalformedMessage(
            f"{what} is not valid canonical JSON", hint="send the bytes the encoder produced"
        ) from exc
    if canonical != data:
        raise MalformedMessage(
            f"{what} is not in canonical form", hint="re-encode with protocol.encoding"
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
