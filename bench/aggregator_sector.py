"""Shared set-up for the aggregator benchmarks: a synthetic sector of enrolled
institutions with real OpenDP releases, and a throwaway PostgreSQL server.

Noise comes from OpenDP measurements (``dp.measurements.table_measurement``),
built once per table and applied to each institution's exact counts.
"""

from __future__ import annotations

import itertools
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
from aggregator.segment_models import publish_release, register_model_key
from aggregator.settings import Settings
from aggregator.storage import Database
from dp.measurements import GAUSSIAN, calibrate_scale, ci95, table_measurement
from dp.release_design import (
    DEFAULT_MAX_VISITS,
    MAX_VISITS,
    TABLE_DESIGN,
    labels,
    rho_share,
    sensitivity,
)
from protocol.envelope import seal_submission
from protocol.keys import SealPrivateKey, SealPublicKey, SigningKey, VerifyKey
from protocol.messages import PrivacySpend, ReleasedTable, SubmissionPayload

PERIOD = "2026-Q3"
SIZES = ("small", "medium", "large")
BOUNDS = {MAX_VISITS: DEFAULT_MAX_VISITS}
SEGMENT_MODEL = "synthetic-demo-2026"
# Every cell of every table: the release design's key sets (7 segments and unknown).
LABELS: dict[str, tuple[str, ...]] = {
    d: labels(d, segment_model=SEGMENT_MODEL, period=PERIOD)
    for d in {d for t in TABLE_DESIGN for d in t.dimensions}
}
# (name, measure, dimensions, key set, sensitivity): the tables of the release design.
TABLES: list[tuple[str, str, tuple[str, ...], list[tuple[str, ...]], float]] = [
    (
        t.name,
        t.measure,
        t.dimensions,
        list(itertools.product(*(LABELS[d] for d in t.dimensions))),
        sensitivity(t.name, BOUNDS, GAUSSIAN),
    )
    for t in TABLE_DESIGN
]
RHO = 0.15  # a submission's ρ, split over the tables by the release design's weights


class Releaser:
    """One OpenDP measurement per table, calibrated once, applied per institution.

    Each table gets the release design's share of ``RHO`` (``rho_share``), as
    the agent splits it: intake refuses any other split, an even one included."""

    def __init__(self) -> None:
        self.parts = []
        for name, measure, dims, keys, sens in TABLES:
            scale = calibrate_scale(sens, GAUSSIAN, rho_share(name, RHO))
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
        # The total is OpenDP's ρ of the tables, summed as intake recomputes it.
        rho = sum(t.rho for t in tables)
        return SubmissionPayload(
            institution_id=institution_id,
            period=PERIOD,
            submission_id=secrets.token_hex(16),
            created_at=datetime.now(UTC).replace(microsecond=0).isoformat(),
            segment_model=SEGMENT_MODEL,
            catchment_origin=None,
            bounds=dict(BOUNDS),
            tables=tuple(tables),
            privacy=PrivacySpend(rho=rho, epsilon=1.0, delta=1e-7),
        )


def prepare(
    state: Path,
    db_url: str,
    institutions: int,
    *,
    rho_budget: float = 10.0,
    model: tuple[VerifyKey, bytes] | None = None,
    overlap_share: float = 0.0,
    overlap_households: float | None = None,
) -> Any:
    """Aggregator state with ``institutions`` enrolled and :data:`PERIOD` open;
    returns (db, recipient, signers).

    ``model``, a model key and a segment model release it signed, is registered
    and published before the period opens, and the period names that release,
    as ``publiek aggregator segment-model register-key`` and ``publish`` before
    ``period open`` do; without it the period names the built-in demo model,
    which has no population. ``overlap_share`` and ``overlap_households`` fix
    the period's household sketch (``--overlap-share``, ``--overlap-households``;
    the default: none)."""
    state.mkdir(parents=True, exist_ok=True)
    settings = Settings(state_dir=state, database_url=db_url)
    db = Database(db_url)
    db.create_schema()
    keyring = Keyring(settings, db)
    keyring.ensure()
    version = None
    if model is not None:
        key, release = model
        register_model_key(db, key)
        version = publish_release(db, release, where="the bench's segment model")[0].version
    open_period(db, PERIOD, rho_budget=rho_budget, segment_model=version,
                overlap_share=overlap_share, overlap_households=overlap_households)  # fmt: skip
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
