"""Periods: the unit of reporting and of privacy budget (open → closed → published)."""

from __future__ import annotations

from aggregator.storage import Database, Period
from protocol.errors import UsageError
from protocol.messages import check_period

OPEN = "open"
STATES = ("open", "closed", "published")


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
