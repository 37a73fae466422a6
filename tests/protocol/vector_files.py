"""The committed known-answer vectors (``tests/vectors/``) as the protocol's
round-trip and fuzz tests read them: the folder, the TEST-ONLY keys that made
them, and the valid envelope they start from. One place, so both sets of
tests open the same vector with the same keys."""

from __future__ import annotations

from pathlib import Path

from protocol.keys import SealPrivateKey, SigningKey

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
KEYS = VECTORS / "test-keys"
VALID_ENVELOPE = (VECTORS / "submissions" / "valid.envelope").read_bytes()
INTAKE_KEY = SealPrivateKey.load(KEYS / "aggregator-intake-active.key")
SIGNER = SigningKey.load(KEYS / "institution-signing.key")
