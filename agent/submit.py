"""``agent submit`` as a library call: check the period, then release, seal, send.

The order is the point (issue 12): the signed period config and this
institution's standing at the aggregator are fetched and checked *before*
any noise is drawn, so a submission to an unknown, closed or published
period, by a revoked institution, or over a budget the aggregator already
counts as spent, costs no ρ in the ledger. A release already drawn for the
same inputs is resent without that check: it spends nothing, and a retry of
an accepted submission must still get its receipt back. An outbox envelope
the aggregator refuses because its key was retired since it was sealed is
resealed to the current key with the same release, and sent again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agent import period_config as period_configs
from agent.client import AggregatorClient
from agent.receipts import keep_receipt
from agent.release import Release, prepare_release, seal_to_outbox, stored_release
from agent.release_config import release_config
from agent.segments import SegmentModel
from agent.workspace import Workspace
from protocol.errors import RetiredKey
from protocol.keys import SigningKey
from protocol.messages import PeriodConfig, check_period


@dataclass(frozen=True)
class Submitted:
    release: Release
    receipt: dict[str, Any]
    period_config: PeriodConfig


def submit_period(
    workspace: Workspace,
    period: str,
    model: SegmentModel,
    *,
    client: AggregatorClient | None = None,
) -> Submitted:
    """Check, release (or reuse), seal and send the period's submission; keep the receipt."""
    check_period(period)
    agent = workspace.load_config()
    own = client is None
    http = client if client is not None else AggregatorClient(agent.aggregator_url)
    try:
        config = period_configs.fetch(workspace, http, period)
        period_configs.check_segment_model(config, model)
        release_cfg = release_config(workspace, period, config)
        if stored_release(workspace, period, model, release_cfg) is None:
            signer = SigningKey.load(workspace.signing_key_path)
            standing = http.standing(period, agent.institution_id, signer)
            period_configs.check_standing(standing, period, release_cfg.rho)
        release = prepare_release(workspace, period, model, release_cfg)
        current = http.current_key()
        envelope = seal_to_outbox(workspace, release.payload, current)
        try:
            receipt = http.submit(envelope.read_bytes())
        except RetiredKey:
            # Sealed before a key rotation and never accepted: the same release,
            # resealed to the key the aggregator publishes now (no new noise).
            # Fetched again: the rotation may have come after the fetch above,
            # which then returned the very key just refused.
            envelope = seal_to_outbox(workspace, release.payload, http.current_key(), reseal=True)
            receipt = http.submit(envelope.read_bytes())
    finally:
        if own:
            http.close()
    keep_receipt(workspace, receipt, submission_id=release.payload.submission_id)
    return Submitted(release=release, receipt=receipt, period_config=config)
