"""The transparency log as anyone can check it: entry hashes, chain and receipts.

Both the aggregator (which appends) and an auditor (``publiek audit
verify-log``) use these functions, so there is one definition of an entry
hash. Entry hash = SHA-256(domain ‖ canonical(entry without hashes) ‖
previous hash); entry 0 chains to 64 zeros. Verification raises on the first
problem and returns nothing otherwise.
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
ENTRY_FIELDS = ("log_index", "submission_id", "institution_id", "period", "digest", "appended_at")


def entry_hash(fields: dict[str, Any], prev_hash: str) -> str:
    return hashlib.sha256(DOMAIN + canonical_bytes(fields) + prev_hash.encode()).hexdigest()


def verify_chain(entries: list[dict[str, Any]]) -> str:
    """Check every entry's index, link and hash; return the head hash."""
    prev = GENESIS
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict) or not set(ENTRY_FIELDS) <= set(entry):
            raise LogInconsistent(f"log entry {position} lacks fields")
        if entry["log_index"] != position:
            raise LogInconsistent(
                f"log entry {position} has index {entry['log_index']}: an entry was removed "
                "or reordered"
            )
        if entry.get("prev_hash") != prev:
            raise LogInconsistent(f"log entry {position} does not link to entry {position - 1}")
        fields = {k: entry[k] for k in ENTRY_FIELDS}
        if entry.get("entry_hash") != entry_hash(fields, prev):
            raise LogInconsistent(f"log entry {position} was altered: its hash does not match")
        prev = entry["entry_hash"]
    return prev


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
