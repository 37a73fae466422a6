"""Every encode/decode pair round-trips; every byte of a real vector envelope matters."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from protocol.encoding import (
    MAX_SAFE_INTEGER,
    b64decode,
    b64encode,
    canonical_bytes,
    parse_canonical,
)
from protocol.envelope import open_submission
from protocol.errors import InvalidPayload, MalformedMessage, PubliekError
from protocol.keys import SealPrivateKey, SecretBytes, SigningKey, VerifyKey
from protocol.messages import (
    SEGMENT_MODELS,
    SUITE_NAME,
    Envelope,
    EnvelopeHeader,
    PrivacySpend,
    Receipt,
    ReleasedTable,
    SubmissionPayload,
)
from protocol.sector_keys import SealedSectorKey, open_sector_key, seal_sector_key
from tests.protocol.vector_files import INTAKE_KEY, SIGNER, VALID_ENVELOPE

hex32 = st.binary(min_size=16, max_size=16).map(bytes.hex)
slugs = st.from_regex(r"[a-z0-9][a-z0-9-]{1,20}", fullmatch=True)
periods = st.builds(lambda y, q: f"20{y:02d}-Q{q}", st.integers(0, 99), st.integers(1, 4))
positive = st.floats(min_value=1e-6, max_value=1e6, allow_nan=False, allow_infinity=False)
labels = st.from_regex(r"[a-z0-9][a-z0-9_+-]{0,7}", fullmatch=True)
names = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)


@st.composite
def tables(draw: st.DrawFn, name: str) -> ReleasedTable:
    keys = draw(st.lists(st.tuples(labels, labels), min_size=1, max_size=6, unique=True))
    return ReleasedTable(
        name=name,
        measure="households",
        dimensions=("segment", "discipline"),
        keys=tuple(keys),
        values=tuple(draw(st.lists(st.integers(-(10**9), 10**9), min_size=len(keys),
                                   max_size=len(keys)))),
        mechanism=draw(st.sampled_from(["discrete_gaussian", "discrete_laplace"])),
        scale=draw(positive),
        sensitivity=draw(positive),
        rho=draw(positive),
        ci95=draw(positive),
    )  # fmt: skip


@st.composite
def payloads(draw: st.DrawFn) -> SubmissionPayload:
    table_names = draw(st.lists(names, min_size=1, max_size=3, unique=True))
    return SubmissionPayload(
        institution_id=draw(slugs),
        period=draw(periods),
        submission_id=draw(hex32),
        created_at="2026-10-01T00:00:00+00:00",
        segment_model=draw(st.sampled_from(SEGMENT_MODELS)),
        catchment_origin=draw(st.none() | st.from_regex(r"\A[1-9][0-9]{3}\Z")),
        bounds=draw(st.dictionaries(names, st.integers(1, MAX_SAFE_INTEGER), max_size=3)),
        tables=tuple(draw(tables(n)) for n in table_names),
        privacy=PrivacySpend(rho=draw(positive), epsilon=draw(positive), delta=1e-7),
    )


@pytest.mark.slow
@given(payloads())
def test_payload_round_trips_through_canonical_bytes(payload: SubmissionPayload) -> None:
    encoded = canonical_bytes(payload.to_dict())
    decoded = SubmissionPayload.from_dict(parse_canonical(encoded, what="payload"))
    assert decoded == payload
    assert canonical_bytes(decoded.to_dict()) == encoded


@given(hex32, hex32, slugs, periods, hex32, st.binary(min_size=48, max_size=200))
def test_envelope_round_trips(
    kem: str, signer: str, inst: str, period: str, sid: str, sealed: bytes
) -> None:
    header = EnvelopeHeader(
        suite=SUITE_NAME, kem_key_id=kem, signer_key_id=signer, institution_id=inst, period=period,
        submission_id=sid,
    )  # fmt: skip
    envelope = Envelope(header=header, sealed=sealed)
    encoded = canonical_bytes(envelope.to_dict())
    assert Envelope.from_dict(parse_canonical(encoded, what="envelope")) == envelope


hex64 = st.binary(min_size=32, max_size=32).map(bytes.hex)
# Aware times as the aggregator writes them (``datetime.isoformat``), any offset.
timestamps = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2099, 12, 31),
    timezones=st.builds(
        lambda m: timezone(timedelta(minutes=m)), st.integers(-14 * 60 + 1, 14 * 60 - 1)
    ),
).map(datetime.isoformat)


@given(
    hex32, slugs, periods, hex64, st.integers(0, 2**40), timestamps, hex32,
    st.binary(min_size=64, max_size=64),
)  # fmt: skip
def test_receipt_round_trips(
    sid: str, inst: str, period: str, digest: str, index: int, at: str, kid: str, signature: bytes
) -> None:
    receipt = Receipt(
        submission_id=sid, institution_id=inst, period=period, digest=digest, log_index=index,
        received_at=at, aggregator_key_id=kid, signature=signature,
    )  # fmt: skip
    encoded = canonical_bytes(receipt.to_dict())
    assert Receipt.from_dict(parse_canonical(encoded, what="receipt")) == receipt


GOOD_RECEIPT: dict[str, Any] = {
    "submission_id": "00112233445566778899aabbccddeeff",
    "institution_id": "schouwburg-utrecht",
    "period": "2026-Q3",
    "digest": "ab" * 32,
    "log_index": 0,
    "received_at": "2026-10-01T00:00:00+00:00",
    "aggregator_key_id": "ffeeddccbbaa99887766554433221100",
    "signature": bytes(64),
}


@pytest.mark.parametrize(
    ("field_name", "bad"),
    [
        ("submission_id", "00112233445566778899AABBCCDDEEFF"),
        ("submission_id", "0011"),
        ("institution_id", "Schouwburg Utrecht"),
        ("period", "2026-M07"),
        ("digest", "ab" * 16),
        ("digest", "zz" * 32),
        ("log_index", -1),
        ("log_index", True),
        ("log_index", "0"),
        ("received_at", "2026-10-01T00:00:00"),
        ("received_at", "2026-10-01"),
        ("received_at", "2026-13-01T00:00:00+00:00"),
        ("received_at", "gisteren"),
        ("aggregator_key_id", "not-a-key-id"),
        ("signature", bytes(63)),
        ("signature", "c2ln"),
    ],
)
def test_a_receipt_with_a_malformed_field_cannot_be_constructed(
    field_name: str, bad: object
) -> None:
    Receipt(**GOOD_RECEIPT)
    with pytest.raises(InvalidPayload, match=r"receipt|period"):
        Receipt(**{**GOOD_RECEIPT, field_name: bad})


def test_a_receipt_on_the_wire_has_a_signature() -> None:
    unsigned = Receipt(**{**GOOD_RECEIPT, "signature": b""})
    with pytest.raises(InvalidPayload, match="signature"):
        Receipt.from_dict(unsigned.to_dict())


@given(st.integers(max_value=-1))
def test_a_receipt_never_carries_a_negative_log_index(index: int) -> None:
    with pytest.raises(InvalidPayload):
        Receipt(**{**GOOD_RECEIPT, "log_index": index})


def test_an_envelope_or_sealed_key_with_parts_of_the_wrong_type_cannot_be_constructed() -> None:
    header = Envelope.from_dict(json.loads(VALID_ENVELOPE)).header
    with pytest.raises(MalformedMessage):
        Envelope(header=header, sealed="not bytes")  # type: ignore[arg-type]
    with pytest.raises(MalformedMessage):
        Envelope(header=header.to_dict(), sealed=b"x")  # type: ignore[arg-type]
    with pytest.raises(MalformedMessage):
        SealedSectorKey(header=SEALED.header, sealed=SEALED.sealed, signature="c2ln")  # type: ignore[arg-type]


AGENT = SealPrivateKey.generate()
CUSTODIAN = SigningKey.generate()
SEALED = seal_sector_key(
    SecretBytes(bytes(32)),
    period="2026-Q3",
    institution_id="schouwburg-utrecht",
    recipient=AGENT.public,
    custodian=CUSTODIAN,
)


def test_sealed_sector_key_round_trips() -> None:
    assert SealedSectorKey.from_bytes(SEALED.to_bytes()) == SEALED


@given(st.binary(max_size=64))
def test_base64url_round_trips(data: bytes) -> None:
    assert b64decode(b64encode(data), what="data") == data


@given(st.binary(min_size=32, max_size=32))
def test_public_key_text_round_trips(seed: bytes) -> None:
    # Public keys of real key pairs: raw bytes may be a refused point (tests/hostile).
    key = SigningKey(Ed25519PrivateKey.from_private_bytes(seed)).public
    assert VerifyKey.from_text(key.to_text()) == key


def _open(data: bytes) -> SubmissionPayload:
    return open_submission(
        data, decryption_key=lambda h: INTAKE_KEY, signer_key=lambda h: SIGNER.public
    ).payload


def test_the_valid_vector_opens_with_the_test_keys() -> None:
    assert _open(VALID_ENVELOPE).submission_id == json.loads(VALID_ENVELOPE)["submission_id"]


@given(st.data())
def test_flipping_any_byte_of_the_valid_vector_is_rejected(data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(VALID_ENVELOPE) - 1))
    flip = data.draw(st.integers(1, 255))
    tampered = bytearray(VALID_ENVELOPE)
    tampered[index] ^= flip
    with pytest.raises(PubliekError):
        _open(bytes(tampered))


@given(st.data())
def test_flipping_any_byte_of_a_sealed_sector_key_is_rejected(data: st.DataObject) -> None:
    raw = SEALED.to_bytes()
    index = data.draw(st.integers(0, len(raw) - 1))
    tampered = bytearray(raw)
    tampered[index] ^= data.draw(st.integers(1, 255))
    with pytest.raises(PubliekError):
        open_sector_key(
            SealedSectorKey.from_bytes(bytes(tampered)),
            custodian=CUSTODIAN.public,
            recipient=AGENT,
            institution_id="schouwburg-utrecht",
            period="2026-Q3",
        )
