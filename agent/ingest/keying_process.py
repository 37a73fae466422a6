"""The household keying process: ``python .../agent/ingest/keying_process.py``.

Started by :class:`agent.ingest.keying.Keying` with pipes for stdin and
stdout, by file path and importing nothing but the standard library: its
work is a Python HMAC loop, and importing the agent (polars, pyarrow) would
cost it a quarter of a CPU second before the first key. Each request is the
sector key, the workspace's link key (or none) and a slice of identities,
joined by newlines (a normalised identity never holds whitespace: see
``normalise``); each answer the concatenated 32-byte household keys, in
request order, followed by the link keys of the same identities in the same
order when a link key was sent. It exits when its stdin closes. Nothing is
printed but the answers.

The HMAC is computed from the two precomputed SHA-256 states of RFC 2104
(key XOR ipad, key XOR opad), copied per identity: the same bytes as
``hmac.digest`` at about half the cost, which matters at millions of
households on a two-core box.
"""

from __future__ import annotations

import hashlib
import signal
import struct
import sys
from typing import Any, BinaryIO

REQUEST = struct.Struct("<III")  # sector key length, link key length (0: none), identities length
ANSWER = struct.Struct("<Q")  # keys length
SEPARATOR = b"\n"
# Put before the identity under the link key, so that a link key is never the
# HMAC of the very input the sector key is applied to, even should the two
# secrets ever hold the same bytes. It ends in a newline, which no identity
# holds, so no identity can spell the tag and another identity. Hashed once
# per slice into the inner state: it costs nothing per identity.
LINK_DOMAIN = b"publiek link key v1\n"
_BLOCK = 64


def _pads(raw: bytes) -> tuple[Any, Any]:
    """The SHA-256 states after the inner and outer padded key (RFC 2104)."""
    if len(raw) > _BLOCK:
        raw = hashlib.sha256(raw).digest()
    padded = raw.ljust(_BLOCK, b"\0")
    return (
        hashlib.sha256(bytes(b ^ 0x36 for b in padded)),
        hashlib.sha256(bytes(b ^ 0x5C for b in padded)),
    )


def keyed_digests(identities: list[bytes], raw_key: bytes, domain: bytes = b"") -> bytes:
    """The 32-byte HMAC-SHA256 of ``domain`` + each identity, concatenated.

    A plain function of bytes so that it can run in this process: the loop
    holds the GIL for about a microsecond per identity, which in a thread
    stalls the polars work of the ingest's main thread."""
    inner, outer = _pads(raw_key)
    inner.update(domain)
    out = []
    for identity in identities:
        h = inner.copy()
        h.update(identity)
        o = outer.copy()
        o.update(h.digest())
        out.append(o.digest())
    return b"".join(out)


def both_digests(identities: list[bytes], raw_key: bytes, raw_link: bytes | None) -> bytes:
    """The household keys of the identities, then (with a link key) their link keys."""
    keys = keyed_digests(identities, raw_key)
    if raw_link is None:
        return keys
    return keys + keyed_digests(identities, raw_link, LINK_DOMAIN)


def serve(stdin: BinaryIO, stdout: BinaryIO) -> None:
    """The child's loop: one answer per request, until its stdin closes."""
    while len(head := stdin.read(REQUEST.size)) == REQUEST.size:
        key_size, link_size, size = REQUEST.unpack(head)
        key = stdin.read(key_size)
        link = stdin.read(link_size) if link_size else None
        keys = both_digests(stdin.read(size).split(SEPARATOR), key, link)
        stdout.write(ANSWER.pack(len(keys)) + keys)
        stdout.flush()


if __name__ == "__main__":
    # Ctrl-C is the parent's to handle: the child ends when its stdin closes.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    serve(sys.stdin.buffer, sys.stdout.buffer)
