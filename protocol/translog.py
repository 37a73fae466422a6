"""The transparency log as anyone can check it: entry hashes, chain and receipts.

Both the aggregator (which appends) and an auditor (``publiek audit
verify-log``) use these functions, so there is one definition of an entry
hash. Entry hash = SHA-256(domain ‖ canonical(hashed fields) ‖ previous hash);
entry 0 chains to 64 zeros. Verification raises on the first problem and
returns nothing otherwise.

Two kinds of entry (docs/protocol.md 5.7):

* ``submission``: a stored submission. Its hashed fields are those of the
  first version of the log (``ENTRY_FIELDS``, no ``kind``), so every log
  written before set-asides existed still verifies.
* ``set-aside``: the taskforce set an earlier submission aside (ADR 0020). Its
  hashed fields add ``kind`` (so neither kind can pass for the other) and a
  commitment to the reason, SHA-256(domain ‖ nonce ‖ reason). The reason and
  its random nonce travel beside the hashed fields: the chain stays intact if
  both are ever erased (free text typed by staff could hold what it should
  not), and the commitment cannot be reversed by guessing short reasons.
"""

from __future__ import annotations

import hashlib
from typing import Any

from protocol.encoding import canonical_bytes
from protocol.errors import InvalidSignature, LogInconsistent
from protocol.keys import VerifyKey
from protocol.messages import Receipt

GENESIS = "0" * 64
DOMAIN = b"publiek/1 transparency-log\x00"
RECEIPT_DOMAIN = b"publiek/1 receipt"
REASON_DOMAIN = b"publiek/1 set-aside reason\x00"
SUBMISSION = "submission"
SET_ASIDE = "set-aside"
KINDS = (SUBMISSION, SET_ASIDE)
ENTRY_FIELDS = ("log_index", "submission_id", "institution_id", "period", "digest", "appended_at")
SET_ASIDE_FIELDS = (*ENTRY_FIELDS, "kind", "reason_commitment")
ERASED_REASON = "(reason erased)"  # how a set-aside whose reason was erased is shown
_HASHED = {SUBMISSION: ENTRY_FIELDS, SET_ASIDE: SET_ASIDE_FIELDS}


def entry_hash(fields: dict[str, Any], prev_hash: str) -> str:
    return hashlib.sha256(DOMAIN + canonical_bytes(fields) + prev_hash.encode()).hexdigest()


def hashed_fields(entry: dict[str, Any]) -> dict[str, Any]:
    """The fields of an entry that its hash covers, by its kind (an entry
    without ``kind`` is a submission: logs saved before kinds existed)."""
    return {k: entry[k] for k in _HASHED[entry.get("kind", SUBMISSION)]}


def reason_commitment(reason: str, nonce: str) -> str:
    """SHA-256(domain ‖ nonce ‖ reason as UTF-8), hex; ``nonce`` is 16 random bytes as hex."""
    return hashlib.sha256(REASON_DOMAIN + bytes.fromhex(nonce) + reason.encode()).hexdigest()


def verify_chain(entries: list[dict[str, Any]]) -> str:
    """Check every entry's index, link and hash, and that every set-aside names a
    submission entered before it, once, with the reason it committed to; return
    the head hash."""
    prev = GENESIS
    submitted: dict[str, dict[str, Any]] = {}
    set_aside: set[str] = set()
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict) or entry.get("kind", SUBMISSION) not in KINDS:
            raise LogInconsistent(f"log entry {position} is not an entry of a known kind")
        if not set(_HASHED[entry.get("kind", SUBMISSION)]) <= set(entry):
            raise LogInconsistent(f"log entry {position} lacks fields")
        if entry["log_index"] != position:
            raise LogInconsistent(
                f"log entry {position} has index {entry['log_index']}: an entry was removed "
                "or reordered"
            )
        if entry.get("prev_hash") != prev:
            raise LogInconsistent(f"log entry {position} does not link to entry {position - 1}")
        if entry.get("entry_hash") != entry_hash(hashed_fields(entry), prev):
            raise LogInconsistent(f"log entry {position} was altered: its hash does not match")
        if entry.get("kind", SUBMISSION) == SET_ASIDE:
            _check_set_aside(position, entry, submitted, set_aside)
        else:
            submitted[str(entry["submission_id"])] = entry
        prev = entry["entry_hash"]
    return prev


def _check_set_aside(
    position: int, entry: dict[str, Any], submitted: dict[str, dict[str, Any]], done: set[str]
) -> None:
    sid = str(entry["submission_id"])
    original = submitted.get(sid)
    if original is None or any(
        original[k] != entry[k] for k in ("institution_id", "period", "digest")
    ):
        raise LogInconsistent(
            f"log entry {position} sets aside a submission that no earlier entry holds"
        )
    if sid in done:
        raise LogInconsistent(f"log entry {position} sets aside a submission a second time")
    done.add(sid)
    reason, nonce = entry.get("reason"), entry.get("reason_nonce")
    if reason is None and nonce is None:
        return  # erased: the commitment alone stays in the chain
    try:
        matches = reason_commitment(str(reason), str(nonce)) == entry["reason_commitment"]
    except ValueError:  # a nonce that is not hex
        matches = False
    if not matches:
        raise LogInconsistent(f"log entry {position}'s reason is not the one it committed to")


def verify_receipt(receipt: Receipt, receipt_key: VerifyKey) -> None:
    """Raise unless the aggregator's receipt key signed this receipt."""
    if receipt.aggregator_key_id != receipt_key.key_id:
        raise InvalidSignature(
            "the receipt names another aggregator receipt key",
            hint="check that you use the aggregator's published receipt key",
        )
    receipt_key.verify_domain(RECEIPT_DOMAIN, receipt.signature, canonical_bytes(receipt.body()))


def verify_receipt_in_log(receipt: Receipt, entries: list[dict[str, Any]]) -> None:
    """Raise unless the (already chain-checked) log holds the receipt's submission."""
    if not 0 <= receipt.log_index < len(entries):
        raise LogInconsistent(
            f"the receipt names log index {receipt.log_index}; the log has {len(entries)} entries",
            hint="the aggregator dropped the submission from its log, or shows another log",
        )
    entry = entries[receipt.log_index]
    if entry.get("kind", SUBMISSION) != SUBMISSION:
        raise LogInconsistent(f"log entry {receipt.log_index} is not a submission")
    expected = {
        "submission_id": receipt.submission_id,
        "institution_id": receipt.institution_id,
        "period": receipt.period,
        "digest": receipt.digest,
        "appended_at": receipt.received_at,
    }
    differing = sorted(k for k, v in expected.items() if entry[k] != v)
    if differing:
        raise LogInconsistent(
            f"log entry {receipt.log_index} differs from the receipt in: {', '.join(differing)}"
        )
