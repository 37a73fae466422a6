"""Setting a stored submission aside, and what everyone sees of it (ADR 0020).

A submission that is stored but should not count (a value that cannot be
right, an institution's agent that misbehaved) is *set aside* by the
taskforce, with a reason, in one write transaction that:

* appends a ``set-aside`` entry to the transparency log, chained like any
  other and committing to the reason (``protocol.translog``), so the privacy
  officer sees it in the log and ``publiek audit verify-log`` checks it;
* leaves the submission out of its period's benchmarks from then on; in a
  closed period the stored benchmarks are recomputed at once, with the
  period's k, so closing and publishing need nothing more.

What it does not do: delete the submission (the log and the receipt still
name it), or give back its ρ. The noise was drawn and the values reached the
aggregator, so the privacy cost was paid; the institution's standing keeps
counting it. A set-aside is final: there is no reinstating (the log is
append-only, and a published period could not take it back anyway). A
published period's benchmarks no longer change, so nothing in it can be set
aside.

The reason is free text typed by staff and shown to the institution, the
taskforce and the privacy officer: one line of at most ``MAX_REASON_CHARS``
characters, and never personal data (docs/operations.md).
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aggregator import benchmarks, translog
from aggregator.periods import CLOSED, PUBLISHED, period_k
from aggregator.storage import Database, LogEntry, Period, Submission
from aggregator.translog import SetAside, set_asides
from protocol.errors import InvalidPayload, NotFound, PeriodNotOpen, UnknownPeriod
from protocol.messages import HEX32_RE, check_period
from protocol.translog import SET_ASIDE

MAX_REASON_CHARS = 500
ACCEPTED, LEFT_OUT, SET_ASIDE_STATUS = "accepted", "left-out", "set-aside"


def check_reason(reason: str) -> str:
    """One line of 1 to ``MAX_REASON_CHARS`` characters, trimmed; no control or
    format characters (a reason is shown in terminals, pages and logs)."""
    text = reason.strip() if isinstance(reason, str) else ""
    if not text:
        raise InvalidPayload(
            "a set-aside needs a reason", hint="say why, in one line, without personal data"
        )
    if len(text) > MAX_REASON_CHARS:
        raise InvalidPayload(
            f"the reason is {len(text)} characters; at most {MAX_REASON_CHARS}",
            hint="say why in one short line; details belong in your own records",
        )
    if any(unicodedata.category(ch).startswith("C") for ch in text):
        raise InvalidPayload(
            "the reason must be one line of text without control characters",
            hint="remove line breaks and tabs",
        )
    return text


def check_submission_id(submission_id: str) -> str:
    if not isinstance(submission_id, str) or not HEX32_RE.fullmatch(submission_id):
        raise InvalidPayload("a submission id is 32 lower-case hex digits")
    return submission_id


def set_aside(db: Database, submission_id: str, reason: str) -> SetAside:
    """Set one stored submission aside (module docstring).

    Asking again with the same reason answers the same set-aside (a retry);
    with another reason it is refused, since the first one stands."""
    check_submission_id(submission_id)
    text = check_reason(reason)
    with db.write_session() as s:
        submission = s.get(Submission, submission_id)
        if submission is None:
            raise NotFound(
                f"no stored submission {submission_id}",
                hint="list a period's submissions: publiek aggregator submission list PERIOD",
            )
        earlier = s.scalar(
            select(LogEntry).where(
                LogEntry.kind == SET_ASIDE, LogEntry.submission_id == submission_id
            )
        )
        if earlier is not None:
            if earlier.reason == text:
                return SetAside.of(earlier)
            raise InvalidPayload(
                f"submission {submission_id} was already set aside at {earlier.appended_at}",
                hint="a set-aside is final and keeps its first reason",
            )
        period = s.get(Period, submission.period)
        if period is None:  # pragma: no cover - a foreign key guarantees it
            raise UnknownPeriod(f"period {submission.period} does not exist")
        if period.state == PUBLISHED:
            raise PeriodNotOpen(
                f"period {period.label} is published; its benchmarks no longer change, so "
                "nothing in it can be set aside"
            )
        at = datetime.now(UTC).replace(microsecond=0).isoformat()
        tail = translog.Tail(s)
        index = tail.append_set_aside(
            submission_id=submission_id,
            institution_id=submission.institution_id,
            period=submission.period,
            digest=submission.digest,
            at=at,
            reason=text,
        )
        tail.write(s)
        if period.state == CLOSED:
            k = period_k(period, period.benchmark_k or 0)
            result = benchmarks.compute(s, period.label, k=k)
            benchmarks.log_left_out(result)
            benchmarks.store(s, result)
            period.inputs_digest = result.inputs_digest
        return SetAside(
            submission_id, submission.institution_id, submission.period, text, at, index
        )


@dataclass(frozen=True)
class Status:
    """Whether a stored submission counts in its period's benchmarks, and why not."""

    status: str  # accepted | left-out | set-aside
    reason: str | None
    set_aside: SetAside | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "reason": self.reason,
            "set_aside_at": self.set_aside.set_aside_at if self.set_aside else None,
            "set_aside_log_index": self.set_aside.log_index if self.set_aside else None,
        }


def statuses(session: Session, rows: Iterable[Submission]) -> dict[str, Status]:
    """The status of each given submission, by id: set aside (recorded), left out
    (the benchmarks' checks, ``aggregator.screening``, as of now) or accepted."""
    by_period: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        by_period[row.period].append(row.submission_id)
    out: dict[str, Status] = {}
    for label, ids in by_period.items():
        recorded = set_asides(session, period=label)
        left_out = {
            x.submission_id: x.reason for x in benchmarks.load_inputs(session, label).left_out
        }
        for sid in ids:
            if sid in recorded:
                out[sid] = Status(SET_ASIDE_STATUS, recorded[sid].shown_reason, recorded[sid])
            elif sid in left_out:
                out[sid] = Status(LEFT_OUT, left_out[sid])
            else:
                out[sid] = Status(ACCEPTED, None)
    return out


def period_submissions(db: Database, period: str) -> tuple[str, list[dict[str, Any]]]:
    """The period's state and every stored submission of it with its status, in
    log order: what the taskforce and the privacy officer see (ids, institution,
    ρ and status; never a value)."""
    check_period(period)
    with db.session() as s:
        row = s.get(Period, period)
        if row is None:
            raise UnknownPeriod(f"period {period} does not exist")
        subs = list(
            s.scalars(
                select(Submission).where(Submission.period == period).order_by(Submission.log_index)
            )
        )
        status = statuses(s, subs)
        return row.state, [
            {
                "submission_id": r.submission_id,
                "institution_id": r.institution_id,
                "log_index": r.log_index,
                "received_at": r.receipt["received_at"],
                "rho": r.rho,
                **status[r.submission_id].to_dict(),
            }
            for r in subs
        ]
