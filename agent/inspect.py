"""``publiek agent inspect``: exactly what left (or would leave) the building.

Given a submission id (or an outbox file), show the plaintext payload the
ledger holds: every table with its mechanism, sensitivity, noise scale, 95%
half-width, ρ and (ε, δ) (recomputed by OpenDP from the declared scale and
sensitivity), the contribution bounds, the total spend (declared, and
recomputed by composing the tables in OpenDP), the segment model version
and the first cells of each table.

Then it checks the sealed envelope against that plaintext, as far as the
agent can: the agent cannot decrypt its own HPKE envelope (only the
aggregator's private key opens it), so the checks are

1. the kept signed plaintext carries exactly the ledger's payload;
2. its signature verifies under this agent's own public key over the
   envelope's header and that payload (the header binds institution, period,
   submission id, the aggregator key id and the signer key id);
3. the header's signer key id is this agent's key;
4. the ciphertext length is what HPKE gives for that plaintext (32-byte
   encapsulated key + plaintext + 16-byte tag);
5. when a receipt is stored, its digest equals SHA-256 of the envelope: the
   aggregator received these very bytes.

What is *not* proven: that the ciphertext decrypts to the kept plaintext.
docs/privacy-officer.md explains the residual trust.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from pathlib import Path

from agent import ledger
from agent.workspace import Workspace
from dp.measurements import compose_spend, opendp_ci95, pure_epsilon, table_spend
from protocol import PROTOCOL_VERSION
from protocol.encoding import canonical_bytes, parse_canonical
from protocol.envelope import envelope_digest, open_plaintext, parse_envelope
from protocol.errors import PubliekError, UsageError
from protocol.keys import SigningKey
from protocol.messages import HEX32_RE, PrivacySpend, SubmissionPayload

HPKE_OVERHEAD = 32 + 16  # X25519 encapsulated key + ChaCha20-Poly1305 tag
SHOWN_CELLS = 6


@dataclass(frozen=True)
class Check:
    what: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class Inspection:
    payload: SubmissionPayload
    table_spends: tuple[PrivacySpend, ...]
    sketch_spend: PrivacySpend | None
    recomputed: PrivacySpend
    pure_epsilon: float | None
    checks: tuple[Check, ...]
    sealed: bool

    @property
    def matches(self) -> bool:
        return self.sealed and bool(self.checks) and all(c.ok for c in self.checks)


def _submission_id(workspace: Workspace, submission: str) -> str:
    """Accept a submission id or a path to an outbox file named after it."""
    if HEX32_RE.match(submission):
        return submission
    name = Path(submission).name.split(".")[0]
    if HEX32_RE.match(name):
        return name
    raise UsageError(
        f"{submission!r} is neither a submission id nor an outbox file",
        hint=f"see `publiek agent budget` for ids, or {workspace.outbox_dir}",
    )


def _receipt_digest(workspace: Workspace, submission_id: str) -> str | None:
    with ledger.connect(workspace) as db:
        row = db.execute(
            "SELECT receipt FROM receipts WHERE submission_id = ?", (submission_id,)
        ).fetchone()
    return str(json.loads(row[0])["digest"]) if row else None


def _envelope_checks(workspace: Workspace, payload: SubmissionPayload) -> tuple[Check, ...]:
    envelope_path = workspace.outbox_dir / f"{payload.submission_id}.envelope"
    plaintext_path = envelope_path.with_suffix(".plaintext.json")
    data = envelope_path.read_bytes()
    if not plaintext_path.exists():
        return (Check("the signed plaintext is kept beside the envelope", False, "missing"),)
    plaintext = plaintext_path.read_bytes()
    envelope = parse_envelope(data)
    header = envelope.header
    own = SigningKey.load(workspace.signing_key_path).public
    checks = []
    inner = parse_canonical(plaintext, what="kept plaintext")
    kept = inner.get("payload") if isinstance(inner, dict) else None
    checks.append(
        Check(
            "kept plaintext carries the ledger's payload",
            kept is not None and canonical_bytes(kept) == canonical_bytes(payload.to_dict()),
        )
    )
    try:
        open_plaintext(header, plaintext, own)
        checks.append(
            Check("signature verifies under this agent's key over header + payload", True)
        )
    except PubliekError as exc:
        checks.append(Check("signature verifies under this agent's key", False, exc.detail))
    checks.append(
        Check(
            "envelope signer key id is this agent's key",
            hmac.compare_digest(header.signer_key_id, own.key_id),
        )
    )
    checks.append(
        Check(
            "ciphertext length fits the plaintext (HPKE: +48 bytes)",
            len(envelope.sealed) == len(plaintext) + HPKE_OVERHEAD,
            f"{len(envelope.sealed)} vs {len(plaintext)} + {HPKE_OVERHEAD}",
        )
    )
    receipt = _receipt_digest(workspace, payload.submission_id)
    if receipt is not None:
        checks.append(
            Check(
                "aggregator's receipt digest is SHA-256 of this envelope",
                hmac.compare_digest(receipt, envelope_digest(data)),
            )
        )
    return tuple(checks)


def inspect_submission(workspace: Workspace, submission: str) -> Inspection:
    submission_id = _submission_id(workspace, submission)
    entry = ledger.by_submission(workspace, submission_id)
    if entry is None:
        raise UsageError(
            f"submission {submission_id} is not in this workspace's ledger",
            hint="`publiek agent budget` lists the releases drawn here",
        )
    payload = entry.payload
    delta = payload.privacy.delta
    spends = tuple(table_spend(t.sensitivity, t.mechanism, t.scale, delta) for t in payload.tables)
    sealed = (workspace.outbox_dir / f"{submission_id}.envelope").exists()
    declared = [(t.sensitivity, t.mechanism, t.scale) for t in payload.tables]
    sketch = payload.sketch
    sketch_spend = None
    if sketch is not None:
        # The sketch is two vectors of sensitivity 1 (its buckets, its counts).
        vectors = [
            (1.0, sketch.mechanism, sketch.scale),
            (1.0, sketch.mechanism, sketch.count_scale),
        ]
        declared += vectors
        sketch_spend = compose_spend(vectors, delta)
    return Inspection(
        payload=payload,
        table_spends=spends,
        sketch_spend=sketch_spend,
        recomputed=compose_spend(declared, delta),
        pure_epsilon=pure_epsilon(declared),
        # An envelope sealed under an earlier version is in that version's
        # encoding, which this agent no longer speaks: shown, not checked.
        checks=_envelope_checks(workspace, payload)
        if sealed and payload.version == PROTOCOL_VERSION
        else (),
        sealed=sealed,
    )


def format_inspection(inspection: Inspection) -> str:
    p = inspection.payload
    lines = [
        f"submission {p.submission_id} (protocol {p.version})",
        f"  institution {p.institution_id}, period {p.period}, created {p.created_at}",
        f"  segment model {p.segment_model}",
        f"  catchment origin (the institution's own PC4) {p.catchment_origin or 'none'}",
        "  bounds: " + ", ".join(f"{k}={v}" for k, v in sorted(p.bounds.items())),
        (
            f"  total: ρ={p.privacy.rho:.6g}  ε={p.privacy.epsilon:.4f}  δ={p.privacy.delta:g} "
            f"(declared); OpenDP recomputes ρ={inspection.recomputed.rho:.6g} "
            f"ε={inspection.recomputed.epsilon:.4f} from the tables"
            f"{' and the sketch' if p.sketch is not None else ''} below"
        ),
        *(
            [f"  pure DP (discrete Laplace): ε={inspection.pure_epsilon:.4f}, δ=0 (OpenDP)"]
            if inspection.pure_epsilon is not None
            else []
        ),
        "",
    ]
    for table, spend in zip(p.tables, inspection.table_spends, strict=True):
        lines.append(
            f"table {table.name}: {len(table.keys)} cells by {' × '.join(table.dimensions)}; "
            f"{table.mechanism}, sensitivity {table.sensitivity:g}, scale {table.scale:.3f}, "
            f"95% ±{table.ci95:g} (OpenDP bound ±{opendp_ci95(table.mechanism, table.scale):g}); "
            f"ρ={spend.rho:.6g} ε={spend.epsilon:.4f} δ={spend.delta:g}"
        )
        for key, value in list(zip(table.keys, table.values, strict=True))[:SHOWN_CELLS]:
            lines.append(f"    {' / '.join(key):<40} {value:>10,}")
        if len(table.keys) > SHOWN_CELLS:
            lines.append(f"    … {len(table.keys) - SHOWN_CELLS} more cells (--json for all)")
    lines.extend(_sketch_lines(inspection))
    lines.append("")
    if p.version != PROTOCOL_VERSION:
        lines.append(
            f"drawn under {p.version}: this {PROTOCOL_VERSION} agent neither sends nor checks "
            "it; a receipt for it still verifies (publiek audit verify-log --receipt)"
        )
    elif not inspection.sealed:
        lines.append("not sealed yet: this is what would leave on `publiek agent submit`")
    else:
        for check in inspection.checks:
            mark = "ok  " if check.ok else "FAIL"
            lines.append(f"[{mark}] {check.what}{f' ({check.detail})' if check.detail else ''}")
        verdict = "matches" if inspection.matches else "DOES NOT match"
        lines.append(f"sealed envelope {verdict} this plaintext (as far as the agent can check)")
    return "\n".join(lines)


def _sketch_lines(inspection: Inspection) -> list[str]:
    """The household sketch's summary: its parts, width, noise and ρ, and the
    consent to named overlaps; the first buckets of each part, as the tables
    show their first cells."""
    p = inspection.payload
    consent = "yes" if p.named_overlaps else "no"
    sketch, spend = p.sketch, inspection.sketch_spend
    if sketch is None or spend is None:
        return [f"household sketch: none; named overlaps shared: {consent}"]
    summary = (
        f"household sketch {sketch.design}: {len(sketch.parts)} parts (one per main "
        f"discipline) of width {sketch.width}; {sketch.mechanism}, sensitivity 1, bucket scale "
        f"{sketch.scale:.3f}, count scale {sketch.count_scale:.3f}; ρ={spend.rho:.6g} "
        f"ε={spend.epsilon:.4f} δ={spend.delta:g}; named overlaps shared: {consent}"
    )
    lines = [summary]
    for part in sketch.parts:
        first = ", ".join(f"{v:,}" for v in part.buckets[:SHOWN_CELLS])
        lines.append(
            f"    {part.discipline:<16} households {part.households:>10,}  buckets {first}, "
            f"… {sketch.width - SHOWN_CELLS} more (--json for all)"
        )
    return lines


def inspection_json(inspection: Inspection) -> str:
    doc = {
        "payload": inspection.payload.to_dict(),
        "per_table": {
            t.name: s.to_dict()
            for t, s in zip(inspection.payload.tables, inspection.table_spends, strict=True)
        },
        "sketch": None if inspection.sketch_spend is None else inspection.sketch_spend.to_dict(),
        "recomputed_total": inspection.recomputed.to_dict(),
        "pure_epsilon": inspection.pure_epsilon,
        "sealed": inspection.sealed,
        "checks": [{"what": c.what, "ok": c.ok, "detail": c.detail} for c in inspection.checks],
        "matches": inspection.matches,
    }
    return json.dumps(doc, indent=2, ensure_ascii=False)
