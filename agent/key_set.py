"""The aggregator's key set as this workspace trusts it (cached at enrollment).

``aggregator-keys.json`` holds the intake keys and the receipt key from
``GET /v1/keys`` as fetched when the agent enrolled. The receipt key in it is
the agent's anchor for everything the aggregator signs: receipts
(``agent.receipts``) and period configs (``agent.period_config``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agent.client import AggregatorClient
from agent.workspace import Workspace
from protocol.errors import UsageError
from protocol.keys import VerifyKey
from protocol.state_files import write_private


def key_set_path(workspace: Workspace) -> Path:
    return workspace.root / "aggregator-keys.json"


def save_key_set(workspace: Workspace, key_set: dict[str, Any]) -> None:
    write_private(
        key_set_path(workspace), (json.dumps(key_set, indent=2, sort_keys=True) + "\n").encode()
    )


def load_key_set(workspace: Workspace) -> dict[str, Any]:
    try:
        doc: dict[str, Any] = json.loads(key_set_path(workspace).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UsageError(
            "no cached aggregator key set in this workspace",
            hint="enroll first, or pass --key-set FILE saved from GET /v1/keys",
        ) from exc
    return doc


def cached_or_fetched_key_set(workspace: Workspace) -> dict[str, Any]:
    """The cached key set; a workspace without one (enrolled by an older agent)
    fetches it once from its aggregator and caches it from then on."""
    if key_set_path(workspace).exists():
        return load_key_set(workspace)
    with AggregatorClient(workspace.load_config().aggregator_url) as client:
        key_set = client.key_set()
    save_key_set(workspace, key_set)
    return key_set


def receipt_key(workspace: Workspace) -> VerifyKey:
    """The aggregator's receipt-signing key as this workspace trusts it."""
    return VerifyKey.from_text(str(cached_or_fetched_key_set(workspace)["receipt_key"]))
