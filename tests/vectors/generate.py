"""Generate the known-answer vectors in this folder from the TEST-ONLY keys.

    python tests/vectors/generate.py            # rewrite the vectors with the committed keys
    python tests/vectors/generate.py --new-keys # also draw new test keys first

Every vector is a file plus an entry in ``manifest.json`` naming its expected
outcome (HTTP status and RFC 9457 problem type, or acceptance). The payloads,
submission ids and times are fixed; HPKE draws a fresh ephemeral key on every
seal, so regenerating changes the ciphertext bytes but never an outcome.
A second implementation checks itself by opening the committed files with the
committed keys (``test-keys/``, raw keys in unpadded base64url) and by running
them through its intake in manifest order against the state the manifest's
``aggregator_state`` describes.

The keys under ``test-keys/`` are for these vectors only. They are public;
never use them for anything else.
"""

from __future__ import annotations

import gzip
import json
import math
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parents[1]))

from dp.measurements import GAUSSIAN, calibrate_scale, ci95, table_rho  # noqa: E402
from dp.release_design import MAX_VISITS, TABLE_DESIGN, rho_share, sensitivity  # noqa: E402
from protocol.encoding import b64encode, canonical_bytes  # noqa: E402
from protocol.envelope import (  # noqa: E402
    MAX_ENVELOPE_BYTES,
    SIGNATURE_DOMAIN,
    SUITE,
    SUITE_NAME,
    envelope_info,
    seal_submission,
)
from protocol.keys import SealPrivateKey, SecretBytes, SigningKey  # noqa: E402
from protocol.messages import (  # noqa: E402
    Envelope,
    EnvelopeHeader,
    PrivacySpend,
    ReleasedTable,
    SubmissionPayload,
)
from protocol.sector_keys import seal_sector_key  # noqa: E402

KEYS = ROOT / "test-keys"
INSTITUTION = "vector-theater"
REVOKED = "vector-revoked"
UNENROLLED = "vector-stranger"
OPEN_PERIOD = "2026-Q3"
CLOSED_PERIOD = "2026-Q2"
UNKNOWN_PERIOD = "2026-Q1"
BUDGET = 0.5
BOUNDS = {MAX_VISITS: 12}
# A few public labels per dimension: every table of the release design, small.
LABELS: dict[str, tuple[str, ...]] = {
    "segment": ("students", "families"),
    "discipline": ("theater", "music"),
    "province": ("utrecht", "unknown"),
    "frequency_band": ("1", "2"),
    "distance_band": ("same_pc4", "elsewhere"),
    "returning": ("new", "returning"),
    "month": ("2026-07", "2026-08"),
}
SIGNING_KEYS = (
    "aggregator-receipt", "institution-signing", "revoked-signing",
    "impostor-signing", "custodian-signing",
)  # fmt: skip
SEAL_KEYS = (
    "aggregator-intake-active", "aggregator-intake-retired", "aggregator-intake-unknown",
    "institution-sealing", "revoked-sealing",
)  # fmt: skip
SECTOR_KEY = SecretBytes(bytes(range(32)))


def signing(name: str) -> SigningKey:
    return SigningKey.load(KEYS / f"{name}.key")


def sealing(name: str) -> SealPrivateKey:
    return SealPrivateKey.load(KEYS / f"{name}.key")


def new_keys() -> None:
    KEYS.mkdir(exist_ok=True)
    for name in SIGNING_KEYS:
        SigningKey.generate().save(KEYS / f"{name}.key")
    for name in SEAL_KEYS:
        SealPrivateKey.generate().save(KEYS / f"{name}.key")


