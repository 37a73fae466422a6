"""Sealed sector keys: the committed vectors, binding, and the pinned custodian key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from protocol.encoding import b64decode
from protocol.errors import DecryptionFailed, MalformedMessage, PubliekError, UnknownKey
from protocol.keys import SealPrivateKey, SecretBytes, SigningKey
from protocol.sector_keys import SealedSectorKey, open_sector_key, seal_sector_key

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
MANIFEST = json.loads((VECTORS / "manifest.json").read_text(encoding="utf-8"))
CUSTODIAN = SigningKey.generate()
AGENT = SealPrivateKey.generate()
KEY = SecretBytes(bytes(range(100, 132)))


def _open_vector(vector: dict[str, Any]) -> SecretBytes:
    how = vector["open_as"]
    item = SealedSectorKey.from_bytes((VECTORS / vector["file"]).read_bytes())
    return open_sector_key(
        item,
        custodian=SigningKey.load(VECTORS / "test-keys" / f"{how['custodian']}.key").public,
        recipient=SealPrivateKey.load(VECTORS / "test-keys" / f"{how['recipient']}.key"),
        institution_id=how["institution_id"],
        period=how["period"],
    )


@pytest.mark.parametrize("vector", MANIFEST["sector_keys"], ids=lambda v: v["name"])
def test_sector_key_vector_has_its_expected_outcome(vector: dict[str, Any]) -> None:
    expected = vector["expected"]
    if expected.get("accepted"):
        key = _open_vector(vector)
        assert key.reveal() == b64decode(expected["sector_key"], what="expected key")
    else:
        with pytest.raises(PubliekError) as caught:
            _open_vector(vector)
        assert caught.value.problem_type() == expected["type"]


def _sealed(**overrides: Any) -> SealedSectorKey:
    args: dict[str, Any] = {
        "period": "2026-Q3",
        "institution_id": "schouwburg-utrecht",
        "recipient": AGENT.public,
        "custodian": CUSTODIAN,
    }
    args.update(overrides)
    return seal_sector_key(KEY, **args)


def _open(item: SealedSectorKey, **overrides: Any) -> SecretBytes:
    args: dict[str, Any] = {
        "custodian": CUSTODIAN.public,
        "recipient": AGENT,
        "institution_id": "schouwburg-utrecht",
        "period": "2026-Q3",
    }
    args.update(overrides)
    return open_sector_key(item, **args)


def test_agent_unseals_the_custodians_key() -> None:
    assert _open(SealedSectorKey.from_bytes(_sealed().to_bytes())) == KEY


def test_key_signed_by_anyone_but_the_pinned_custodian_is_refused() -> None:
    # An aggregator that signs a sector key of its own cannot make an agent use it.
    aggregator_made = _sealed(custodian=SigningKey.generate())
    with pytest.raises(UnknownKey):
        _open(aggregator_made)


def test_key_for_another_institution_is_refused() -> None:
    with pytest.raises(MalformedMessage):
        _open(_sealed(institution_id="museum-zwolle"))


def test_key_for_another_period_is_refused() -> None:
    with pytest.raises(MalformedMessage):
        _open(_sealed(period="2026-Q4"))


def test_key_sealed_to_another_agent_does_not_open() -> None:
    other = SealPrivateKey.generate()
    item = _sealed()
    with pytest.raises((DecryptionFailed, MalformedMessage)):
        _open(item, recipient=other)


def test_sealed_sector_key_never_prints_its_ciphertext() -> None:
    item = _sealed()
    assert item.sealed.hex() not in repr(item)


def test_custodian_secrets_are_files_only_the_owner_can_read(tmp_path: Path) -> None:
    from custodian.state import CustodianState

    state = CustodianState(tmp_path / "custodian")
    state.init()
    state.sector_key("2026-Q3")
    for path in (state.signing_key_path, state.sector_key_path("2026-Q3")):
        assert path.stat().st_mode & 0o777 == 0o600
    assert "<redacted>" in repr(state.sector_key("2026-Q3"))


def test_a_periods_sector_key_never_changes_once_created(tmp_path: Path) -> None:
    from custodian.state import CustodianState

    state = CustodianState(tmp_path / "custodian")
    assert state.sector_key("2026-Q3") == state.sector_key("2026-Q3")
    assert state.sector_key("2026-Q3") != state.sector_key("2026-Q4")


def test_an_agent_never_silently_replaces_its_pinned_custodian_key(tmp_path: Path) -> None:
    from agent.sector_keys import pin_custodian, pinned_custodian
    from agent.workspace import Workspace
    from protocol.errors import UsageError

    ws = Workspace(tmp_path / "agent")
    pin_custodian(ws, CUSTODIAN.public.to_text())
    pin_custodian(ws, CUSTODIAN.public.to_text())  # the same key again is fine
    with pytest.raises(UsageError, match="already pinned"):
        pin_custodian(ws, SigningKey.generate().public.to_text())
    assert pinned_custodian(ws) == CUSTODIAN.public


def test_a_garbled_custodian_key_is_a_usage_error(tmp_path: Path) -> None:
    from agent.sector_keys import pin_custodian
    from agent.workspace import Workspace
    from protocol.errors import UsageError

    with pytest.raises(UsageError, match="custodian key"):
        pin_custodian(Workspace(tmp_path / "agent"), "not-a-key")
