"""HTTP routes of the protocol beyond submission: sector-key relay and the log.

Kept apart from ``aggregator.app`` so the API layout can change without
touching the protocol; ``create_app`` includes them with :func:`register`.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request

from aggregator.custodian import recipients, sealed_for, store_sealed
from aggregator.storage import Database
from protocol.errors import MalformedMessage, PayloadTooLarge
from protocol.messages import check_period, check_slug
from protocol.sector_keys import MAX_SEALED_SECTOR_KEY_BYTES, SealedSectorKey

MAX_SECTOR_KEY_BATCH = 10_000


async def _read_limited(request: Request, limit: int) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise PayloadTooLarge(f"the request body exceeds the limit of {limit} bytes")
    return bytes(body)


def register(app: FastAPI, db: Database) -> None:
    @app.get("/v1/custodian/recipients")
    def custodian_recipients() -> dict[str, Any]:
        return {"recipients": recipients(db)}

    @app.post("/v1/sector-keys")
    async def upload_sector_keys(request: Request) -> dict[str, int]:
        body = await _read_limited(request, MAX_SECTOR_KEY_BATCH * MAX_SEALED_SECTOR_KEY_BYTES)
        try:
            doc = json.loads(body)
            items = [SealedSectorKey.from_dict(d) for d in doc["sealed_keys"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise MalformedMessage(
                'the body must be {"sealed_keys": [sealed sector key, ...]}'
            ) from exc
        if len(items) > MAX_SECTOR_KEY_BATCH:
            raise PayloadTooLarge(f"at most {MAX_SECTOR_KEY_BATCH} sealed keys per request")
        return {"stored": store_sealed(db, items)}

    @app.get("/v1/sector-keys/{period}/{institution_id}")
    def sector_key(period: str, institution_id: str) -> dict[str, Any]:
        check_period(period)
        check_slug(institution_id, what="institution_id")
        return sealed_for(db, period, institution_id)
