"""An enrolled-looking agent workspace with canonical visits, for ledger and
inspect tests (no aggregator needed: enrollment only writes agent.toml and keys)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from agent.visits import VISIT_SCHEMA
from agent.workspace import AgentConfig, Workspace
from protocol.keys import SigningKey

PERIOD = "2026-Q3"


def write_visits(workspace: Workspace, name: str, households: int, period: str = PERIOD) -> None:
    """One ingested file of canonical visits under ``period``."""
    rows = []
    for n in range(households):
        h = hashlib.sha256(f"{name}/{n}".encode()).digest()
        rows.append(
            {
                "period": period,
                "visit_date": date(2026, 7, 1) + timedelta(days=h[0] % 92),
                "household_key": hashlib.sha256(f"household {n}".encode()).digest(),
                "pc4": str(1000 + h[1] * 30),
                "order_id": f"{name}-{n}",
                "tickets": 1 + h[2] % 3,
                "price": 20.0,
                "event": "event",
                "discipline": "theater",
                "birth_year": None,
                "source_digest": name,
                "source_row": n,
            }
        )
    folder = workspace.visits_dir / f"period={period}"
    folder.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(rows, schema=VISIT_SCHEMA).write_parquet(folder / f"{name}.parquet")


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
