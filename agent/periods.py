"""Periods are quarters: the one rule from a visit's date to its period, and back.

A period's label is ``2026-Q3`` (:func:`protocol.messages.check_period`).
Where a period is handled per row (the ingest files every visit under the
period of its date) it is a *period code* instead: the number of quarters
since year 0, ``year * 4 + quarter - 1`` (2026-Q3 is 8106), an integer that
compares, hashes and groups at the cost of one column of ``Int32``. Every
conversion between dates, codes, labels and months is written here once, so
that the ingest that files a visit and the release that counts it cannot
disagree on which quarter a date falls in.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from dp import release_design
from protocol.messages import check_period

__all__ = ["first_day", "first_month", "label_of", "months_of", "period_code", "period_code_of"]


def period_code(dates: pl.Expr) -> pl.Expr:
    """The period code of each date (null for a null date), as ``Int32``."""
    return (dates.dt.year() * 4 + dates.dt.quarter() - 1).cast(pl.Int32)


def label_of(code: int) -> str:
    """``8106`` → ``2026-Q3``."""
    year, quarter = divmod(code, 4)
    return f"{year}-Q{quarter + 1}"


def period_code_of(period: str) -> int:
    """``2026-Q3`` → ``8106``; a label that is not a quarter is refused (``check_period``)."""
    year, quarter = check_period(period).split("-Q")
    return int(year) * 4 + int(quarter) - 1


def first_month(period: str) -> int:
    """The period's first month as a count of months since year 0 (to compare and subtract)."""
    return 3 * period_code_of(period)


# ``2026-Q3`` → (2026-07, 2026-08, 2026-09): the month labels are a key set of the
# release design, which the aggregator checks submitted labels against, so they
# are written there once (ADR 0021).
months_of = release_design.months_of


def first_day(period: str) -> date:
    """The period's first day: ``2026-Q3`` → 2026-07-01."""
    start = first_month(period)
    return date(start // 12, start % 12 + 1, 1)
