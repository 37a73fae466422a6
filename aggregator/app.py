"""The aggregator's HTTP API (FastAPI) and dashboard page.

Errors are RFC 9457 problem documents (``application/problem+json``) with the
stable types of ``protocol.errors``. Request bodies are limited before they
are read into memory.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import func, select, text

from aggregator.benchmarks import sector_benchmark
from aggregator.dashboard import render_sector
from aggregator.enrollment import redeem_token
from aggregator.intake import Intake
from aggregator.keyring import Keyring
from aggregator.protocol_routes import register as register_protocol_routes
from aggregator.settings import Settings
from aggregator.storage import Database, Period, Submission
from protocol.errors import MalformedMessage, NotFound, PayloadTooLarge, PubliekError
from protocol.keys import SealPublicKey, VerifyKey
from protocol.messages import check_period

PROBLEM_JSON = "application/problem+json"


def problem_response(error: PubliekError, instance: str) -> JSONResponse:
    return JSONResponse(error.problem(instance), status_code=error.status, media_type=PROBLEM_JSON)


async def read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the request body is {declared} bytes; the limit is {limit}")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise PayloadTooLarge(f"the request body exceeds the limit of {limit} bytes")
    return bytes(body)


def create_app(settings: Settings) -> FastAPI:
    db = Database(settings.db_url)
    db.create_schema()
    keyring = Keyring(settings, db)
    keyring.ensure()
    intake = Intake(db, keyring)
    app = FastAPI(title="Publiek aggregator", version="1")
    app.state.db = db

    register_protocol_routes(app, db)

    @app.exception_handler(PubliekError)
    async def _publiek_error(request: Request, exc: PubliekError) -> JSONResponse:
        return problem_response(exc, request.url.path)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> dict[str, str]:
        with db.session() as s:
            s.execute(text("SELECT 1"))
        return {"status": "ready"}

    @app.get("/v1/keys")
    def keys() -> dict[str, Any]:
        return {
            "keys": keyring.published(),
            "receipt_key": keyring.receipt_key().public.to_text(),
        }

    @app.post("/v1/enrollments")
    async def enroll(request: Request) -> dict[str, str]:
        body = await read_limited(request, 16 * 1024)
        try:
            doc = json.loads(body)
            signing = VerifyKey.from_text(doc["signing_key"])
            sealing = SealPublicKey.from_text(doc["sealing_key"])
            token = str(doc["token"])
        except (ValueError, KeyError, TypeError) as exc:
            raise MalformedMessage(
                "an enrollment needs 'token', 'signing_key' and 'sealing_key'"
            ) from exc
        inst = redeem_token(db, token, signing, sealing)
        return {
            "institution_id": inst.institution_id,
            "discipline": inst.discipline,
            "province": inst.province,
        }

    @app.post("/v1/submissions")
    async def submit(request: Request) -> dict[str, Any]:
        data = await read_limited(request, settings.max_body_bytes)
        return intake.accept(data).to_dict()

    @app.get("/v1/periods/{period}/benchmarks")
    def benchmarks(period: str) -> dict[str, Any]:
        check_period(period)
        cells = sector_benchmark(db, period, k=settings.k)
        return {"period": period, "k": settings.k, "cells": [c.to_dict() for c in cells]}

    @app.get("/", response_class=HTMLResponse)
    def dashboard(period: str | None = None) -> Response:
        with db.session() as s:
            label = period or s.scalar(select(Period.label).order_by(Period.label.desc()).limit(1))
            if label is None:
                raise NotFound(
                    "no period exists yet", hint="open one: publiek aggregator period open"
                )
            check_period(label)
            count = s.scalar(
                select(func.count(func.distinct(Submission.institution_id))).where(
                    Submission.period == label
                )
            )
        cells = sector_benchmark(db, label, k=settings.k)
        html = render_sector(label, cells, k=settings.k, institutions=int(count or 0))
        return HTMLResponse(html)

    return app
