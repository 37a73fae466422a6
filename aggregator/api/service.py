"""Service health: for supervisors and load balancers, not for people."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import text

from aggregator.api.dependencies import ServicesDep
from aggregator.api.models import Health, Ready

router = APIRouter(tags=["service"])


@router.get("/healthz", response_model=Health)
def healthz() -> dict[str, Any]:
    """The process is up (does not touch the database)."""
    return {"status": "ok"}


@router.get("/readyz", response_model=Ready)
def readyz(svc: ServicesDep) -> dict[str, Any]:
    """The database answers; 503 otherwise."""
    with svc.db.session() as s:
        s.execute(text("SELECT 1"))
    return {"status": "ready"}
