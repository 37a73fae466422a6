"""Household keys: HMAC-SHA256 under the period's sector key.

Keyed hashing runs once per *distinct* raw address per period (households,
not rows; see ``pipeline._Households``), found again by the address hash,
so a 10-million-row export costs about one HMAC per household. The key is
held in :class:`SecretBytes` and never printed.

The HMAC loop itself (:func:`keyed_digests`) lives in
:mod:`agent.ingest.keying_process`, which must import nothing but the
standard library.
"""

from __future__ import annotations

import polars as pl
import pyarrow as pa

from agent.ingest.keying_process import keyed_digests
from protocol.keys import SecretBytes

__all__ = ["from_digests", "household_keys", "keyed_digests"]


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
