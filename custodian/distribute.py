"""Seal the period's sector key to every approved agent and upload it.

The aggregator is only a relay: it supplies the agents' public sealing keys
and stores what we upload. We never take its word for a key we have not
approved (see ``custodian.state``), and everything we upload is sealed to
one agent and signed by us, so the aggregator learns nothing it could use.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from custodian.state import CustodianState
from protocol.client import ProblemClient
from protocol.keys import SealPublicKey
from protocol.sector_keys import seal_sector_key


@dataclass
class Distribution:
    period: str
    sealed: list[str] = field(default_factory=list)
    awaiting_approval: list[tuple[str, str]] = field(default_factory=list)
    key_changed: list[tuple[str, str]] = field(default_factory=list)


def distribute(
    state: CustodianState,
    aggregator_url: str,
    period: str,
    *,
    token: str,
    trust_new: bool = False,
) -> Distribution:
    """Seal the period's key to every approved agent and hand the ciphertexts to
    the relay. ``token`` is a taskforce API token: the roster and the upload
    are the custodian's alone."""
    signer = state.signing_key()
    key = state.sector_key(period)
    roster = state.roster()
    result = Distribution(period=period)
    with ProblemClient(aggregator_url, token=token, timeout=60) as client:
        listed = client.get("/v1/custodian/recipients")["recipients"]
        sealed = []
        for entry in listed:
            institution_id = str(entry["institution_id"])
            public = SealPublicKey.from_text(str(entry["sealing_key"]))
            approved = roster.get(institution_id)
            if approved is None:
                if not trust_new:
                    result.awaiting_approval.append((institution_id, public.key_id))
                    continue
                state.approve(institution_id, public.key_id)
            elif approved != public.key_id:
                result.key_changed.append((institution_id, public.key_id))
                continue
            item = seal_sector_key(
                key,
                period=period,
                institution_id=institution_id,
                recipient=public,
                custodian=signer,
            )
            sealed.append(item.to_dict())
            result.sealed.append(institution_id)
        if sealed:
            # Idempotent (stored by period and institution), so the client's retries are safe.
            client.post("/v1/sector-keys", json={"sealed_keys": sealed})
    return result
