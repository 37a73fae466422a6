"""Enrollment tokens and institutions.

A token is 32 random bytes shown once to the taskforce operator; only its
SHA-256 is stored. It names the institution, its discipline and province,
expires, and can be redeemed once, binding the agent's public keys.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from aggregator.auth import token_digest
from aggregator.peergroups import SIZE_CLASSES
from aggregator.storage import Database, EnrollmentToken, Institution
from protocol.errors import InvalidToken, KeyAlreadyEnrolled, UsageError
from protocol.keys import SealPublicKey, VerifyKey
from protocol.messages import check_slug

DISCIPLINES = (
    "theater", "music", "dance", "opera", "cabaret", "film",
    "museum", "festival", "heritage", "library", "youth", "other",
)  # fmt: skip
PROVINCES = (
    "groningen", "friesland", "drenthe", "overijssel", "flevoland", "gelderland",
    "utrecht", "noord-holland", "zuid-holland", "zeeland", "noord-brabant", "limburg",
)  # fmt: skip


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:60]


def create_token(
    db: Database,
    *,
    name: str,
    discipline: str,
    province: str,
    valid_for: timedelta,
    size_class: str = "medium",
) -> tuple[str, str]:
    """Register the institution (if new) and return (institution_id, token).

    ``size_class`` (small, medium, large: declared by the taskforce, ADR
    0007) places the institution in its benchmark peer group."""
    if size_class not in SIZE_CLASSES:
        raise UsageError(
            f"unknown size class {size_class!r}", hint=f"use: {', '.join(SIZE_CLASSES)}"
        )
    if discipline not in DISCIPLINES:
        raise UsageError(
            f"unknown discipline {discipline!r}", hint=f"use: {', '.join(DISCIPLINES)}"
        )
    # "Noord-Holland", "noord holland" and "ZEELAND " name the slugs the tables use.
    province = slugify(province) if slugify(province) in PROVINCES else province
    if province not in PROVINCES:
        raise UsageError(f"unknown province {province!r}", hint=f"use: {', '.join(PROVINCES)}")
    institution_id = check_slug(slugify(name), what="institution name")
    token = secrets.token_urlsafe(32)
    with db.session() as s:
        inst = s.get(Institution, institution_id)
        if inst is None:
            s.add(
                Institution(
                    institution_id=institution_id,
                    name=name,
                    discipline=discipline,
                    province=province,
                    size_class=size_class,
                )
            )
        elif inst.signing_key is not None and inst.revoked_at is None:
            raise UsageError(
                f"institution {institution_id} is already enrolled",
                hint="revoke it first to enroll a new agent",
            )
        else:
            inst.size_class = size_class
        s.flush()
        s.add(
            EnrollmentToken(
                token_hash=token_digest(token),
                institution_id=institution_id,
                expires_at=datetime.now(UTC) + valid_for,
            )
        )
    return institution_id, token


def redeem_token(
    db: Database, token: str, signing: VerifyKey, sealing: SealPublicKey
) -> Institution:
    """Bind the agent's public keys to the token's institution, once."""
    now = datetime.now(UTC)
    with db.session() as s:
        row = s.get(EnrollmentToken, token_digest(token), with_for_update=True)
        expires = (
            row.expires_at.replace(tzinfo=UTC)
            if row and row.expires_at.tzinfo is None
            else (row.expires_at if row else None)
        )
        if row is None or row.used_at is not None or expires is None or expires < now:
            raise InvalidToken(
                "the enrollment token is unknown, already used or expired",
                hint="ask the taskforce for a new token",
            )
        if s.scalar(select(Institution).where(Institution.signing_key_id == signing.key_id)):
            raise KeyAlreadyEnrolled(
                "this signing key is already enrolled",
                hint="each enrollment needs its own key pair (a fresh agent workspace)",
            )
        inst = s.get(Institution, row.institution_id)
        assert inst is not None
        if inst.signing_key is not None and inst.revoked_at is None:
            # A second token for an enrolled institution must not swap its keys.
            raise InvalidToken(
                f"institution {inst.institution_id} is already enrolled",
                hint="the taskforce revokes the current enrollment before issuing a new token",
            )
        row.used_at = now
        inst.signing_key = signing.to_text()
        inst.signing_key_id = signing.key_id
        inst.sealing_key = sealing.to_text()
        inst.enrolled_at = now
        inst.revoked_at = None
        s.flush()
        s.expunge(inst)
        return inst


def revoke(db: Database, institution_id: str) -> None:
    """Refuse every later submission and void every token issued so far.

    The public keys stay on record so past signatures remain checkable; a new
    enrollment needs a token created after the revocation."""
    now = datetime.now(UTC)
    with db.session() as s:
        inst = s.get(Institution, institution_id)
        if inst is None:
            raise UsageError(f"no institution {institution_id!r}")
        inst.revoked_at = now
        s.execute(
            update(EnrollmentToken)
            .where(
                EnrollmentToken.institution_id == institution_id,
                EnrollmentToken.used_at.is_(None),
            )
            .values(used_at=now)
        )


def institution_overview(db: Database) -> list[dict[str, object]]:
    """Every institution with its enrollment state and, per period, how many
    submissions it stored: what the taskforce reaches for to see who is still
    missing. Ids, names and counts only; never a value."""
    from sqlalchemy import func

    from aggregator.storage import Submission

    with db.session() as s:
        counts: dict[str, dict[str, int]] = {}
        for institution_id, period, n in s.execute(
            select(Submission.institution_id, Submission.period, func.count())
            .group_by(Submission.institution_id, Submission.period)
            .order_by(Submission.period)
        ):
            counts.setdefault(institution_id, {})[period] = int(n)
        return [
            {
                "institution_id": inst.institution_id,
                "name": inst.name,
                "discipline": inst.discipline,
                "province": inst.province,
                "size_class": inst.size_class,
                "state": (
                    "revoked"
                    if inst.revoked_at is not None
                    else "enrolled"
                    if inst.enrolled_at is not None
                    else "token-issued"
                ),
                "submissions": counts.get(inst.institution_id, {}),
            }
            for inst in s.scalars(select(Institution).order_by(Institution.institution_id))
        ]
