"""HTTP client of the agent: enrollment, the aggregator's key set, submission.

The transport, the retries and the problem documents are the shared
:class:`protocol.client.ProblemClient`'s; this module only names the agent's
calls. Submissions are idempotent by submission id, so the retries after a
timeout can never store twice.
"""

from __future__ import annotations

from typing import Any

from protocol.client import ProblemClient
from protocol.errors import PubliekError, ServiceUnavailable, UsageError
from protocol.keys import SealPublicKey, SigningKey, VerifyKey
from protocol.messages import check_period, check_slug
from protocol.schema import full_match
from protocol.segment_release import MAX_RELEASE_BYTES, VERSION


def current_key_of(key_set: dict[str, Any]) -> SealPublicKey:
    """Pick the key marked ``current`` (or, from an older server, the first active one)."""
    keys = key_set.get("keys", [])
    chosen = [k for k in keys if k.get("current")] or [k for k in keys if k["state"] == "active"]
    if not chosen:
        raise ServiceUnavailable("the aggregator publishes no active key")
    key = SealPublicKey.from_text(chosen[0]["public_key"])
    if key.key_id != chosen[0]["key_id"]:
        raise PubliekError("the aggregator's published key id does not match its key")
    return key


class AggregatorClient(ProblemClient):
    """The aggregator as the agent sees it: public calls and its own signed reads."""

    def enroll(self, token: str, signing: VerifyKey, sealing: SealPublicKey) -> dict[str, Any]:
        """Redeem an enrollment token. A token pasted from an e-mail or a terminal
        often carries spaces or a line break around it: those are dropped here, so
        the server's token pattern can stay strict (spaces inside still fail)."""
        body = {
            "token": token.strip(),
            "signing_key": signing.to_text(),
            "sealing_key": sealing.to_text(),
        }
        result: dict[str, Any] = self.request("POST", "/v1/enrollments", json=body)
        return result

    def key_set(self) -> dict[str, Any]:
        """The aggregator's published intake keys and its receipt key."""
        doc: dict[str, Any] = self.request("GET", "/v1/keys")
        return doc

    def current_key(self) -> SealPublicKey:
        """The aggregator's current sealing key (the one new envelopes go to)."""
        return current_key_of(self.key_set())

    def sealed_sector_key(
        self, period: str, institution_id: str, signer: SigningKey
    ) -> dict[str, Any]:
        """This institution's sealed sector key; only the institution itself may fetch it."""
        doc: dict[str, Any] = self.signed_get(
            f"/v1/sector-keys/{period}/{institution_id}", signer, institution_id
        )
        return doc

    def period_config(self, period: str) -> dict[str, Any]:
        """The period's signed config (public; the caller verifies the signature)."""
        doc: dict[str, Any] = self.request("GET", f"/v1/periods/{check_period(period)}/config")
        return doc

    def standing(self, period: str, institution_id: str, signer: SigningKey) -> dict[str, Any]:
        """The period's state, budget and what this institution spent there (signed GET)."""
        path = f"/v1/institutions/{institution_id}/periods/{check_period(period)}/standing"
        doc: dict[str, Any] = self.signed_get(path, signer, institution_id)
        return doc

    def own_overlaps(self, period: str, institution_id: str, signer: SigningKey) -> dict[str, Any]:
        """The households this institution shares with each discipline, province
        and the sector, once the period is published (signed GET, ADR 0037)."""
        path = f"/v1/institutions/{institution_id}/periods/{check_period(period)}/overlaps"
        doc: dict[str, Any] = self.signed_get(path, signer, institution_id)
        return doc

    def own_report(self, period: str, institution_id: str, signer: SigningKey) -> dict[str, Any]:
        """This institution's peer group and that group's published cells, once
        the period is published (signed GET; for the local report)."""
        path = f"/v1/institutions/{institution_id}/periods/{check_period(period)}/report"
        doc: dict[str, Any] = self.signed_get(path, signer, institution_id)
        return doc

    def own_penetration(
        self, period: str, institution_id: str, signer: SigningKey
    ) -> dict[str, Any]:
        """This institution's audience against the population of its own
        catchment, per segment, once the period is published (signed GET)."""
        path = f"/v1/institutions/{institution_id}/periods/{check_period(period)}/penetration"
        doc: dict[str, Any] = self.signed_get(path, signer, institution_id)
        return doc

    def named_overlap(
        self, period: str, institution_id: str, other_id: str, signer: SigningKey
    ) -> dict[str, Any]:
        """The households this institution shares with ``other_id``, when both
        consented to named overlaps (signed GET; each refusal its own problem)."""
        check_slug(other_id, what="other institution id")
        path = (
            f"/v1/institutions/{institution_id}/periods/{check_period(period)}/overlaps/{other_id}"
        )
        doc: dict[str, Any] = self.signed_get(path, signer, institution_id)
        return doc

    def segment_model(self, version: str) -> bytes:
        """A segment model release's bytes as the aggregator serves them (public;
        the caller verifies them under the pinned model key)."""
        if not full_match(VERSION).fullmatch(version):
            raise UsageError(
                f"{version!r} is not a segment model version",
                hint="give the version the taskforce announced, e.g. synthetic-2026.1",
            )
        return self.download(f"/v1/segment-models/{version}", max_bytes=MAX_RELEASE_BYTES)

    def submit(self, envelope: bytes) -> dict[str, Any]:
        result: dict[str, Any] = self.request(
            "POST",
            "/v1/submissions",
            content=envelope,
            headers={"content-type": "application/json"},
        )
        return result
