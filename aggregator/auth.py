"""Who is asking: institutions by signed requests, staff by API tokens.

Three roles (ADR 0007):

* ``institution`` — an enrolled agent, authenticated by a request signed
  with its enrolled Ed25519 key (``protocol.request_auth``); no passwords.
* ``taskforce`` — runs the sector: periods, benchmarks at every stage.
* ``privacy-officer`` — audits: transparency log, budgets, configuration;
  never any institution's values.

Staff accounts have argon2id password hashes; a password is exchanged once
for an API token (random, 32 bytes, sent as ``Authorization: Bearer``), of
which only the SHA-256 is stored. Password guessing is throttled per account
and per client address, with the counts in the database so that every
worker process sees them (``LoginThrottle``).
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import re
import secrets
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Select, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from aggregator.settings import Settings
from aggregator.storage import ApiToken, Database, Institution, LoginAttempt, User
from protocol.errors import (
    Forbidden,
    InvalidSignature,
    ServiceUnavailable,
    TooManyRequests,
    Unauthenticated,
    UsageError,
)
from protocol.keys import VerifyKey

INSTITUTION = "institution"
TASKFORCE = "taskforce"
PRIVACY_OFFICER = "privacy-officer"
STAFF_ROLES = (TASKFORCE, PRIVACY_OFFICER)
USERNAME = r"[a-z][a-z0-9._-]{1,62}"  # matched in full (``$`` would take "name\n")
USERNAME_RE = re.compile(USERNAME)
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


def _command(args: str) -> str:
    """A ``publiek aggregator user`` command line, for a hint."""
    return f"`publiek aggregator user {args}`"


def _no_user(username: str) -> UsageError:
    """No such account. There is no command that lists accounts, so the hint is
    the spelling, or the command that creates it (a name no account can have is
    not repeated in it)."""
    name = username if USERNAME_RE.fullmatch(username) else "NAME"
    return UsageError(
        f"no user {username!r}",
        hint="check the spelling (names are lower case), or create the account: "
        + _command(f"add {name} --role taskforce")
        + " (or --role privacy-officer)",
    )


def create_user(db: Database, username: str, role: str, password: str) -> None:
    if not USERNAME_RE.fullmatch(username):
        raise UsageError("a username is 2-63 characters: a-z, 0-9, '.', '_', '-'")
    if role not in STAFF_ROLES:
        raise UsageError(f"unknown role {role!r}", hint=f"use: {', '.join(STAFF_ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"a password needs at least {MIN_PASSWORD} characters")
    with db.session() as s:
        if s.get(User, username) is not None:
            raise UsageError(
                f"user {username} already exists",
                hint="choose another name, or give this account a new password: "
                + _command(f"password {username}"),
            )
        s.add(
            User(
                username=username,
                role=role,
                password_hash=_hasher.hash(password),
                created_at=datetime.now(UTC),
            )
        )


def _find_user(s: Session, username: str) -> User | None:
    """The account named ``username``; a name no user can have (``USERNAME_RE``) is
    not looked up: it may hold what a database refuses in text (PostgreSQL: NUL)."""
    return s.get(User, username) if USERNAME_RE.fullmatch(username) else None


def disable_user(db: Database, username: str) -> None:
    with db.session() as s:
        user = _find_user(s, username)
        if user is None:
            raise _no_user(username)
        user.disabled_at = datetime.now(UTC)


def _revoke_tokens(s: Session, username: str, now: datetime) -> int:
    """Revoke every API token of ``username`` not yet revoked; how many."""
    tokens = s.scalars(
        select(ApiToken).where(ApiToken.username == username, ApiToken.revoked_at.is_(None))
    ).all()
    for token in tokens:
        token.revoked_at = now
    return len(tokens)


def enable_user(db: Database, username: str) -> int:
    """Enable a disabled account again, without its old API tokens.

    Disabling stops the tokens by the account's state alone, so enabling must
    revoke them: the credential rotation (docs/operations.md) disables an account
    to shut out a leaked token and must not bring that token back. Returns how
    many tokens were revoked; the user logs in or gets a new ``user token``."""
    with db.session() as s:
        user = _find_user(s, username)
        if user is None:
            raise _no_user(username)
        if user.disabled_at is None:
            raise UsageError(
                f"user {username} is not disabled",
                hint="it can log in already; a new API token: "
                + _command(f"token {username}")
                + ", a new password: "
                + _command(f"password {username}"),
            )
        revoked = _revoke_tokens(s, username, datetime.now(UTC))
        user.disabled_at = None
        return revoked


def set_password(db: Database, username: str, password: str) -> int:
    """Give an account a new password and revoke its API tokens (a reset is done
    because the old credentials may be known to someone else). Returns how many
    tokens were revoked."""
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"a password needs at least {MIN_PASSWORD} characters")
    with db.session() as s:
        user = _find_user(s, username)
        if user is None:
            raise _no_user(username)
        user.password_hash = _hasher.hash(password)
        return _revoke_tokens(s, username, datetime.now(UTC))


def issue_token(db: Database, username: str, *, valid_for: timedelta) -> str:
    """A new API token for an existing, enabled user (printed once)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with db.session() as s:
        user = _find_user(s, username)
        if user is None:
            raise _no_user(username)
        if user.disabled_at is not None:
            raise UsageError(
                f"user {username} is disabled",
                hint="enable it first: " + _command(f"enable {username}"),
            )
        s.add(
            ApiToken(
                token_hash=token_digest(token),
                username=username,
                created_at=now,
                expires_at=now + valid_for,
            )
        )
    return token


