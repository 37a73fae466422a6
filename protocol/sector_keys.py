"""Sealed sector keys: how the custodian's per-period key reaches each agent.

The custodian seals the period's 32-byte sector key to one agent's X25519 key
with HPKE (the same suite as submissions) and signs the result with its
Ed25519 key. The aggregator relays and stores only this ciphertext. The agent
accepts a sealed key only if

* the custodian signature verifies under the key the agent pinned out of band
  (never a key the aggregator hands over: an aggregator that could substitute
  the custodian key could hand out a sector key it knows and then brute-force
  household keys over the small PC6 + house-number space), and
* the header names the agent's own institution, its own sealing key id and
  the period asked for, so a sealed key cannot be moved to another agent or
  period (the header is bound both in the HPKE ``info`` and in the signature).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag

from protocol import PROTOCOL_VERSION
from protocol.encoding import b64decode, b64encode, canonical_bytes, parse_canonical
from protocol.envelope import SUITE, SUITE_NAME
from protocol.errors import (
    DecryptionFailed,
    InvalidPayload,
    MalformedMessage,
    UnknownKey,
    UnsupportedVersion,
)
from protocol.keys import SealPrivateKey, SealPublicKey, SecretBytes, SigningKey, VerifyKey
from protocol.messages import HEX32_RE, check_period, check_slug

SECTOR_KEY_BYTES = 32
INFO_DOMAIN = b"publiek/1 sector-key-envelope\x00"
SIGNATURE_DOMAIN = b"publiek/1 sector-key-signature"
MAX_SEALED_SECTOR_KEY_BYTES = 4096
FIELDS = (
    "version", "suite", "period", "institution_id",
    "recipient_key_id", "custodian_key_id", "sealed", "signature",
)  # fmt: skip


@dataclass(frozen=True)
class SectorKeyHeader:
    """Everything that names who a sealed sector key is for, from whom, and when."""

    period: str
    institution_id: str
    recipient_key_id: str
    custodian_key_id: str
    suite: str = SUITE_NAME
    version: str = PROTOCOL_VERSION

    def __post_init__(self) -> None:
        if self.version != PROTOCOL_VERSION:
            raise UnsupportedVersion(
                f"sealed sector key version {self.version!r} is not {PROTOCOL_VERSION}",
                hint="the custodian distributes the period's sector key again with this version",
            )
        if self.suite != SUITE_NAME:
            raise MalformedMessage(f"unsupported HPKE suite {self.suite!r}; use {SUITE_NAME}")
        check_period(self.period)
        check_slug(self.institution_id, what="institution_id")
        for label, value in (
            ("recipient_key_id", self.recipient_key_id),
            ("custodian_key_id", self.custodian_key_id),
        ):
            if not isinstance(value, str) or not HEX32_RE.match(value):
                raise MalformedMessage(f"sealed sector key {label} must be 32 lower-case hex")

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "suite": self.suite,
            "period": self.period,
            "institution_id": self.institution_id,
            "recipient_key_id": self.recipient_key_id,
            "custodian_key_id": self.custodian_key_id,
        }


@dataclass(frozen=True)
class SealedSectorKey:
    """One period's sector key, sealed to one agent and signed by the custodian."""

    header: SectorKeyHeader
    sealed: bytes = field(repr=False)
    signature: bytes = field(repr=False)

    def __post_init__(self) -> None:
        # The header validated itself; the parts must be what they claim, so a
        # sealed key built in code is as valid as one parsed from the wire.
        if not isinstance(self.header, SectorKeyHeader):
            raise MalformedMessage("sealed sector key header must be a SectorKeyHeader")
        for label, value in (("sealed", self.sealed), ("signature", self.signature)):
            if not isinstance(value, bytes):
                raise MalformedMessage(f"sealed sector key {label} must be bytes")

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.header.to_dict(),
            "sealed": b64encode(self.sealed),
            "signature": b64encode(self.signature),
        }

    def to_bytes(self) -> bytes:
        return canonical_bytes(self.to_dict())

    @classmethod
    def from_dict(cls, d: Any) -> SealedSectorKey:
        if not isinstance(d, dict) or set(d) != set(FIELDS):
            raise MalformedMessage(
                f"a sealed sector key has exactly the fields {', '.join(FIELDS)}"
            )
        if not all(isinstance(v, str) for v in d.values()):
            raise MalformedMessage("sealed sector key fields must be strings")
        try:
            header = SectorKeyHeader(
                version=d["version"],
                suite=d["suite"],
                period=d["period"],
                institution_id=d["institution_id"],
                recipient_key_id=d["recipient_key_id"],
                custodian_key_id=d["custodian_key_id"],
            )
        except InvalidPayload as exc:  # from the shared period and slug checks
            raise MalformedMessage(f"sealed sector key: {exc}") from exc
        return cls(
            header=header,
            sealed=b64decode(d["sealed"], what="sealed sector key"),
            signature=b64decode(d["signature"], what="sector key signature"),
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> SealedSectorKey:
        if len(data) > MAX_SEALED_SECTOR_KEY_BYTES:
            raise MalformedMessage("a sealed sector key is at most 4096 bytes")
        return cls.from_dict(parse_canonical(data, what="sealed sector key"))


def _info(header: SectorKeyHeader) -> bytes:
    return INFO_DOMAIN + canonical_bytes(header.to_dict())


def _signed(header: SectorKeyHeader, sealed: bytes) -> bytes:
    return canonical_bytes([header.to_dict(), b64encode(sealed)])


def seal_sector_key(
    key: SecretBytes,
    *,
    period: str,
    institution_id: str,
    recipient: SealPublicKey,
    custodian: SigningKey,
) -> SealedSectorKey:
    """Seal ``key`` to one agent's sealing key and sign it as the custodian."""
    if len(key.reveal()) != SECTOR_KEY_BYTES:
        raise MalformedMessage("a sector key is 32 bytes")
    header = SectorKeyHeader(
        period=period,
        institution_id=institution_id,
        recipient_key_id=recipient.key_id,
        custodian_key_id=custodian.public.key_id,
    )
    sealed = SUITE.encrypt(key.reveal(), recipient.to_crypto(), info=_info(header))
    signature = custodian.sign(SIGNATURE_DOMAIN, _signed(header, sealed))
    return SealedSectorKey(header=header, sealed=sealed, signature=signature)


def verify_custodian_signature(item: SealedSectorKey, custodian: VerifyKey) -> None:
    """Raise unless ``item`` is signed by exactly ``custodian``."""
    if item.header.custodian_key_id != custodian.key_id:
        raise UnknownKey(
            "the sector key is signed by another custodian key than the one pinned",
            hint="check the custodian key fingerprint with the taskforce out of band",
        )
    custodian.verify_domain(SIGNATURE_DOMAIN, item.signature, _signed(item.header, item.sealed))


def open_sector_key(
    item: SealedSectorKey,
    *,
    custodian: VerifyKey,
    recipient: SealPrivateKey,
    institution_id: str,
    period: str,
) -> SecretBytes:
    """Verify against the pinned custodian key, check the binding, then unseal."""
    verify_custodian_signature(item, custodian)
    header = item.header
    if (header.institution_id, header.period, header.recipient_key_id) != (
        institution_id,
        period,
        recipient.public.key_id,
    ):
        raise MalformedMessage(
            "the sealed sector key is for another institution, period or agent key",
            hint="fetch the sector key of this period for this agent",
        )
    try:
        raw = SUITE.decrypt(item.sealed, recipient.to_crypto(), info=_info(header))
    except (InvalidTag, ValueError) as exc:
        raise DecryptionFailed("the sealed sector key does not open with this agent's key") from exc
    if len(raw) != SECTOR_KEY_BYTES:
        raise MalformedMessage("the unsealed sector key is not 32 bytes")
    return SecretBytes(raw)
