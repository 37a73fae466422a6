"""Who is asking: institutions by signed requests, staff by API tokens.

Three roles (ADR 0007):

* ``institution`` — an enrolled agent, authenticated by a request signed
  with its enrolled Ed25519 key (``protocol.request_auth``); no passwords.
* ``taskforce`` — runs the sector: periods, benchmarks at every stage.
* ``privacy-officer`` — audits: transparency log, budgets, configuration;
  never any institution's values.

Staff accounts have argon2id password hashes; a password is exchanged once
for an API token (random, 32 bytes, sent as ``Authorization: Bearer``), of
which only the SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from aggregator.storage import ApiToken, Database, Institution, User
from protocol.errors import (
    Forbidden,
    InvalidSignature,
    TooManyRequests,
    Unauthenticated,
    UsageError,
)
from protocol.keys import VerifyKey

INSTITUTION = "institution"
TASKFORCE = "taskforce"
PRIVACY_OFFICER = "privacy-officer"
STAFF_ROLES = (TASKFORCE, PRIVACY_OFFICER)
USERNAME_RE = re.compile(r"^[a-z][a-z0-9._-]{1,62}$")
MIN_PASSWORD = 12
TOKEN_PREFIX = "pbk_"  # noqa: S105 - a prefix, not a secret

_hasher = PasswordHasher()


@dataclass(frozen=True)
class Principal:
    role: str
    name: str

    def require(self, *roles: str) -> Principal:
        if self.role not in roles:
            raise Forbidden(
                f"the role {self.role} may not do this",
                hint=f"this needs the role {' or '.join(roles)}",
            )
        return self


def token_digest(token: str) -> str:
    """Bearer and enrollment tokens are stored only as this SHA-256 digest."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(db: Database, username: str, role: str, password: str) -> None:
    if not USERNAME_RE.match(username):
        raise UsageError("a username is 2-63 characters: a-z, 0-9, '.', '_', '-'")
    if role not in STAFF_ROLES:
        raise UsageError(f"unknown role {role!r}", hint=f"use: {', '.join(STAFF_ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"a password needs at least {MIN_PASSWORD} characters")
    with db.session() as s:
        if s.get(User, username) is not None:
            raise UsageError(f"user {username} already exists")
        s.add(
            User(
                username=username,
                role=role,
                password_hash=_hasher.hash(password),
                created_at=datetime.now(UTC),
            )
        )


def disable_user(db: Database, username: str) -> None:
    with db.session() as s:
        user = s.get(User, username)
        if user is None:
            raise UsageError(f"no user {username!r}")
        user.disabled_at = datetime.now(UTC)


def issue_token(db: Database, username: str, *, valid_for: timedelta) -> str:
    """A new API token for an existing, enabled user (printed once)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with db.session() as s:
        user = s.get(User, username)
        if user is None or user.disabled_at is not None:
            raise UsageError(f"no enabled user {username!r}")
        s.add(
            ApiToken(
                token_hash=token_digest(token),
                username=username,
                created_at=now,
                expires_at=now + valid_for,
            )
        )
    return token


def login(db: Database, username: str, password: str, *, valid_for: timedelta) -> str:
    """Exchange a password for an API token; one vague error for every failure."""
    with db.session() as s:
        user = s.get(User, username)
        stored = user.password_hash if user and user.disabled_at is None else None
    try:
        if stored is None:
            _hasher.hash(password)  # same work whether or not the user exists
            raise VerificationError
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError) as exc:
        raise Unauthenticated("the username or password is wrong") from exc
    return issue_token(db, username, valid_for=valid_for)


class LoginThrottle:
    """Slows password guessing and bounds the memory argon2 may take.

    At most ``max_failures`` failed logins per username within ``window``
    seconds (then 429 until the oldest failure ages out), and at most
    ``concurrent`` password hashes at a time (each takes 64 MiB)."""

    def __init__(self, *, max_failures: int = 5, window: float = 300.0, concurrent: int = 2):
        self.max_failures = max_failures
        self.window = window
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()
        self.slots = threading.BoundedSemaphore(concurrent)

    def _recent(self, username: str, now: float) -> deque[float]:
        times = self._failures[username]
        while times and now - times[0] > self.window:
            times.popleft()
        return times

    def check(self, username: str) -> None:
        with self._lock:
            times = self._recent(username, time.monotonic())
            if len(times) >= self.max_failures:
                wait = int(self.window - (time.monotonic() - times[0])) + 1
                raise TooManyRequests(
                    "too many failed logins for this account",
                    hint=f"wait {wait} s, or ask another administrator to reset the password",
                )

    def failed(self, username: str) -> None:
        with self._lock:
            self._recent(username, time.monotonic()).append(time.monotonic())

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(username, None)


def throttled_login(
    db: Database, throttle: LoginThrottle, username: str, password: str, *, valid_for: timedelta
) -> str:
    """:func:`login` behind the throttle; run it in a worker thread, not the event loop."""
    throttle.check(username)
    with throttle.slots:
        try:
            token = login(db, username, password, valid_for=valid_for)
        except Unauthenticated:
            throttle.failed(username)
            raise
    throttle.succeeded(username)
    return token


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def principal_for_token(db: Database, token: str) -> Principal:
    with db.session() as s:
        row = s.get(ApiToken, token_digest(token))
        user = s.get(User, row.username) if row else None
        ok = (
            row is not None
            and user is not None
            and row.revoked_at is None
            and user.disabled_at is None
            and _aware(row.expires_at) > datetime.now(UTC)
        )
        if not ok or user is None:
            raise Unauthenticated(
                "the API token is unknown, expired or revoked",
                hint="get a new one: POST /v1/auth/tokens or publiek aggregator user token",
            )
        return Principal(role=user.role, name=user.username)


def institution_key(
    db: Database, institution_id: str, key_id: str, *, allow_revoked: bool = False
) -> VerifyKey:
    """The enrolled signing key for a signed request, if it may still be used.

    ``allow_revoked`` only for reading the institution's own standing: a
    revoked agent must be able to learn that it is revoked before it draws
    a release, and reads nothing else."""
    with db.session() as s:
        inst = s.get(Institution, institution_id)
        if (
            inst is None
            or inst.signing_key is None
            or inst.signing_key_id != key_id
            or (inst.revoked_at is not None and not allow_revoked)
        ):
            raise InvalidSignature(
                "the request is not signed by an enrolled, non-revoked institution key"
            )
        return VerifyKey.from_text(inst.signing_key)
