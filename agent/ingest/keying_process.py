"""The household keying process: ``python -m agent.ingest.keying_process``.

Started by :class:`agent.ingest.keying.Keying` with pipes for stdin and
stdout. Each request is the sector key and a slice of identities (Arrow
IPC); each answer the concatenated 32-byte keys, in request order. It exits
when its stdin closes. Nothing is printed but the answers.
"""

from __future__ import annotations

import io
import sys
from typing import BinaryIO

import polars as pl

from agent.ingest.households import keyed_digests
from agent.ingest.keying import ANSWER, REQUEST


def serve(stdin: BinaryIO, stdout: BinaryIO) -> None:
    """The child's loop: one answer per request, until its stdin closes."""
    while len(head := stdin.read(REQUEST.size)) == REQUEST.size:
        key_size, size = REQUEST.unpack(head)
        key = stdin.read(key_size)
        identities = pl.read_ipc(io.BytesIO(stdin.read(size)))["identity"]
        keys = keyed_digests(identities.cast(pl.Binary).to_list(), key)
        stdout.write(ANSWER.pack(len(keys)) + keys)
        stdout.flush()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
