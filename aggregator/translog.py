"""The append-only, hash-chained transparency log of accepted submissions and
of the submissions the taskforce set aside.

Entry hash = SHA-256(domain ‖ canonical(hashed fields) ‖ previous hash), so
anyone holding a copy of the log can recompute the chain and detect any
rewrite, deletion or reordering; a receipt names its log index and digest so
a privacy officer (who may read the log, ADR 0007) can check that an
institution's submission is in it, and a set-aside entry says which
submission was left out of its period's benchmarks and why (ADR 0020). The
kinds and their hashed fields are defined in ``protocol.translog``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from aggregator.storage import LogEntry
from protocol.translog import (
    ERASED_REASON,
    GENESIS,
    SET_ASIDE,
    SUBMISSION,
    entry_hash,
    hashed_fields,
    reason_commitment,
)

__all__ = ["GENESIS", "SetAside", "Tail", "entries", "entry_hash", "set_asides", "size"]


class Tail:
    """The end of the log inside the caller's write transaction (which also
    stores the submissions): entries of a whole intake batch are chained here
    in memory and inserted together, in the same transaction."""

    def __init__(self, session: Session) -> None:
        last = session.execute(
            select(LogEntry.log_index, LogEntry.entry_hash)
            .order_by(LogEntry.log_index.desc())
            .limit(1)
        ).first()
        self.next_index = last.log_index + 1 if last else 0
        self.prev_hash = last.entry_hash if last else GENESIS
        self.rows: list[dict[str, Any]] = []

    def append(
        self, *, submission_id: str, institution_id: str, period: str, digest: str, at: str
    ) -> int:
        """Chain a stored submission's entry to the previous one; return its log index."""
        return self._chain(
            {
                "log_index": self.next_index,
                "kind": SUBMISSION,
                "submission_id": submission_id,
                "institution_id": institution_id,
                "period": period,
                "digest": digest,
                "appended_at": at,
                "reason_commitment": None,
                "reason": None,
                "reason_nonce": None,
            }
        )

    def append_set_aside(
        self,
        *,
        submission_id: str,
        institution_id: str,
        period: str,
        digest: str,
        at: str,
        reason: str,
    ) -> int:
        """Chain the entry that sets a stored submission aside (``digest`` is the
        submission's own); return its log index. The reason is committed to with
        a fresh random nonce (``protocol.translog``)."""
        nonce = secrets.token_hex(16)
        return self._chain(
            {
                "log_index": self.next_index,
                "kind": SET_ASIDE,
                "submission_id": submission_id,
                "institution_id": institution_id,
                "period": period,
                "digest": digest,
                "appended_at": at,
                "reason_commitment": reason_commitment(reason, nonce),
                "reason": reason,
                "reason_nonce": nonce,
            }
        )

    def _chain(self, row: dict[str, Any]) -> int:
        digest_of_entry = entry_hash(hashed_fields(row), self.prev_hash)
        self.rows.append({**row, "prev_hash": self.prev_hash, "entry_hash": digest_of_entry})
        self.prev_hash = digest_of_entry
        self.next_index += 1
        return int(row["log_index"])

    def write(self, session: Session) -> None:
        if self.rows:
            session.execute(insert(LogEntry), self.rows)


def entry_dict(row: LogEntry) -> dict[str, Any]:
    """One log entry as published (GET /v1/log) and as ``audit verify-log`` reads it
    (the reason fields are null for a submission's entry)."""
    return {
        "log_index": row.log_index,
        "kind": row.kind,
        "submission_id": row.submission_id,
        "institution_id": row.institution_id,
        "period": row.period,
        "digest": row.digest,
        "appended_at": row.appended_at,
        "reason_commitment": row.reason_commitment,
        "reason": row.reason,
        "reason_nonce": row.reason_nonce,
        "prev_hash": row.prev_hash,
        "entry_hash": row.entry_hash,
    }


def entries(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(select(LogEntry).order_by(LogEntry.log_index)).all()
    return [entry_dict(r) for r in rows]


def size(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(LogEntry)) or 0)


@dataclass(frozen=True)
class SetAside:
    """A set-aside as recorded in the log; ``reason`` is None once erased."""

    submission_id: str
    institution_id: str
    period: str
    reason: str | None
    set_aside_at: str
    log_index: int

    @classmethod
    def of(cls, row: LogEntry) -> SetAside:
        return cls(
            submission_id=row.submission_id,
            institution_id=row.institution_id,
            period=row.period,
            reason=row.reason,
            set_aside_at=row.appended_at,
            log_index=row.log_index,
        )

    @property
    def shown_reason(self) -> str:
        return ERASED_REASON if self.reason is None else self.reason

    def note(self) -> dict[str, Any]:
        """What the institution is shown of it (its standing, its report)."""
        return {
            "submission_id": self.submission_id,
            "reason": self.shown_reason,
            "set_aside_at": self.set_aside_at,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "submission_id": self.submission_id,
            "institution_id": self.institution_id,
            "period": self.period,
            "reason": self.shown_reason,
            "set_aside_at": self.set_aside_at,
            "log_index": self.log_index,
        }


def set_asides(
    session: Session, *, period: str | None = None, institution_id: str | None = None
) -> dict[str, SetAside]:
    """The recorded set-asides, by submission id, in log order."""
    query = select(LogEntry).where(LogEntry.kind == SET_ASIDE).order_by(LogEntry.log_index)
    if period is not None:
        query = query.where(LogEntry.period == period)
    if institution_id is not None:
        query = query.where(LogEntry.institution_id == institution_id)
    return {r.submission_id: SetAside.of(r) for r in session.scalars(query)}
