"""Intake: from envelope bytes to a stored submission and a signed receipt.

Order of checks (DESIGN "Intake"): size → parse → key id known and active →
decrypt in the stated context → signature by an enrolled, non-revoked
institution → schema (with the tables' ρ recomputed by OpenDP) → replay →
period open → budget → store + log in one transaction → receipt. The replay
check runs before the period and budget checks so that a retry of an
accepted submission gets its receipt back even though its budget is already
spent. Every failure raises before anything is
written; the HTTP API and ``aggregator import`` share this one path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError

from aggregator import translog
from aggregator.keyring import Keyring
from aggregator.periods import OPEN
from aggregator.storage import Database, Institution, Period, Submission
from dp.measurements import declared_rho_matches
from protocol.encoding import canonical_bytes
from protocol.envelope import MAX_ENVELOPE_BYTES, OpenedSubmission, open_submission
from protocol.errors import (
    InstitutionRevoked,
    InsufficientPrivacyBudget,
    InvalidPayload,
    PayloadTooLarge,
    PeriodNotOpen,
    ServiceUnavailable,
    SubmissionConflict,
    UnknownInstitution,
    UnknownPeriod,
    UsageError,
)
from protocol.keys import VerifyKey
from protocol.messages import EnvelopeHeader, Receipt
from protocol.translog import RECEIPT_DOMAIN


@dataclass(frozen=True)
class IntakePolicy:
    """What intake enforces beyond cryptography; one object, not a pile of flags."""

    budget_tolerance: float = 1e-9
    store_attempts: int = 5


class Intake:
    def __init__(self, db: Database, keyring: Keyring, policy: IntakePolicy | None = None) -> None:
        self._db = db
        self._keyring = keyring
        self._policy = policy or IntakePolicy()

    def _signer(self, header: EnvelopeHeader) -> VerifyKey:
        with self._db.session() as s:
            inst = s.get(Institution, header.institution_id)
            if (
                inst is None
                or inst.signing_key is None
                or inst.signing_key_id != header.signer_key_id
            ):
                raise UnknownInstitution(
                    "the envelope is not signed by an enrolled institution key",
                    hint="enroll the agent (publiek agent enroll) before submitting",
                )
            if inst.revoked_at is not None:
                raise InstitutionRevoked(
                    f"institution {inst.institution_id} was revoked",
                    hint="contact the taskforce to enroll again",
                )
            return VerifyKey.from_text(inst.signing_key)

    def open(self, data: bytes) -> OpenedSubmission:
        return open_submission(
            data,
            decryption_key=lambda h: self._keyring.private_for_intake(h.kem_key_id),
            signer_key=self._signer,
        )

    def accept(self, data: bytes) -> Receipt:
        """Verify and store one envelope; return its (possibly earlier) receipt."""
        opened = self.open(data)
        # Part of validating the payload: once, before the write lock, not per retry.
        rho = self._checked_rho(opened)
        last_error: IntegrityError | None = None
        for _ in range(self._policy.store_attempts):
            try:
                return self._store(opened, data, rho)
            except IntegrityError as exc:  # a concurrent writer took the id or log index
                last_error = exc
            except OperationalError as exc:  # disk full, database gone: nothing was committed
                raise ServiceUnavailable(
                    "the database cannot take the submission right now; nothing was stored",
                    hint="retry the same envelope later",
                ) from exc
        raise SubmissionConflict(
            "the submission could not be stored after concurrent attempts",
            hint="retry the same envelope",
        ) from last_error

    def accept_file(self, path: Path) -> Receipt:
        """The offline path (``aggregator import``): the size limit is checked on the
        file before it is read, then the bytes go through :meth:`accept` like HTTP."""
        try:
            size = path.stat().st_size
        except FileNotFoundError as exc:
            raise UsageError(f"{path} does not exist") from exc
        if size > MAX_ENVELOPE_BYTES:
            raise PayloadTooLarge(
                f"{path.name} is {size} bytes; the limit is {MAX_ENVELOPE_BYTES}",
                hint="this is not an envelope written by `publiek agent export`",
            )
        return self.accept(path.read_bytes())

    def _store(self, opened: OpenedSubmission, envelope: bytes, rho: float) -> Receipt:
        """Store the verified submission; ``envelope`` is its exact (canonical) bytes."""
        payload = opened.payload
        with self._db.write_session() as s:
            earlier = s.get(Submission, payload.submission_id)
            if earlier is not None:
                if earlier.digest == opened.digest:
                    return Receipt.from_dict(earlier.receipt)
                raise SubmissionConflict(
                    f"submission id {payload.submission_id} was already used for other bytes",
                    hint="a new release needs a new submission id",
                )
            period = s.get(Period, payload.period)
            if period is None:
                raise UnknownPeriod(f"period {payload.period} does not exist")
            if period.state != OPEN:
                raise PeriodNotOpen(f"period {payload.period} is {period.state}")
            spent = s.scalar(
                select(func.coalesce(func.sum(Submission.rho), 0.0)).where(
                    Submission.institution_id == payload.institution_id,
                    Submission.period == payload.period,
                )
            )
            left = period.rho_budget - float(spent or 0.0)
            if rho > left + self._policy.budget_tolerance:
                raise InsufficientPrivacyBudget(
                    f"period {payload.period}: ρ {spent:g} of {period.rho_budget:g} already "
                    f"spent, {left:g} left; this submission declares {payload.privacy.rho:g}",
                    hint="resend the earlier release instead of drawing a new one",
                )
            now = datetime.now(UTC).replace(microsecond=0)
            entry = translog.append(
                s,
                submission_id=payload.submission_id,
                institution_id=payload.institution_id,
                period=payload.period,
                digest=opened.digest,
                at=now.isoformat(),
            )
            receipt = self._sign_receipt(
                Receipt(
                    submission_id=payload.submission_id,
                    institution_id=payload.institution_id,
                    period=payload.period,
                    digest=opened.digest,
                    log_index=entry.log_index,
                    received_at=now.isoformat(),
                    aggregator_key_id=self._receipt_key_id,
                )
            )
            s.add(
                Submission(
                    submission_id=payload.submission_id,
                    institution_id=payload.institution_id,
                    period=payload.period,
                    digest=opened.digest,
                    envelope=envelope,
                    payload=payload.to_dict(),
                    rho=payload.privacy.rho,
                    received_at=now,
                    log_index=entry.log_index,
                    receipt=receipt.to_dict(),
                )
            )
            return receipt

    @staticmethod
    def _checked_rho(opened: OpenedSubmission) -> float:
        """The spend recomputed by OpenDP from each table's mechanism, sensitivity
        and scale; a declaration that disagrees is refused, never trusted."""
        payload = opened.payload
        try:
            total = declared_rho_matches(
                [(t.sensitivity, t.mechanism, t.scale, t.rho) for t in payload.tables]
            )
        except ValueError as exc:
            raise InvalidPayload(
                f"a table's declared privacy cost is wrong: {exc}",
                hint="release the tables with the agent, which declares OpenDP's figures",
            ) from exc
        if not math.isclose(total, payload.privacy.rho, rel_tol=1e-9):
            raise InvalidPayload(
                f"the declared total ρ {payload.privacy.rho:g} is not the tables' sum {total:g}",
                hint="release the tables with the agent, which declares OpenDP's figures",
            )
        return total

    @cached_property
    def _receipt_key_id(self) -> str:
        return self._keyring.receipt_key().public.key_id

    def _sign_receipt(self, receipt: Receipt) -> Receipt:
        key = self._keyring.receipt_key()
        signature = key.sign(RECEIPT_DOMAIN, canonical_bytes(receipt.body()))
        return Receipt(**receipt.body(), signature=signature)