def revoke_token(db: Database, token: str) -> None:
    """End one token (a web session's, at logout); an unknown or ended one is left as it is."""
    with db.session() as s:
        row = s.get(ApiToken, token_digest(token))
        if row is not None and row.revoked_at is None:
            row.revoked_at = datetime.now(UTC)


def login(db: Database, username: str, password: str, *, valid_for: timedelta) -> str:
    """Exchange a password for an API token; one vague error for every failure.

    A name that no user can have is not looked up (:func:`_find_user`)."""
    with db.session() as s:
        user = _find_user(s, username)
        stored = user.password_hash if user and user.disabled_at is None else None
    try:
        if stored is None:
            _hasher.hash(password)  # same work whether or not the user exists
            raise VerificationError
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError) as exc:
        raise Unauthenticated("the username or password is wrong") from exc
    return issue_token(db, username, valid_for=valid_for)


@dataclass(frozen=True)
class Backoff:
    """How one kind of key is throttled: ``free`` failures, then a block of
    ``first`` seconds that doubles with every further failure up to ``cap``.
    A key without failures for ``cap`` seconds (after its block, if any) is
    forgotten, so the doubling restarts only once the guessing stopped."""

    free: int
    first: float
    cap: float

    def block(self, failures: int) -> timedelta | None:
        """The block that ``failures`` failures in a row earn (None: not yet)."""
        if failures < self.free:
            return None
        doublings = min(failures - self.free, 64)
        return timedelta(seconds=min(self.first * 2.0**doublings, self.cap))


ACCOUNT_KEY = "account:"
CLIENT_KEY = "client:"
SWEEP_EVERY = timedelta(seconds=60)  # between deletions of expired rows, per process


def account_key(username: str) -> str:
    """The throttle's key of a submitted username: its SHA-256, so a password
    typed into the username field is not stored in clear, and every submitted
    name is throttled alike whether or not it is an account (no enumeration)."""
    return ACCOUNT_KEY + hashlib.sha256(username.encode("utf-8", "surrogatepass")).hexdigest()