def table(
    name: str, rho: float, first: int, *, declared_sensitivity: float | None = None
) -> ReleasedTable:
    """One table of the release design with the sensitivity its name and
    :data:`BOUNDS` give (or ``declared_sensitivity``) and the declared ρ that
    OpenDP's map gives for it: intake recomputes both."""
    design = next(t for t in TABLE_DESIGN if t.name == name)
    keys: list[tuple[str, ...]] = [()]
    for dimension in design.dimensions:
        keys = [(*k, label) for k in keys for label in LABELS[dimension]]
    derived = sensitivity(name, BOUNDS, GAUSSIAN)
    declared = derived if declared_sensitivity is None else declared_sensitivity
    # σ rounded up to 0.01 (readable, and never more than the table's share of ρ)
    scale = math.ceil(calibrate_scale(derived, GAUSSIAN, rho) * 100) / 100
    if declared != derived:
        scale = 5.1
    return ReleasedTable(
        name=name,
        measure=design.measure,
        dimensions=design.dimensions,
        keys=tuple(keys),
        values=tuple(first + 3 * i for i in range(len(keys))),
        mechanism=GAUSSIAN,
        scale=scale,
        sensitivity=declared,
        rho=table_rho(declared, GAUSSIAN, scale),
        ci95=ci95(GAUSSIAN, scale),
    )


def payload(
    *,
    institution: str = INSTITUTION,
    period: str = OPEN_PERIOD,
    submission_id: str = "00112233445566778899aabbccddeeff",
    rho: float = 0.25,
    first: int = 12,
    cheap_visits: bool = False,
) -> SubmissionPayload:
    """Every table of the release design, ``rho`` split by the design's weights.
    ``cheap_visits``: visits_by_month declares sensitivity 1 at σ = 5.1 (a cheat)."""
    tables = tuple(
        table(
            t.name,
            rho_share(t.name, rho),
            first,
            declared_sensitivity=1.0 if cheap_visits and t.name == "visits_by_month" else None,
        )
        for t in TABLE_DESIGN
    )
    return SubmissionPayload(
        institution_id=institution,
        period=period,
        submission_id=submission_id,
        created_at="2026-10-01T00:00:00+00:00",
        segment_model="synthetic-demo-2026",
        bounds=dict(BOUNDS),
        tables=tables,
        privacy=PrivacySpend(rho=sum(t.rho for t in tables), epsilon=2.5, delta=1e-7),
    )


def seal(
    p: SubmissionPayload, signer: str = "institution-signing", to: str = "aggregator-intake-active"
) -> bytes:
    envelope, _ = seal_submission(p, signer=signing(signer), recipient=sealing(to).public)
    return envelope


def seal_raw(
    header: EnvelopeHeader,
    payload_dict: dict[str, Any],
    signer: SigningKey,
    *,
    info_header: EnvelopeHeader | None = None,
) -> bytes:
    """Seal by hand, for vectors the reference API refuses to build."""
    signature = signer.sign(SIGNATURE_DOMAIN, canonical_bytes([header.to_dict(), payload_dict]))
    plaintext = canonical_bytes({"payload": payload_dict, "signature": b64encode(signature)})
    recipient = sealing("aggregator-intake-active").public
    sealed = SUITE.encrypt(
        plaintext, recipient.to_crypto(), info=envelope_info(info_header or header)
    )
    return canonical_bytes(Envelope(header=header, sealed=sealed).to_dict())


def header_for(p: SubmissionPayload, signer: str = "institution-signing") -> EnvelopeHeader:
    return EnvelopeHeader(
        suite=SUITE_NAME,
        kem_key_id=sealing("aggregator-intake-active").public.key_id,
        signer_key_id=signing(signer).public.key_id,
        institution_id=p.institution_id,
        period=p.period,
        submission_id=p.submission_id,
    )


def problem(slug: str, status: int) -> dict[str, Any]:
    return {"status": status, "type": f"urn:publiek:problem:{slug}"}


