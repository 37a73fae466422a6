"""Household keys from the keying child process equal HMAC-SHA256, in request order."""

from __future__ import annotations

import hashlib
import hmac

import polars as pl

from agent.ingest import keying
from protocol.keys import SecretBytes


def test_keys_from_the_child_process_are_hmac_sha256_in_order(monkeypatch) -> None:
    monkeypatch.setattr(keying, "PROCESS_MIN", 1)
    keys = keying.Keying()
    first, second = SecretBytes(b"k" * 32), SecretBytes(b"q" * 32)
    try:
        a = keys.submit(pl.Series(["1234AB|12|A", None, "jan@example.nl"]), first)
        b = keys.submit(pl.Series(["1234AB|12|A"]), second)
        got_a, got_b = a.result().to_list(), b.result().to_list()
    finally:
        keys.close()
    assert got_a == [
        hmac.digest(b"k" * 32, b"1234AB|12|A", hashlib.sha256),
        None,
        hmac.digest(b"k" * 32, b"jan@example.nl", hashlib.sha256),
    ]
    assert got_b == [hmac.digest(b"q" * 32, b"1234AB|12|A", hashlib.sha256)]


def test_an_aborted_keying_stops_its_child_process(monkeypatch) -> None:
    monkeypatch.setattr(keying, "PROCESS_MIN", 1)
    keys = keying.Keying()
    keys.submit(pl.Series(["x@example.nl"]), SecretBytes(b"k" * 32))
    child = keys._child
    assert child is not None
    keys.close(abort=True)
    assert child.poll() is not None
