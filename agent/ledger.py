"""The agent's privacy-budget ledger: one append-only row per drawn release.

The ledger is the ``releases`` table of ``agent.db``: period, release digest,
submission id, ρ and the exact plaintext payload. Triggers make it
append-only (an UPDATE or DELETE aborts), so spent budget cannot be given
back by editing the database through SQLite. The budget check and the insert
run in one ``BEGIN IMMEDIATE`` transaction, so two releases started at once
cannot both fit into the last bit of budget.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from agent.workspace import Workspace
from protocol.encoding import canonical_bytes
from protocol.errors import InsufficientPrivacyBudget
from protocol.messages import SubmissionPayload

TOLERANCE = 1e-9  # float slack of OpenDP's composition (same as the aggregator's)

APPEND_ONLY = """
CREATE TRIGGER IF NOT EXISTS releases_no_update BEFORE UPDATE ON releases
BEGIN SELECT RAISE(ABORT, 'the release ledger is append-only'); END;
CREATE TRIGGER IF NOT EXISTS releases_no_delete BEFORE DELETE ON releases
BEGIN SELECT RAISE(ABORT, 'the release ledger is append-only'); END;
"""


@dataclass(frozen=True)
class LedgerEntry:
    """One drawn release as the ledger holds it (no exact values: only noisy ones)."""

    period: str
    release_digest: str
    submission_id: str
    rho: float
    created_at: str
    payload: SubmissionPayload


def _stored(blob: bytes) -> SubmissionPayload:
    """A release as the ledger holds it: the canonical bytes of the protocol
    version that drew it. Rows are never rewritten (append-only), so a release
    drawn before the upgrade to ``publiek/2`` keeps its ``publiek/1`` bytes,
    which are not RFC 8785; they are this agent's own record, read as plain
    JSON and shown as what they are (ADR 0014)."""
    return SubmissionPayload.from_record(json.loads(blob))


def connect(workspace: Workspace) -> sqlite3.Connection:
    """A connection to ``agent.db`` with the ledger schema and its guards.

    Refuses a folder that is not an enrolled workspace instead of creating one."""
    workspace.load_config()
    workspace.ensure()
    db = workspace.connect()
    db.executescript(APPEND_ONLY)
    return db


def spent(workspace: Workspace, period: str) -> float:
    with connect(workspace) as db:
        row = db.execute("SELECT COALESCE(SUM(rho), 0) FROM releases WHERE period = ?", (period,))
        return float(row.fetchone()[0])


def find(workspace: Workspace, period: str, release_digest: str) -> SubmissionPayload | None:
    """The stored release for these inputs, if one was drawn before."""
    with connect(workspace) as db:
        row = db.execute(
            "SELECT plaintext FROM releases WHERE period = ? AND release_digest = ?",
            (period, release_digest),
        ).fetchone()
    if row is None:
        return None
    return _stored(bytes(row[0]))


def refuse_if_over(period: str, already: float, budget: float, needed: float) -> None:
    """Raise :class:`InsufficientPrivacyBudget` saying what was spent and what is left."""
    if already + needed > budget + TOLERANCE:
        raise InsufficientPrivacyBudget(
            f"period {period}: ρ {already:g} of {budget:g} spent, "
            f"{max(budget - already, 0.0):g} left; this release needs {needed:g}",
            hint="reuse the existing release (same inputs) or wait for the next period",
        )


def record(
    workspace: Workspace, release_digest: str, payload: SubmissionPayload, budget: float
) -> None:
    """Append a drawn release, re-checking the budget inside the write lock."""
    db = connect(workspace)
    try:
        db.execute("BEGIN IMMEDIATE")
        row = db.execute(
            "SELECT COALESCE(SUM(rho), 0) FROM releases WHERE period = ?", (payload.period,)
        ).fetchone()
        refuse_if_over(payload.period, float(row[0]), budget, payload.privacy.rho)
        db.execute(
            "INSERT INTO releases VALUES (?, ?, ?, ?, ?, ?)",
            (
                payload.period,
                release_digest,
                payload.submission_id,
                payload.privacy.rho,
                payload.created_at,
                canonical_bytes(payload.to_dict()),
            ),
        )
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    finally:
        db.close()


def entries(workspace: Workspace, period: str | None = None) -> list[LedgerEntry]:
    """Ledger rows in the order they were appended, optionally for one period."""
    query = "SELECT period, release_digest, submission_id, rho, created_at, plaintext FROM releases"
    args: tuple[str, ...] = ()
    if period is not None:
        query += " WHERE period = ?"
        args = (period,)
    with connect(workspace) as db:
        rows = db.execute(query + " ORDER BY rowid", args).fetchall()
    return [
        LedgerEntry(
            period=p,
            release_digest=d,
            submission_id=s,
            rho=float(r),
            created_at=c,
            payload=_stored(bytes(b)),
        )
        for p, d, s, r, c, b in rows
    ]


def by_submission(workspace: Workspace, submission_id: str) -> LedgerEntry | None:
    found = [e for e in entries(workspace) if e.submission_id == submission_id]
    return found[0] if found else None


def format_ledger(
    workspace: Workspace, budget_of: Callable[[str], float], period: str | None = None
) -> str:
    """The ledger as a privacy officer reads it: per period, spent and left."""
    rows = entries(workspace, period)
    if not rows:
        if period is None:
            return "no releases drawn"
        return f"no releases drawn for {period}; budget ρ {budget_of(period):g}"
    lines = []
    for label in sorted({e.period for e in rows}):
        mine = [e for e in rows if e.period == label]
        total = sum(e.rho for e in mine)
        limit = budget_of(label)
        lines.append(
            f"period {label}: ρ {total:g} of {limit:g} spent, {max(limit - total, 0):g} left"
        )
        for e in mine:
            p = e.payload.privacy
            lines.append(
                f"  {e.created_at}  {e.submission_id}  ρ={p.rho:g}  ε={p.epsilon:.3f}  "
                f"δ={p.delta:g}  {len(e.payload.tables)} tables  "
                f"{e.payload.tables[0].mechanism}  release {e.release_digest[:12]}"
            )
    return "\n".join(lines)
