"""RFC 8785 canonical JSON: the known answers in tests/vectors, strict decoding,
the I-JSON integer range, and what did not change from publiek/1."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import PROTOCOL_VERSION
from protocol.encoding import MAX_SAFE_INTEGER, b64encode, canonical_bytes, parse_canonical
from protocol.envelope import _payload_bytes, open_submission, parse_envelope
from protocol.errors import MalformedMessage, UnsupportedVersion
from protocol.keys import SealPrivateKey, SigningKey
from protocol.messages import PeriodConfig, Receipt
from protocol.period_config import verify_period_config
from protocol.translog import (
    ENTRY_FIELDS,
    GENESIS,
    entry_hash,
    verify_chain,
    verify_receipt,
    verify_receipt_in_log,
)
from tests.protocol.json_values import json_values

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
MANIFEST = json.loads((VECTORS / "manifest.json").read_text(encoding="utf-8"))
KEYS = VECTORS / "test-keys"
RECEIPT_KEY = SigningKey.load(KEYS / "aggregator-receipt.key").public
MESSAGES = {m["name"]: m for m in MANIFEST["messages"]}


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("publiek_vectors", VECTORS / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def publiek_1_bytes(value: Any) -> bytes:
    """The encoding of publiek/1, to show what RFC 8785 changed and what it did not."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _message(name: str) -> bytes:
    return (VECTORS / MESSAGES[name]["file"]).read_bytes()


def test_the_vectors_are_of_this_protocol_version() -> None:
    assert MANIFEST["protocol_version"] == PROTOCOL_VERSION == "publiek/4"


@pytest.mark.parametrize("vector", MANIFEST["encoding"]["canonical"], ids=lambda v: v["name"])
def test_each_encoding_vector_re_encodes_to_its_canonical_bytes(vector: dict[str, str]) -> None:
    text = (VECTORS / vector["input"]).read_text(encoding="utf-8")
    expected = (VECTORS / vector["canonical"]).read_bytes()
    assert canonical_bytes(json.loads(text)) == expected
    assert canonical_bytes(parse_canonical(expected, what="vector")) == expected


@pytest.mark.parametrize("vector", MANIFEST["encoding"]["refused"], ids=lambda v: v["name"])
def test_each_non_canonical_encoding_vector_is_refused(vector: dict[str, str]) -> None:
    with pytest.raises(MalformedMessage):
        parse_canonical((VECTORS / vector["file"]).read_bytes(), what="vector")


def test_publiek_1_and_rfc_8785_differ_on_delta() -> None:
    assert publiek_1_bytes({"delta": 1e-7}) == b'{"delta":1e-07}'
    assert canonical_bytes({"delta": 1e-7}) == b'{"delta":1e-7}'


def test_an_integer_beyond_the_safe_range_is_refused_without_quoting_it() -> None:
    assert canonical_bytes([MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER]) == (
        b"[9007199254740991,-9007199254740991]"
    )
    for value in (MAX_SAFE_INTEGER + 1, -MAX_SAFE_INTEGER - 1, 10**30):
        with pytest.raises(MalformedMessage) as refused:
            canonical_bytes({"values": [value]})
        assert str(value) not in str(refused.value)


def test_an_integral_float_beyond_2_53_reads_back_as_the_same_number() -> None:
    # JCS writes 1e20 as 21 digits; reading them as an int would make the
    # re-encoding refuse its own output.
    encoded = canonical_bytes([1e20, float(2**53)])
    assert encoded == b"[100000000000000000000,9007199254740992]"
    assert parse_canonical(encoded, what="numbers") == [1e20, float(2**53)]


@given(json_values, st.from_regex(r"[A-Za-z0-9_-]{0,86}", fullmatch=True))
def test_the_payload_cut_from_a_plaintext_is_its_canonical_encoding(
    payload: object, signature: str
) -> None:
    value = {"payload": payload, "signature": signature}
    if isinstance(payload, dict):  # a payload may itself hold a "signature" member
        value["payload"] = {**payload, "signature": signature}
    assert _payload_bytes(canonical_bytes(value)) == canonical_bytes(value["payload"])


