"""Household keys: HMAC-SHA256 under the period's sector key (and link keys,
HMAC-SHA256 under the workspace's link key, computed beside them).

Keyed hashing runs once per *distinct* raw address per period (addresses,
not rows; see :class:`agent.ingest.address_book.AddressBook`), found again
by the address hash, so a 10-million-row export costs about one HMAC per
household; slices of
identities are keyed by :class:`agent.ingest.keying.Keying`. The key is held
in :class:`SecretBytes` and never printed.

The HMAC loop itself (:func:`keyed_digests`) lives in
:mod:`agent.ingest.keying_process`, which must import nothing but the
standard library.
"""

from __future__ import annotations

import polars as pl
import pyarrow as pa

from agent.ingest.keying_process import keyed_digests

__all__ = ["from_digests", "keyed_digests"]


def from_digests(blob: bytes | memoryview, name: str = "household_key") -> pl.Series:
    """The concatenated 32-byte keys of :func:`keyed_digests` as a Binary series."""
    n = len(blob) // 32
    array = pa.FixedSizeBinaryArray.from_buffers(pa.binary(32), n, [None, pa.py_buffer(blob)])
    return pl.Series(name, array).cast(pl.Binary)
