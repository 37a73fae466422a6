"""An enrolled-looking agent workspace with canonical visits, for ledger and
inspect tests (no aggregator needed: enrollment only writes agent.toml and keys)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.workspace import AgentConfig, Workspace
from protocol.keys import SigningKey
from tests.agent.visit_files import write_visit_file

PERIOD = "2026-Q3"


def write_visits(workspace: Workspace, name: str, households: int, period: str = PERIOD) -> None:
    """One ingested file of canonical visits under ``period``."""
    visits = []
    for n in range(households):
        h = hashlib.sha256(f"{name}/{n}".encode()).digest()
        visits.append(
            {
                "visit_date": date(2026, 7, 1) + timedelta(days=h[0] % 92),
                "household_key": hashlib.sha256(f"household {n}".encode()).digest(),
                "pc4": str(1000 + h[1] * 30),
                "tickets": 1 + h[2] % 3,
            }
        )
    write_visit_file(workspace, name, period, visits)


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    ws = Workspace(tmp_path / "agent").ensure()
    ws.save_config(
        AgentConfig(
            institution_id="stadsschouwburg-test",
            aggregator_url="http://127.0.0.1:9",
            discipline="theater",
            province="utrecht",
        )
    )
    SigningKey.generate().save(ws.signing_key_path)
    write_visits(ws, "export-1", 120)
    return ws


@pytest.fixture
def add_visits(workspace: Workspace) -> Callable[[str], None]:
    return lambda name: write_visits(workspace, name, 80)


AGGREGATOR_KEY = SigningKey.generate()


def signed_period_config(
    workspace: Workspace,
    *,
    period: str = PERIOD,
    rho_budget: float = 0.0201871,
    mechanism: str = "discrete_gaussian",
    key: SigningKey = AGGREGATOR_KEY,
    cache: bool = True,
    segment_model: str = "synthetic-demo-2026",
    segment_model_digest: str | None = None,
    sketch: Any = None,
) -> Any:
    """A period config of this code's release design, signed by a stand-in
    aggregator whose receipt key the workspace trusts (as if cached at enrollment)."""
    from agent import period_config
    from agent.key_set import save_key_set
    from dp import release_design
    from protocol.messages import PeriodConfig, PeriodTable
    from protocol.period_config import sign_period_config

    save_key_set(workspace, {"keys": [], "receipt_key": AGGREGATOR_KEY.public.to_text()})
    config = sign_period_config(
        PeriodConfig(
            period=period,
            rho_budget=rho_budget,
            delta=1e-7,
            mechanism=mechanism,
            design=release_design.DESIGN,
            tables=tuple(
                PeriodTable(t.name, t.weight * (1.0 - (sketch.weight if sketch else 0.0)))
                for t in release_design.TABLE_DESIGN
            ),
            bounds=dict(release_design.DEFAULT_BOUNDS),
            k=5,
            segment_model=segment_model,
            segment_model_digest=segment_model_digest,
            issued_at="2026-07-01T00:00:00+00:00",
            aggregator_key_id=key.public.key_id,
            sketch=sketch,
        ),
        key,
    )
    if cache:
        period_config.save(workspace, config)
    return config
