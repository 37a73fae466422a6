"""Segment model releases: the public list and each release's bytes (ADR 0027).

Public: a release holds population tables per PC4 and PC6, no personal data,
and agents verify it under the model key they pinned, not under anything the
aggregator says."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import Response

from aggregator import segment_models
from aggregator.api.dependencies import ServicesDep
from aggregator.api.models import SegmentModelList
from aggregator.api.problems import problems
from protocol.errors import NotFound, UsageError

router = APIRouter(tags=["segment-models"])

MEDIA_TYPE = "application/zip"
DIGEST_HEADER = "Publiek-Segment-Model-Digest"
Version = Annotated[str, Path(max_length=64, description="A release's version.")]


@router.get("/v1/segment-models", response_model=SegmentModelList)
def list_segment_models(svc: ServicesDep) -> dict[str, Any]:
    """Every published release: version, manifest digest, synthetic flag, size."""
    return {
        "segment_models": [
            {
                "version": p.version,
                "digest": p.digest,
                "synthetic": p.synthetic,
                "size": p.size,
                "published_at": p.published_at.isoformat(),
            }
            for p in segment_models.list_releases(svc.db)
        ]
    }


@router.get(
    "/v1/segment-models/{version}",
    response_class=Response,
    responses={
        200: {
            "description": "The release file (`VERSION.segments`) exactly as the taskforce "
            "published it; verify it under the pinned model key before use.",
            "content": {MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
            "headers": {
                DIGEST_HEADER: {
                    "description": "SHA-256 of the release's manifest (hex), as listed.",
                    "schema": {"type": "string"},
                },
                "Content-Disposition": {
                    "description": 'attachment; filename="<version>.segments"',
                    "schema": {"type": "string"},
                },
            },
        },
        # UsageError: a version longer than any release's.
        **problems(NotFound, UsageError),
    },
)
def segment_model(version: Version, svc: ServicesDep) -> Response:
    """One release's bytes, or ``not-found`` for a version not published here."""
    published, data = segment_models.release_bytes(svc.db, version)
    return Response(
        data,
        media_type=MEDIA_TYPE,
        headers={
            DIGEST_HEADER: published.digest,
            "content-disposition": f'attachment; filename="{published.version}.segments"',
        },
    )
