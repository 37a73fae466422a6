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

The encoding is RFC 8785 (JCS) from ``publiek/2`` on. ``encoding/`` holds its
known answers: each ``*.input.json`` parsed and re-encoded by any JCS library
must give the bytes of the matching ``*.json`` exactly, and every file in
``encoding/refused/`` must be refused by a strict decoder. ``messages/`` holds
whole messages whose bytes are fixed: the plaintext inside ``valid.envelope``,
a signed period config, a receipt and a log entry (Ed25519 is deterministic,
so the signatures are known answers too). ``publiek-1/``, ``publiek-2/`` and
``publiek-3/`` keep vectors of the earlier versions, which are never regenerated: the
aggregator answers them with ``unsupported-version``.

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
from dp.release_design import (  # noqa: E402
    DESIGN,
    DISCIPLINES,
    MAX_VISITS,
    TABLE_DESIGN,
    months_of,
    rho_share,
    sensitivity,
)
from dp.sketches import count_rho, sketch_rho, vector_rho  # noqa: E402
from protocol import PROTOCOL_VERSION  # noqa: E402
from protocol.encoding import b64encode, canonical_bytes  # noqa: E402
from protocol.envelope import (  # noqa: E402
    MAX_ENVELOPE_BYTES,
    SIGNATURE_DOMAIN,
    SUITE,
    SUITE_NAME,
    envelope_digest,
    envelope_info,
    seal_submission,
)
from protocol.keys import SealPrivateKey, SecretBytes, SigningKey  # noqa: E402
from protocol.messages import (  # noqa: E402
    Envelope,
    EnvelopeHeader,
    PeriodConfig,
    PeriodSketch,
    PeriodTable,
    PrivacySpend,
    Receipt,
    ReleasedSketch,
    ReleasedTable,
    SketchPart,
    SubmissionPayload,
)
from protocol.period_config import PERIOD_CONFIG_DOMAIN, sign_period_config  # noqa: E402
from protocol.sector_keys import seal_sector_key  # noqa: E402
from protocol.translog import DOMAIN as LOG_DOMAIN  # noqa: E402
from protocol.translog import GENESIS, RECEIPT_DOMAIN, entry_hash  # noqa: E402

