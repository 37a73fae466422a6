"""What the overlap estimators read from the aggregator's store: each
institution's household sketch of a period, in parts by main discipline
(ADR 0034, 0036).

One sketch per institution: that of its *current* submission, the latest
(by log index) that the taskforce did not set aside, as the benchmarks take
an institution's latest tables (``aggregator.benchmarks.load_inputs``). A
stored sketch that no longer parses under the period's config (stored by
another release, or a row changed by hand) is not read, and the institution's
earlier submission counts instead, as for screened tables (ADR 0020). A
period whose config fixes no sketch has none to read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from aggregator.periods import period_sketch_of
from aggregator.storage import Database, LogEntry, Period, Submission
from dp.sketches import NoisySketch, received_parts
from protocol.errors import PubliekError, UnknownPeriod
from protocol.messages import ReleasedSketch, check_period
from protocol.translog import SET_ASIDE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SubmittedSketch:
    """One institution's released sketch of the period, by discipline, and
    whether it consented to named pairwise overlaps (``named_overlaps``)."""

    institution_id: str
    named_overlaps: bool
    parts: dict[str, NoisySketch] = field(repr=False)


def period_sketches(source: Session | Database, period: str) -> list[SubmittedSketch]:
    """The period's sketches, one per institution with a current submission,
    sorted by institution id. ``UnknownPeriod`` for a period that does not exist."""
    check_period(period)
    if isinstance(source, Database):
        with source.session() as session:
            return _sketches(session, period)
    return _sketches(source, period)


def _sketches(session: Session, period: str) -> list[SubmittedSketch]:
    row = session.get(Period, period)
    if row is None:
        raise UnknownPeriod(f"period {period} does not exist")
    spec = period_sketch_of(row)
    if spec is None:
        return []
    set_aside = select(LogEntry.submission_id).where(
        LogEntry.kind == SET_ASIDE, LogEntry.period == period
    )
    rows = session.execute(
        select(Submission.institution_id, Submission.submission_id, Submission.payload)
        .where(Submission.period == period, Submission.submission_id.not_in(set_aside))
        .order_by(Submission.log_index.desc())
    ).all()
    found: dict[str, SubmittedSketch] = {}
    for institution_id, submission_id, payload in rows:
        if institution_id in found:
            continue  # a later submission of this institution counts already
        try:
            stored = payload.get("sketch") if isinstance(payload, dict) else None
            if stored is None:
                raise ValueError("it carries no sketch")
            parts = received_parts(period, spec, ReleasedSketch.from_dict(stored))
        except (PubliekError, ValueError) as exc:
            log.warning(
                "sketch of submission %s of %s not read: %s", submission_id, institution_id, exc
            )
            continue
        found[institution_id] = SubmittedSketch(
            institution_id=institution_id,
            named_overlaps=payload.get("named_overlaps") is True,
            parts=parts,
        )
    return [found[i] for i in sorted(found)]
