"""Intake: from envelope bytes to a stored submission and a signed receipt.

Order of checks (docs/architecture.md "Data flow", docs/protocol.md §5.4):
size → parse → stored already (byte-identical) → key id known and active →
decrypt in the stated context → signature by an enrolled, non-revoked
institution → schema → declaration (the release design's tables, each with
the sensitivity the aggregator derives from its name and the declared bounds,
and ρ recomputed by OpenDP from that sensitivity) → replay →
period open → budget → store + log in one transaction → receipt. The replay
check runs before the period and budget checks so that a retry of an
accepted submission gets its receipt back even though its budget is already
spent. An envelope byte-identical to a stored one (same submission id, same
digest) gets its stored receipt before the key and signer checks: it was
verified when it was stored, and a retry must not be stranded because the
key it was sealed to has been retired or its institution revoked since.
Every failure is decided before anything is written; the HTTP API and
``aggregator import`` share this one path.

Intake works on batches (group commit, ADR 0010): the envelopes that arrived
together are verified one by one, then every valid one is stored in ONE write
transaction, chained into the log in arrival order. A failure of one envelope
(bad signature, budget spent) is that envelope's answer only; a failure of
the transaction (disk full, database gone) is every envelope's answer, and
none of them is stored. ``accept`` is a batch of one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from aggregator import translog
from aggregator.keyring import Keyring
from aggregator.periods import OPEN
from aggregator.storage import Database, Institution, Period, Submission
from dp.measurements import declared_rho_matches, noise_std
from dp.release_design import (
    DESIGN,
    DISCIPLINES,
    check_bounds,
    check_cells,
    design_of,
    rho_share,
    sensitivity,
    table_names,
)
from dp.sketches import sketch_rho
from protocol.encoding import canonical_bytes
from protocol.envelope import (
    MAX_ENVELOPE_BYTES,
    OpenedSubmission,
    envelope_digest,
    open_envelope,
    parse_envelope,
)
from protocol.errors import (
    InstitutionRevoked,
    InsufficientPrivacyBudget,
    InvalidPayload,
    PayloadTooLarge,
    PeriodNotOpen,
    PubliekError,
    RefusedDeclaration,
    SegmentModelMismatch,
    ServiceUnavailable,
    SketchMismatch,
    SubmissionConflict,
    UnknownInstitution,
    UnknownPeriod,
    UsageError,
)
from protocol.keys import VerifyKey
from protocol.messages import (
    Envelope,
    EnvelopeHeader,
    PeriodSketch,
    Receipt,
    ReleasedSketch,
    ReleasedTable,
    SubmissionPayload,
)
from protocol.translog import RECEIPT_DOMAIN

# A receipt, or the error that is this envelope's answer (a PubliekError, or an
# unexpected exception confined to the envelope that caused it).
Outcome = Receipt | Exception


def read_limited_file(path: Path, limit: int) -> bytes:
    """The bytes of ``path``, refused once there are more than ``limit``.

    Reads ``limit + 1`` bytes and no more, whatever ``path`` is: a file's size
    says nothing for a device or a pipe (``/dev/zero`` and a FIFO stat as 0
    bytes and never end), so it is not asked."""
    try:
        with path.open("rb") as source:
            data = source.read(limit + 1)
    except FileNotFoundError as exc:
        raise UsageError(f"{path} does not exist") from exc
    except OSError as exc:  # a folder, no permission, an I/O error
        raise UsageError(f"{path} cannot be read ({exc.strerror or type(exc).__name__})") from exc
    if len(data) > limit:
        raise PayloadTooLarge(
            f"{path} is larger than the limit of {limit} bytes",
            hint="this is not an envelope written by `publiek agent export`",
        )
    return data


@dataclass(frozen=True)
class IntakePolicy:
    """What intake enforces beyond cryptography; one object, not a pile of flags."""

    budget_tolerance: float = 1e-9
    store_attempts: int = 5


@dataclass(frozen=True)
class Verified:
    """An envelope that passed every check that needs no write lock."""

    opened: OpenedSubmission
    envelope: bytes  # its exact (canonical) bytes, stored as received
    rho: float  # recomputed by OpenDP


@dataclass(frozen=True)
class _Terms:
    """What the period's signed config fixed when it was opened (None for a
    period opened before period configs existed: only its budget is checked)."""

    state: str
    budget: float
    design: str | None
    mechanism: str | None
    bounds: dict[str, int] | None
    segment_model: str | None
    sketch: dict[str, object] | None = None

    def check(self, label: str, payload: SubmissionPayload) -> None:
        """The submission follows the period's config, not just this code's design:
        the same design, mechanism and bounds the agents were told."""
        hint = "release with the period's signed config (publiek agent submit fetches it)"
        if self.design is not None and self.design != DESIGN:
            raise RefusedDeclaration(
                f"period {label} was opened for release design {self.design}; "
                f"this aggregator takes {DESIGN}",
                hint="the taskforce must close this period with the aggregator version it opened",
            )
        if self.mechanism is not None and any(
            t.mechanism != self.mechanism for t in payload.tables
        ):
            raise RefusedDeclaration(
                f"period {label} releases with {self.mechanism}; a table uses another mechanism",
                hint=hint,
            )
        if self.bounds is not None and dict(payload.bounds) != dict(self.bounds):
            raise RefusedDeclaration(
                f"period {label} fixes the bounds {self.bounds}; the submission declares "
                f"{dict(payload.bounds)}",
                hint=hint,
            )
        # Segment cells of two models count different things under the same
        # labels; the benchmarks could only sum them wrongly (ADR 0030).
        if self.segment_model is not None and payload.segment_model != self.segment_model:
            raise SegmentModelMismatch(
                f"period {label} releases with segment model {self.segment_model}; the "
                f"submission was made with {payload.segment_model}",
                hint=f"install the period's model (publiek agent segment-model fetch --version "
                f"{self.segment_model}) and release again; nothing was stored",
            )
        self._check_sketch(label, payload)

    def _check_sketch(self, label: str, payload: SubmissionPayload) -> None:
        """The sketch is the period's (ADR 0036): present exactly when the config
        fixes one, of its design, width and mechanism, with its share of ρ.
        Sketches of two widths (or seeds) hash households to unrelated buckets
        and could never be combined."""
        hint = "release with the period's signed config (publiek agent submit fetches it)"
        spec = None if self.sketch is None else PeriodSketch.from_dict(self.sketch)
        sketch = payload.sketch
        if spec is None or sketch is None:
            if sketch is not None:
                raise SketchMismatch(
                    f"period {label} fixes no household sketch; the submission carries one",
                    hint=hint,
                )
            if spec is not None:
                raise SketchMismatch(
                    f"period {label} fixes a household sketch; the submission carries none",
                    hint=hint,
                )
            return
        if (sketch.design, sketch.width) != (spec.design, spec.width):
            raise SketchMismatch(
                f"period {label} fixes sketch {spec.design} of width {spec.width}; the "
                f"submission's is {sketch.design} of width {sketch.width}",
                hint=hint,
            )
        if self.mechanism is not None and sketch.mechanism != self.mechanism:
            raise SketchMismatch(
                f"period {label} releases with {self.mechanism}; the sketch uses another mechanism",
                hint=hint,
            )
        expected = spec.weight * payload.privacy.rho
        if abs(sketch.rho - expected) > RHO_SPLIT_TOLERANCE * expected:
            raise SketchMismatch(
                f"the sketch spends {sketch.rho / payload.privacy.rho:.2%} of the submission's "
                f"ρ, not the {spec.weight:.2%} period {label} fixes",
                hint=hint,
            )


@dataclass(frozen=True)
class _Signer:
    key: str | None
    key_id: str | None
    revoked: bool


class Intake:
    def __init__(self, db: Database, keyring: Keyring, policy: IntakePolicy | None = None) -> None:
        self._db = db
        self._keyring = keyring
        self._policy = policy or IntakePolicy()

    def accept(self, data: bytes) -> Receipt:
        """Verify and store one envelope; return its (possibly earlier) receipt."""
        (outcome,) = self.accept_batch([data])
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def accept_batch(self, envelopes: Sequence[bytes]) -> list[Outcome]:
        """Verify every envelope, store the valid ones in one transaction, and
        return each envelope's receipt or error, in order.

        Raises only for what concerns the whole batch and is not a Publiek
        error (e.g. the database lost while reading keys)."""
        checked = self.verify_batch(envelopes)
        verified = [c for c in checked if isinstance(c, Verified)]
        stored = iter(self.store_batch(verified) if verified else [])
        return [next(stored) if isinstance(c, Verified) else c for c in checked]

    def accept_file(self, path: Path) -> Receipt:
        """The offline path (``aggregator import``): at most the size limit is read,
        then the bytes go through :meth:`accept` like HTTP."""
        return self.accept(read_limited_file(path, MAX_ENVELOPE_BYTES))

    # -- verification: no write lock -------------------------------------------

    def verify_batch(self, envelopes: Sequence[bytes]) -> list[Outcome | Verified]:
        """Each envelope verified on its own: whatever one envelope raises is its own
        answer and never reaches the others of its batch. An envelope already
        stored byte for byte is answered with its stored receipt here."""
        parsed: list[Envelope | Exception] = []
        for data in envelopes:
            try:
                parsed.append(parse_envelope(data))
            except Exception as exc:  # noqa: BLE001 - confined to this envelope (see docstring)
                parsed.append(exc)
        headers = [p.header for p in parsed if isinstance(p, Envelope)]
        replays = self._stored_receipts({h.submission_id for h in headers})
        # One read of the keys for the whole batch, not two per envelope.
        key_states = self._keyring.states(h.kem_key_id for h in headers)
        signers = self._signers({h.institution_id for h in headers})
        results: list[Outcome | Verified] = []
        for data, envelope in zip(envelopes, parsed, strict=True):
            if isinstance(envelope, Exception):
                results.append(envelope)
                continue
            replay = replays.get(envelope.header.submission_id)
            if replay is not None and replay[0] == envelope_digest(data):
                results.append(replay[1])
                continue
            try:
                opened = open_envelope(
                    envelope,
                    data,
                    decryption_key=lambda h: self._keyring.private_for_intake(
                        h.kem_key_id, key_states.get(h.kem_key_id)
                    ),
                    signer_key=lambda h: self._signer(h, signers.get(h.institution_id)),
                )
                # Part of validating the payload: once, before the write lock, not per retry.
                results.append(Verified(opened, data, self._checked_rho(opened)))
            except Exception as exc:  # noqa: BLE001 - confined to this envelope (see docstring)
                results.append(exc)
        return results

    def _stored_receipts(self, submission_ids: set[str]) -> dict[str, tuple[str, Receipt]]:
        """Digest and receipt of the stored submissions among ``submission_ids``."""
        if not submission_ids:
            return {}
        with self._db.session() as s:
            rows = s.execute(
                select(Submission.submission_id, Submission.digest, Submission.receipt).where(
                    Submission.submission_id.in_(submission_ids)
                )
            )
            return {sid: (digest, Receipt.from_dict(receipt)) for sid, digest, receipt in rows}

    def _signers(self, institution_ids: set[str]) -> dict[str, _Signer]:
        if not institution_ids:
            return {}
        with self._db.session() as s:
            rows = s.execute(
                select(
                    Institution.institution_id,
                    Institution.signing_key,
                    Institution.signing_key_id,
                    Institution.revoked_at,
                ).where(Institution.institution_id.in_(institution_ids))
            )
            return {r[0]: _Signer(r[1], r[2], r[3] is not None) for r in rows}

    @staticmethod
    def _signer(header: EnvelopeHeader, signer: _Signer | None) -> VerifyKey:
        if signer is None or signer.key is None or signer.key_id != header.signer_key_id:
            raise UnknownInstitution(
                "the envelope is not signed by an enrolled institution key",
                hint="enroll the agent (publiek agent enroll) before submitting",
            )
        if signer.revoked:
            raise InstitutionRevoked(
                f"institution {header.institution_id} was revoked",
                hint="contact the taskforce to enroll again",
            )
        return VerifyKey.from_text(signer.key)

    @staticmethod
    def _checked_rho(opened: OpenedSubmission) -> float:
        """The spend recomputed by OpenDP from each table's mechanism and scale and
        the sensitivity the aggregator derives itself; a declaration that
        disagrees is refused, never trusted.

        The sensitivity comes from the table's name and the submission's
        declared bounds (:func:`dp.release_design.sensitivity`, the code the
        agent uses), so a table cannot buy a small ρ by declaring a small
        sensitivity: any other declared sensitivity, a table outside the
        design or a set of tables other than the design's is
        ``refused-declaration``. So are bounds other than the design's; labels
        outside their key sets and values outside their table's range are
        ``invalid-payload`` (:func:`_check_cells`)."""
        payload = opened.payload
        try:
            check_bounds(payload.bounds)
        except ValueError as exc:
            raise RefusedDeclaration(
                str(exc), hint="release with the bounds of the period's signed config"
            ) from exc
        derived = [_derived_sensitivity(t, payload.bounds) for t in payload.tables]
        names = sorted(t.name for t in payload.tables)
        if names != sorted(table_names()):
            raise RefusedDeclaration(
                f"the submission carries {len(names)} tables, not the {len(table_names())} "
                f"tables of the release design {DESIGN}",
                hint="release the tables with an agent of the current release design",
            )
        _check_cells(payload)
        try:
            total = declared_rho_matches(
                [
                    (s, t.mechanism, t.scale, t.rho)
                    for s, t in zip(derived, payload.tables, strict=True)
                ]
            )
        except ValueError as exc:
            raise InvalidPayload(
                f"a table's declared privacy cost is wrong: {exc}",
                hint="release the tables with the agent, which declares OpenDP's figures",
            ) from exc
        combined = total + (0.0 if payload.sketch is None else _sketch_rho(payload.sketch))
        if not math.isclose(combined, payload.privacy.rho, rel_tol=1e-9):
            what = "tables' sum" if payload.sketch is None else "sum of the tables and the sketch"
            raise InvalidPayload(
                f"the declared total ρ {payload.privacy.rho:g} is not the {what} {combined:g}",
                hint="release the tables with the agent, which declares OpenDP's figures",
            )
        _check_split(payload.tables, total)
        return combined

    # -- storing: one write transaction per batch ------------------------------

    def store_batch(self, batch: list[Verified]) -> list[Outcome]:
        """Store verified submissions in one write transaction (retried whole on a
        concurrent writer's conflict); each gets its receipt or its own error."""
        last_error: IntegrityError | None = None
        for _ in range(self._policy.store_attempts):
            try:
                with self._db.write_session() as s:
                    return self._store(s, batch)
            except IntegrityError as exc:  # a concurrent writer took an id or log index
                last_error = exc
            except OperationalError:  # disk full, database gone: nothing was committed
                return [
                    ServiceUnavailable(
                        "the database cannot take the submission right now; nothing was stored",
                        hint="retry the same envelope later",
                    )
                    for _ in batch
                ]
        conflicts: list[Outcome] = []
        for _ in batch:
            conflict = SubmissionConflict(
                "the submission could not be stored after concurrent attempts",
                hint="retry the same envelope",
            )
            conflict.__cause__ = last_error
            conflicts.append(conflict)
        return conflicts

    def _store(self, s: Session, batch: list[Verified]) -> list[Outcome]:
        """Decide and stage every submission of the batch inside ``s``.

        Everything the decisions need is read in four queries; decisions made
        earlier in the batch count for later ones (the same id twice, two
        submissions spending one institution's budget)."""
        payloads = [v.opened.payload for v in batch]
        ids = {p.submission_id for p in payloads}
        labels = {p.period for p in payloads}
        institutions = {p.institution_id for p in payloads}
        earlier: dict[str, tuple[str, Receipt]] = {
            sid: (digest, Receipt.from_dict(receipt))
            for sid, digest, receipt in s.execute(
                select(Submission.submission_id, Submission.digest, Submission.receipt).where(
                    Submission.submission_id.in_(ids)
                )
            )
        }
        periods = {
            row.label: _Terms(
                row.state,
                row.rho_budget,
                row.design,
                row.mechanism,
                row.bounds,
                row.segment_model,
                row.sketch,
            )
            for row in s.execute(
                select(
                    Period.label,
                    Period.state,
                    Period.rho_budget,
                    Period.design,
                    Period.mechanism,
                    Period.bounds,
                    Period.segment_model,
                    Period.sketch,
                ).where(Period.label.in_(labels))
            )
        }
        spent: dict[tuple[str, str], float] = {
            (iid, label): float(total or 0.0)
            for iid, label, total in s.execute(
                select(Submission.institution_id, Submission.period, func.sum(Submission.rho))
                .where(Submission.institution_id.in_(institutions), Submission.period.in_(labels))
                .group_by(Submission.institution_id, Submission.period)
            )
        }
        tail = translog.Tail(s)
        now = datetime.now(UTC).replace(microsecond=0)
        rows: list[dict[str, object]] = []
        outcomes: list[Outcome] = []
        for item in batch:
            payload, digest = item.opened.payload, item.opened.digest
            try:
                if payload.submission_id in earlier:
                    earlier_digest, receipt = earlier[payload.submission_id]
                    if earlier_digest != digest:
                        raise SubmissionConflict(
                            f"submission id {payload.submission_id} was already used for "
                            "other bytes",
                            hint="a new release needs a new submission id",
                        )
                    outcomes.append(receipt)
                    continue
                self._check_budget(payload.period, payload.institution_id, item, periods, spent)
            except PubliekError as exc:
                outcomes.append(exc)
                continue
            index = tail.append(
                submission_id=payload.submission_id,
                institution_id=payload.institution_id,
                period=payload.period,
                digest=digest,
                at=now.isoformat(),
            )
            receipt = self._sign_receipt(
                Receipt(
                    submission_id=payload.submission_id,
                    institution_id=payload.institution_id,
                    period=payload.period,
                    digest=digest,
                    log_index=index,
                    received_at=now.isoformat(),
                    aggregator_key_id=self._receipt_key_id,
                )
            )
            key = (payload.institution_id, payload.period)
            spent[key] = spent.get(key, 0.0) + payload.privacy.rho
            earlier[payload.submission_id] = (digest, receipt)
            rows.append(
                {
                    "submission_id": payload.submission_id,
                    "institution_id": payload.institution_id,
                    "period": payload.period,
                    "digest": digest,
                    "envelope": item.envelope,
                    "payload": payload.to_dict(),
                    "rho": payload.privacy.rho,
                    "received_at": now,
                    "log_index": index,
                    "receipt": receipt.to_dict(),
                }
            )
            outcomes.append(receipt)
        tail.write(s)
        if rows:
            s.execute(insert(Submission), rows)
        return outcomes

    def _check_budget(
        self,
        label: str,
        institution_id: str,
        item: Verified,
        periods: dict[str, _Terms],
        spent: dict[tuple[str, str], float],
    ) -> None:
        if label not in periods:
            raise UnknownPeriod(f"period {label} does not exist")
        terms = periods[label]
        state, budget = terms.state, terms.budget
        if state != OPEN:
            raise PeriodNotOpen(f"period {label} is {state}")
        terms.check(label, item.opened.payload)
        used = spent.get((institution_id, label), 0.0)
        left = budget - used
        if item.rho > left + self._policy.budget_tolerance:
            raise InsufficientPrivacyBudget(
                f"period {label}: ρ {used:g} of {budget:g} already spent, {left:g} left; "
                f"this submission declares {item.opened.payload.privacy.rho:g}",
                hint="resend the earlier release instead of drawing a new one",
            )

    @cached_property
    def _receipt_key_id(self) -> str:
        return self._keyring.receipt_key().public.key_id

    def _sign_receipt(self, receipt: Receipt) -> Receipt:
        key = self._keyring.receipt_key()
        signature = key.sign(RECEIPT_DOMAIN, canonical_bytes(receipt.body()))
        return Receipt(**receipt.body(), signature=signature)


def _derived_sensitivity(table: ReleasedTable, bounds: Mapping[str, int]) -> float:
    """The sensitivity of ``table`` as the aggregator derives it; the declared
    figure, the table's name, measure and dimensions must agree with it."""
    hint = "release the tables with an agent of the current release design"
    try:
        design = design_of(table.name)
        derived = sensitivity(table.name, bounds, table.mechanism)
    except ValueError as exc:
        raise RefusedDeclaration(str(exc), hint=hint) from exc
    if (table.measure, table.dimensions) != (design.measure, design.dimensions):
        raise RefusedDeclaration(
            f"table {table.name} must count {design.measure} by {' × '.join(design.dimensions)}",
            hint=hint,
        )
    if not math.isclose(table.sensitivity, derived, rel_tol=1e-12):
        raise RefusedDeclaration(
            f"table {table.name} declares sensitivity {table.sensitivity:g}; its name and the "
            f"declared bounds give {derived:g}",
            hint=hint,
        )
    return derived


RHO_SPLIT_TOLERANCE = 0.01
"""How far a table's part of the submission's ρ may stray from the design's
weight, relatively. The agent splits ρ by the weights and OpenDP turns each
part into a noise scale; the ρ recomputed from that scale lands within a
fraction of a per cent of the part (the scale is a float found by search)."""


def _check_split(tables: Sequence[ReleasedTable], total: float) -> None:
    """Each table carries the design's share of ρ: a submission that pours its
    budget into one table leaves the others' noise orders of magnitude larger,
    which the benchmarks' combination of a group's tables cannot weigh (the
    screening of stored rows would leave it out; intake refuses it first)."""
    for table in tables:
        expected = rho_share(table.name, total)
        if abs(table.rho - expected) > RHO_SPLIT_TOLERANCE * expected:
            raise RefusedDeclaration(
                f"table {table.name} spends {table.rho / total:.2%} of the submission's ρ, "
                f"not the {design_of(table.name).weight:.2%} of the release design {DESIGN}",
                hint="release the tables with an agent of the current release design",
            )


def _sketch_rho(sketch: ReleasedSketch) -> float:
    """The sketch's ρ recomputed by OpenDP from its scales (never the declared
    figure), once its parts are the release design's disciplines: each
    discipline once (the protocol refuses a duplicate), none outside the key
    set, and none missing, since which parts exist must say nothing about the
    institution's households."""
    parts = {part.discipline for part in sketch.parts}
    if not parts <= set(DISCIPLINES):
        raise InvalidPayload(
            "a sketch part names a discipline outside the release design's key set",
            hint="release the sketch with the agent, over the public key set",
        )
    if parts != set(DISCIPLINES):
        raise RefusedDeclaration(
            f"the sketch has {len(parts)} parts, not one for each of the {len(DISCIPLINES)} "
            f"disciplines of the release design {DESIGN}",
            hint="release the sketch with an agent of the current release design",
        )
    try:
        actual = sketch_rho(sketch.scale, sketch.count_scale, sketch.mechanism)
    except ValueError as exc:
        raise InvalidPayload(
            f"the sketch's declared privacy cost is wrong: {exc}",
            hint="release the sketch with the agent, which declares OpenDP's figures",
        ) from exc
    if not math.isclose(actual, sketch.rho, rel_tol=1e-9, abs_tol=1e-15):
        raise InvalidPayload(
            f"the sketch declares ρ {sketch.rho:g} but OpenDP gives {actual:g} for its scales",
            hint="release the sketch with the agent, which declares OpenDP's figures",
        )
    return actual


def _check_cells(payload: SubmissionPayload) -> None:
    """Every label is in its dimension's key set and every value within its
    table's range (:func:`dp.release_design.check_cells`): no cell carries
    text the design does not name, and none a number the benchmarks cannot
    take (a count beyond any institution's size plus 40 noise standard deviations,
    within the bound the stored submissions are screened with, ADR 0021)."""
    for table in payload.tables:
        try:
            check_cells(
                table.name,
                table.keys,
                table.values,
                noise_std=noise_std(table.mechanism, table.scale),
                bounds=payload.bounds,
                segment_model=payload.segment_model,
                period=payload.period,
            )
        except ValueError as exc:
            raise InvalidPayload(
                str(exc), hint="release the tables with the agent, over the public key sets"
            ) from exc
