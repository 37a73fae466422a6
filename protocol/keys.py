"""Key types: signing (Ed25519) and sealing (X25519 for HPKE), plus key ids.

Secret halves are their own types and never print their bytes: ``repr`` and
``str`` give ``<redacted>``. At rest a secret key is a file with mode 0600
holding the raw key in base64url; a public key is referred to by its key id,
the first 16 bytes of SHA-256 over a domain tag and the raw public key.

A public key object exists only if its bytes are a key worth using
(docs/protocol.md section 2): the checks run in the constructors, so an
enrollment, a key set fetched from the aggregator, a roster entry and a row
read back from the database all pass through them. Refused are small-order
points (with an X25519 one every shared secret is all-zero, and HPKE then
fails for whoever seals to it; an Ed25519 one lets signatures verify for
messages its holder never signed) and non-canonical encodings (the same key
under a second key id would slip past the one-key-one-sender check).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from protocol.encoding import b64decode, b64encode
from protocol.errors import InvalidSignature, MalformedMessage, UnsafePublicKey, UsageError
from protocol.state_files import write_private

# Curve25519's field prime, shared by X25519 (Montgomery form) and Ed25519 (Edwards form).
_P = 2**255 - 19
# u-coordinates of the X25519 points of order 1, 2, 4 and 8 (curve and twist), as
# listed on https://cr.yp.to/ecdh.html and in libsodium. A canonical key is below
# p, so p, p + 1 (0 and 1 again) are refused as non-canonical before this list is
# read.
X25519_SMALL_ORDER_U = frozenset(
    {
        0,
        1,
        _P - 1,
        325606250916557431795983626356110631294008115727848805560023387167927233504,
        39382357235489614581723060781553021112529911719440698176882885853963445705823,
    }
)
# y-coordinates of the 8 Ed25519 points of order 1, 2, 4 and 8: (0, 1), (0, -1),
# (±sqrt(-1), 0) and four of order 8 (tests/hostile/test_keys.py derives them).
_ED25519_ORDER_8_Y = 2707385501144840649318225287225658788936804267575313519463743609750303402022
ED25519_SMALL_ORDER_Y = frozenset({1, _P - 1, 0, _ED25519_ORDER_8_Y, _P - _ED25519_ORDER_8_Y})


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
        if not isinstance(self.raw, bytes) or len(self.raw) != 32:
            raise MalformedMessage("an Ed25519 public key is 32 bytes")
        check_ed25519_public(self.raw)

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
        if not isinstance(self.raw, bytes) or len(self.raw) != 32:
            raise MalformedMessage("an X25519 public key is 32 bytes")
        check_x25519_public(self.raw)

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


def check_x25519_public(raw: bytes) -> None:
    """Raise :class:`UnsafePublicKey` unless ``raw`` is a canonical X25519 public
    key of large order; return nothing otherwise.

    The list of small-order u-coordinates names the known cases; the exchange
    with a fixed scalar then catches any key whose shared secret would be all-zero
    (the library refuses that result), whether or not it is on the list."""
    u = int.from_bytes(raw, "little")
    if u >= _P:  # the top bit set (which X25519 ignores), or u in [p, 2^255)
        raise UnsafePublicKey(
            "the X25519 public key is not canonically encoded",
            hint="send the key as the 32 bytes the key generator produced",
        )
    if u in X25519_SMALL_ORDER_U:
        raise _small_order("X25519")
    try:
        _x25519_probe().exchange(X25519PublicKey.from_public_bytes(raw))
    except ValueError as exc:  # the all-zero shared secret
        raise _small_order("X25519") from exc


def check_ed25519_public(raw: bytes) -> None:
    """Raise :class:`UnsafePublicKey` unless ``raw`` is a canonical encoding
    (RFC 8032 section 5.1.2) of a point of Ed25519 other than the 8 small-order
    points; return nothing otherwise.

    All of it is read off y, without decoding x: the 8 points have the five
    y-coordinates of :data:`ED25519_SMALL_ORDER_Y`, and x = 0 (where the sign bit
    must be clear) only for y = 1 and y = p - 1. Whether y is on the curve at all
    is left to the signature check, which fails for every message if it is not."""
    encoded = int.from_bytes(raw, "little")
    y, x_is_odd = encoded & ((1 << 255) - 1), encoded >> 255
    if y >= _P or (x_is_odd and y in (1, _P - 1)):
        raise UnsafePublicKey(
            "the Ed25519 public key is not canonically encoded",
            hint="send the key as the 32 bytes the key generator produced",
        )
    if y in ED25519_SMALL_ORDER_Y:
        raise _small_order("Ed25519")


def _small_order(kind: str) -> UnsafePublicKey:
    return UnsafePublicKey(
        f"the {kind} public key is a small-order point",
        hint="its holder makes a new key pair (an agent: a fresh workspace, enrolled anew)",
    )


@functools.cache
def _x25519_probe() -> X25519PrivateKey:
    """A fixed, public scalar: clamping makes every X25519 scalar a multiple of 8,
    which takes any small-order point to the neutral element, so which scalar it
    is does not matter."""
    return X25519PrivateKey.from_private_bytes(hashlib.sha256(b"publiek/1 x25519 probe").digest())


def write_secret(path: Path, content: bytes) -> None:
    """Write a secret file created with mode 0600 (never world-readable, even briefly)
    in a folder created 0700."""
    write_private(path, content)


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
