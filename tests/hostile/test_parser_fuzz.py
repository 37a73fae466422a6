"""Fuzzing the protocol's parsers: whatever arrives, only a Publiek error comes out.

Issue 14: every byte string and every JSON structure a peer can send goes into
the parsers of ``protocol/`` (the envelope, the sealed plaintext and its
payload, sealed sector keys, period configs, receipts) and into intake's
declaration checks. Each either raises one of the project's ``PubliekError``
classes (a problem document, a one-line CLI error) or returns a message;
never a ``KeyError``, ``TypeError``, ``OverflowError`` or ``RecursionError``,
which would be a 500. A message that parses re-encodes to exactly the bytes it
came from: one message has one byte string (RFC 8785, strict decoding).

The inputs are arbitrary bytes, arbitrary JSON, and mutations of the
known-answer vectors (a value replaced, a field dropped or added, a byte
flipped), which reach deeper than random input: past the canonical-form check
and, for payloads, past HPKE and the signature, into the schema.
"""

from __future__ import annotations

import contextlib
import copy
import json
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregator.intake import Intake
from protocol.encoding import b64encode, canonical_bytes, parse_canonical
from protocol.envelope import (
    SIGNATURE_DOMAIN,
    SUITE,
    envelope_info,
    open_submission,
    parse_envelope,
)
from protocol.errors import PubliekError
from protocol.messages import (
    Envelope,
    EnvelopeHeader,
    PeriodConfig,
    PrivacySpend,
    Receipt,
    ReleasedTable,
    SubmissionPayload,
)
from protocol.sector_keys import SealedSectorKey
from tests.protocol.vector_files import INTAKE_KEY, SIGNER, VALID_ENVELOPE, VECTORS

PLAINTEXT = json.loads((VECTORS / "messages" / "valid-plaintext.json").read_bytes())
PAYLOAD: dict[str, Any] = PLAINTEXT["payload"]
PERIOD_CONFIG: dict[str, Any] = json.loads(
    (VECTORS / "messages" / "period-config.json").read_bytes()
)
RECEIPT: dict[str, Any] = json.loads((VECTORS / "messages" / "receipt.json").read_bytes())
SECTOR_KEY: dict[str, Any] = json.loads(
    (VECTORS / "sector-keys" / "sector-key-valid.json").read_bytes()
)

_SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def fuzz(test: Any) -> Any:
    """300 examples per property, no deadline; ``slow`` (about a second each)."""
    return pytest.mark.slow(_SETTINGS(test))


# Values that sit next to a valid one: the shapes hostile input took in the
# attack run (a trailing newline, a boolean for an integer, numbers beyond any
# count, free text) and plain JSON of every type.
near_misses = st.sampled_from(
    [
        True, False, None, 0, -1, 1.5, 2**53, 2**70, 10**15, -(10**15), 1e308, -0.0,
        "", "\n", "x" * 300, "synthetic-demo-2026\n", "j.jansen@example.nl 1234AB",
        "2026-10-01", "2026-10-01T00:00:00", "2026-10-01T00:00:00+00:00\n", "2026-Q3\n",
        "households_by_province\n", "utrecht\n", "publiek/1", "Fryslân", [], {}, [[]], {"a": 1},
    ]
)  # fmt: skip
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
# A copy: a later mutation may add to a list or object drawn here.
replacement = st.one_of(near_misses, json_values).map(copy.deepcopy)


def paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside ``doc`` (keys of objects, indexes of arrays)."""
    found = [prefix]
    if isinstance(doc, dict):
        for key, value in doc.items():
            found += paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            found += paths(value, (*prefix, index))
    return found


@st.composite
def mutated(draw: st.DrawFn, original: dict[str, Any]) -> Any:
    """``original`` with one to three changes at random places."""
    doc = json.loads(json.dumps(original))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths(doc)))
        if not path:
            doc = draw(replacement)
            continue
        *parent_path, last = path
        parent = doc
        for step in parent_path:
            parent = parent[step]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            parent[last] = draw(replacement)
        elif action == "delete":
            del parent[last]
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(["comment", "\n", "name", "e-mail"]))] = draw(replacement)
        else:
            parent.insert(last, draw(replacement))
        if not isinstance(doc, dict | list):
            break
    return doc


def encoded_or_none(doc: Any) -> bytes | None:
    """The canonical bytes a peer would send, or None when JSON cannot carry ``doc``."""
    try:
        return canonical_bytes(doc)
    except PubliekError:
        return None


def check_round_trip(parse: Any, data: bytes, encode: Any) -> None:
    """``parse(data)`` raises a Publiek error or gives a message encoding to ``data``."""
    try:
        message = parse(data)
    except PubliekError:
        return
    assert canonical_bytes(encode(message)) == data


# --- arbitrary bytes ----------------------------------------------------------


@fuzz
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_as_an_envelope(data: bytes) -> None:
    check_round_trip(parse_envelope, data, Envelope.to_dict)


@fuzz
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_as_a_sealed_sector_key(data: bytes) -> None:
    check_round_trip(SealedSectorKey.from_bytes, data, SealedSectorKey.to_dict)


@pytest.mark.parametrize(
    "data",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        b"[1" + b"0" * 400 + b"]",  # 10^400: beyond a double
        b"[1" + b"0" * 5000 + b"]",  # beyond Python's digit limit for int()
        b'{"version":"publiek/2"',
        b"\xff\xfe",
        b"",
    ],
    ids=["deep-array", "deep-object", "1e400", "5000-digits", "truncated", "utf-16", "empty"],
)
def test_pathological_json_is_a_publiek_error(data: bytes) -> None:
    for parse in (parse_envelope, SealedSectorKey.from_bytes):
        with pytest.raises(PubliekError):
            parse(data)


# --- arbitrary JSON and mutated vectors ---------------------------------------


@fuzz
@given(json_values)
def test_arbitrary_json_into_every_message_parser(doc: Any) -> None:
    for parse in (
        Envelope.from_dict,
        SubmissionPayload.from_dict,
        SubmissionPayload.from_record,
        ReleasedTable.from_dict,
        PrivacySpend.from_dict,
        Receipt.from_dict,
        PeriodConfig.from_dict,
        SealedSectorKey.from_dict,
    ):
        with contextlib.suppress(PubliekError):
            parse(doc)


@fuzz
@given(st.data())
def test_mutated_envelope_bytes(data: st.DataObject) -> None:
    raw = bytearray(VALID_ENVELOPE)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(raw)))
        action = data.draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        if action == "flip" and at < len(raw):
            raw[at] ^= 1 << data.draw(st.integers(0, 7))
        elif action == "insert":
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=8))
        elif action == "delete":
            del raw[at : at + data.draw(st.integers(1, 16))]
        else:
            del raw[at:]
    check_round_trip(parse_envelope, bytes(raw), Envelope.to_dict)


@fuzz
@given(mutated({**json.loads(VALID_ENVELOPE)}))
def test_mutated_envelope_fields(doc: Any) -> None:
    data = encoded_or_none(doc)
    if data is not None:
        check_round_trip(parse_envelope, data, Envelope.to_dict)


@fuzz
@given(mutated(PAYLOAD))
def test_mutated_payloads_parse_or_raise_and_pass_intake_checks_or_raise(doc: Any) -> None:
    data = encoded_or_none(doc)
    if data is None:
        return
    try:
        payload = SubmissionPayload.from_dict(parse_canonical(data, what="payload"))
    except PubliekError:
        return
    assert canonical_bytes(payload.to_dict()) == data
    with contextlib.suppress(PubliekError):  # intake's declaration, bounds, key sets, values
        Intake._checked_rho(SimpleNamespace(payload=payload))  # type: ignore[arg-type]


def seal_signed(payload_bytes: bytes) -> bytes:
    """An envelope carrying ``payload_bytes`` exactly, sealed and signed as an agent would."""
    header = EnvelopeHeader(
        suite="DHKEM-X25519-HKDF-SHA256/HKDF-SHA256/ChaCha20Poly1305",
        kem_key_id=INTAKE_KEY.public.key_id,
        signer_key_id=SIGNER.public.key_id,
        institution_id=PAYLOAD["institution_id"],
        period=PAYLOAD["period"],
        submission_id=PAYLOAD["submission_id"],
    )
    signed = b"[" + canonical_bytes(header.to_dict()) + b"," + payload_bytes + b"]"
    signature = SIGNER.sign(SIGNATURE_DOMAIN, signed)
    plaintext = b'{"payload":' + payload_bytes + b',"signature":"' + b64encode(signature).encode()
    plaintext += b'"}'
    sealed = SUITE.encrypt(plaintext, INTAKE_KEY.public.to_crypto(), info=envelope_info(header))
    return canonical_bytes(Envelope(header=header, sealed=sealed).to_dict())


@fuzz
@given(mutated(PAYLOAD))
def test_mutated_payloads_sealed_and_signed_open_or_raise(doc: Any) -> None:
    data = encoded_or_none(doc)
    if data is None:
        return
    try:
        opened = open_submission(
            seal_signed(data),
            decryption_key=lambda _: INTAKE_KEY,
            signer_key=lambda _: SIGNER.public,
        )
    except PubliekError:
        return
    assert canonical_bytes(opened.payload.to_dict()) == data


@fuzz
@given(st.binary(max_size=300))
def test_arbitrary_bytes_as_a_signed_payload(data: bytes) -> None:
    """Past HPKE and the signature: the plaintext's payload is any bytes at all."""
    try:
        open_submission(
            seal_signed(data),
            decryption_key=lambda _: INTAKE_KEY,
            signer_key=lambda _: SIGNER.public,
        )
    except PubliekError:
        return
    raise AssertionError("random bytes opened as a valid payload")


