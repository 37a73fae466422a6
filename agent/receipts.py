"""The agent's receipts: checked under the aggregator's receipt key, then kept.

The receipt key comes from the key set cached at enrollment, so a receipt
signed by some other key — an aggregator that swapped keys, or a forged
answer — is refused instead of being kept as evidence. Receipts are the
institution's proof that its submission is in the transparency log (a privacy
officer checks them with ``publiek audit verify-log --receipt``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agent.key_set import receipt_key
from agent.release import store_receipt
from agent.workspace import Workspace
from protocol.errors import InvalidSignature, MalformedMessage, UsageError
from protocol.messages import Receipt, check_period
from protocol.state_files import write_private
from protocol.translog import verify_receipt


def keep_receipt(workspace: Workspace, doc: dict[str, Any], *, submission_id: str) -> Receipt:
    """Verify ``doc`` under the cached receipt key and store it; raise if it does not check."""
    receipt = Receipt.from_dict(doc)
    if receipt.submission_id != submission_id:
        raise InvalidSignature(
            f"the receipt is for submission {receipt.submission_id}, not {submission_id}"
        )
    verify_receipt(receipt, receipt_key(workspace))
    store_receipt(workspace, receipt.submission_id, receipt.to_dict())
    return receipt


def add_receipt(workspace: Workspace, receipt_file: Path) -> Receipt:
    """The offline path: a receipt file from ``aggregator import --receipt-out``."""
    try:
        doc = json.loads(receipt_file.read_text(encoding="utf-8"))
    except (ValueError, FileNotFoundError) as exc:
        raise MalformedMessage(f"{receipt_file} is not a receipt (JSON)") from exc
    if not isinstance(doc, dict):
        raise MalformedMessage(f"{receipt_file} is not a receipt (JSON object)")
    return keep_receipt(workspace, doc, submission_id=str(doc.get("submission_id", "")))


def export_receipt(workspace: Workspace, period: str, out: Path) -> Receipt:
    """Write the period's kept receipt to ``out`` for ``audit verify-log --receipt``.

    The receipt is checked again under the cached receipt key before it is
    written: what a privacy officer is handed must be what the aggregator signed.
    With more than one receipt for the period (a release resent after new
    exports), the one with the latest log entry is the period's submission."""
    check_period(period)
    with workspace.connect() as db:
        rows = [json.loads(r[0]) for r in db.execute("SELECT receipt FROM receipts")]
    kept = [Receipt.from_dict(r) for r in rows if r.get("period") == period]
    if not kept:
        raise UsageError(
            f"no receipt for {period} is kept in this workspace",
            hint="submit the period (publiek agent submit), or keep the receipt of an offline "
            "import with publiek agent receipt add FILE",
        )
    receipt = max(kept, key=lambda r: r.log_index)
    verify_receipt(receipt, receipt_key(workspace))
    write_private(out, (json.dumps(receipt.to_dict(), indent=2, sort_keys=True) + "\n").encode())
    return receipt
