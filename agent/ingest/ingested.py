"""The workspace's record of ingested exports, by digest: what makes ingesting twice a no-op.

An export is recorded (digest, name, time, row counts, byte size) only
after its visits and quarantine are in place, so a killed run leaves
nothing recorded and is simply run again (ADR 0004, "Idempotence"). An
export that rejected more than the allowed share of its rows is never
recorded, and ``agent ingest --replace`` forgets a recorded one (:func:`forget`)
once its visits are gone, until its periods are released (ADR 0022).
"""

from __future__ import annotations

from datetime import UTC, datetime

from agent.workspace import Workspace


def size_seen(workspace: Workspace, size: int) -> bool:
    """Whether an export of this size was ingested before (or one whose size was not
    recorded, by an older agent): only then can its digest be an ingested one."""
    with workspace.connect() as db:
        return bool(
            db.execute(
                "SELECT 1 FROM ingested_files f LEFT JOIN ingested_file_sizes s USING (digest) "
                "WHERE s.size IS NULL OR s.size = ? LIMIT 1",
                (size,),
            ).fetchone()
        )


def seen(workspace: Workspace, digest: str) -> bool:
    """Whether an export with this digest was ingested before."""
    with workspace.connect() as db:
        return bool(
            db.execute("SELECT 1 FROM ingested_files WHERE digest = ?", (digest,)).fetchone()
        )


def record(
    workspace: Workspace, digest: str, name: str, *, size: int, read: int, accepted: int
) -> None:
    """Record an export as ingested: its visits and quarantine are in place."""
    with workspace.connect() as db:
        db.execute(
            "INSERT INTO ingested_files VALUES (?, ?, ?, ?, ?, ?)",
            (digest, name, datetime.now(UTC).isoformat(), read, accepted, read - accepted),
        )
        db.execute("INSERT OR REPLACE INTO ingested_file_sizes VALUES (?, ?)", (digest, size))


def forget(workspace: Workspace, digest: str) -> None:
    """Remove an export from the record (its visits were removed first), so that it
    is ingested again."""
    with workspace.connect() as db:
        db.execute("DELETE FROM ingested_file_sizes WHERE digest = ?", (digest,))
        db.execute("DELETE FROM ingested_files WHERE digest = ?", (digest,))


def released(workspace: Workspace, periods: list[str]) -> list[str]:
    """Those of ``periods`` for which the budget ledger holds a drawn release: their
    visits are spoken for, and changing them would need a second release."""
    with workspace.connect() as db:
        return [
            p
            for p in periods
            if db.execute("SELECT 1 FROM releases WHERE period = ? LIMIT 1", (p,)).fetchone()
        ]