KEYS = ROOT / "test-keys"
INSTITUTION = "vector-theater"
REVOKED = "vector-revoked"
UNENROLLED = "vector-stranger"
OPEN_PERIOD = "2026-Q3"
CLOSED_PERIOD = "2026-Q2"
UNKNOWN_PERIOD = "2026-Q1"
# An open period whose config fixes a household sketch (ADR 0036).
SKETCH_PERIOD = "2026-Q4"
SKETCH = PeriodSketch(width=256, seed=bytes(range(100, 132)), weight=0.25)
BUDGET = 0.5
BOUNDS = {MAX_VISITS: 12}
# A few labels of each dimension's key set (``dp.release_design.labels``):
# every table of the release design, small. Months are the period's first two.
LABELS: dict[str, tuple[str, ...]] = {
    "segment": ("students", "village-life"),
    "discipline": ("theater", "music"),
    "province": ("utrecht", "unknown"),
    "catchment": ("within_15_km", "unknown"),
    "frequency_band": ("1", "2"),
    "recency": ("0-13", "60+"),
    "discipline_count": ("1", "3_or_more"),
    "returning": ("new", "returning"),
    "loyalty": ("returning", "lapsed"),
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
# No payload field holds free text (ADR 0021): the segment model is one of a
# closed set. Non-ASCII text is covered by the encoding vectors (``strings``).
SEGMENT_MODEL = "synthetic-demo-2026"
# A model the protocol knows, but not the one the open period names (ADR 0030).
OTHER_SEGMENT_MODEL = "synthetic-2026.1"
# The institution's own PC4, which its catchment bands were counted from.
CATCHMENT_ORIGIN = "3511"
# Frozen vectors of earlier versions, never regenerated: publiek/1 (before RFC
# 8785) and publiek/2 (before the period config named its segment model).
EARLIER = {
    "publiek-1": "as committed before RFC 8785",
    "publiek-2": "as committed before the period config named its segment model",
    "publiek-3": "as committed before the household sketch",
}
UNSUPPORTED = {"status": 400, "type": "urn:publiek:problem:unsupported-version"}


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
    name: str,
    rho: float,
    first: int,
    *,
    period: str = OPEN_PERIOD,
    declared_sensitivity: float | None = None,
) -> ReleasedTable:
    """One table of the release design with the sensitivity its name and
    :data:`BOUNDS` give (or ``declared_sensitivity``) and the declared ρ that
    OpenDP's map gives for it: intake recomputes both."""
    design = next(t for t in TABLE_DESIGN if t.name == name)
    keys: list[tuple[str, ...]] = [()]
    labels = {**LABELS, "month": months_of(period)[:2]}
    for dimension in design.dimensions:
        keys = [(*k, label) for k in keys for label in labels[dimension]]
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
    segment_model: str = SEGMENT_MODEL,
    sketch: PeriodSketch | None = None,
) -> SubmissionPayload:
    """Every table of the release design, ``rho`` split by the design's weights.
    ``cheap_visits``: visits_by_month declares sensitivity 1 at σ = 5.1 (a cheat).
    ``sketch``: a household sketch of that config at its weight of ``rho``, the
    tables sharing the rest."""
    sketch_part = 0.0 if sketch is None else rho * sketch.weight
    tables = tuple(
        table(
            t.name,
            rho_share(t.name, rho - sketch_part),
            first,
            period=period,
            declared_sensitivity=1.0 if cheap_visits and t.name == "visits_by_month" else None,
        )
        for t in TABLE_DESIGN
    )
    released = None if sketch is None else released_sketch(sketch, sketch_part)
    return SubmissionPayload(
        institution_id=institution,
        period=period,
        submission_id=submission_id,
        created_at="2026-10-01T00:00:00+00:00",
        segment_model=segment_model,
        catchment_origin=CATCHMENT_ORIGIN,
        bounds=dict(BOUNDS),
        tables=tables,
        privacy=PrivacySpend(
            rho=sum(t.rho for t in tables) + (0.0 if released is None else released.rho),
            epsilon=2.5,
            delta=1e-7,
        ),
        sketch=released,
        named_overlaps=sketch is not None,
    )


def released_sketch(spec: PeriodSketch, rho: float) -> ReleasedSketch:
    """A sketch of ``spec`` at ``rho``: fixed bucket values (a vector is about
    the protocol, not the noise), the scales and ρ OpenDP gives."""
    scale = calibrate_scale(1.0, GAUSSIAN, vector_rho(rho))
    count_scale = calibrate_scale(1.0, GAUSSIAN, count_rho(rho))
    return ReleasedSketch(
        design=spec.design,
        width=spec.width,
        mechanism=GAUSSIAN,
        scale=scale,
        count_scale=count_scale,
        rho=sketch_rho(scale, count_scale, GAUSSIAN),
        parts=tuple(
            SketchPart(
                discipline=d,
                households=100 * i - 7,
                buckets=tuple((i * 31 + b * 7) % 23 - 11 for b in range(spec.width)),
            )
            for i, d in enumerate(DISCIPLINES)
        ),
    )


def seal(
    p: SubmissionPayload, signer: str = "institution-signing", to: str = "aggregator-intake-active"
) -> bytes:
    envelope, _ = seal_submission(p, signer=signing(signer), recipient=sealing(to).public)
    return envelope


