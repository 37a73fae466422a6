"""Segment model releases the aggregator serves (issue 16, ADR 0027).

The taskforce registers its model key (the public half) and publishes each
release file it signed; the aggregator keeps the bytes exactly as published
and serves them to anyone. It checks every release under a registered model
key before storing it, so nobody can fill the store with junk, but agents do
not trust it for that: they verify each release under the key fingerprint
they pinned themselves, so an aggregator cannot swap a model.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from aggregator.storage import Database, SegmentModelKey, SegmentModelRelease
from protocol.errors import (
    MalformedMessage,
    NotFound,
    PubliekError,
    SubmissionConflict,
    UnknownKey,
)
from protocol.keys import VerifyKey
from protocol.messages import DEMO_SEGMENT_MODEL
from protocol.segment_release import (
    SIGNATURE,
    SegmentRelease,
    Signature,
    read_container,
    verify_release,
)


@dataclass(frozen=True)
class Published:
    """What a release is listed by (never its bytes)."""

    version: str
    digest: str
    synthetic: bool
    size: int
    published_at: datetime


def register_model_key(db: Database, key: VerifyKey) -> str:
    """Accept releases signed by ``key`` (idempotent)."""
    with db.session() as s:
        if s.get(SegmentModelKey, key.key_id) is None:
            s.add(
                SegmentModelKey(
                    key_id=key.key_id, public_key=key.to_text(), registered_at=datetime.now(UTC)
                )
            )
    return key.key_id


def publish_release(db: Database, data: bytes, *, where: str) -> tuple[Published, bool]:
    """Verify ``data`` under the registered model key that signed it and store it.

    Returns the release and whether it was new: the same bytes again are a
    no-op; other bytes under a version already published are refused (a
    version names one release forever, as agents pin it)."""
    with db.session() as s:
        release = verified(s, data, where=where)
        existing = s.get(SegmentModelRelease, release.version)
        if existing is not None:
            if existing.digest != release.digest or existing.content != data:
                raise SubmissionConflict(
                    f"segment model {release.version} is already published with other content",
                    hint="a version names one release forever; publish the new one under a "
                    "new version",
                )
            return _published(existing), False
        row = SegmentModelRelease(
            version=release.version,
            digest=release.digest,
            synthetic=release.synthetic,
            model_key_id=release.signer.key_id,
            size=len(data),
            content=data,
            published_at=datetime.now(UTC),
        )
        s.add(row)
        return _published(row), True


def verified(session: Session, data: bytes, *, where: str) -> SegmentRelease:
    """The release file ``data``, verified under the registered model key that
    signed it (at publish, and again wherever the stored bytes are read)."""
    members = read_container(data, where=where)
    try:
        key_id = Signature.from_bytes(members[SIGNATURE]).key_id
    except PubliekError as exc:
        raise MalformedMessage(f"{where}: {exc.detail}", hint=exc.hint) from exc
    registered = session.get(SegmentModelKey, key_id)
    if registered is None:
        raise UnknownKey(
            f"{where} is signed by a model key this aggregator does not know",
            hint="register the taskforce's model key: "
            "publiek aggregator segment-model register-key --key KEY",
        )
    return verify_release(data, model_key=VerifyKey.from_text(registered.public_key), where=where)


def list_releases(db: Database) -> list[Published]:
    with db.session() as s:
        rows = s.scalars(
            select(SegmentModelRelease).order_by(SegmentModelRelease.published_at)
        ).all()
        return [_published(r) for r in rows]


def release_bytes(db: Database, version: str) -> tuple[Published, bytes]:
    """The release ``version`` as published, or ``not-found``."""
    with db.session() as s:
        row = s.get(SegmentModelRelease, version)
        if row is None:
            raise NotFound(
                f"no segment model {version} is published here",
                hint="list the published ones: GET /v1/segment-models",
            )
        return _published(row), bytes(row.content)


def _published(row: SegmentModelRelease) -> Published:
    return Published(
        version=row.version,
        digest=row.digest,
        synthetic=row.synthetic,
        size=row.size,
        published_at=row.published_at,
    )


def is_synthetic(db: Database, version: str | None) -> bool:
    """Whether figures counted under segment model ``version`` describe no real
    population: the unsigned demo model, or a published release that says it is
    synthetic. Every output that counts segments says so (issue 16)."""
    if version == DEMO_SEGMENT_MODEL:
        return True
    if version is None:
        return False
    with db.session() as s:
        row = s.get(SegmentModelRelease, version)
        return bool(row is not None and row.synthetic)
