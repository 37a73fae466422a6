"""Password guessing is slowed per account; a good login clears the count."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from aggregator.auth import TASKFORCE, LoginThrottle, create_user, throttled_login
from aggregator.storage import Database
from protocol.errors import TooManyRequests, Unauthenticated

DAY = timedelta(days=1)
PASSWORD = "correct horse battery staple"


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'a.db'}")
    database.create_schema()
    create_user(database, "tf", TASKFORCE, PASSWORD)
    return database


def test_after_too_many_failures_even_the_right_password_waits(db: Database) -> None:
    throttle = LoginThrottle(max_failures=2)
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            throttled_login(db, throttle, "tf", "guess", valid_for=DAY)
    with pytest.raises(TooManyRequests):
        throttled_login(db, throttle, "tf", PASSWORD, valid_for=DAY)


def test_a_good_login_clears_earlier_failures(db: Database) -> None:
    throttle = LoginThrottle(max_failures=2)
    with pytest.raises(Unauthenticated):
        throttled_login(db, throttle, "tf", "guess", valid_for=DAY)
    assert throttled_login(db, throttle, "tf", PASSWORD, valid_for=DAY)
    with pytest.raises(Unauthenticated):
        throttled_login(db, throttle, "tf", "guess", valid_for=DAY)
    assert throttled_login(db, throttle, "tf", PASSWORD, valid_for=DAY)
