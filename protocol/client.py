"""The one HTTP client every peer of the aggregator uses: agent, custodian, CLI.

It lives in ``protocol`` because what it knows is the protocol's, not a
side's: that errors come back as RFC 9457 problem documents whose types map
to :mod:`protocol.errors`, how an institution signs a request
(:mod:`protocol.request_auth`) and how a staff member presents a token. The
custodian may import only ``protocol``, so this is the one place all three
callers can share.

Why each behaviour:

- Every request is retried with exponential backoff on transport errors and
  5xx answers. All the aggregator's writes are idempotent (a submission by its
  id, a sealed-key upload by period and institution), so a retry after a lost
  answer never stores twice.
- A problem document is raised as the matching local class with the server's
  detail, so a caller handles ``Unauthenticated`` the same whether it was
  raised locally or by the aggregator, and the CLI prints one line of it.
- Messages name the URL and the error type, never a token, a body or a
  header: they end up on terminals and in logs.
- Answers are parsed like any JSON from another party
  (:mod:`protocol.json_limits`): a depth limit before ``json.loads``, so an
  answer nested thousands deep is a ``deep-json`` error, not a crash of the
  agent or the custodian.
"""

from __future__ import annotations

import socket
import time
from typing import Any, Self

import httpx

from protocol.errors import (
    PayloadTooLarge,
    PubliekError,
    ServiceUnavailable,
    error_from_problem,
)
from protocol.json_limits import parse_json
from protocol.keys import SigningKey
from protocol.request_auth import sign_request

# The largest answer a client parses: a page of the transparency log or of
# benchmark cells (at most 10 000 items) is a few MiB.
MAX_ANSWER_BYTES = 64 * 1024 * 1024
MAX_PROBLEM_BYTES = 64 * 1024


def raise_for_problem(response: httpx.Response) -> None:
    """Raise the local error for an error answer (``PubliekError`` if its type is unknown)."""
    if not response.is_error:
        return
    try:
        doc = parse_json(response.content, what="the problem document", max_bytes=MAX_PROBLEM_BYTES)
    except PubliekError:
        doc = {}  # a proxy's HTML page, say: the status and its reason phrase still say enough
    raise error_from_problem(response.status_code, doc, response.reason_phrase)


class ProblemClient:
    """A connection to one aggregator, with retries and problem-aware errors.

    ``token`` is a staff API token sent as ``Authorization: Bearer`` on every
    request (taskforce, privacy officer); institutions instead sign individual
    requests with :meth:`signed_get`.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        attempts: int = 5,
        backoff: float = 0.2,
        timeout: float = 30.0,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        # TCP_NODELAY: otherwise the body waits behind the headers for the
        # server's delayed ACK (about 40 ms per request).
        transport = httpx.HTTPTransport(
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
        )
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.Client(
            base_url=base_url, timeout=timeout, transport=transport, headers=headers
        )
        self._attempts = attempts
        self._backoff = backoff

    @property
    def base_url(self) -> str:
        return str(self._client.base_url).rstrip("/")

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send one request (retried as the module says) and return its JSON body.

        ``kwargs`` are httpx's (``json``, ``content``, ``params``, ``headers``)."""
        response = self._send(method, path, **kwargs)
        return parse_json(
            response.content,
            what=f"the aggregator's answer to {method} {path}",
            max_bytes=MAX_ANSWER_BYTES,
        )

    def download(self, path: str, *, max_bytes: int) -> bytes:
        """GET a file (retried like :meth:`request`) and return its bytes,
        refused when it is larger than ``max_bytes``: the caller checks the
        content itself (a segment model release, under its pinned key)."""
        response = self._send("GET", path)
        if len(response.content) > max_bytes:
            raise PayloadTooLarge(
                f"the aggregator's answer to GET {path} is larger than {max_bytes:,} bytes",
                hint="check the aggregator URL with the taskforce",
            )
        return response.content

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        delay = self._backoff
        for attempt in range(1, self._attempts + 1):
            try:
                response = self._client.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                if attempt == self._attempts:
                    raise ServiceUnavailable(
                        f"cannot reach the aggregator at {self.base_url} ({type(exc).__name__})",
                        hint="check the URL and the network, then run the command again",
                    ) from exc
            else:
                if response.status_code < 500 or attempt == self._attempts:
                    raise_for_problem(response)
                    return response
            time.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def signed_get(self, path: str, signer: SigningKey, institution_id: str) -> Any:
        """GET a resource of this institution, authenticated by its enrolled key.

        ``path`` includes any query string; it is signed exactly as sent."""
        headers = sign_request(signer, institution_id, "GET", path)
        return self.request("GET", path, headers=headers)
