"""Household keys: HMAC-SHA256 under the period's sector key.

Keyed hashing runs once per *distinct* identity (households, not rows), then
joins back, so a 10-million-row export costs one HMAC per household. The key
is held in :class:`SecretBytes` and never printed.
"""

from __future__ import annotations

import hashlib
import hmac

import polars as pl

from protocol.keys import SecretBytes


def household_keys(identities: pl.Series, key: SecretBytes) -> pl.Series:
    """Map each distinct identity string to its 32-byte keyed hash."""
    raw = key.reveal()
    digests = [
        hmac.new(raw, ident.encode("utf-8"), hashlib.sha256).digest() for ident in identities
    ]
    return pl.Series("household_key", digests, dtype=pl.Binary)
