"""HTTP client of the agent: enrollment, the aggregator's key set, submission.

Submissions are idempotent by submission id, so every call is retried with
exponential backoff on connection errors and 5xx answers; a retry after a
timeout can never store twice. Problem documents from the aggregator are
raised as the matching local error class with its detail.
"""

from __future__ import annotations

import socket
import time
from typing import Any

import httpx

from protocol.errors import PubliekError, ServiceUnavailable, error_from_problem
from protocol.keys import SealPublicKey, SigningKey, VerifyKey
from protocol.messages import check_period
from protocol.request_auth import sign_request


def _raise_problem(response: httpx.Response) -> None:
    try:
        doc = response.json()
    except ValueError:
        doc = {}
    raise error_from_problem(response.status_code, doc, response.reason_phrase)


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


class AggregatorClient:
    def __init__(
        self, base_url: str, *, attempts: int = 5, backoff: float = 0.2, timeout: float = 30.0
    ) -> None:
        # TCP_NODELAY: otherwise the body waits behind the headers for the
        # server's delayed ACK (about 40 ms per request).
        transport = httpx.HTTPTransport(
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
        )
        self._client = httpx.Client(base_url=base_url, timeout=timeout, transport=transport)
        self._attempts = attempts
        self._backoff = backoff

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> AggregatorClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        delay = self._backoff
        for attempt in range(1, self._attempts + 1):
            try:
                response = self._client.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                if attempt == self._attempts:
                    raise ServiceUnavailable(
                        f"cannot reach the aggregator at {self._client.base_url} "
                        f"({type(exc).__name__})",
                        hint="check the URL and the network, then run the command again",
                    ) from exc
            else:
                if response.status_code < 500 or attempt == self._attempts:
                    if response.is_error:
                        _raise_problem(response)
                    return response.json()
            time.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")

    def enroll(self, token: str, signing: VerifyKey, sealing: SealPublicKey) -> dict[str, Any]:
        body = {"token": token, "signing_key": signing.to_text(), "sealing_key": sealing.to_text()}
        result: dict[str, Any] = self._request("POST", "/v1/enrollments", json=body)
        return result

    def key_set(self) -> dict[str, Any]:
        """The aggregator's published intake keys and its receipt key."""
        doc: dict[str, Any] = self._request("GET", "/v1/keys")
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
        doc: dict[str, Any] = self._request("GET", f"/v1/periods/{check_period(period)}/config")
        return doc

    def standing(self, period: str, institution_id: str, signer: SigningKey) -> dict[str, Any]:
        """The period's state, budget and what this institution spent there (signed GET)."""
        path = f"/v1/institutions/{institution_id}/periods/{check_period(period)}/standing"
        doc: dict[str, Any] = self.signed_get(path, signer, institution_id)
        return doc

    def submit(self, envelope: bytes) -> dict[str, Any]:
        result: dict[str, Any] = self._request(
            "POST",
            "/v1/submissions",
            content=envelope,
            headers={"content-type": "application/json"},
        )
        return result

    def signed_get(self, path: str, signer: SigningKey, institution_id: str) -> Any:
        """GET a resource of this institution, authenticated by its enrolled key.

        ``path`` includes any query string; it is signed exactly as sent."""
        headers = sign_request(signer, institution_id, "GET", path)
        return self._request("GET", path, headers=headers)
