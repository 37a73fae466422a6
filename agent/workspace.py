"""The agent's workspace: one folder holding everything the agent keeps.

Layout::

    agent.toml                 enrollment: institution id, aggregator URL, keys ids
    keys/                      secret keys, mode 0600 (signing, sealing, sector keys,
                               the link key)
    agent.db                   SQLite: ingested files, budget ledger, releases, receipts
    segment-model.json         the installed segment model (agent segment-model install)
    visits/period=P/*.parquet  canonical visits (address numbers, no PC6, no names)
    visits/period=P/households/<digest>.parquet   address number → keys and PC4
    quarantine/*.parquet       rejected rows: row number, column, reason — no content
    outbox/                    sealed envelopes beside their exact plaintext
    tmp/                       only while an ingest runs: its output before it is moved
                               into place, a UTF-8 copy of a non-UTF-8 export (raw addresses)

Files are created 0600 and folders 0700 (``protocol.state_files``, ADR 0017).
Back up ``keys/`` and ``agent.db``; never copy ``keys/`` anywhere but a backup,
and never back up ``tmp/`` (docs/operations.md).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
import tomllib
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import tomli_w

from agent.visits import read_period
from protocol.encoding import b64encode
from protocol.errors import UsageError
from protocol.keys import SecretBytes, read_secret, write_secret
from protocol.messages import check_period
from protocol.state_files import (
    PRIVATE_DIR_MODE,
    PRIVATE_FILE_MODE,
    create_private,
    private_dir,
    write_private,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS ingested_files (
    digest TEXT PRIMARY KEY,
    file_name TEXT NOT NULL,
    ingested_at TEXT NOT NULL,
    rows_read INTEGER NOT NULL,
    rows_accepted INTEGER NOT NULL,
    rows_rejected INTEGER NOT NULL
);
-- Sizes of ingested exports (a table of its own so that older workspaces get it):
-- an export of a size never ingested needs no digest before its pass.
CREATE TABLE IF NOT EXISTS ingested_file_sizes (
    digest TEXT PRIMARY KEY REFERENCES ingested_files (digest),
    size INTEGER NOT NULL
);
-- The layout (header row) of each ingested export: order ids are matched only
-- between exports of one layout. Older exports have none: they share layout "".
CREATE TABLE IF NOT EXISTS ingested_layouts (
    digest TEXT PRIMARY KEY REFERENCES ingested_files (digest),
    layout TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS releases (
    period TEXT NOT NULL,
    release_digest TEXT NOT NULL,
    submission_id TEXT NOT NULL,
    rho REAL NOT NULL,
    created_at TEXT NOT NULL,
    plaintext BLOB NOT NULL,
    PRIMARY KEY (period, release_digest)
);
CREATE TABLE IF NOT EXISTS receipts (
    submission_id TEXT PRIMARY KEY,
    receipt TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class AgentConfig:
    """What enrollment established; no secrets live here."""

    institution_id: str
    aggregator_url: str
    discipline: str
    province: str

    def to_toml(self) -> str:
        return tomli_w.dumps(
            {
                "institution_id": self.institution_id,
                "aggregator_url": self.aggregator_url,
                "discipline": self.discipline,
                "province": self.province,
            }
        )


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def keys_dir(self) -> Path:
        return self.root / "keys"

    @property
    def visits_dir(self) -> Path:
        return self.root / "visits"

    @property
    def quarantine_dir(self) -> Path:
        return self.root / "quarantine"

    @property
    def outbox_dir(self) -> Path:
        return self.root / "outbox"

    @property
    def db_path(self) -> Path:
        return self.root / "agent.db"

    @property
    def config_path(self) -> Path:
        return self.root / "agent.toml"

    @property
    def signing_key_path(self) -> Path:
        return self.keys_dir / "signing.key"

    @property
    def seal_key_path(self) -> Path:
        return self.keys_dir / "seal.key"

    @property
    def link_key_path(self) -> Path:
        return self.keys_dir / "link.key"

    def ensure(self) -> Workspace:
        # Household keys, PC4 and birth years live here: owner only (ADR 0017).
        for folder in (
            self.root, self.keys_dir, self.visits_dir, self.quarantine_dir, self.outbox_dir
        ):  # fmt: skip
            private_dir(folder)
        with self.connect() as db:
            db.executescript(SCHEMA)
        return self

    def connect(self) -> sqlite3.Connection:
        self.root.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
        # 0600 before SQLite opens it; its -wal and -shm files take the same mode.
        create_private(self.db_path)
        db = sqlite3.connect(self.db_path, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def save_config(self, config: AgentConfig) -> None:
        """Write the enrollment into agent.toml, keeping what else it holds (an
        ``[ingest]`` table written before enrolling)."""
        self.root.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
        kept: dict[str, object] = {}
        if self.config_path.is_file():
            kept = tomllib.loads(self.config_path.read_text(encoding="utf-8"))
        merged = {**kept, **tomllib.loads(config.to_toml())}
        write_private(self.config_path, tomli_w.dumps(merged).encode("utf-8"))

    def is_workspace(self) -> bool:
        """Whether a workspace is here: `agent enroll` or `agent init` made it."""
        return self.db_path.is_file() or self.config_path.is_file()

    @property
    def enrolled(self) -> bool:
        """Whether `agent enroll` enrolled this workspace: its agent.toml names the
        institution (an operator may write ``[ingest]`` settings there before)."""
        if not self.config_path.is_file():
            return False
        try:
            data = tomllib.loads(self.config_path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError):
            return True  # unreadable: load_config says why where it matters
        return "institution_id" in data

    def existing(self) -> Workspace:
        """This workspace, refused when there is none at its path.

        Every command but `agent enroll` and `agent init` works on a workspace that
        exists: a mistyped ``--workspace`` (or a cron job started in the wrong
        folder) must not quietly create a new, unenrolled workspace and ingest into
        it, or release from it (ADR 0025)."""
        if self.is_workspace():
            return self
        raise UsageError(
            f"{self.root} is not an agent workspace (no agent.db or agent.toml there)",
            hint="check --workspace (or PUBLIEK_WORKSPACE) for a typo; `publiek agent enroll` "
            "creates the workspace, `publiek agent init` an unenrolled one for trying a mapping",
        )

    def load_config(self) -> AgentConfig:
        try:
            data = tomllib.loads(self.config_path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise UsageError(
                f"{self.root} is not an enrolled agent workspace (no agent.toml)",
                hint="run `publiek agent enroll --aggregator URL --token T` first",
            ) from exc
        return AgentConfig(**{k: str(data[k]) for k in AgentConfig.__dataclass_fields__})

    def sector_key_path(self, period: str) -> Path:
        return self.keys_dir / f"sector-{check_period(period)}.key"

    def local_sector_key_path(self, period: str) -> Path:
        return self.keys_dir / f"local-sector-{check_period(period)}.key"

    def install_sector_key(self, period: str, key: SecretBytes) -> None:
        write_secret(self.sector_key_path(period), b64encode(key.reveal()).encode())

    def sector_key(self, period: str) -> SecretBytes:
        """The period's sector key, as the custodian flow installed it.

        An enrolled workspace never invents one: households keyed with a
        local key would not match any other institution's, and the release
        would count them wrongly without a word, so an ingest before
        ``agent sector-key fetch`` is refused (issue 15). A workspace that is
        not enrolled (`agent init`: a trial that can send nothing) gets a local
        key, kept under a name of its own so that it is never taken for the
        shared one; `agent enroll` removes the trial's keys and visits
        (:func:`agent.enrollment.enroll`, ADR 0025)."""
        if self.enrolled:
            path = self.sector_key_path(period)
            if not path.exists():
                raise UsageError(
                    f"no sector key for {period} in this workspace: an export with visits "
                    f"of {period} was not ingested",
                    hint=f"fetch it first: publiek agent sector-key fetch --period {period} "
                    f"-w {self.root} (the taskforce's custodian must have distributed it), "
                    "then run the same ingest again",
                )
            return SecretBytes(read_secret(path, what="sector key"))
        local = self.local_sector_key_path(period)
        if not local.exists():
            write_secret(local, b64encode(secrets.token_bytes(32)).encode())
        return SecretBytes(read_secret(local, what="local sector key"))

    def link_key(self) -> SecretBytes:
        """The workspace's link key: 32 random bytes, made on first use and kept.

        Each household's link key is the HMAC of its normalised identity under
        this secret. Unlike the sector key it is the same in every period, so
        the institution can tell new from returning households across its own
        periods; it is never sent, printed or shared (docs/privacy-officer.md).
        Made by linking a finished file into place, which fails if another
        run made one first: two ingests starting at once use the same key."""
        path = self.link_key_path
        if not path.exists():
            fresh = path.with_name(f"{path.name}.{secrets.token_hex(8)}.new")
            write_secret(fresh, b64encode(secrets.token_bytes(32)).encode())
            try:
                os.link(fresh, path)
            except FileExistsError:
                pass  # made by another run meanwhile: that one is the key
            except OSError:  # a file system without hard links (some network shares)
                with contextlib.suppress(FileExistsError):
                    _create_exclusively(path, fresh.read_bytes())
            finally:
                fresh.unlink()
        return SecretBytes(read_secret(path, what="link key"))

    def load_visits(self, period: str) -> pl.DataFrame:
        """All canonical visits of one period in the workspace (:data:`agent.visits.VISIT_SCHEMA`,
        with each household's ``link_key``; null where ingested before link keys), each
        order once over the period's exports, the newest ingested export's
        (:func:`agent.visits.deduplicated`)."""
        order: list[tuple[str, str]] = []
        if self.db_path.exists():
            with self.connect() as db:
                db.executescript(SCHEMA)
                query = (
                    "SELECT digest, COALESCE(layout, '') FROM ingested_files "
                    "LEFT JOIN ingested_layouts USING (digest) ORDER BY ingested_files.rowid"
                )
                order = [(d, layout) for d, layout in db.execute(query)]
        return read_period(self.visits_dir / f"period={check_period(period)}", period, order)


def _create_exclusively(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file at ``path`` (0600), failing with
    ``FileExistsError`` if it exists: the same guarantee as ``os.link``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