hex64 = st.binary(min_size=32, max_size=32).map(bytes.hex)
log_entries = st.fixed_dictionaries(
    {
        "log_index": st.integers(0, MAX_SAFE_INTEGER),
        "submission_id": st.binary(min_size=16, max_size=16).map(bytes.hex),
        "institution_id": st.from_regex(r"[a-z0-9][a-z0-9-]{1,62}", fullmatch=True),
        "period": st.from_regex(r"20\d\d-Q[1-4]", fullmatch=True),
        "digest": hex64,
        "appended_at": st.from_regex(
            r"20\d\d-[01]\d-[0-3]\dT[0-2]\d:[0-5]\d:[0-5]\d\+00:00", fullmatch=True
        ),
    }
)


@given(log_entries)
def test_log_entries_and_receipts_have_the_same_bytes_as_under_publiek_1(
    entry: dict[str, Any],
) -> None:
    # Strings of ASCII and small integers only: why the log and receipt domains
    # stayed 'publiek/1 ...' and a log begun before the upgrade verifies whole.
    assert canonical_bytes(entry) == publiek_1_bytes(entry)
    receipt = {**entry, "aggregator_key_id": entry["submission_id"]}
    assert canonical_bytes(receipt) == publiek_1_bytes(receipt)


def test_a_log_hashed_under_publiek_1_still_verifies() -> None:
    entries, prev = [], GENESIS
    for index in range(3):
        fields = {
            "log_index": index,
            "submission_id": f"{index:032x}",
            "institution_id": "stadsschouwburg",
            "period": "2026-Q2",
            "digest": hashlib.sha256(bytes([index])).hexdigest(),
            "appended_at": f"2026-06-0{index + 1}T10:00:00+00:00",
        }
        # entry_hash as publiek/1 computed it
        old = b"publiek/1 transparency-log\x00" + publiek_1_bytes(fields) + prev.encode()
        entries.append({**fields, "prev_hash": prev, "entry_hash": hashlib.sha256(old).hexdigest()})
        prev = entries[-1]["entry_hash"]
        assert prev == entry_hash(fields, entries[-1]["prev_hash"])
    verify_chain(entries)


def test_the_period_config_vector_verifies_and_is_reproduced_byte_for_byte() -> None:
    data = _message("period-config")
    config = PeriodConfig.from_dict(parse_canonical(data, what="period config"))
    verify_period_config(config, RECEIPT_KEY)
    assert b'"delta":1e-7' in data
    # Ed25519 is deterministic: the signature is a known answer too.
    assert canonical_bytes(_generator().period_config().to_dict()) == data


def test_the_receipt_and_log_entry_vectors_verify() -> None:
    receipt = Receipt.from_dict(parse_canonical(_message("receipt"), what="receipt"))
    verify_receipt(receipt, RECEIPT_KEY)
    entry = parse_canonical(_message("log-entry"), what="log entry")
    verify_chain([entry])
    verify_receipt_in_log(receipt, [entry])
    assert set(ENTRY_FIELDS) < set(entry)
    assert (
        receipt.digest
        == hashlib.sha256((VECTORS / "submissions" / "valid.envelope").read_bytes()).hexdigest()
    )


def test_the_valid_envelope_opens_to_the_plaintext_vector() -> None:
    opened = open_submission(
        (VECTORS / MESSAGES["valid-plaintext"]["opens"]).read_bytes(),
        decryption_key=lambda _: SealPrivateKey.load(KEYS / "aggregator-intake-active.key"),
        signer_key=lambda _: SigningKey.load(KEYS / "institution-signing.key").public,
    )
    assert opened.plaintext == _message("valid-plaintext")
    assert opened.payload.privacy.delta == 1e-7
    # No payload field holds free text (ADR 0021), so a payload is ASCII; the
    # encoding vectors ("strings") carry the non-ASCII cases.
    assert opened.payload.segment_model == "synthetic-demo-2026"
    assert opened.plaintext.isascii()


@pytest.mark.parametrize("earlier", ["publiek-1", "publiek-2"])
def test_an_envelope_of_an_earlier_version_is_refused_as_unsupported(earlier: str) -> None:
    with pytest.raises(UnsupportedVersion):
        parse_envelope((VECTORS / earlier / "valid.envelope").read_bytes())


def test_a_plaintext_signed_over_publiek_1_bytes_is_not_canonical() -> None:
    payload = {"delta": 1e-7, "scale": 60.0, "version": PROTOCOL_VERSION}
    plaintext = publiek_1_bytes({"payload": payload, "signature": b64encode(b"s" * 64)})
    with pytest.raises(MalformedMessage, match="RFC 8785"):
        parse_canonical(plaintext, what="sealed plaintext")
