"""Seal the period's sector key to every approved agent and upload it.

The aggregator is only a relay: it supplies the agents' public sealing keys
and stores what we upload. We never take its word for a key we have not
approved (see ``custodian.state``), and everything we upload is sealed to
one agent and signed by us, so the aggregator learns nothing it could use.

One recipient can never stop the others: an entry whose key cannot be sealed
to (a small-order key that an older aggregator accepted at enrollment, or a
malformed entry) is skipped and reported with its reason, and the
distribution carries on for everyone else (ADR 0017).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from custodian.state import CustodianState
from protocol.client import ProblemClient
from protocol.errors import PubliekError
from protocol.keys import SealPublicKey, SecretBytes, SigningKey
from protocol.messages import SLUG_RE, check_slug
from protocol.sector_keys import SealedSectorKey, seal_sector_key


@dataclass
class Distribution:
    period: str
    sealed: list[str] = field(default_factory=list)
    awaiting_approval: list[tuple[str, str]] = field(default_factory=list)
    key_changed: list[tuple[str, str]] = field(default_factory=list)
    # (institution id, or "recipient N" when the relay listed no valid id; the reason)
    skipped: list[tuple[str, str]] = field(default_factory=list)


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
    sealer = _Sealer(
        state, state.signing_key(), state.sector_key(period), period, state.roster(), trust_new
    )
    result = Distribution(period=period)
    with ProblemClient(aggregator_url, token=token, timeout=60) as client:
        listed = client.get("/v1/custodian/recipients")["recipients"]
        sealed = []
        for position, entry in enumerate(listed, start=1):
            name = _name_of(entry, position)
            try:
                item = sealer.seal(entry, result)
            except (PubliekError, ValueError, KeyError, TypeError) as exc:
                # Confined to this recipient. The reason names no key material: a
                # PubliekError says what is wrong, anything else only its type.
                reason = str(exc) if isinstance(exc, PubliekError) else type(exc).__name__
                result.skipped.append((name, reason))
                continue
            if item is not None:
                sealed.append(item.to_dict())
                result.sealed.append(name)
        if sealed:
            # Idempotent (stored by period and institution), so the client's retries are safe.
            client.post("/v1/sector-keys", json={"sealed_keys": sealed})
    return result


def _name_of(entry: Any, position: int) -> str:
    """The listed institution id if it is one (it gets printed), else the position."""
    value = entry.get("institution_id") if isinstance(entry, dict) else None
    return value if isinstance(value, str) and SLUG_RE.match(value) else f"recipient {position}"


@dataclass(frozen=True)
class _Sealer:
    """What sealing to one recipient needs: the period's key, our signing key and
    the roster of approved sealing keys."""

    state: CustodianState
    signer: SigningKey
    key: SecretBytes
    period: str
    roster: dict[str, str]
    trust_new: bool

    def seal(self, entry: dict[str, Any], result: Distribution) -> SealedSectorKey | None:
        """The sealed key for one listed recipient, or None when the roster holds it
        back (recorded in ``result``). Raises when the entry or its key is unusable,
        before a key seen for the first time is approved."""
        institution_id = check_slug(entry["institution_id"], what="the listed institution id")
        public = SealPublicKey.from_text(str(entry["sealing_key"]))
        approved = self.roster.get(institution_id)
        if approved is None and not self.trust_new:
            result.awaiting_approval.append((institution_id, public.key_id))
            return None
        if approved is not None and approved != public.key_id:
            result.key_changed.append((institution_id, public.key_id))
            return None
        item = seal_sector_key(
            self.key,
            period=self.period,
            institution_id=institution_id,
            recipient=public,
            custodian=self.signer,
        )
        if approved is None:
            self.state.approve(institution_id, public.key_id)
        return item