def publiek_1_bytes(value: Any) -> bytes:
    """How publiek/1 encoded: Python's sorted-key ``json.dumps`` (not RFC 8785)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def seal_raw(
    header: EnvelopeHeader,
    payload_dict: dict[str, Any],
    signer: SigningKey,
    *,
    info_header: EnvelopeHeader | None = None,
    encode: Any = canonical_bytes,
) -> bytes:
    """Seal by hand, for vectors the reference API refuses to build."""
    signature = signer.sign(SIGNATURE_DOMAIN, encode([header.to_dict(), payload_dict]))
    plaintext = encode({"payload": payload_dict, "signature": b64encode(signature)})
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

    valid, plaintext = seal_submission(
        payload(),
        signer=signing("institution-signing"),
        recipient=sealing("aggregator-intake-active").public,
    )
    add(
        "valid",
        valid,
        {"status": 200, "accepted": True, "log_index": 0},
        "a well-formed submission from an enrolled institution to the active key",
    )
    out[-1]["plaintext"] = plaintext
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
    for sid, earlier in (("d0", "publiek/1"), ("d1", "publiek/2"), ("d2", "publiek/3")):
        p = payload(submission_id=f"{sid}112233445566778899aabbccddeeff")
        add(
            f"payload-version-{earlier.removeprefix('publiek/')}",
            seal_raw(
                header_for(p), {**p.to_dict(), "version": earlier}, signing("institution-signing")
            ),
            UNSUPPORTED,
            f"a {PROTOCOL_VERSION} envelope, correctly sealed and signed, carrying a payload "
            f"that says {earlier}",
        )
    p = payload(submission_id="e0112233445566778899aabbccddeeff")
    add(
        "publiek-1-encoding",
        seal_raw(
            header_for(p), p.to_dict(), signing("institution-signing"), encode=publiek_1_bytes
        ),
        problem("malformed-message", 400),
        f"a {PROTOCOL_VERSION} payload encoded as publiek/1 did (delta 1e-07, scale 60.0) and "
        "signed over those bytes: the sealed plaintext is not RFC 8785",
    )
    p = payload(submission_id="f0112233445566778899aabbccddeeff")
    beyond = p.to_dict()
    beyond["tables"][0]["values"][0] = float(2**53)  # JCS writes 9007199254740992
    add(
        "integer-beyond-safe-range",
        seal_raw(header_for(p), beyond, signing("institution-signing")),
        problem("invalid-payload", 422),
        "a cell value of 9007199254740992 (2^53), canonical as a number but outside the "
        "integers every JSON parser reads exactly (±(2^53 - 1)); integer fields refuse it",
    )
    # Fields whose vocabulary is closed (ADR 0021): each correctly sealed and
    # signed, each refused before anything is stored.
    for sid, name, change, slug, note in (
        (
            "01",
            "segment-model-free-text",
            {"segment_model": "j.jansen@example.nl 1234AB"},
            "invalid-payload",
            "segment_model holding an e-mail address and a postcode instead of a known model",
        ),
        (
            "02",
            "created-at-not-rfc3339",
            {"created_at": "01-10-2026 00:00"},
            "invalid-payload",
            "created_at not an RFC 3339 date-time",
        ),
        (
            "03",
            "unknown-member",
            {"comment": "free text"},
            "invalid-payload",
            "a payload member the schema does not name",
        ),
        (
            "04",
            "unknown-bound",
            {"bounds": {**BOUNDS, "max_households": 5}},
            "refused-declaration",
            "a bound the release design does not name",
        ),
        (
            "05",
            "boolean-bound",
            {"bounds": {MAX_VISITS: True}},
            "invalid-payload",
            "a bound of JSON true: a boolean is not an integer",
        ),
    ):
        p = payload(submission_id=f"{sid}112233445566778899aabbccddeeff")
        add(
            name,
            seal_raw(header_for(p), {**p.to_dict(), **change}, signing("institution-signing")),
            problem(slug, 422),
            note,
        )
    p = payload(submission_id="06112233445566778899aabbccddeeff")
    outside = p.to_dict()
    outside["tables"][0]["keys"][0][0] = "all"
    add(
        "label-outside-key-set",
        seal_raw(header_for(p), outside, signing("institution-signing")),
        problem("invalid-payload", 422),
        "a segment label that is not a segment of the named segment model",
    )
    p = payload(submission_id="07112233445566778899aabbccddeeff")
    large = p.to_dict()
    large["tables"][0]["values"][0] = 10**15
    add(
        "cell-value-out-of-range",
        seal_raw(header_for(p), large, signing("institution-signing")),
        problem("invalid-payload", 422),
        "a households cell of 10^15: an exact JSON integer, far beyond any institution's "
        "10^7 households plus 40 noise standard deviations",
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
        b'{"version":"' + PROTOCOL_VERSION.encode() + b'"',
        problem("malformed-message", 400),
        "not even JSON",
    )
    add(
        "other-segment-model",
        seal(
            payload(
                submission_id="08112233445566778899aabbccddeeff", segment_model=OTHER_SEGMENT_MODEL
            )
        ),
        problem("segment-model-mismatch", 409),
        f"made with segment model {OTHER_SEGMENT_MODEL}, which the protocol knows, for a period "
        f"whose config names {SEGMENT_MODEL}: its segment cells could not be summed with the "
        "others'",
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
    sketch_vectors(add)
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


# (name, input as some JSON text, its RFC 8785 bytes written out by hand, note).
# The generator checks that the encoder gives exactly these bytes.
CANONICAL: tuple[tuple[str, str, str, str], ...] = (
    (
        "rfc8785-example",
        (
            '{\n  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, '
            "0.000000000000000000000000001],\n"
            '  "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",\n'
            '  "literals": [null, true, false]\n}\n'
        ),
        (
            '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
            '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
        ),
        "the example of RFC 8785 section 3.2.2",
    ),
    (
        "numbers",
        (
            "[1e-07, 1E-7, 0.000001, 1e-05, 0.0001, 1.0, 60.00, 0.25, 0.1, 0.30000000000000004, "
            "1e20, 1e21, 123456789.125, -0.0, 5e-324, 1.7976931348623157e308]"
        ),
        (
            "[1e-7,1e-7,0.000001,0.00001,0.0001,1,60,0.25,0.1,0.30000000000000004,"
            "100000000000000000000,1e+21,123456789.125,0,5e-324,1.7976931348623157e+308]"
        ),
        (
            "ECMAScript number form: δ = 1e-7 (publiek/1 wrote 1e-07), 1.0 as 1, 1e-5 as 0.00001, "
            "1e20 in digits, 1e21 with an exponent, -0 as 0"
        ),
    ),
    (
        "integers-at-the-boundary",
        "[9007199254740991, -9007199254740991, 0, -1, 1.0e3]",
        "[9007199254740991,-9007199254740991,0,-1,1000]",
        (
            "±(2^53 - 1), the largest integers the protocol carries (I-JSON); 2^53 and beyond are "
            "refused by the encoder as integers"
        ),
    ),
    (
        "strings",
        (
            '["Fryslân", "caf\\u00e9", "tab\\there", "quote\\"back\\\\slash", "\\u001f", '
            '"\\u007f", '
            '"\\u2028", "\\ud83d\\ude00", "<\\/script>"]'
        ),
        (
            '["Fryslân","café","tab\\there","quote\\"back\\\\slash","\\u001f","\x7f","\u2028",'
            '"\U0001f600","</script>"]'
        ),
        (
            'UTF-8 as is (â, é, U+2028, U+1F600); only ", \\ and controls below U+0020 escaped, '
            "short forms where JSON has them, else \\u00xx in lower case"
        ),
    ),
    (
        "key-order",
        (
            '{"\\ue000": 1, "\\ud83d\\ude00": 2, "\\u00e9": 3, "a": 4, "A": 5, "10": 6, "1": 7, '
            '"": 8}'
        ),
        '{"":8,"1":7,"10":6,"A":5,"a":4,"é":3,"\U0001f600":2,"\ue000":1}',
        (
            "keys sorted by UTF-16 code units: U+1F600 (D83D DE00) before U+E000, where code point "
            "order (publiek/1) puts it after"
        ),
    ),
    (
        "nesting",
        '{"b": [{"z": null, "y": true}, false, []], "a": {}}',
        '{"a":{},"b":[{"y":true,"z":null},false,[]]}',
        "sorting applies inside nested objects; arrays keep their order",
    ),
)
# (name, bytes that are valid JSON or nearly, note): a strict decoder refuses each.
REFUSED: tuple[tuple[str, bytes, str], ...] = (
    ("publiek-1-float", b'{"delta":1e-07}', "publiek/1's exponent form; RFC 8785 writes 1e-7"),
    ("trailing-zero", b'{"scale":60.0}', "publiek/1 wrote 60.0; RFC 8785 writes 60"),
    ("upper-case-exponent", b"[1E-7]", "the exponent marker is a lower-case e"),
    ("integer-beyond-safe-range", b"[9007199254740993]", "not a double: it reads back as ...992"),
    ("negative-zero", b"[-0]", "zero has no sign"),
    ("whitespace", b'{"a": 1}', "no insignificant whitespace"),
    ("unsorted-keys", b'{"b":1,"a":2}', "keys are sorted"),
    (
        "code-point-key-order",
        '{"\ue000":1,"\U0001f600":2}'.encode(),
        "publiek/1's order (code points); UTF-16 puts U+1F600 first",
    ),
    ("escaped-non-ascii", b'["caf\\u00e9"]', "non-ASCII is written as UTF-8, not escaped"),
    ("escaped-solidus", b'["\\/"]', "/ is not escaped"),
    ("duplicate-key", b'{"a":1,"a":1}', "a key occurs once"),
    ("nan", b"[NaN]", "not JSON"),
    ("byte-order-mark", b"\xef\xbb\xbf[]", "no byte order mark"),
    ("invalid-utf-8", b'["\xff"]', "UTF-8 only"),
    ("lone-surrogate", b'["\\ud800"]', "a lone surrogate is no character"),
)


def encoding_vectors() -> dict[str, list[dict[str, str]]]:
    """Write ``encoding/`` and return its manifest section."""
    folder = ROOT / "encoding"
    for old in folder.rglob("*.json"):
        old.unlink()
    (folder / "refused").mkdir(parents=True, exist_ok=True)
    canonical, refused = [], []
    for name, text, expected, note in CANONICAL:
        encoded = canonical_bytes(json.loads(text))
        if encoded != expected.encode("utf-8"):
            raise SystemExit(f"encoding vector {name}: the encoder gives {encoded!r}")
        (folder / f"{name}.input.json").write_text(text, encoding="utf-8")
        (folder / f"{name}.json").write_bytes(encoded)
        canonical.append(
            {
                "name": name,
                "input": f"encoding/{name}.input.json",
                "canonical": f"encoding/{name}.json",
                "note": note,
            }
        )
    for name, data, note in REFUSED:
        (folder / "refused" / f"{name}.json").write_bytes(data)
        refused.append(
            {
                "name": name,
                "file": f"encoding/refused/{name}.json",
                "expected": problem("malformed-message", 400),
                "note": note,
            }
        )
    return {"canonical": canonical, "refused": refused}


def sketch_vectors(add: Any) -> None:
    """The household sketch (ADR 0036): one accepted for the period that fixes
    one, and each refusal of intake's sketch checks."""
    p = payload(
        period=SKETCH_PERIOD, submission_id="5a112233445566778899aabbccddeeff", sketch=SKETCH
    )
    add(
        "valid-sketch",
        seal(p),
        {"status": 200, "accepted": True, "log_index": 1},
        f"for {SKETCH_PERIOD}, whose config fixes a sketch of width {SKETCH.width} at weight "
        f"{SKETCH.weight}: the tables at 0.75 of ρ 0.25, one sketch part per discipline",
    )
    p = payload(submission_id="5b112233445566778899aabbccddeeff", sketch=SKETCH)
    add(
        "sketch-not-in-period",
        seal(p),
        problem("sketch-mismatch", 409),
        f"a sketch for {OPEN_PERIOD}, whose config fixes none",
    )
    p = payload(period=SKETCH_PERIOD, submission_id="5c112233445566778899aabbccddeeff")
    add(
        "sketch-missing",
        seal(p),
        problem("sketch-mismatch", 409),
        f"no sketch for {SKETCH_PERIOD}, whose config fixes one",
    )
    wider = PeriodSketch(width=512, seed=SKETCH.seed, weight=SKETCH.weight)
    p = payload(
        period=SKETCH_PERIOD, submission_id="5d112233445566778899aabbccddeeff", sketch=wider
    )
    add(
        "sketch-other-width",
        seal(p),
        problem("sketch-mismatch", 409),
        f"a sketch of width 512 for a period that fixes {SKETCH.width}",
    )
    for sid, name, change, slug, note in (
        (
            "5e",
            "sketch-declared-rho-wrong",
            lambda d: d.update(rho=d["rho"] / 2),
            "invalid-payload",
            "the sketch declares half the ρ OpenDP gives for its scales",
        ),
        (
            "5f",
            "sketch-unknown-discipline",
            lambda d: d["parts"][0].update(discipline="circus"),
            "invalid-payload",
            "a sketch part for a discipline outside the key set",
        ),
        (
            "60",
            "sketch-missing-part",
            lambda d: d["parts"].pop(),
            "refused-declaration",
            "a sketch without a part for one discipline: which parts exist must say nothing",
        ),
        (
            "61",
            "sketch-bucket-count",
            lambda d: d["parts"][0]["buckets"].pop(),
            "invalid-payload",
            "a sketch part with one bucket fewer than the width",
        ),
    ):
        p = payload(
            period=SKETCH_PERIOD,
            submission_id=f"{sid}112233445566778899aabbccddeeff",
            sketch=SKETCH,
        )
        doc = p.to_dict()
        change(doc["sketch"])
        add(
            name,
            seal_raw(header_for(p), doc, signing("institution-signing")),
            problem(slug, 422),
            note,
        )


