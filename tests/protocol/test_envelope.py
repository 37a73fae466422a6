"""Sign-then-seal: round trips, context binding, tampering, redaction."""

from __future__ import annotations

import secrets

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.encoding import canonical_bytes, parse_canonical
from protocol.envelope import open_submission, seal_submission
from protocol.errors import (
    DecryptionFailed,
    InvalidPayload,
    InvalidSignature,
    MalformedMessage,
    PubliekError,
)
from protocol.keys import SealPrivateKey, SecretBytes, SigningKey
from protocol.messages import PrivacySpend, ReleasedTable, SubmissionPayload
from tests.protocol.json_values import json_values

SIGNER = SigningKey.generate()
RECIPIENT = SealPrivateKey.generate()


def payload(**overrides: object) -> SubmissionPayload:
    table = ReleasedTable(
        name="households_by_segment_discipline",
        measure="households",
        dimensions=("segment", "discipline"),
        keys=(("students", "theater"), ("students", "music")),
        values=(12, -3),
        mechanism="discrete_gaussian",
        scale=2.5,
        sensitivity=1.4142135623730951,
        rho=0.125,
        ci95=6.0,
    )
    fields: dict[str, object] = {
        "institution_id": "schouwburg-utrecht",
        "period": "2026-Q3",
        "submission_id": secrets.token_hex(16),
        "created_at": "2026-10-01T00:00:00+00:00",
        "segment_model": "synthetic-demo-2026",
        "catchment_origin": "3511",
        "bounds": {"max_visits_per_household": 12},
        "tables": (table,),
        "privacy": PrivacySpend(rho=0.125, epsilon=2.5, delta=1e-7),
    }
    fields.update(overrides)
    return SubmissionPayload(**fields)  # type: ignore[arg-type]


def open_with(envelope: bytes, signer: SigningKey = SIGNER) -> SubmissionPayload:
    return open_submission(
        envelope, decryption_key=lambda h: RECIPIENT, signer_key=lambda h: signer.public
    ).payload


def test_sealed_payload_opens_to_the_same_payload() -> None:
    p = payload()
    envelope, plaintext = seal_submission(p, signer=SIGNER, recipient=RECIPIENT.public)
    assert open_with(envelope) == p
    assert parse_canonical(plaintext, what="plaintext")["payload"] == p.to_dict()


def test_signature_by_another_key_is_rejected() -> None:
    envelope, _ = seal_submission(payload(), signer=SIGNER, recipient=RECIPIENT.public)
    with pytest.raises(InvalidSignature):
        open_with(envelope, signer=SigningKey.generate())


def test_header_moved_to_another_period_does_not_decrypt() -> None:
    envelope, _ = seal_submission(payload(), signer=SIGNER, recipient=RECIPIENT.public)
    doc = parse_canonical(envelope, what="envelope")
    doc["period"] = "2026-Q4"
    with pytest.raises(DecryptionFailed):
        open_with(canonical_bytes(doc))


def test_non_canonical_envelope_is_rejected() -> None:
    envelope, _ = seal_submission(payload(), signer=SIGNER, recipient=RECIPIENT.public)
    with pytest.raises(MalformedMessage):
        open_with(envelope.replace(b",", b", ", 1))


@given(st.data())
def test_flipping_any_byte_is_rejected(data: st.DataObject) -> None:
    envelope, _ = seal_submission(payload(), signer=SIGNER, recipient=RECIPIENT.public)
    index = data.draw(st.integers(0, len(envelope) - 1))
    flip = data.draw(st.integers(1, 255))
    tampered = bytearray(envelope)
    tampered[index] ^= flip
    with pytest.raises(PubliekError):
        open_with(bytes(tampered))


def test_invalid_table_is_refused_at_construction() -> None:
    with pytest.raises(InvalidPayload):
        ReleasedTable(
            name="t", measure="households", dimensions=("segment",), keys=(("a",),),
            values=(1, 2), mechanism="discrete_gaussian", scale=1.0, sensitivity=1.0,
            rho=0.1, ci95=2.0,
        )  # fmt: skip


def test_secrets_never_print() -> None:
    for secret in (SIGNER, RECIPIENT, SecretBytes(b"k" * 32)):
        assert "<redacted>" in repr(secret)
        assert "<redacted>" in str(secret)


@given(json_values)
def test_canonical_encoding_round_trips(value: object) -> None:
    encoded = canonical_bytes(value)
    assert parse_canonical(encoded, what="value") == value
    assert canonical_bytes(parse_canonical(encoded, what="value")) == encoded


@pytest.mark.parametrize("label", ["Jan de Vries", "jan@example.nl", "=HYPERLINK(1)", "", "a" * 41])
def test_free_text_cannot_be_a_cell_label(label: str) -> None:
    with pytest.raises(InvalidPayload):
        ReleasedTable(
            name="t", measure="households", dimensions=("segment",), keys=((label,),),
            values=(1,), mechanism="discrete_gaussian", scale=1.0, sensitivity=1.0,
            rho=0.1, ci95=2.0,
        )  # fmt: skip
