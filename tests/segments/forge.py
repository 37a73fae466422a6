"""Release files for the tests: as the builder makes them, and ones it would refuse to make.

:func:`pack` is ``pack_release``. :func:`forge` signs what the builder would
refuse: verification must refuse bad content even under a valid signature (a model
key is a person's key, and people make mistakes), so these helpers write the
three tables, the manifest and the signature directly, without the checks
of ``pack_release``: a second, independent writer of the format.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from typing import Any

import polars as pl

from protocol import canonical_zip
from protocol.encoding import b64encode, canonical_bytes
from protocol.keys import SigningKey
from protocol.segment_release import (
    FORMAT,
    MANIFEST,
    MUNICIPALITIES,
    PC4,
    PC6,
    SIGNATURE,
    SIGNATURE_DOMAIN,
    TABLES,
)
from segments.build import ModelTables

VERSION = "test-2026.1"
CREATED = "2026-02-01"


def pack(tables: ModelTables, key: SigningKey, *, synthetic: bool = False) -> bytes:
    """A release of ``tables`` as ``pack_release`` makes it (every check run)."""
    return tables.pack(version=VERSION, created=CREATED, synthetic=synthetic, key=key)


def parquet(frame: pl.DataFrame) -> bytes:
    out = io.BytesIO()
    frame.write_parquet(out)
    return out.getvalue()


def manifest_dict(
    tables: ModelTables, blobs: dict[str, bytes], rows: dict[str, int]
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": "forged-2026.1",
        "synthetic": False,
        "created": "2026-02-01",
        "segments": [s.to_dict() for s in tables.segments],
        "files": {
            name: {
                "sha256": hashlib.sha256(blobs[name]).hexdigest(),
                "bytes": len(blobs[name]),
                "rows": rows[name],
            }
            for name in TABLES
        },
    }


def signature_bytes(manifest: bytes, key: SigningKey) -> bytes:
    digest = hashlib.sha256(manifest).digest()
    return canonical_bytes(
        {
            "key_id": key.public.key_id,
            "public_key": b64encode(key.public.raw),
            "signature": b64encode(key.sign(SIGNATURE_DOMAIN, digest)),
        }
    )


def forge(
    tables: ModelTables,
    key: SigningKey,
    *,
    edit: Callable[[dict[str, Any]], None] = lambda _: None,
) -> bytes:
    """A release of ``tables`` signed by ``key``; ``edit`` may change the
    manifest (as a dict) before it is signed."""
    frames = {MUNICIPALITIES: tables.municipalities, PC4: tables.pc4, PC6: tables.pc6}
    blobs = {name: parquet(frame) for name, frame in frames.items()}
    manifest = manifest_dict(tables, blobs, {n: f.height for n, f in frames.items()})
    edit(manifest)
    manifest_bytes = canonical_bytes(manifest)
    return canonical_zip.pack(
        [
            (MANIFEST, manifest_bytes),
            (SIGNATURE, signature_bytes(manifest_bytes, key)),
            *((name, blobs[name]) for name in TABLES),
        ]
    )


def members_of(data: bytes) -> dict[str, bytes]:
    """The members of a (canonical) release, read with the standard library."""
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def span_of(data: bytes, name: str) -> tuple[int, int]:
    """Where member ``name``'s content lies in the release bytes."""
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(name)
    start = info.header_offset + 30 + len(name)
    return start, start + info.file_size
