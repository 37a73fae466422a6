"""The workspace's record of ingested exports, by digest: what makes ingesting twice a no-op.

An export is recorded (digest, name, time, row counts, byte size) only
after its visits and quarantine are in place, so a killed run leaves
nothing recorded and is simply run again (ADR 0004, "Idempotence"). An
export that rejected more than the allowed share of its rows is never
recorded, and ``agent ingest --replace`` records a recorded one again in its
own place, until its periods are released (ADR 0022).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
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


def layout_of(headers: Sequence[str]) -> str:
    """A short name for an export's layout: its header row, whatever the column order.

    Order ids are matched only between exports of one layout (one box-office
    system's export): a museum shop's order 1001 is not the ticket office's
    order 1001 (:func:`agent.visits.deduplicated`). Headers are column names,
    never row content."""
    names = sorted(h.strip().casefold() for h in headers)
    return hashlib.sha256("\x1f".join(names).encode("utf-8")).hexdigest()[:16]


def record(
    workspace: Workspace,
    digest: str,
    name: str,
    *,
    size: int,
    read: int,
    accepted: int,
    layout: str = "",
) -> None:
    """Record an export as ingested: its visits and quarantine are in place.

    An export ingested again (``--replace``) keeps its row, and with it its
    place in the order of the period's exports: the order cumulative exports
    are deduplicated in (:meth:`agent.workspace.Workspace.load_visits`)."""
    with workspace.connect() as db:
        db.execute(
            "INSERT INTO ingested_files VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (digest) DO UPDATE "
            "SET file_name = excluded.file_name, ingested_at = excluded.ingested_at, "
            "rows_read = excluded.rows_read, rows_accepted = excluded.rows_accepted, "
            "rows_rejected = excluded.rows_rejected",
            (digest, name, datetime.now(UTC).isoformat(), read, accepted, read - accepted),
        )
        db.execute("INSERT OR REPLACE INTO ingested_file_sizes VALUES (?, ?)", (digest, size))
        db.execute("INSERT OR REPLACE INTO ingested_layouts VALUES (?, ?)", (digest, layout))


def released(workspace: Workspace, periods: list[str]) -> list[str]:
    """Those of ``periods`` for which the budget ledger holds a drawn release: their
    visits are spoken for, and changing them would need a second release."""
    with workspace.connect() as db:
        return [
            p
            for p in periods
            if db.execute("SELECT 1 FROM releases WHERE period = ? LIMIT 1", (p,)).fetchone()
        ]
