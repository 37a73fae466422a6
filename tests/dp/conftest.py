"""Canonical visit frames for the DP tests, built from plain rows."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import date, timedelta

import polars as pl
import pytest

from agent.visits import DISCIPLINES, VISIT_SCHEMA

Row = dict[str, object]


def household_key(n: int) -> bytes:
    return hashlib.sha256(f"household {n}".encode()).digest()


def visit(n: int, i: int, **overrides: object) -> Row:
    """Visit ``i`` of household ``n``, varied by a hash of both."""
    h = hashlib.sha256(f"{n}/{i}".encode()).digest()
    row: Row = {
        "period": "2026-Q3",
        "visit_date": date(2026, 7, 1) + timedelta(days=h[0] % 92),
        "household_key": household_key(n),
        "pc4": str(1000 + (n * 7919) % 9000),
        "order_id": f"{n}-{i}",
        "tickets": 1 + h[1] % 4,
        "price": 20.0,
        "event": f"event {h[2] % 7}",
        "discipline": DISCIPLINES[h[3] % len(DISCIPLINES)],
        "birth_year": 1940 + h[4] % 70 if h[5] % 3 else None,
        "source_digest": "test",
        "source_row": i,
    }
    row.update(overrides)
    return row


def frame(rows: Sequence[Row]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=VISIT_SCHEMA)


@pytest.fixture
def sector_visits() -> Callable[[int], pl.DataFrame]:
    """``households`` ordinary households with 1-4 visits each."""

    def make(households: int) -> pl.DataFrame:
        return frame([visit(n, i) for n in range(households) for i in range(1 + n % 4)])

    return make
