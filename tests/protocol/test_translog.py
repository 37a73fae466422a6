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
    SET_ASIDE,
    entry_hash,
    hashed_fields,
    reason_commitment,
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


# --- set-aside entries (ADR 0020) ------------------------------------------------

NONCE = "ab" * 16


def set_aside_entry(log: list[dict[str, Any]], of: int, reason: str = "a cell of 10^15") -> None:
    """Append the entry that sets log[of]'s submission aside, chained like the aggregator's."""
    original, prev = log[of], log[-1]["entry_hash"] if log else GENESIS
    entry = {
        **{k: original[k] for k in ("submission_id", "institution_id", "period", "digest")},
        "log_index": len(log),
        "kind": SET_ASIDE,
        "appended_at": "2026-10-02T00:00:00+00:00",
        "reason_commitment": reason_commitment(reason, NONCE),
        "reason": reason,
        "reason_nonce": NONCE,
    }
    log.append({**entry, "prev_hash": prev, "entry_hash": entry_hash(hashed_fields(entry), prev)})


def test_a_log_with_a_set_aside_verifies_and_old_entries_keep_their_hashes() -> None:
    log = build_log(3)
    before = [e["entry_hash"] for e in log]
    set_aside_entry(log, of=1)
    assert verify_chain(log) == log[-1]["entry_hash"]
    assert [e["entry_hash"] for e in log[:3]] == before


def test_a_submission_entry_with_an_explicit_kind_hashes_as_before() -> None:
    log = build_log(2)
    assert verify_chain([{**e, "kind": "submission", "reason": None} for e in log])


def test_an_altered_reason_is_found() -> None:
    log = build_log(2)
    set_aside_entry(log, of=0)
    log[2]["reason"] = "something else"
    with pytest.raises(LogInconsistent, match="reason"):
        verify_chain(log)


def test_an_erased_reason_leaves_the_chain_intact() -> None:
    log = build_log(2)
    set_aside_entry(log, of=0)
    log[2]["reason"] = log[2]["reason_nonce"] = None
    verify_chain(log)


def test_a_set_aside_relabelled_as_a_submission_is_found() -> None:
    log = build_log(2)
    set_aside_entry(log, of=0)
    log[2]["kind"] = "submission"
    with pytest.raises(LogInconsistent, match="altered"):
        verify_chain(log)


def test_an_unknown_kind_is_refused() -> None:
    log = build_log(1)
    log[0]["kind"] = "reinstated"
    with pytest.raises(LogInconsistent, match="kind"):
        verify_chain(log)


def test_a_set_aside_of_a_submission_not_in_the_log_is_found() -> None:
    forged = build_log(2)
    set_aside_entry(forged, of=1)
    forged[2]["digest"] = "d" * 64  # not the digest of entry 1's submission
    fields = hashed_fields(forged[2])
    forged[2]["entry_hash"] = entry_hash(fields, forged[2]["prev_hash"])
    with pytest.raises(LogInconsistent, match="no earlier entry"):
        verify_chain(forged)


def test_a_submission_set_aside_twice_is_found() -> None:
    log = build_log(2)
    set_aside_entry(log, of=0)
    set_aside_entry(log, of=0)
    with pytest.raises(LogInconsistent, match="second time"):
        verify_chain(log)


def test_a_receipt_never_matches_a_set_aside_entry() -> None:
    log = build_log(2)
    set_aside_entry(log, of=0)
    receipt = receipt_for({**log[0], "log_index": 2})
    with pytest.raises(LogInconsistent, match="not a submission"):
        verify_receipt_in_log(receipt, log)
