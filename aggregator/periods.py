"""Periods: the unit of reporting and of privacy budget (open → closed → published).

* open: submissions are accepted.
* closed: the deadline has passed; benchmarks are computed from what is
  stored, in the same transaction that closes the period and under the
  intake write lock, so no submission can slip in between. Late submissions
  are refused (``period-not-open``).
* published: the stored benchmarks become readable by everyone; nothing
  about the period changes any more. A period whose sector has fewer than
  ``k`` institutions (so every group has fewer) is never published.

A late institution can only be admitted by reopening a closed, unpublished
period: reopening discards the computed benchmarks, and the next close
recomputes them from everything stored (ADR 0007).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from aggregator import benchmarks
from aggregator.peergroups import SECTOR
from aggregator.storage import BenchmarkGroup, Database, Period
from protocol.errors import PeriodNotOpen, UnknownPeriod, UsageError
from protocol.messages import check_period

OPEN = "open"
CLOSED = "closed"
PUBLISHED = "published"
STATES = (OPEN, CLOSED, PUBLISHED)


def open_period(db: Database, label: str, *, rho_budget: float) -> Period:
    """Create the period if needed; an existing open period is left as it is."""
    check_period(label)
    with db.session() as s:
        period = s.get(Period, label)
        if period is None:
            period = Period(label=label, state=OPEN, rho_budget=rho_budget)
            s.add(period)
        elif period.state != OPEN:
            raise UsageError(f"period {label} is {period.state} and cannot be reopened")
        s.flush()
        s.expunge(period)
        return period


def _existing(session: Session, label: str) -> Period:
    period = session.get(Period, label)
    if period is None:
        raise UnknownPeriod(f"period {label} does not exist")
    return period


def get_period(db: Database, label: str) -> Period:
    check_period(label)
    with db.session() as s:
        period = _existing(s, label)
        s.expunge(period)
        return period


def list_periods(db: Database) -> list[Period]:
    from sqlalchemy import select

    with db.session() as s:
        rows = list(s.scalars(select(Period).order_by(Period.label)))
        for r in rows:
            s.expunge(r)
        return rows


def close_period(db: Database, label: str, *, k: int) -> benchmarks.PeriodBenchmarks:
    """Stop intake for the period and store its benchmarks, atomically."""
    check_period(label)
    with db.write_session() as s:
        period = _existing(s, label)
        if period.state != OPEN:
            raise PeriodNotOpen(f"period {label} is already {period.state}")
        result = benchmarks.compute(s, label, k=k)
        benchmarks.store(s, result)
        period.state = CLOSED
        period.closed_at = datetime.now(UTC)
        period.inputs_digest = result.inputs_digest
        period.benchmark_k = k
        return result


def publish_period(db: Database, label: str) -> None:
    check_period(label)
    with db.write_session() as s:
        period = _existing(s, label)
        if period.state != CLOSED:
            raise UsageError(
                f"period {label} is {period.state}; only a closed period can be published",
                hint=f"close it first: publiek aggregator period close {label}",
            )
        k = period.benchmark_k or 0
        sector = s.get(BenchmarkGroup, (label, SECTOR))
        count = len(sector.members) if sector is not None else 0
        if count < k:
            raise UsageError(
                f"period {label} has submissions from {count} institutions, fewer than "
                f"k = {k}: publishing it could single out an institution",
                hint=f"reopen it (publiek aggregator period reopen {label}) and close it "
                f"again once at least {k} institutions have submitted",
            )
        period.state = PUBLISHED
        period.published_at = datetime.now(UTC)


def reopen_period(db: Database, label: str) -> None:
    """Admit late submissions: closed (not published) → open, benchmarks discarded."""
    check_period(label)
    with db.write_session() as s:
        period = _existing(s, label)
        if period.state != CLOSED:
            raise UsageError(f"period {label} is {period.state}; only a closed one can reopen")
        s.query(BenchmarkGroup).filter(BenchmarkGroup.period == label).delete()
        period.state = OPEN
        period.closed_at = None
        period.inputs_digest = None
        period.benchmark_k = None