def client_key(host: str | None) -> str:
    """The throttle's key of the socket peer (never ``X-Forwarded-For``, which
    the client writes). An IPv6 client owns at least a /64, so that is the key."""
    if not host:
        return CLIENT_KEY + "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return CLIENT_KEY + host[:64]  # not an IP address: an in-process test client
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return CLIENT_KEY + str(address.ipv4_mapped)
        return CLIENT_KEY + str(ipaddress.IPv6Network((int(address) >> 64 << 64, 64)))
    return CLIENT_KEY + str(address)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class LoginThrottle:
    """Slows password guessing, per account and per client address, in the database.

    Every attempt is first *reserved*: in one transaction that locks the rows
    of its account and its client address (``SELECT ... FOR UPDATE`` on
    PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), a blocked key refuses it (429)
    and otherwise both counts go up, and reaching ``free`` failures sets the
    block. Only then is the password checked, so a parallel burst evaluates at
    most ``free`` passwords however many workers serve it; a success undoes
    its reservation (and clears the account's count), a failure leaves it.

    An account's blocks are capped (``account.cap``), so an attacker can keep a
    named user out for at most that long at a time; the address the failures
    come from is blocked for longer (``client``), so an attacker at one address
    is stopped there while the user, at another, waits at most the account's
    cap. ``slots`` bounds the password hashes at a time in this process
    (each takes 64 MiB)."""

    def __init__(
        self,
        db: Database,
        *,
        account: Backoff = Backoff(free=5, first=30.0, cap=300.0),
        client: Backoff = Backoff(free=5, first=900.0, cap=3600.0),
        concurrent: int = 2,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.db = db
        self.account = account
        self.client = client
        self.clock = clock
        self.slots = threading.BoundedSemaphore(concurrent)
        self._swept: datetime | None = None
        self._sweep_lock = threading.Lock()

    @classmethod
    def from_settings(cls, db: Database, settings: Settings) -> LoginThrottle:
        return cls(
            db,
            account=Backoff(
                settings.login_failures,
                settings.login_backoff_seconds,
                settings.login_backoff_cap_seconds,
            ),
            client=Backoff(
                settings.login_failures,
                settings.login_client_backoff_seconds,
                settings.login_client_backoff_cap_seconds,
            ),
        )

    def _keys(self, username: str, client: str | None) -> dict[str, Backoff]:
        return {account_key(username): self.account, client_key(client): self.client}

    @contextmanager
    def _locked(self) -> Iterator[Session]:
        """A transaction in which ``FOR UPDATE`` holds: SQLite has no row locks,
        so there it is the database's write lock from the first statement."""
        if self.db.dialect == "sqlite":
            with self.db.write_session() as s:
                yield s
        else:
            with self.db.session() as s:
                yield s

    def reserve(self, username: str, client: str | None) -> None:
        """Count one attempt for the account and the address, or raise
        :class:`TooManyRequests` (with the seconds to wait) and count nothing."""
        keys = self._keys(username, client)
        now = self.clock()
        with self.db.session() as s:  # a blocked burst is refused without a write lock
            _refuse_if_blocked(s.scalars(_blocked(keys, now)).all(), now)
        with self._locked() as s:
            rows = _lock_rows(s, sorted(keys), now)
            _refuse_if_blocked([r.blocked_until for r in rows if r.blocked_until], now)
            for row in rows:
                backoff = keys[row.key]
                if _aware(row.expires_at) <= now:
                    row.failures = 0
                row.failures += 1
                block = backoff.block(row.failures)
                row.blocked_until = now + block if block else None
                row.expires_at = (row.blocked_until or now) + timedelta(seconds=backoff.cap)
        self._delete_expired(now)

    def succeeded(self, username: str, client: str | None) -> None:
        """The password was right: the account's count is cleared and the
        address's reservation taken back (its earlier failures stay counted, so
        logging in to one's own account does not buy guesses at another)."""
        keys = self._keys(username, client)
        with self._locked() as s:
            rows = s.scalars(
                select(LoginAttempt)
                .where(LoginAttempt.key.in_(sorted(keys)))
                .order_by(LoginAttempt.key)
                .with_for_update()
            ).all()
            for row in rows:
                if row.key.startswith(ACCOUNT_KEY) or row.failures <= 1:
                    s.delete(row)
                    continue
                row.failures -= 1
                if row.failures < keys[row.key].free:
                    row.blocked_until = None

    def _delete_expired(self, now: datetime) -> None:
        """Rows are kept only while they can still block (the retention the
        docs state); rows another transaction holds are left for next time."""
        with self._sweep_lock:
            if self._swept is not None and now - self._swept < SWEEP_EVERY:
                return
            self._swept = now
        stale = (
            select(LoginAttempt.key)
            .where(LoginAttempt.expires_at < now)
            .with_for_update(skip_locked=True)
        )
        with self._locked() as s:
            s.execute(delete(LoginAttempt).where(LoginAttempt.key.in_(stale)))


def _blocked(keys: dict[str, Backoff], now: datetime) -> Select[datetime | None]:
    return select(LoginAttempt.blocked_until).where(
        LoginAttempt.key.in_(list(keys)), LoginAttempt.blocked_until > now
    )


def _refuse_if_blocked(blocked_until: Sequence[datetime | None], now: datetime) -> None:
    ends = [_aware(b) for b in blocked_until if b is not None and _aware(b) > now]
    if ends:
        wait = max(1, math.ceil((max(ends) - now).total_seconds()))
        raise TooManyRequests(
            "too many failed logins for this account or from this address",
            hint=f"wait {wait} s before trying again",
            retry_after=wait,
        )


def _lock_rows(s: Session, keys: list[str], now: datetime) -> list[LoginAttempt]:
    """The rows of ``keys``, made if missing and locked, in key order (so that
    two reservations never wait for each other's rows in a cycle)."""
    insert = postgresql.insert if s.get_bind().dialect.name == "postgresql" else sqlite.insert
    fresh = [{"key": k, "failures": 0, "blocked_until": None, "expires_at": now} for k in keys]
    for _ in range(3):
        s.execute(insert(LoginAttempt).values(fresh).on_conflict_do_nothing(index_elements=["key"]))
        rows = s.scalars(
            select(LoginAttempt)
            .where(LoginAttempt.key.in_(keys))
            .order_by(LoginAttempt.key)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).all()
        if len(rows) == len(keys):
            return list(rows)
    # Only an expiry sweep that deleted a row between the insert and the lock, thrice.
    raise ServiceUnavailable("the login throttle could not lock its rows", hint="retry")


def throttled_login(
    db: Database,
    throttle: LoginThrottle,
    username: str,
    password: str,
    *,
    client: str | None,
    valid_for: timedelta,
) -> str:
    """:func:`login` behind the throttle; run it in a worker thread, not the event loop.

    ``client`` is the socket peer's address. An attempt counts as a failure
    unless it ends in a token."""
    throttle.reserve(username, client)
    with throttle.slots:
        token = login(db, username, password, valid_for=valid_for)
    throttle.succeeded(username, client)
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
