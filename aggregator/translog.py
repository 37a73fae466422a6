"""The append-only, hash-chained transparency log of accepted submissions.

Entry hash = SHA-256(domain ‖ canonical(entry without hash) ‖ previous hash),
so anyone holding a copy of the log can recompute the chain and detect any
rewrite, deletion or reordering; a receipt names its log index and digest so
a privacy officer (who may read the log, ADR 0007) can check that an
institution's submission is in it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from aggregator.storage import LogEntry
from protocol.translog import GENESIS, entry_hash

__all__ = ["GENESIS", "Tail", "entries", "entry_hash", "size"]


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
        """Chain one entry to the previous one; return its log index."""
        fields = {
            "log_index": self.next_index,
            "submission_id": submission_id,
            "institution_id": institution_id,
            "period": period,
            "digest": digest,
            "appended_at": at,
        }
        digest_of_entry = entry_hash(fields, self.prev_hash)
        self.rows.append({**fields, "prev_hash": self.prev_hash, "entry_hash": digest_of_entry})
        self.prev_hash = digest_of_entry
        self.next_index += 1
        return int(fields["log_index"])

    def write(self, session: Session) -> None:
        if self.rows:
            session.execute(insert(LogEntry), self.rows)


def entry_dict(row: LogEntry) -> dict[str, Any]:
    """One log entry as published (GET /v1/log) and as ``audit verify-log`` reads it."""
    return {
        "log_index": row.log_index,
        "submission_id": row.submission_id,
        "institution_id": row.institution_id,
        "period": row.period,
        "digest": row.digest,
        "appended_at": row.appended_at,
        "prev_hash": row.prev_hash,
        "entry_hash": row.entry_hash,
    }


def entries(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(select(LogEntry).order_by(LogEntry.log_index)).all()
    return [entry_dict(r) for r in rows]


def size(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(LogEntry)) or 0)
