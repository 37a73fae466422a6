"""Key types: signing (Ed25519) and sealing (X25519 for HPKE), plus key ids.

Secret halves are their own types and never print their bytes: ``repr`` and
``str`` give ``<redacted>``. At rest a secret key is a file with mode 0600
holding the raw key in base64url; a public key is referred to by its key id,
the first 16 bytes of SHA-256 over a domain tag and the raw public key.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from protocol.encoding import b64decode, b64encode
from protocol.errors import InvalidSignature, MalformedMessage, UsageError

SECRET_FILE_MODE = 0o600


def key_id(kind: str, public_raw: bytes) -> str:
    """Stable identifier of a public key, bound to its kind ("sig" or "kem")."""
    return hashlib.sha256(
        b"publiek/1 key-id\x00" + kind.encode() + b"\x00" + public_raw
    ).hexdigest()[:32]


@dataclass(frozen=True)
class VerifyKey:
    """Public Ed25519 key of an institution, the aggregator or the custodian."""

    raw: bytes

    def __post_init__(self) -> None:
        if len(self.raw) != 32:
            raise MalformedMessage("an Ed25519 public key is 32 bytes")

    @property
    def key_id(self) -> str:
        return key_id("sig", self.raw)

    def verify(self, signature: bytes, message: bytes) -> None:
        """Return nothing or raise :class:`InvalidSignature`; never a boolean."""
        try:
            Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, message)
        except _CryptoInvalidSignature as exc:
            raise InvalidSignature(
                "the signature does not match the signed bytes and key",
                hint="the message was altered or signed with another key",
            ) from exc

    def verify_domain(self, domain: bytes, signature: bytes, message: bytes) -> None:
        """Verify a signature made by :meth:`SigningKey.sign` in ``domain``."""
        self.verify(signature, domain_separated(domain, message))

    def to_text(self) -> str:
        return b64encode(self.raw)

    @classmethod
    def from_text(cls, text: str) -> VerifyKey:
        return cls(b64decode(text, what="public signing key"))


class SigningKey:
    """Secret Ed25519 key. Signs with a domain tag so a signature made for one
    purpose can never be replayed as a signature for another."""

    __slots__ = ("_key",)

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    def sign(self, domain: bytes, message: bytes) -> bytes:
        return self._key.sign(domain_separated(domain, message))

    @property
    def public(self) -> VerifyKey:
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        return VerifyKey(self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))

    def _raw(self) -> bytes:
        from cryptography.hazmat.primitives.serialization import (
            Encoding,
            NoEncryption,
            PrivateFormat,
        )

        return self._key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())

    def save(self, path: Path) -> None:
        write_secret(path, b64encode(self._raw()).encode())

    @classmethod
    def load(cls, path: Path) -> SigningKey:
        raw = read_secret(path, what="signing key")
        return cls(Ed25519PrivateKey.from_private_bytes(raw))

    def __repr__(self) -> str:
        return "SigningKey(<redacted>)"

    __str__ = __repr__


def domain_separated(domain: bytes, message: bytes) -> bytes:
    """The bytes actually signed: a length-prefixed domain tag, then the message."""
    return len(domain).to_bytes(2, "big") + domain + message


def verify_with_domain(key: VerifyKey, domain: bytes, signature: bytes, message: bytes) -> None:
    key.verify(signature, domain_separated(domain, message))


@dataclass(frozen=True)
class SealPublicKey:
    """Public X25519 key that HPKE seals to."""

    raw: bytes

    def __post_init__(self) -> None:
        if len(self.raw) != 32:
            raise MalformedMessage("an X25519 public key is 32 bytes")

    @property
    def key_id(self) -> str:
        return key_id("kem", self.raw)

    def to_crypto(self) -> X25519PublicKey:
        return X25519PublicKey.from_public_bytes(self.raw)

    def to_text(self) -> str:
        return b64encode(self.raw)

    @classmethod
    def from_text(cls, text: str) -> SealPublicKey:
        return cls(b64decode(text, what="public sealing key"))


class SealPrivateKey:
    """Secret X25519 key that opens HPKE envelopes. Never printed."""

    __slots__ = ("_key",)

    def __init__(self, key: X25519PrivateKey) -> None:
        self._key = key

    @classmethod
    def generate(cls) -> SealPrivateKey:
        return cls(X25519PrivateKey.generate())

    @property
    def public(self) -> SealPublicKey:
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        return SealPublicKey(self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))

    def to_crypto(self) -> X25519PrivateKey:
        return self._key

    def save(self, path: Path) -> None:
        from cryptography.hazmat.primitives.serialization import (
            Encoding,
            NoEncryption,
            PrivateFormat,
        )

        raw = self._key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        write_secret(path, b64encode(raw).encode())

    @classmethod
    def load(cls, path: Path) -> SealPrivateKey:
        return cls(X25519PrivateKey.from_private_bytes(read_secret(path, what="sealing key")))

    def __repr__(self) -> str:
        return "SealPrivateKey(<redacted>)"

    __str__ = __repr__


class SecretBytes:
    """Opaque secret bytes (for example the period's sector key). Never printed."""

    __slots__ = ("_value",)

    def __init__(self, value: bytes) -> None:
        self._value = value

    def reveal(self) -> bytes:
        return self._value

    def __repr__(self) -> str:
        return "SecretBytes(<redacted>)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        import hmac

        return isinstance(other, SecretBytes) and hmac.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash(("SecretBytes", len(self._value)))


def write_secret(path: Path, content: bytes) -> None:
    """Write a secret file created with mode 0600 (never world-readable, even briefly)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, SECRET_FILE_MODE)
    try:
        os.write(fd, content)
        os.fsync(fd)
    finally:
        os.close(fd)
    tmp.chmod(SECRET_FILE_MODE)
    tmp.replace(path)


def read_secret(path: Path, *, what: str) -> bytes:
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError as exc:
        raise UsageError(
            f"{what} file {path} does not exist", hint="enroll or initialise this workspace first"
        ) from exc
    return b64decode(text, what=what)


def fingerprint(key: VerifyKey) -> str:
    """A short form of a public signing key for reading aloud: its key id in groups of four."""
    kid = key.key_id
    return "-".join(kid[i : i + 4] for i in range(0, len(kid), 4))
