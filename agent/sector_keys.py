"""The agent's side of sector-key distribution: pin, fetch, verify, unseal.

The custodian's public signing key is pinned once, out of band (from the
taskforce, e.g. ``publiek agent enroll --custodian-key KEY``), and stored in
the workspace. A sealed sector key fetched through the aggregator is
accepted only under that pinned key; the aggregator cannot substitute a key
of its own (see docs/threat-model.md).
"""

from __future__ import annotations

from pathlib import Path

from agent import pinned_keys
from agent.client import AggregatorClient
from agent.workspace import Workspace
from protocol.errors import UsageError
from protocol.keys import SealPrivateKey, SigningKey, VerifyKey, fingerprint, read_secret
from protocol.sector_keys import SealedSectorKey, open_sector_key


def custodian_key_path(workspace: Workspace) -> Path:
    return workspace.root / "custodian.pub"


def pin_custodian(workspace: Workspace, key_text: str) -> VerifyKey:
    """Pin the custodian's public signing key; a different pinned key is never replaced."""
    return pinned_keys.pin(
        custodian_key_path(workspace),
        key_text,
        what="custodian key",
        copy_hint="copy it exactly as `publiek custodian init` printed it",
    )


def pinned_custodian(workspace: Workspace) -> VerifyKey:
    path = custodian_key_path(workspace)
    if not path.exists():
        raise UsageError(
            "no custodian key is pinned in this workspace",
            hint="pin the key the taskforce gave you: publiek agent pin-custodian "
            "--custodian-key KEY (no new enrollment needed)",
        )
    return pinned_keys.read_pinned(path)


def fetch_sector_key(workspace: Workspace, period: str) -> str:
    """Fetch, verify and install the period's sector key; return the custodian fingerprint."""
    config = workspace.load_config()
    custodian = pinned_custodian(workspace)
    with AggregatorClient(config.aggregator_url) as client:
        doc = client.sealed_sector_key(
            period, config.institution_id, SigningKey.load(workspace.signing_key_path)
        )
    item = SealedSectorKey.from_dict(doc)
    recipient = SealPrivateKey.load(workspace.seal_key_path)
    key = open_sector_key(
        item,
        custodian=custodian,
        recipient=recipient,
        institution_id=config.institution_id,
        period=period,
    )
    path = workspace.sector_key_path(period)
    if path.exists() and read_secret(path, what="sector key") != key.reveal():
        visits = workspace.visits_dir / f"period={period}"
        if visits.exists() and any(visits.glob("*.parquet")):
            raise UsageError(
                f"visits of {period} were already keyed with another sector key; "
                "the shared key was not installed",
                hint=f"move {visits} out of the workspace, fetch again, then re-ingest each "
                f"export of {period} with `publiek agent ingest --replace EXPORT -m MAPPING`",
            )
    workspace.install_sector_key(period, key)
    return fingerprint(custodian)
