"""A small signed segment model release for tests that move one around.

The full synthetic release (``synthetic-2026.1``, about 25 MB) takes seconds
to build; these tests need a release the release design knows, signed by a
key of their own, not its size. So: the synthetic tables at a small size,
signed under ``synthetic-2026.1`` with the given (test) model key.
"""

from __future__ import annotations

from functools import cache

from protocol import canonical_zip
from protocol.keys import SigningKey
from protocol.segment_release import MEMBERS, PC6, read_container
from segments.synthetic import SYNTHETIC_CREATED, SYNTHETIC_VERSION, synthetic_tables


@cache
def small_release(key: SigningKey, version: str = SYNTHETIC_VERSION) -> bytes:
    tables = synthetic_tables(11, pc6_per_pc4=1, households=200_000)
    return tables.pack(version=version, created=SYNTHETIC_CREATED, synthetic=True, key=key)


def tampered(data: bytes) -> bytes:
    """``data`` repacked as a well-formed release with one byte of its PC6 table
    changed after signing: only the signed manifest can tell."""
    members = read_container(data, where="test")
    pc6 = bytearray(members[PC6])
    pc6[len(pc6) // 2] ^= 0x01
    members[PC6] = bytes(pc6)
    return canonical_zip.pack([(name, members[name]) for name in MEMBERS])
