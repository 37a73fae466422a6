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
from typing import Any, ClassVar

from cryptography.exceptions import InvalidTag

from protocol import EARLIER_VERSIONS, PROTOCOL_VERSION
from protocol.encoding import b64encode, canonical_bytes, parse_canonical
from protocol.envelope import SUITE
from protocol.errors import DecryptionFailed, MalformedMessage, UnknownKey, UnsupportedVersion
from protocol.keys import SealPrivateKey, SealPublicKey, SecretBytes, SigningKey, VerifyKey
from protocol.messages import HEX32, PERIOD, SIGNATURE_BYTES, SLUG, SUITE_NAME, Quarter
from protocol.schema import Bytes, OneOf, Schema, Text

SECTOR_KEY_BYTES = 32
INFO_DOMAIN = b"publiek/1 sector-key-envelope\x00"
SIGNATURE_DOMAIN = b"publiek/1 sector-key-signature"
MAX_SEALED_SECTOR_KEY_BYTES = 4096
# HPKE X25519 ``enc`` (32) ‖ the 32-byte key sealed with ChaCha20-Poly1305 (32 + 16).
SEALED_BYTES = 32 + SECTOR_KEY_BYTES + 16
HEX32_MEANING = "32 lower-case hex digits"
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

    SCHEMA: ClassVar[Schema] = Schema(
        "sealed sector key",
        {
            "version": OneOf((PROTOCOL_VERSION,)),
            "suite": OneOf((SUITE_NAME,)),
            "period": Quarter(PERIOD, meaning="a quarter such as 2026-Q3"),
            "institution_id": Text(
                SLUG, note="the recipient institution", meaning="a lower-case slug"
            ),
            "recipient_key_id": Text(
                HEX32, note="the recipient's sealing key", meaning=HEX32_MEANING
            ),
            "custodian_key_id": Text(
                HEX32, note="the custodian signing key", meaning=HEX32_MEANING
            ),
        },
        error=MalformedMessage,
    )

    def __post_init__(self) -> None:
        if self.version != PROTOCOL_VERSION:
            raise UnsupportedVersion(
                f"sealed sector key version {_shown(self.version)} is not {PROTOCOL_VERSION}",
                hint="the custodian distributes the period's sector key again with this version",
            )
        self.SCHEMA.check(self, skip=("version",))

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "suite": self.suite,
            "period": self.period,
            "institution_id": self.institution_id,
            "recipient_key_id": self.recipient_key_id,
            "custodian_key_id": self.custodian_key_id,
        }


def _shown(version: Any) -> str:
    """A version as an error may quote it: only the ones this code knows."""
    return repr(version) if version in (PROTOCOL_VERSION, *EARLIER_VERSIONS) else "another"


@dataclass(frozen=True)
class SealedSectorKey:
    """One period's sector key, sealed to one agent and signed by the custodian."""

    header: SectorKeyHeader
    sealed: bytes = field(repr=False)
    signature: bytes = field(repr=False)

    SCHEMA: ClassVar[Schema] = Schema(
        "sealed sector key",
        {
            **SectorKeyHeader.SCHEMA.fields,
            "sealed": Bytes(
                SEALED_BYTES, SEALED_BYTES, note="HPKE `enc` ‖ the sealed 32-byte key and its tag"
            ),
            "signature": Bytes(
                SIGNATURE_BYTES,
                SIGNATURE_BYTES,
                note="Ed25519 in domain `publiek/1 sector-key-signature`",
            ),
        },
        error=MalformedMessage,
    )

    def __post_init__(self) -> None:
        # The header validated itself; the parts must be what they claim, so a
        # sealed key built in code is as valid as one parsed from the wire.
        if not isinstance(self.header, SectorKeyHeader):
            raise MalformedMessage("sealed sector key header must be a SectorKeyHeader")
        self.SCHEMA.check(self, skip=tuple(SectorKeyHeader.SCHEMA.fields))

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
        cls.SCHEMA.require_fields(d, FIELDS)
        if d["version"] != PROTOCOL_VERSION:
            raise UnsupportedVersion(
                f"sealed sector key version {_shown(d['version'])} is not {PROTOCOL_VERSION}",
                hint="the custodian distributes the period's sector key again with this version",
            )
        fields = cls.SCHEMA.decode(d)
        sealed, signature = fields.pop("sealed"), fields.pop("signature")
        return cls(header=SectorKeyHeader(**fields), sealed=sealed, signature=signature)

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