def period_config() -> PeriodConfig:
    """The open period's config as the aggregator serves it (δ = 1e-7, the design's weights)."""
    return sign_period_config(
        PeriodConfig(
            period=OPEN_PERIOD,
            rho_budget=BUDGET,
            delta=1e-7,
            mechanism=GAUSSIAN,
            design=DESIGN,
            tables=tuple(PeriodTable(name=t.name, weight=t.weight) for t in TABLE_DESIGN),
            bounds=dict(BOUNDS),
            k=5,
            segment_model=SEGMENT_MODEL,
            segment_model_digest=None,
            issued_at="2026-07-01T00:00:00+00:00",
            aggregator_key_id=signing("aggregator-receipt").public.key_id,
        ),
        signing("aggregator-receipt"),
    )


def receipt(valid: bytes) -> Receipt:
    """A receipt for ``valid`` at log index 0, at a fixed time."""
    body = Receipt(
        submission_id="00112233445566778899aabbccddeeff",
        institution_id=INSTITUTION,
        period=OPEN_PERIOD,
        digest=envelope_digest(valid),
        log_index=0,
        received_at="2026-10-01T00:00:05+00:00",
        aggregator_key_id=signing("aggregator-receipt").public.key_id,
    )
    signature = signing("aggregator-receipt").sign(RECEIPT_DOMAIN, canonical_bytes(body.body()))
    return Receipt(**{**body.__dict__, "signature": signature})


