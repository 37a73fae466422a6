"""The transparency log check an auditor runs: chain, alteration, receipts."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from protocol.encoding import canonical_bytes
from protocol.errors import InvalidSignature, LogInconsistent
from protocol.keys import SigningKey
from protocol.messages import Receipt
from protocol.translog import (
    GENESIS,
    RECEIPT_DOMAIN,
    entry_hash,
    verify_chain,
    verify_receipt,
    verify_receipt_in_log,
)

KEY = SigningKey.generate()


def build_log(n: int) -> list[dict[str, Any]]:
    entries, prev = [], GENESIS
    for i in range(n):
        fields = {
            "log_index": i,
            "submission_id": f"{i:032x}",
            "institution_id": "schouwburg-utrecht",
            "period": "2026-Q3",
            "digest": f"{i:064x}",
            "appended_at": "2026-10-01T00:00:00+00:00",
        }
        h = entry_hash(fields, prev)
        entries.append({**fields, "prev_hash": prev, "entry_hash": h})
        prev = h
    return entries


def receipt_for(entry: dict[str, Any], key: SigningKey = KEY) -> Receipt:
    body = Receipt(
        submission_id=entry["submission_id"],
        institution_id=entry["institution_id"],
        period=entry["period"],
        digest=entry["digest"],
        log_index=entry["log_index"],
        received_at=entry["appended_at"],
        aggregator_key_id=key.public.key_id,
    )
    return Receipt(**body.body(), signature=key.sign(RECEIPT_DOMAIN, canonical_bytes(body.body())))


def test_an_intact_log_verifies_to_its_head() -> None:
    log = build_log(5)
    assert verify_chain(log) == log[-1]["entry_hash"]


def test_an_altered_entry_is_found() -> None:
    log = build_log(5)
    log[2]["digest"] = "f" * 64
    with pytest.raises(LogInconsistent, match="entry 2"):
        verify_chain(log)


def test_a_removed_entry_is_found() -> None:
    log = build_log(5)
    del log[1]
    with pytest.raises(LogInconsistent):
        verify_chain(log)


def test_a_rewritten_history_does_not_match_an_old_receipt() -> None:
    log = build_log(3)
    receipt = receipt_for(log[1])
    rewritten = copy.deepcopy(log)
    rewritten[1]["digest"] = "e" * 64
    with pytest.raises(LogInconsistent, match="digest"):
        verify_receipt_in_log(receipt, rewritten)


def test_a_receipt_beyond_the_log_is_found() -> None:
    log = build_log(3)
    receipt = receipt_for({**log[2], "log_index": 7})
    with pytest.raises(LogInconsistent):
        verify_receipt_in_log(receipt, log)


def test_a_receipt_signed_by_another_key_is_refused() -> None:
    receipt = receipt_for(build_log(1)[0], key=SigningKey.generate())
    with pytest.raises(InvalidSignature):
        verify_receipt(receipt, KEY.public)


def test_a_genuine_receipt_in_the_log_verifies() -> None:
    log = build_log(4)
    receipt = receipt_for(log[3])
    verify_receipt(receipt, KEY.public)
    verify_receipt_in_log(receipt, log)
