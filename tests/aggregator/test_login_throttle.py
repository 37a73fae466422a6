"""Password guessing is throttled per account and per client address, in the database.

In-process against a real database (SQLite, and PostgreSQL in the slow runs)
with a settable clock; the live-server behaviour (bursts, two workers, a
user at another address) is in test_login_throttle_server.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from aggregator.auth import (
    TASKFORCE,
    Backoff,
    LoginThrottle,
    account_key,
    client_key,
    create_user,
    throttled_login,
)
from aggregator.settings import load_settings
from aggregator.storage import Database, LoginAttempt
from protocol.errors import TooManyRequests, Unauthenticated, UsageError

pytestmark = pytest.mark.slow  # argon2 hashes and back-off clocks, seconds per case

DAY = timedelta(days=1)
PASSWORD = "correct horse battery staple"
ATTACKER, USER = "198.51.100.7", "203.0.113.9"


class Clock:
    """The throttle's clock, moved by the test instead of by sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 14, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    database.create_schema()
    create_user(database, "tf", TASKFORCE, PASSWORD)
    yield database
    database.engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def throttle_for(db: Database, clock: Clock, *, free: int = 3) -> LoginThrottle:
    return LoginThrottle(
        db,
        account=Backoff(free=free, first=10.0, cap=40.0),
        client=Backoff(free=free, first=100.0, cap=400.0),
        clock=clock,
    )


def attempt(db: Database, throttle: LoginThrottle, password: str, client: str = ATTACKER) -> str:
    return throttled_login(db, throttle, "tf", password, client=client, valid_for=DAY)


def fail(db: Database, throttle: LoginThrottle, client: str = ATTACKER) -> None:
    with pytest.raises(Unauthenticated):
        attempt(db, throttle, "guess", client)


def refused(db: Database, throttle: LoginThrottle, client: str = ATTACKER) -> int:
    """The seconds a refused attempt is told to wait (the right password, even)."""
    with pytest.raises(TooManyRequests) as caught:
        attempt(db, throttle, PASSWORD, client)
    assert caught.value.retry_after is not None
    assert caught.value.headers() == {"Retry-After": str(caught.value.retry_after)}
    return caught.value.retry_after


def test_after_too_many_failures_even_the_right_password_waits(db: Database, clock: Clock) -> None:
    throttle = throttle_for(db, clock)
    for _ in range(3):
        fail(db, throttle)
    assert refused(db, throttle) == 100  # the address's block; the account's is 10 s
    assert refused(db, throttle, USER) == 10


def test_a_good_login_clears_the_accounts_earlier_failures(db: Database, clock: Clock) -> None:
    throttle = throttle_for(db, clock)
    for _ in range(2):
        fail(db, throttle, USER)
    assert attempt(db, throttle, PASSWORD, USER)
    fail(db, throttle, ATTACKER)
    fail(db, throttle, ATTACKER)
    assert attempt(db, throttle, PASSWORD, "192.0.2.1")  # the account had 2 failures, not 4


def test_a_good_login_does_not_clear_the_addresss_earlier_failures(
    db: Database, clock: Clock
) -> None:
    """Logging in to one's own account does not buy guesses at another."""
    create_user(db, "po", "privacy-officer", PASSWORD)
    throttle = throttle_for(db, clock)
    fail(db, throttle)
    fail(db, throttle)
    assert throttled_login(db, throttle, "po", PASSWORD, client=ATTACKER, valid_for=DAY)
    fail(db, throttle)
    assert refused(db, throttle) == 100


def test_an_accounts_block_doubles_with_each_further_failure_up_to_its_cap(
    db: Database, clock: Clock
) -> None:
    """Guesses from ever new addresses: the account is never blocked longer than 40 s."""
    throttle = throttle_for(db, clock)
    addresses = (f"192.0.2.{i}" for i in range(1, 100))
    for _ in range(3):
        fail(db, throttle, next(addresses))
    waits = []
    for _ in range(5):
        waits.append(refused(db, throttle, USER))
        clock.advance(waits[-1])
        fail(db, throttle, next(addresses))
    assert waits == [10, 20, 40, 40, 40]


def test_an_attacker_at_one_address_is_stopped_there_while_the_user_waits_at_most_the_cap(
    db: Database, clock: Clock
) -> None:
    throttle = throttle_for(db, clock)
    for _ in range(3):
        fail(db, throttle)
    clock.advance(10)
    assert refused(db, throttle) == 90  # the attacker: still blocked at its address
    assert attempt(db, throttle, PASSWORD, USER)  # the user: in once the account's 10 s passed


def test_failures_are_forgotten_after_a_quiet_period_and_their_rows_deleted(
    db: Database, clock: Clock
) -> None:
    throttle = throttle_for(db, clock)
    for _ in range(2):
        fail(db, throttle)
    clock.advance(401)  # past the longest cap: the address's row expires too
    for _ in range(2):
        fail(db, throttle, USER)  # 2, not 4: the account forgot the first two
    assert attempt(db, throttle, PASSWORD, USER)
    with db.session() as s:
        keys = set(s.scalars(select(LoginAttempt.key)))
    assert keys == {client_key(USER)}  # the attacker's row was deleted, the account's cleared


def test_a_parallel_burst_evaluates_at_most_the_limit_of_passwords(
    db: Database, clock: Clock
) -> None:
    throttle = throttle_for(db, clock, free=5)

    def one(_: int) -> str:
        try:
            attempt(db, throttle, "guess")
        except Unauthenticated:
            return "checked"
        except TooManyRequests:
            return "refused"
        return "token"

    with ThreadPoolExecutor(max_workers=30) as pool:
        outcomes = list(pool.map(one, range(30)))
    assert outcomes.count("checked") == 5
    assert outcomes.count("refused") == 25


def test_the_table_holds_no_password_and_no_submitted_name_in_clear(
    db: Database, clock: Clock
) -> None:
    throttle = throttle_for(db, clock)
    typed = "my-Secret-passw0rd"  # typed into the username field, as people do
    with pytest.raises(Unauthenticated):
        throttled_login(db, throttle, typed, "hunter2hunter2", client=ATTACKER, valid_for=DAY)
    with db.session() as s:
        rows = s.scalars(select(LoginAttempt)).all()
        stored = " ".join(f"{r.key} {r.failures} {r.blocked_until} {r.expires_at}" for r in rows)
    assert {r.key for r in rows} == {account_key(typed), client_key(ATTACKER)}
    assert typed not in stored and "hunter2" not in stored


@pytest.mark.parametrize(
    ("peer", "key"),
    [
        ("203.0.113.9", "client:203.0.113.9"),
        ("2001:db8:1:2:aaaa::1", "client:2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::2", "client:2001:db8:1:2::/64"),
        ("::ffff:203.0.113.9", "client:203.0.113.9"),
        (None, "client:unknown"),
    ],
)
def test_a_client_is_its_socket_peer_and_an_ipv6_client_its_64(peer: str | None, key: str) -> None:
    assert client_key(peer) == key


@pytest.mark.parametrize(
    "line",
    [
        "login_failures = 0",
        "login_backoff_seconds = 0",
        "login_client_backoff_seconds = 7200.0",  # above its cap of 3600
    ],
)
def test_a_throttle_that_would_not_throttle_is_refused_in_the_config(
    tmp_path: Path, line: str
) -> None:
    (tmp_path / "aggregator.toml").write_text(f"[aggregator]\n{line}\n")
    with pytest.raises(UsageError, match="login_"):
        load_settings(tmp_path)
