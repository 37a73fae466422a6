"""Request bodies: JSON only, limited before they are read into memory, and
parsed only after their depth is known (``protocol.json_limits``)."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from protocol.errors import PayloadTooLarge, UnsupportedMediaType
from protocol.json_limits import parse_json

JSON = "application/json"


def check_json_media_type(request: Request) -> None:
    """Refuse a body that is not declared ``application/json`` (UTF-8).

    Every body the aggregator takes is JSON, and every client of it says so
    (``protocol.client``, the agent's submission). A form or ``text/plain``
    body is what a browser may send across origins without asking first, so
    refusing it also keeps such a post from reaching a route."""
    declared = request.headers.get("content-type", "")
    media, _, parameters = declared.partition(";")
    charset = [
        value.strip().strip('"').lower()
        for name, _, value in (p.partition("=") for p in parameters.split(";"))
        if name.strip().lower() == "charset"
    ]
    if media.strip().lower() != JSON or any(c not in ("utf-8", "utf8") for c in charset):
        raise UnsupportedMediaType(
            f"the request body must be {JSON} (UTF-8)",
            hint=f"send the header 'Content-Type: {JSON}'",
        )


async def read_limited(request: Request, limit: int) -> bytes:
    """The body of a JSON request, at most ``limit`` bytes (413 beyond, before
    more than that is read)."""
    check_json_media_type(request)
    return await read_capped(request, limit)


async def read_capped(request: Request, limit: int) -> bytes:
    """The body, whatever its media type, at most ``limit`` bytes (413 beyond,
    before more than that is read): the login form's, which is not JSON."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the request body is {declared} bytes; the limit is {limit}")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise PayloadTooLarge(f"the request body exceeds the limit of {limit} bytes")
    return bytes(body)


async def read_json(request: Request, limit: int, *, what: str) -> Any:
    """The body of a JSON request, parsed: media type, size, depth, then JSON."""
    return parse_json(await read_limited(request, limit), what=what, max_bytes=limit)