@fuzz
@given(mutated(SECTOR_KEY))
def test_mutated_sealed_sector_keys(doc: Any) -> None:
    data = encoded_or_none(doc)
    if data is not None:
        check_round_trip(SealedSectorKey.from_bytes, data, SealedSectorKey.to_dict)


@fuzz
@given(mutated(PERIOD_CONFIG))
def test_mutated_period_configs(doc: Any) -> None:
    data = encoded_or_none(doc)
    if data is not None:
        check_round_trip(
            lambda b: PeriodConfig.from_dict(parse_canonical(b, what="period config")),
            data,
            PeriodConfig.to_dict,
        )


@fuzz
@given(mutated(RECEIPT))
def test_mutated_receipts(doc: Any) -> None:
    data = encoded_or_none(doc)
    if data is not None:
        check_round_trip(
            lambda b: Receipt.from_dict(parse_canonical(b, what="receipt")), data, Receipt.to_dict
        )


def test_the_unmutated_vectors_parse_and_round_trip() -> None:
    """The fuzzers start from valid messages (so a mutation is one step from valid)."""
    assert canonical_bytes(parse_envelope(VALID_ENVELOPE).to_dict()) == VALID_ENVELOPE
    for parse, doc in (
        (SubmissionPayload.from_dict, PAYLOAD),
        (PeriodConfig.from_dict, PERIOD_CONFIG),
        (Receipt.from_dict, RECEIPT),
        (SealedSectorKey.from_dict, SECTOR_KEY),
    ):
        assert parse(doc).to_dict() == doc
    opened = open_submission(
        seal_signed(canonical_bytes(PAYLOAD)),
        decryption_key=lambda _: INTAKE_KEY,
        signer_key=lambda _: SIGNER.public,
    )
    Intake._checked_rho(opened)
