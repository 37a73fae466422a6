"""The workspace's record of ingested exports, by digest: what makes ingesting twice a no-op.

An export is recorded (digest, name, time, row counts, byte size) only
after its visits and quarantine are in place, so a killed run leaves
nothing recorded and is simply run again (ADR 0004, "Idempotence").
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