def vectors() -> list[dict[str, Any]]:
    """(name, bytes, expected) in the order they must run against one aggregator."""
    out: list[dict[str, Any]] = []

    def add(name: str, data: bytes, expected: dict[str, Any], note: str) -> None:
        out.append({"name": name, "data": data, "expected": expected, "note": note})

    valid = seal(payload())
    add(
        "valid",
        valid,
        {"status": 200, "accepted": True, "log_index": 0},
        "a well-formed submission from an enrolled institution to the active key",
    )
    add(
        "valid-replayed",
        valid,
        {"status": 200, "accepted": True, "log_index": 0, "same_receipt_as": "valid"},
        "the same id and the same bytes again: the same receipt, nothing stored twice",
    )
    other = seal(payload(first=13))
    add(
        "replayed-id-other-bytes",
        other,
        problem("submission-id-conflict", 409),
        "the id of 'valid' with other bytes",
    )
    tampered = bytearray(seal(payload(submission_id="10112233445566778899aabbccddeeff")))
    doc = json.loads(tampered)
    sealed = bytearray(
        __import__("base64").urlsafe_b64decode(doc["sealed"] + "=" * (-len(doc["sealed"]) % 4))
    )
    sealed[len(sealed) // 2] ^= 0x01
    doc["sealed"] = b64encode(bytes(sealed))
    add(
        "tampered-ciphertext",
        canonical_bytes(doc),
        problem("decryption-failed", 400),
        "one bit of the HPKE ciphertext flipped",
    )
    p = payload(submission_id="20112233445566778899aabbccddeeff")
    h = header_for(p)
    wrong_info = EnvelopeHeader(**{**h.__dict__, "period": CLOSED_PERIOD})
    add(
        "wrong-info",
        seal_raw(h, p.to_dict(), signing("institution-signing"), info_header=wrong_info),
        problem("decryption-failed", 400),
        "sealed with an HPKE info naming another period than the header",
    )
    p = payload(submission_id="30112233445566778899aabbccddeeff")
    add(
        "wrong-signature",
        seal_raw(header_for(p), p.to_dict(), signing("impostor-signing")),
        problem("invalid-signature", 401),
        "signed by a key other than the one the header names",
    )
    add(
        "unknown-key-id",
        seal(
            payload(submission_id="40112233445566778899aabbccddeeff"),
            to="aggregator-intake-unknown",
        ),
        problem("unknown-key", 422),
        "sealed to a key the aggregator never issued",
    )
    add(
        "retired-key",
        seal(
            payload(submission_id="50112233445566778899aabbccddeeff"),
            to="aggregator-intake-retired",
        ),
        problem("retired-key", 422),
        "sealed to a key the aggregator retired",
    )
    p = payload(submission_id="60112233445566778899aabbccddeeff")
    bad = {**p.to_dict(), "tables": []}
    add(
        "malformed-payload",
        seal_raw(header_for(p), bad, signing("institution-signing")),
        problem("invalid-payload", 422),
        "correctly sealed and signed, but the payload carries no table",
    )
    add(
        "refused-declaration",
        seal(payload(submission_id="c0112233445566778899aabbccddeeff", cheap_visits=True)),
        problem("refused-declaration", 422),
        "visits_by_month declares sensitivity 1 at σ = 5.1 (ρ 0.019); its name and the bounds "
        "(12 tickets) give 12, at which σ = 5.1 costs ρ 2.8",
    )
    add(
        "malformed-envelope",
        b'{"version":"publiek/1"',
        problem("malformed-message", 400),
        "not even JSON",
    )
    add(
        "closed-period",
        seal(payload(period=CLOSED_PERIOD, submission_id="70112233445566778899aabbccddeeff")),
        problem("period-not-open", 409),
        f"for {CLOSED_PERIOD}, which is closed",
    )
    add(
        "unknown-period",
        seal(payload(period=UNKNOWN_PERIOD, submission_id="80112233445566778899aabbccddeeff")),
        problem("unknown-period", 404),
        f"for {UNKNOWN_PERIOD}, which was never opened",
    )
    add(
        "revoked-institution",
        seal(
            payload(institution=REVOKED, submission_id="90112233445566778899aabbccddeeff"),
            signer="revoked-signing",
        ),
        problem("institution-revoked", 403),
        "from an institution whose enrollment was revoked",
    )
    add(
        "unknown-institution",
        seal(
            payload(institution=UNENROLLED, submission_id="a0112233445566778899aabbccddeeff"),
            signer="impostor-signing",
        ),
        problem("unknown-institution", 403),
        "from an institution that never enrolled",
    )
    add(
        "over-budget",
        seal(payload(submission_id="b0112233445566778899aabbccddeeff", rho=0.3)),
        problem("insufficient-privacy-budget", 409),
        "ρ 0.3 on top of the 0.25 of 'valid' exceeds the budget 0.5",
    )
    filler = "A" * (MAX_ENVELOPE_BYTES + 1)
    big = canonical_bytes({**json.loads(valid), "sealed": filler})
    add(
        "oversized",
        big,
        problem("payload-too-large", 413),
        "one byte over the 8 MiB limit (stored gzipped)",
    )
    return out


def sector_key_vectors() -> list[dict[str, Any]]:
    recipient = sealing("institution-sealing").public
    good = seal_sector_key(
        SECTOR_KEY,
        period=OPEN_PERIOD,
        institution_id=INSTITUTION,
        recipient=recipient,
        custodian=signing("custodian-signing"),
    )
    forged = seal_sector_key(
        SECTOR_KEY,
        period=OPEN_PERIOD,
        institution_id=INSTITUTION,
        recipient=recipient,
        custodian=signing("impostor-signing"),
    )
    moved = {**good.to_dict(), "period": CLOSED_PERIOD}
    return [
        {
            "name": "sector-key-valid",
            "doc": good.to_dict(),
            "expected": {"accepted": True, "sector_key": b64encode(SECTOR_KEY.reveal())},
        },
        {
            "name": "sector-key-other-custodian",
            "doc": forged.to_dict(),
            "expected": problem("unknown-key", 422),
        },
        {
            "name": "sector-key-moved-period",
            "doc": moved,
            "expected": problem("invalid-signature", 401),
        },
    ]


def public_keys() -> dict[str, str]:
    keys = {n: signing(n).public.to_text() for n in SIGNING_KEYS}
    keys.update({n: sealing(n).public.to_text() for n in SEAL_KEYS})
    return keys


def main() -> None:
    if "--new-keys" in sys.argv:
        new_keys()
    manifest: dict[str, Any] = {
        "test_only": "These vectors and keys are for tests only. Never use the keys elsewhere.",
        "aggregator_state": {
            "intake_keys": {
                "aggregator-intake-active": "active",
                "aggregator-intake-retired": "retired",
            },
            "receipt_key": "aggregator-receipt",
            "institutions": {
                INSTITUTION: {
                    "signing": "institution-signing",
                    "sealing": "institution-sealing",
                    "revoked": False,
                },
                REVOKED: {
                    "signing": "revoked-signing",
                    "sealing": "revoked-sealing",
                    "revoked": True,
                },
            },
            "periods": {
                OPEN_PERIOD: {"state": "open", "rho_budget": BUDGET},
                CLOSED_PERIOD: {"state": "closed", "rho_budget": BUDGET},
            },
            "custodian_key": "custodian-signing",
        },
        "public_keys": public_keys(),
        "submissions": [],
        "sector_keys": [],
    }
    for old in (*ROOT.glob("submissions/*"), *ROOT.glob("sector-keys/*")):
        old.unlink()
    (ROOT / "submissions").mkdir(exist_ok=True)
    (ROOT / "sector-keys").mkdir(exist_ok=True)
    for v in vectors():
        gz = len(v["data"]) > 1024 * 1024
        file = f"submissions/{v['name']}.envelope" + (".gz" if gz else "")
        (ROOT / file).write_bytes(gzip.compress(v["data"], mtime=0) if gz else v["data"])
        manifest["submissions"].append(
            {
                "name": v["name"],
                "file": file,
                "gzip": gz,
                "expected": v["expected"],
                "note": v["note"],
            }
        )
    for v in sector_key_vectors():
        file = f"sector-keys/{v['name']}.json"
        (ROOT / file).write_bytes(canonical_bytes(v["doc"]))
        manifest["sector_keys"].append(
            {
                "name": v["name"],
                "file": file,
                "expected": v["expected"],
                "open_as": {
                    "institution_id": INSTITUTION,
                    "period": OPEN_PERIOD,
                    "recipient": "institution-sealing",
                    "custodian": "custodian-signing",
                },
            }
        )
    (ROOT / "manifest.json").write_text(
        json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main()
