"""HTTP routes of the protocol beyond submission: the sector-key relay.

Kept apart from ``aggregator.app`` so the API layout can change without
touching the protocol; ``create_app`` includes them with :func:`register`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request

from aggregator.auth import INSTITUTION, TASKFORCE, Principal
from aggregator.custodian import recipients, sealed_for, store_sealed
from aggregator.request_limits import read_limited
from aggregator.storage import Database
from protocol.errors import Forbidden, MalformedMessage, PayloadTooLarge
from protocol.messages import check_period, check_slug
from protocol.sector_keys import MAX_SEALED_SECTOR_KEY_BYTES, SealedSectorKey

MAX_SECTOR_KEY_BATCH = 10_000


Require = Callable[..., Principal]


def register(app: FastAPI, db: Database, require: Require) -> None:
    """The custodian relay. The roster and the upload are the custodian's (a
    taskforce role); a sealed key is fetched only by its own institution."""

    @app.get("/v1/custodian/recipients")
    def custodian_recipients(request: Request) -> dict[str, Any]:
        require(request, TASKFORCE)
        return {"recipients": recipients(db)}

    @app.post("/v1/sector-keys")
    async def upload_sector_keys(request: Request) -> dict[str, int]:
        require(request, TASKFORCE)
        body = await read_limited(request, MAX_SECTOR_KEY_BATCH * MAX_SEALED_SECTOR_KEY_BYTES)
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
    def sector_key(request: Request, period: str, institution_id: str) -> dict[str, Any]:
        check_period(period)
        check_slug(institution_id, what="institution_id")
        caller = require(request, INSTITUTION)
        if caller.name != institution_id:
            raise Forbidden("an institution fetches only its own sealed sector key")
        return sealed_for(db, period, institution_id)
