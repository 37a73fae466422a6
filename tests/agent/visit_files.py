"""Ingested visit files written straight into an agent workspace, for tests
that need canonical visits without running ingest (the agent's ledger and
inspect tests, the aggregator's budget check)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import polars as pl

from agent.visits import VISIT_SCHEMA
from agent.workspace import Workspace


def write_visit_file(
    workspace: Workspace, name: str, period: str, visits: Iterable[dict[str, Any]]
) -> None:
    """One ingested file ``name`` under ``period``. Each visit gives the columns
    a test varies (visit_date, household_key, pc4, tickets); the rest are one
    theater event at 20.0 without birth year, the order id and source row
    numbered from the file's name."""
    rows = [
        {
            "period": period,
            **visit,
            "order_id": f"{name}-{n}",
            "price": 20.0,
            "event": "event",
            "discipline": "theater",
            "birth_year": None,
            "source_digest": name,
            "source_row": n,
        }
        for n, visit in enumerate(visits)
    ]
    folder = workspace.visits_dir / f"period={period}"
    folder.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(rows, schema=VISIT_SCHEMA).write_parquet(folder / f"{name}.parquet")
