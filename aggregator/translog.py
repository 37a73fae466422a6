"""The append-only, hash-chained transparency log of accepted submissions.

Entry hash = SHA-256(domain ‖ canonical(entry without hash) ‖ previous hash),
so anyone holding a copy of the log can recompute the chain and detect any
rewrite, deletion or reordering; a receipt names its log index and digest so
a privacy officer (who may read the log, ADR 0007) can check that an
institution's submission is in it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aggregator.storage import LogEntry
from protocol.translog import GENESIS, entry_hash

__all__ = ["GENESIS", "append", "entries", "entry_hash", "size"]


def append(
    session: Session, *, submission_id: str, institution_id: str, period: str, digest: str, at: str
) -> LogEntry:
    """Append inside the caller's transaction (which also stores the submission)."""
    last = session.scalar(select(LogEntry).order_by(LogEntry.log_index.desc()).limit(1))
    index = (last.log_index + 1) if last else 0
    prev = last.entry_hash if last else GENESIS
    fields = {
        "log_index": index,
        "submission_id": submission_id,
        "institution_id": institution_id,
        "period": period,
        "digest": digest,
        "appended_at": at,
    }
    entry = LogEntry(**fields, prev_hash=prev, entry_hash=entry_hash(fields, prev))
    session.add(entry)
    return entry


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
