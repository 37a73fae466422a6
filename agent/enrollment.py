"""Enrollment: create this agent's keys and register their public halves.

The secret halves are generated here and never leave the workspace (files
with mode 0600). The aggregator learns only the public keys and binds them to
the institution named in the single-use token. The custodian's public key,
when given, is pinned here too, and the aggregator's key set is cached for
the offline path (``publiek agent export``).

A workspace made by ``agent init`` may hold a trial: exports ingested with
local sector keys, to try a mapping. Those households match nobody else's, so
enrolling removes the trial (its visits, quarantine, records and local keys)
once the aggregator has accepted the keys; the exports are ingested again after
``agent sector-key fetch`` (ADR 0025).
"""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing

from agent.client import AggregatorClient
from agent.key_set import save_key_set
from agent.sector_keys import pin_custodian
from agent.workspace import AgentConfig, Workspace
from protocol.errors import UsageError
from protocol.keys import SealPrivateKey, SigningKey


def enroll(
    workspace: Workspace, aggregator_url: str, token: str, *, custodian_key: str | None = None
) -> AgentConfig:
    workspace.ensure()
    if workspace.enrolled:
        raise UsageError(
            f"{workspace.root} is already enrolled",
            hint="use another --workspace, or remove agent.toml and keys/ to enroll anew",
        )
    if custodian_key is not None:
        pin_custodian(workspace, custodian_key)
    signing = SigningKey.generate()
    sealing = SealPrivateKey.generate()
    with AggregatorClient(aggregator_url) as client:
        answer = client.enroll(token, signing.public, sealing.public)
        key_set = client.key_set()
    signing.save(workspace.signing_key_path)
    sealing.save(workspace.seal_key_path)
    config = AgentConfig(
        institution_id=str(answer["institution_id"]),
        aggregator_url=aggregator_url,
        discipline=str(answer["discipline"]),
        province=str(answer["province"]),
    )
    workspace.save_config(config)
    save_key_set(workspace, key_set)
    _remove_trial(workspace)
    return config


def trial_exports(workspace: Workspace) -> int:
    """How many exports an unenrolled workspace ingested as a trial (0 for none)."""
    if workspace.enrolled or not workspace.db_path.exists():
        return 0
    with closing(sqlite3.connect(f"file:{workspace.db_path}?mode=ro", uri=True)) as db:
        try:
            return int(db.execute("SELECT COUNT(*) FROM ingested_files").fetchone()[0])
        except sqlite3.OperationalError:  # no table yet
            return 0


def _remove_trial(workspace: Workspace) -> None:
    """Remove what a trial ingested with local sector keys (see the module docstring)."""
    shutil.rmtree(workspace.visits_dir, ignore_errors=True)
    shutil.rmtree(workspace.quarantine_dir, ignore_errors=True)
    for key in workspace.keys_dir.glob("local-sector-*.key"):
        key.unlink()
    with workspace.connect() as db:
        db.execute("DELETE FROM ingested_file_sizes")
        db.execute("DELETE FROM ingested_files")
    workspace.ensure()
