"""No silent local sector key (issue 15).

An enrolled workspace that ingests a period before its sector key was
fetched is refused with the command to run, and keeps nothing of the run: a
local key would key its households so that they match no other
institution's, and the release would count them wrongly without a word.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.workspace import AgentConfig, Workspace
from cli import app
from demo.sector import PERIOD, generate_sector, write_exports
from protocol.keys import SecretBytes

runner = CliRunner()


@pytest.mark.slow  # 0.4 s or more: outside the inner loop (ADR 0032)
def test_an_enrolled_workspace_refuses_to_ingest_before_the_sector_key_is_fetched(
    tmp_path: Path,
) -> None:
    sector = generate_sector(institutions=1, households=300, seed=5)
    spec = sector.institutions[0]
    export = write_exports(sector, tmp_path / "agents")[spec.slug]
    mapping = tmp_path / "agents" / spec.slug / "mapping.toml"
    ws = Workspace(tmp_path / "ws")
    ws.save_config(
        AgentConfig(
            institution_id="stadsschouwburg-test",
            aggregator_url="http://127.0.0.1:9",
            discipline=spec.discipline,
            province=spec.province,
        )
    )
    args = ["agent", "ingest", str(export), "-m", str(mapping), "-w", str(ws.root)]
    refused = runner.invoke(app, args)
    assert refused.exit_code == 2, refused.output
    assert f"no sector key for {PERIOD}" in refused.stderr
    assert f"publiek agent sector-key fetch --period {PERIOD}" in refused.stderr
    assert not ws.sector_key_path(PERIOD).exists()  # nothing invented
    assert not list(ws.visits_dir.rglob("*.parquet"))
    # Once the key is there, the same export is ingested (not skipped as seen before).
    ws.install_sector_key(PERIOD, SecretBytes(secrets.token_bytes(32)))
    ran = runner.invoke(app, args)
    assert ran.exit_code == 0, ran.output
    assert "ingested before" not in ran.output
    assert list(ws.visits_dir.rglob("*.parquet"))
