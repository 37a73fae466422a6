"""Database schema and session handling (SQLAlchemy 2; SQLite by default).

Only what the aggregator may hold is here: public keys, token hashes,
envelopes (ciphertext), the DP tables they carried, the transparency log,
the benchmarks computed from them, and staff accounts (argon2 hashes and
SHA-256 hashes of API tokens, never the secrets themselves; failed logins
counted per account and client address for a limited time).

The schema is owned by alembic (``aggregator/migrations``): ``create_schema``
upgrades to the newest revision, and a test checks that the migrated schema
equals this module's metadata on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from protocol.state_files import create_private


class Base(DeclarativeBase):
    pass


class AggregatorKey(Base):
    """An HPKE key of the aggregator: pending → active → retired."""

    __tablename__ = "aggregator_keys"
    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    public_key: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Institution(Base):
    __tablename__ = "institutions"
    institution_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    discipline: Mapped[str] = mapped_column(String(32))
    province: Mapped[str] = mapped_column(String(32))
    signing_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    signing_key_id: Mapped[str | None] = mapped_column(String(32), unique=True, nullable=True)
    sealing_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    enrolled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    size_class: Mapped[str] = mapped_column(String(16), default="medium", server_default="medium")


class EnrollmentToken(Base):
    __tablename__ = "enrollment_tokens"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    institution_id: Mapped[str] = mapped_column(ForeignKey("institutions.institution_id"))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Period(Base):
    """A reporting period (a quarter) and the config fixed when it was opened.

    ``rho_budget`` (per institution), ``delta``, ``mechanism``, the release
    ``design`` with its ``tables`` (name → weight), the default ``bounds``,
    ``k`` and the ``segment_model`` with its release digest are what the
    signed period config (GET /v1/periods/{period}/config) states. They are
    NULL only for a period opened before revision 0003 (0007 for the segment
    model), which therefore has no config to serve."""

    __tablename__ = "periods"
    label: Mapped[str] = mapped_column(String(16), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    rho_budget: Mapped[float] = mapped_column(Float)
    delta: Mapped[float | None] = mapped_column(Float, nullable=True)
    mechanism: Mapped[str | None] = mapped_column(String(32), nullable=True)
    design: Mapped[str | None] = mapped_column(String(64), nullable=True)
    tables: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    bounds: Mapped[dict[str, int] | None] = mapped_column(JSON, nullable=True)
    k: Mapped[int | None] = mapped_column(Integer, nullable=True)
    segment_model: Mapped[str | None] = mapped_column(String(64), nullable=True)
    segment_model_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The household sketch the config fixes (design, width, seed as base64url,
    # weight); NULL: no sketches this period (ADR 0036).
    sketch: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    inputs_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    benchmark_k: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Submission(Base):
    __tablename__ = "submissions"
    submission_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    institution_id: Mapped[str] = mapped_column(
        ForeignKey("institutions.institution_id"), index=True
    )
    period: Mapped[str] = mapped_column(ForeignKey("periods.label"), index=True)
    digest: Mapped[str] = mapped_column(String(64))
    envelope: Mapped[bytes] = mapped_column(LargeBinary)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    rho: Mapped[float] = mapped_column(Float)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    log_index: Mapped[int] = mapped_column(Integer, unique=True)
    receipt: Mapped[dict[str, Any]] = mapped_column(JSON)


class LogEntry(Base):
    """One entry of the hash-chained transparency log (``protocol.translog``).

    ``kind`` is ``submission`` (a stored submission) or ``set-aside`` (the
    taskforce set an earlier submission aside, ADR 0020): a submission has at
    most one entry of each kind. A set-aside entry commits to its reason
    (``reason_commitment``, hashed into the chain); the reason itself and the
    commitment's nonce are kept beside it, outside the hash, so they can be
    erased without breaking the chain."""

    __tablename__ = "log_entries"
    __table_args__ = (
        UniqueConstraint("submission_id", "kind", name="uq_log_entries_submission_id_kind"),
    )
    log_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), server_default="submission")
    submission_id: Mapped[str] = mapped_column(String(32))
    institution_id: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(64))
    appended_at: Mapped[str] = mapped_column(String(40))
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))
    reason_commitment: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    reason_nonce: Mapped[str | None] = mapped_column(String(32), nullable=True)


class BenchmarkGroup(Base):
    """The benchmark of one peer group in one period, computed when it closed.

    ``cells`` holds only aggregates (estimates, intervals, counts); the
    member list and the merged groups stay internal so the API can show how
    many institutions (and merged groups) a group has without saying which."""

    __tablename__ = "benchmark_groups"
    period: Mapped[str] = mapped_column(ForeignKey("periods.label"), primary_key=True)
    group_id: Mapped[str] = mapped_column(String(160), primary_key=True)
    level: Mapped[str] = mapped_column(String(32))
    members: Mapped[list[str]] = mapped_column(JSON)
    merged_from: Mapped[list[str]] = mapped_column(JSON)
    cells: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


class User(Base):
    """A taskforce or privacy-officer account (argon2id password hash)."""

    __tablename__ = "users"
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ApiToken(Base):
    """An API token of a user; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("users.username"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class LoginAttempt(Base):
    """Failed staff logins of one account or one client address (``aggregator.auth``).

    ``key`` is ``account:`` and the SHA-256 of the submitted username, or
    ``client:`` and the client's address (an IPv6 address's /64); never a
    password. ``failures`` counts the attempts reserved since the row was
    made. A row expires at ``expires_at`` (its block plus the quiet period
    after the last failure) and a later login's sweep deletes it."""

    __tablename__ = "login_attempts"
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    blocked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


# Intake appends to the hash-chained log: one writer at a time, so that two
# submissions never race for the same log index. SQLite gets it from BEGIN
# IMMEDIATE, PostgreSQL from a transaction-scoped advisory lock.
WRITE_LOCK_ID = 74_700_001


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL; None for PostgreSQL and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    if parsed.query.get("uri") or parsed.database.startswith("file:"):
        return None  # a SQLite URI names its own mode and options
    return Path(parsed.database)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = sqlite_file(url)
        if path is not None and path.parent.is_dir():
            # Created 0600 before SQLite opens it: SQLite would create it with the
            # umask, and its -wal and -shm files take this file's mode (ADR 0017).
            create_private(path)
        engine = create_engine(url, future=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # The driver's own implicit BEGIN is switched off so that a write
            # transaction can start with BEGIN IMMEDIATE (see ``_begin``).
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            immediate = conn.get_execution_options().get("write_lock", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    return create_engine(url, future=True, pool_size=10, max_overflow=20)


class Database:
    """The aggregator's database: sessions, the write session, the schema.

    ``write_lock_first``: on SQLite every transaction takes the write lock as it
    begins (``BEGIN IMMEDIATE``), so a transaction that reads and then writes
    waits for a concurrent writer (the busy timeout) instead of failing with
    "database is locked" once another connection has written since its read.
    What a one-shot ``publiek aggregator`` command wants beside a running server
    or another command; the server keeps deferred transactions for its reads."""

    def __init__(self, url: str, *, write_lock_first: bool = False) -> None:
        from aggregator.database_url import normalise_url

        self.url = url = normalise_url(url)
        self.engine = make_engine(url)
        engine = self.engine.execution_options(write_lock=True) if write_lock_first else self.engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

        self._local_writer = threading.Lock()
        self._writes = sessionmaker(
            self.engine.execution_options(write_lock=True), expire_on_commit=False
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def create_schema(self) -> None:
        """Bring the schema to the newest alembic revision (idempotent)."""
        from aggregator.migrations import upgrade

        upgrade(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed on success, rolled back on any error."""
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def write_session(self) -> Iterator[Session]:
        """A transaction holding the intake write lock from its first statement.

        On SQLite, threads of this process queue on a local lock first: SQLite's
        own busy handler would otherwise poll with sleeps of up to 100 ms."""
        if self.dialect == "sqlite":
            with self._local_writer, self._writes() as session, session.begin():
                yield session
            return
        with self._writes() as session, session.begin():
            session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": WRITE_LOCK_ID})
            yield session


class CustodianKey(Base):
    """The taskforce custodian's public signing key, registered by the operator.

    The aggregator checks sealed sector keys against it only to refuse junk;
    agents never take this key from the aggregator (they pin it out of band)."""

    __tablename__ = "custodian_keys"
    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    public_key: Mapped[str] = mapped_column(String(64))
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SealedSectorKeyRecord(Base):
    """One period's sector key sealed to one institution's agent: ciphertext only."""

    __tablename__ = "sealed_sector_keys"
    period: Mapped[str] = mapped_column(String(16), primary_key=True)
    institution_id: Mapped[str] = mapped_column(
        ForeignKey("institutions.institution_id"), primary_key=True
    )
    recipient_key_id: Mapped[str] = mapped_column(String(32))
    custodian_key_id: Mapped[str] = mapped_column(String(32))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    stored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SegmentModelKey(Base):
    """The taskforce's model key (the public half), registered by the operator.

    The aggregator publishes only releases it signs; agents never take this
    key from the aggregator (they pin its fingerprint out of band, ADR 0027)."""

    __tablename__ = "segment_model_keys"
    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    public_key: Mapped[str] = mapped_column(String(64))
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SegmentModelRelease(Base):
    """One published segment model release: its bytes exactly as signed.

    Releases hold no personal data (population tables per PC4 and PC6), so
    they are served to anyone (``GET /v1/segment-models/{version}``)."""

    __tablename__ = "segment_model_releases"
    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    synthetic: Mapped[bool] = mapped_column(Boolean)
    model_key_id: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