def log_entry(r: Receipt) -> dict[str, Any]:
    fields = {
        "log_index": r.log_index,
        "submission_id": r.submission_id,
        "institution_id": r.institution_id,
        "period": r.period,
        "digest": r.digest,
        "appended_at": r.received_at,
    }
    return {**fields, "prev_hash": GENESIS, "entry_hash": entry_hash(fields, GENESIS)}


def message_vectors(valid: bytes, plaintext: bytes) -> list[dict[str, Any]]:
    """Write ``messages/`` and return its manifest section."""
    folder = ROOT / "messages"
    folder.mkdir(exist_ok=True)
    r = receipt(valid)
    items = (
        (
            "valid-plaintext",
            plaintext,
            {"opens": "submissions/valid.envelope", "with": "aggregator-intake-active"},
            (
                "the exact plaintext sealed in valid.envelope: payload (δ = 1e-7, floats) and "
                "the institution's signature over canonical "
                "[header, payload] in domain 'publiek/1 submission-signature'"
            ),
        ),
        (
            "period-config",
            canonical_bytes(period_config().to_dict()),
            {"signed_by": "aggregator-receipt", "domain": PERIOD_CONFIG_DOMAIN.decode()},
            (
                "a signed period config: δ = 1e-7, the table weights and the built-in demo "
                "segment model (no release, so a null digest); the signature is over the "
                "canonical body without 'signature'"
            ),
        ),
        (
            "receipt",
            canonical_bytes(r.to_dict()),
            {"signed_by": "aggregator-receipt", "domain": RECEIPT_DOMAIN.decode()},
            (
                "a receipt for valid.envelope; strings and a small integer only, so its bytes are "
                "the same under every version since publiek/1"
            ),
        ),
        (
            "log-entry",
            canonical_bytes(log_entry(r)),
            {"domain": LOG_DOMAIN.decode().rstrip("\x00") + " ‖ 0x00"},
            (
                "entry 0 of the transparency log for that receipt; entry_hash = SHA-256(domain ‖ "
                "canonical(entry without the two hashes) ‖ prev_hash), the same under both versions"
            ),
        ),
    )
    out = []
    for name, data, check, note in items:
        (folder / f"{name}.json").write_bytes(data)
        out.append({"name": name, "file": f"messages/{name}.json", **check, "note": note})
    return out


