"""Server side of sector-key distribution: a relay that holds only ciphertext.

The aggregator lists enrolled institutions' public sealing keys for the
custodian, stores the sealed sector keys the custodian uploads (after
checking the registered custodian's signature, so nobody else can fill the
store with junk) and hands each agent its own sealed key. It never sees a
sector key in the clear and cannot forge one that an agent would accept:
agents verify against the custodian key they pinned themselves.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from aggregator.storage import CustodianKey, Database, Institution, SealedSectorKeyRecord
from protocol.errors import (
    InstitutionRevoked,
    InvalidPayload,
    SectorKeyUnavailable,
    UnknownInstitution,
    UnknownKey,
)
from protocol.keys import SealPublicKey, VerifyKey
from protocol.sector_keys import SealedSectorKey, verify_custodian_signature


def register_custodian(db: Database, key: VerifyKey) -> str:
    with db.session() as s:
        if s.get(CustodianKey, key.key_id) is None:
            s.add(
                CustodianKey(
                    key_id=key.key_id, public_key=key.to_text(), registered_at=datetime.now(UTC)
                )
            )
    return key.key_id


def recipients(db: Database) -> list[dict[str, str]]:
    """Enrolled, non-revoked institutions and their public sealing keys."""
    with db.session() as s:
        rows = s.scalars(
            select(Institution)
            .where(Institution.sealing_key.is_not(None), Institution.revoked_at.is_(None))
            .order_by(Institution.institution_id)
        ).all()
        return [
            {"institution_id": r.institution_id, "sealing_key": str(r.sealing_key)} for r in rows
        ]


def store_sealed(db: Database, items: list[SealedSectorKey]) -> int:
    """Check every item, then store them all in one transaction (or none)."""
    with db.session() as s:
        for item in items:
            header = item.header
            registered = s.get(CustodianKey, header.custodian_key_id)
            if registered is None:
                raise UnknownKey(
                    "the sector keys are signed by a custodian key this aggregator does not know",
                    hint="register it: publiek aggregator custodian register --key KEY",
                )
            verify_custodian_signature(item, VerifyKey.from_text(registered.public_key))
            inst = s.get(Institution, header.institution_id)
            if inst is None or inst.sealing_key is None:
                raise UnknownInstitution(f"institution {header.institution_id} is not enrolled")
            if inst.revoked_at is not None:
                raise InstitutionRevoked(f"institution {header.institution_id} was revoked")
            if header.recipient_key_id != SealPublicKey.from_text(inst.sealing_key).key_id:
                # An old upload replayed after re-enrollment must not roll the key back.
                raise InvalidPayload(
                    f"the sealed key for {header.institution_id} is not sealed to its "
                    "current agent key",
                    hint="run the custodian's distribute again for this period",
                )
            row = s.get(SealedSectorKeyRecord, (header.period, header.institution_id))
            if row is None:
                row = SealedSectorKeyRecord(
                    period=header.period, institution_id=inst.institution_id
                )
                s.add(row)
            row.recipient_key_id = header.recipient_key_id
            row.custodian_key_id = header.custodian_key_id
            row.sealed = item.to_bytes()
            row.stored_at = datetime.now(UTC)
    return len(items)


def sealed_for(db: Database, period: str, institution_id: str) -> dict[str, Any]:
    with db.session() as s:
        row = s.get(SealedSectorKeyRecord, (period, institution_id))
        if row is None:
            raise SectorKeyUnavailable(
                f"no sector key for {institution_id} in period {period} yet",
                hint="ask the taskforce custodian to distribute the period's sector key",
            )
        return SealedSectorKey.from_bytes(row.sealed).to_dict()
