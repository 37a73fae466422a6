"""Releases: DP tables for one period, the budget ledger, sealing, the outbox.

The ledger is append-only in ``agent.db``. A release is identified by the
digest of its inputs (the period's ingested files, the segment model and the
release config); asking for the same release again returns the stored
plaintext instead of drawing new noise, so repetition never spends budget
and never lets anyone average noise away. A new release that would exceed
the period's budget is refused with what was spent and what is left.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from agent.segments import SegmentModel
from agent.tables import ReleaseConfig, build_tables
from agent.workspace import Workspace
from dp.measurements import release_tables
from protocol.encoding import canonical_bytes, parse_canonical
from protocol.envelope import seal_submission
from protocol.errors import InsufficientPrivacyBudget, UsageError
from protocol.keys import SealPublicKey, SigningKey
from protocol.messages import SubmissionPayload


@dataclass(frozen=True)
class Release:
    payload: SubmissionPayload
    reused: bool


def _release_digest(
    workspace: Workspace, period: str, model: SegmentModel, config: ReleaseConfig
) -> str:
    files = sorted(p.name for p in (workspace.visits_dir / f"period={period}").glob("*.parquet"))
    material = canonical_bytes(
        {"period": period, "files": files, "model": model.digest, "config": asdict(config)}
    )
    return hashlib.sha256(material).hexdigest()


def spent(workspace: Workspace, period: str) -> float:
    with workspace.connect() as db:
        row = db.execute("SELECT COALESCE(SUM(rho), 0) FROM releases WHERE period = ?", (period,))
        return float(row.fetchone()[0])


def prepare_release(
    workspace: Workspace, period: str, model: SegmentModel, config: ReleaseConfig
) -> Release:
    """Return the period's release, reusing a stored one for the same inputs."""
    institution = workspace.load_config().institution_id
    digest = _release_digest(workspace, period, model, config)
    with workspace.connect() as db:
        row = db.execute(
            "SELECT plaintext FROM releases WHERE period = ? AND release_digest = ?",
            (period, digest),
        ).fetchone()
    if row:
        stored = parse_canonical(bytes(row[0]), what="stored release")
        return Release(payload=SubmissionPayload.from_dict(stored), reused=True)
    visits = workspace.load_visits(period)
    if visits.height == 0:
        raise UsageError(
            f"no visits ingested for period {period}",
            hint="run `publiek agent ingest` on exports covering that period first",
        )
    already = spent(workspace, period)
    if already + config.rho > config.period_budget + 1e-12:
        raise InsufficientPrivacyBudget(
            f"period {period}: ρ {already:g} of {config.period_budget:g} spent, "
            f"{config.period_budget - already:g} left; this release needs {config.rho:g}",
            hint="reuse the existing release or wait for the next period",
        )
    tables, spend = release_tables(
        build_tables(visits, model, config), mechanism=config.mechanism, delta=config.delta
    )
    payload = SubmissionPayload(
        institution_id=institution,
        period=period,
        submission_id=secrets.token_hex(16),
        created_at=datetime.now(UTC).replace(microsecond=0).isoformat(),
        segment_model=model.version,
        bounds=config.bounds(),
        tables=tables,
        privacy=spend,
    )
    with workspace.connect() as db:
        db.execute(
            "INSERT INTO releases VALUES (?, ?, ?, ?, ?, ?)",
            (
                period,
                digest,
                payload.submission_id,
                spend.rho,
                payload.created_at,
                canonical_bytes(payload.to_dict()),
            ),
        )
    return Release(payload=payload, reused=False)


def seal_to_outbox(
    workspace: Workspace, payload: SubmissionPayload, recipient: SealPublicKey
) -> Path:
    """Sign and seal; keep the envelope beside the exact plaintext it carries.

    An envelope already sealed for this submission id is kept as it is: the
    aggregator treats the same id with other bytes as a conflict, so a retry
    must resend the very same bytes."""
    path = workspace.outbox_dir / f"{payload.submission_id}.envelope"
    if path.exists():
        return path
    envelope, plaintext = seal_submission(
        payload, signer=SigningKey.load(workspace.signing_key_path), recipient=recipient
    )
    workspace.outbox_dir.mkdir(parents=True, exist_ok=True)
    path.write_bytes(envelope)
    path.with_suffix(".plaintext.json").write_bytes(plaintext)
    return path


def store_receipt(workspace: Workspace, submission_id: str, receipt: dict[str, object]) -> None:
    with workspace.connect() as db:
        db.execute(
            "INSERT OR REPLACE INTO receipts VALUES (?, ?)",
            (submission_id, json.dumps(receipt, sort_keys=True)),
        )
