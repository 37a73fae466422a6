"""Shared set-up for the aggregator benchmarks: a synthetic sector of enrolled
institutions with real OpenDP releases, and a throwaway PostgreSQL server.

Noise comes from OpenDP measurements (``dp.measurements.table_measurement``),
built once per table and applied to each institution's exact counts.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aggregator.enrollment import DISCIPLINES, PROVINCES, create_token, redeem_token
from aggregator.keyring import Keyring
from aggregator.periods import open_period
from aggregator.settings import Settings
from aggregator.storage import Database
from dp.measurements import GAUSSIAN, calibrate_scale, ci95, table_measurement
from protocol.envelope import seal_submission
from protocol.keys import SealPrivateKey, SealPublicKey, SigningKey
from protocol.messages import PrivacySpend, ReleasedTable, SubmissionPayload

PERIOD = "2026-Q3"
SEGMENTS = tuple(f"s{i}" for i in range(8))
SIZES = ("small", "medium", "large")
# (name, measure, dimensions, key set, sensitivity): the shape of issue 5's tables.
TABLES: list[tuple[str, str, tuple[str, ...], list[tuple[str, ...]], float]] = [
    ("households_by_segment_discipline", "households", ("segment", "discipline"),
     [(s, d) for s in SEGMENTS for d in DISCIPLINES], 1.0),
    ("visits_by_segment_discipline", "visits", ("segment", "discipline"),
     [(s, d) for s in SEGMENTS for d in DISCIPLINES], 20.0),
    ("households_by_province", "households", ("province",), [(p,) for p in PROVINCES], 1.0),
    ("visits_by_discipline_month", "visits", ("discipline", "month"),
     [(d, m) for d in DISCIPLINES for m in ("07", "08", "09")], 20.0),
    ("households_by_frequency_band", "households", ("frequency_band",),
     [(b,) for b in ("1", "2", "3-4", "5-9", "10+")], 1.0),
    ("households_by_returning", "households", ("returning",), [("new",), ("returning",)], 1.0),
    ("households_by_distance_band", "households", ("distance_band",),
     [(b,) for b in ("0-5", "5-10", "10-25", "25-50", "50-100", "100+")], 1.0),
    ("households_by_age_band", "households", ("age_band",),
     [(b,) for b in ("0-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+")], 1.0),
]  # fmt: skip
RHO_PER_TABLE = 0.01


class Releaser:
    """One OpenDP measurement per table, calibrated once, applied per institution."""

    def __init__(self) -> None:
        self.parts = []
        for name, measure, dims, keys, sens in TABLES:
            scale = calibrate_scale(sens, GAUSSIAN, RHO_PER_TABLE)
            m = table_measurement(name, sens, GAUSSIAN, scale)
            self.parts.append((name, measure, dims, keys, sens, scale, m))

    def payload(self, institution_id: str, seed: int) -> SubmissionPayload:
        tables = []
        for name, measure, dims, keys, sens, scale, m in self.parts:
            exact = [(seed * 7 + i * 13) % 400 + 10 for i in range(len(keys))]
            noisy = m({name: exact})
            tables.append(
                ReleasedTable(
                    name=name,
                    measure=measure,
                    dimensions=dims,
                    keys=tuple(keys),
                    values=tuple(int(v) for v in noisy),
                    mechanism=GAUSSIAN,
                    scale=scale,
                    sensitivity=sens,
                    rho=float(m.map(1)),
                    ci95=ci95(GAUSSIAN, scale),
                )
            )
        rho = RHO_PER_TABLE * len(TABLES)
        return SubmissionPayload(
            institution_id=institution_id,
            period=PERIOD,
            submission_id=secrets.token_hex(16),
            created_at=datetime.now(UTC).replace(microsecond=0).isoformat(),
            segment_model="synthetic-demo/1",
            bounds={"visits_per_household": 20, "cells_per_household": 1},
            tables=tuple(tables),
            privacy=PrivacySpend(rho=rho, epsilon=1.0, delta=1e-7),
        )


def prepare(state: Path, db_url: str, institutions: int, *, rho_budget: float = 10.0) -> Any:
    """Aggregator state with ``institutions`` enrolled; returns (db, recipient, signers)."""
    state.mkdir(parents=True, exist_ok=True)
    settings = Settings(state_dir=state, database_url=db_url)
    db = Database(db_url)
    db.create_schema()
    keyring = Keyring(settings, db)
    keyring.ensure()
    open_period(db, PERIOD, rho_budget=rho_budget)
    signers = {}
    for i in range(institutions):
        iid, token = create_token(
            db, name=f"Institution {i:04d}", discipline=DISCIPLINES[i % len(DISCIPLINES)],
            province=PROVINCES[(i // 3) % len(PROVINCES)], valid_for=timedelta(hours=1),
            size_class=SIZES[i % 3],
        )  # fmt: skip
        signer = SigningKey.generate()
        redeem_token(db, token, signer.public, SealPrivateKey.generate().public)
        signers[iid] = signer
    active = next(k for k in keyring.published() if k["state"] == "active")
    return db, SealPublicKey.from_text(active["public_key"]), signers


def seal(payload: SubmissionPayload, signer: SigningKey, recipient: SealPublicKey) -> bytes:
    envelope, _ = seal_submission(payload, signer=signer, recipient=recipient)
    return bytes(envelope)


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """A PostgreSQL server from Debian's package in a temp dir; yields a database URL."""
    bindir = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))[-1].parent
    root = Path(tempfile.mkdtemp(prefix="publiek-pg-"))
    as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = root / "data"
    subprocess.run([*as_pg, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U",
                    "publiek"], check=True, capture_output=True)  # fmt: skip
    opts = f"-k {root} -p {port} -c listen_addresses=127.0.0.1"
    subprocess.run([*as_pg, str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l",
                    str(root / "log"), "-w", "start"], check=True, capture_output=True)  # fmt: skip
    try:
        subprocess.run([*as_pg, str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port),
                        "-U", "publiek", "bench"], check=True, capture_output=True)  # fmt: skip
        yield f"postgresql+psycopg://publiek@127.0.0.1:{port}/bench"
    finally:
        subprocess.run([*as_pg, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
                       check=False, capture_output=True)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)
