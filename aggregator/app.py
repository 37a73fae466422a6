"""The aggregator's HTTP API (FastAPI) and dashboard page: the wiring.

Versioned JSON under ``/v1/``, one router per area (``aggregator.api``).
Errors are RFC 9457 problem documents (``application/problem+json``) with the
stable types of ``protocol.errors``; a database that cannot be reached or
written (lost connection, full disk) answers 503 and, because every write is
one transaction, leaves nothing half-written. Request bodies are limited
before they are read into memory. Lists are paginated with ``offset`` and
``limit``; the answer says ``next_offset`` (``null`` on the last page). Who
may read what is in ``aggregator.api.dependencies`` (ADR 0007); the OpenAPI
document is the contract (``docs/openapi.json``, ADR 0013).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from aggregator.api import (
    audit,
    auth,
    benchmarks,
    institutions,
    intake,
    overlaps,
    penetration,
    periods,
    privacy_pages,
    section_downloads,
    sector_keys,
    sector_pages,
    segment_models,
    service,
    submissions,
    web_session,
)
from aggregator.api.dependencies import Services
from aggregator.api.error_pages import error_page
from aggregator.api.openapi import PubliekAPI
from aggregator.api.problems import install_handlers
from aggregator.api.security_headers import SecurityHeaders
from aggregator.auth import LoginThrottle
from aggregator.group_commit import GroupCommit
from aggregator.intake import Intake
from aggregator.keyring import Keyring
from aggregator.settings import Settings
from aggregator.storage import Database

ROUTERS = (
    service, intake, auth, periods, benchmarks, penetration, overlaps, audit, submissions,
    institutions, sector_keys, segment_models, sector_pages, section_downloads, web_session,
    privacy_pages,
)  # fmt: skip


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """While the server runs, a thread computes what the sector pages keep of
    closed periods, so that a reader's first view does not (ADR 0042)."""
    warmer = sector_pages.PageWarmer(app.state.services)
    warmer.start()
    try:
        yield
    finally:
        warmer.stop()


def create_app(settings: Settings) -> FastAPI:
    db = Database(settings.db_url)
    db.create_schema()
    keyring = Keyring(settings, db)
    keyring.ensure()
    app = PubliekAPI(
        # No Swagger/ReDoc pages: they load scripts from a CDN (a non-goal, docs/architecture.md);
        # the schema itself stays at /openapi.json and in docs/openapi.json.
        docs_url=None,
        redoc_url=None,
        title="Publiek aggregator",
        version="1",
        description="Intake of sealed DP submissions and sector benchmarks. "
        "Errors are RFC 9457 problem documents.",
        lifespan=_lifespan,
    )
    app.state.db = db
    app.state.services = Services(
        settings=settings,
        db=db,
        keyring=keyring,
        intake=GroupCommit(Intake(db, keyring)),
        throttle=LoginThrottle.from_settings(db, settings),
    )
    install_handlers(app, page=error_page)
    web_session.install_web_handlers(app)
    app.add_middleware(SecurityHeaders)
    for area in ROUTERS:
        app.include_area(area.router)
    return app
