"""The offline path: seal a release to a file instead of sending it.

``publiek agent export`` writes exactly the envelope bytes that ``submit``
would POST, sealed to the aggregator's current key as cached in the workspace
(from enrollment or the last online contact). ``publiek aggregator import``
feeds the file to the very same intake as HTTP; its receipt comes back as a
file for ``agent.receipts.add_receipt``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agent.client import AggregatorClient, current_key_of
from agent.release import prepare_release, seal_to_outbox
from agent.segments import SegmentModel
from agent.tables import ReleaseConfig
from agent.workspace import Workspace
from protocol.errors import UsageError


def key_set_path(workspace: Workspace) -> Path:
    return workspace.root / "aggregator-keys.json"


def save_key_set(workspace: Workspace, key_set: dict[str, Any]) -> None:
    key_set_path(workspace).write_text(json.dumps(key_set, indent=2, sort_keys=True) + "\n")


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


def export_release(
    workspace: Workspace,
    period: str,
    out: Path,
    model: SegmentModel,
    config: ReleaseConfig,
    *,
    key_set: dict[str, Any] | None = None,
) -> tuple[str, Path]:
    """Prepare (or reuse) the period's release, seal it and copy the envelope to ``out``."""
    keys = key_set if key_set is not None else load_key_set(workspace)
    release = prepare_release(workspace, period, model, config)
    envelope = seal_to_outbox(workspace, release.payload, current_key_of(keys))
    out.write_bytes(envelope.read_bytes())
    return release.payload.submission_id, out
