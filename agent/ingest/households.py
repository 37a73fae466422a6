"""Household keys: HMAC-SHA256 under the period's sector key.

Keyed hashing runs once per *distinct* raw address per period (households,
not rows; see ``pipeline._Households``), found again by the address hash,
so a 10-million-row export costs about one HMAC per household. The key is
held in :class:`SecretBytes` and never printed.

The HMAC is computed from the two precomputed SHA-256 states of RFC 2104
(key XOR ipad, key XOR opad), copied per identity: the same bytes as
``hmac.digest`` at about half the cost, which matters at millions of
households on a two-core box.
"""

from __future__ import annotations

import hashlib
from typing import Any

import polars as pl
import pyarrow as pa

from protocol.keys import SecretBytes

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


def keyed_digests(identities: list[bytes], raw_key: bytes) -> bytes:
    """The 32-byte HMAC-SHA256 of each identity, concatenated.

    A plain function of bytes so that it can run in the keying process
    (``pipeline``): the loop holds the GIL for about a microsecond per
    identity, which in a thread stalls the polars work of the main thread."""
    inner, outer = _pads(raw_key)
    out = []
    for identity in identities:
        h = inner.copy()
        h.update(identity)
        o = outer.copy()
        o.update(h.digest())
        out.append(o.digest())
    return b"".join(out)


def from_digests(blob: bytes) -> pl.Series:
    """The concatenated 32-byte keys of :func:`keyed_digests` as a Binary series."""
    n = len(blob) // 32
    array = pa.FixedSizeBinaryArray.from_buffers(pa.binary(32), n, [None, pa.py_buffer(blob)])
    return pl.Series("household_key", array).cast(pl.Binary)


def household_keys(identities: pl.Series, key: SecretBytes) -> pl.Series:
    """Map each identity string to its 32-byte keyed hash (null stays null)."""
    present = identities.is_not_null()
    values = identities.filter(present).cast(pl.Binary).to_list()
    keys = from_digests(keyed_digests(values, key.reveal()))
    return (
        pl.repeat(None, identities.len(), dtype=pl.Binary, eager=True)
        .scatter(present.arg_true(), keys)
        .alias("household_key")
    )
