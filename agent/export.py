"""The offline path: seal a release to a file instead of sending it.

``publiek agent export`` writes exactly the envelope bytes that ``submit``
would POST, sealed to the aggregator's current key as cached in the workspace
(from enrollment or the last online contact). ``publiek aggregator import``
feeds the file to the very same intake as HTTP; its receipt comes back as a
file for ``agent.receipts.add_receipt``.

No noise is drawn without the period's signed config (from the workspace's
cache or a file the taskforce hands out): offline the agent cannot ask
whether the period is open, but it can know the budget, mechanism and design
the taskforce fixed, and that the aggregator signed them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent import period_config as period_configs
from agent.client import current_key_of
from agent.key_set import load_key_set
from agent.release import prepare_release, seal_to_outbox
from agent.release_config import release_config
from agent.segments import SegmentModel
from agent.workspace import Workspace
from protocol.messages import check_period


def export_release(
    workspace: Workspace,
    period: str,
    out: Path,
    model: SegmentModel,
    *,
    key_set: dict[str, Any] | None = None,
    period_config: Path | None = None,
) -> tuple[str, Path]:
    """Check the signed period config, prepare (or reuse) the release, seal it to ``out``."""
    check_period(period)
    config = period_configs.offline(workspace, period, period_config)
    period_configs.check_segment_model(config, model)
    keys = key_set if key_set is not None else load_key_set(workspace)
    release = prepare_release(workspace, period, model, release_config(workspace, period, config))
    envelope = seal_to_outbox(workspace, release.payload, current_key_of(keys))
    out.write_bytes(envelope.read_bytes())
    return release.payload.submission_id, out