def earlier_vectors() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The frozen vectors of earlier versions: refused as unsupported versions."""
    submissions, sector_keys = [], []
    for folder, when in EARLIER.items():
        version = folder.replace("-", "/")
        submissions.append(
            {
                "name": f"{folder}-valid",
                "file": f"{folder}/valid.envelope",
                "gzip": False,
                "expected": UNSUPPORTED,
                "note": f"the 'valid' vector of {version}, {when}",
            }
        )
        sector_keys.append(
            {
                "name": f"{folder}-sector-key-valid",
                "file": f"{folder}/sector-key-valid.json",
                "expected": UNSUPPORTED,
                "note": f"the valid sealed sector key of {version}: the custodian distributes "
                "again",
                "open_as": {
                    "institution_id": INSTITUTION,
                    "period": OPEN_PERIOD,
                    "recipient": "institution-sealing",
                    "custodian": "custodian-signing",
                },
            }
        )
    return submissions, sector_keys


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
                OPEN_PERIOD: {
                    "state": "open",
                    "rho_budget": BUDGET,
                    "segment_model": SEGMENT_MODEL,
                },
                CLOSED_PERIOD: {
                    "state": "closed",
                    "rho_budget": BUDGET,
                    "segment_model": SEGMENT_MODEL,
                },
                SKETCH_PERIOD: {
                    "state": "open",
                    "rho_budget": BUDGET,
                    "segment_model": SEGMENT_MODEL,
                    "sketch": SKETCH.to_dict(),
                },
            },
            "custodian_key": "custodian-signing",
        },
        "protocol_version": PROTOCOL_VERSION,
        "public_keys": public_keys(),
        "submissions": [],
        "sector_keys": [],
        "encoding": encoding_vectors(),
        "messages": [],
    }
    earlier_submissions, earlier_sector_keys = earlier_vectors()
    manifest["submissions"].extend(earlier_submissions)
    for old in (*ROOT.glob("submissions/*"), *ROOT.glob("sector-keys/*")):
        old.unlink()
    (ROOT / "submissions").mkdir(exist_ok=True)
    (ROOT / "sector-keys").mkdir(exist_ok=True)
    for v in vectors():
        if "plaintext" in v:
            manifest["messages"] = message_vectors(v["data"], v["plaintext"])
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
    manifest["sector_keys"].extend(earlier_sector_keys)
    (ROOT / "manifest.json").write_text(
        json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main()
