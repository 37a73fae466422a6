"""Typed protocol messages.

Plain frozen dataclasses, separate from how they are serialized
(``protocol.encoding``). ``from_dict`` parses *and* validates: an object that
exists is a valid message. Field-level rules (lengths, ranges, key-set shape)
live here; policy (is the period open, is the budget left) lives with whoever
enforces it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain
from typing import Any

from protocol import EARLIER_VERSIONS, PROTOCOL_VERSION
from protocol.encoding import MAX_SAFE_INTEGER, b64decode, b64encode
from protocol.errors import InvalidPayload, MalformedMessage, UnsupportedVersion

# Periods are quarters only: month periods would overlap the quarters and let
# one household's visits be released twice in the same three months.
PERIOD_RE = re.compile(r"^(20\d\d)-Q[1-4]$")
MONTH_PERIOD_RE = re.compile(r"^20\d\d-M(0[1-9]|1[0-2])$")
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
HEX32_RE = re.compile(r"^[0-9a-f]{32}$")
HEX64_RE = re.compile(r"^[0-9a-f]{64}$")
# RFC 3339 date-time with a numeric offset or Z (the shape ``datetime.isoformat``
# writes for an aware time); ``fromisoformat`` alone also takes naive times and
# week dates, which a second implementation could not be expected to parse.
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
SIGNATURE_BYTES = 64
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# Cell labels come from public key sets (segments, disciplines, provinces,
# months, bands). The narrow alphabet keeps free text, e-mail addresses and
# spreadsheet formulas out of anything the aggregator may later publish.
LABEL_RE = re.compile(r"^[a-z0-9][a-z0-9_+-]{0,39}$")
MECHANISMS = ("discrete_gaussian", "discrete_laplace")
MAX_TABLES = 64
MAX_CELLS = 200_000


def _get(d: Any, key: str, typ: type | tuple[type, ...], *, what: str) -> Any:
    if not isinstance(d, dict):
        raise InvalidPayload(f"{what} must be an object")
    if key not in d:
        raise InvalidPayload(f"{what} lacks the field '{key}'")
    value = d[key]
    if isinstance(value, bool) and typ in (int, float, (int, float)):
        raise InvalidPayload(f"{what}.{key} must be a number, not a boolean")
    if not isinstance(value, typ):
        raise InvalidPayload(f"{what}.{key} has the wrong type")
    return value


def _no_extra(d: dict[str, Any], allowed: set[str], *, what: str) -> None:
    extra = set(d) - allowed
    if extra:
        raise InvalidPayload(f"{what} has unknown fields: {', '.join(sorted(extra))}")


def check_period(period: str) -> str:
    """A quarter label such as ``2026-Q3``; month labels (``2026-M07``) are refused."""
    if isinstance(period, str) and MONTH_PERIOD_RE.match(period):
        raise InvalidPayload(
            f"period {period} is a month; periods are quarters only",
            hint="use the quarter label, e.g. 2026-Q3 for July-September 2026",
        )
    if not isinstance(period, str) or not PERIOD_RE.match(period):
        raise InvalidPayload("period must be a quarter such as 2026-Q3", hint="use YYYY-Q1..Q4")
    return period


def check_slug(value: str, *, what: str) -> str:
    if not isinstance(value, str) or not SLUG_RE.match(value):
        raise InvalidPayload(f"{what} must be a lower-case slug (a-z, 0-9, '-')")
    return value


def check_timestamp(value: str, *, what: str) -> str:
    """An RFC 3339 date-time with its offset (``2026-10-01T00:00:00+00:00``)."""
    if not isinstance(value, str) or not TIMESTAMP_RE.match(value):
        raise InvalidPayload(f"{what} must be an RFC 3339 date-time with an offset")
    try:
        datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidPayload(f"{what} is not a real date and time") from exc
    return value


@dataclass(frozen=True)
class ReleasedTable:
    """One differentially private table: a fixed, public key set and one noisy
    integer per key, with the mechanism, its scale and its privacy cost."""

    name: str
    measure: str
    dimensions: tuple[str, ...]
    keys: tuple[tuple[str, ...], ...]
    values: tuple[int, ...]
    mechanism: str
    scale: float
    sensitivity: float
    rho: float
    ci95: float

    def __post_init__(self) -> None:
        what = f"table {self.name!r}"
        if not NAME_RE.match(self.name) or not NAME_RE.match(self.measure):
            raise InvalidPayload(f"{what}: name and measure must be snake_case identifiers")
        if not self.dimensions or any(not NAME_RE.match(d) for d in self.dimensions):
            raise InvalidPayload(f"{what}: dimensions must be snake_case identifiers")
        if len(self.keys) != len(self.values) or not 0 < len(self.keys) <= MAX_CELLS:
            raise InvalidPayload(f"{what}: needs one value per key, 1..{MAX_CELLS} cells")
        if min(self.values) < -MAX_SAFE_INTEGER or max(self.values) > MAX_SAFE_INTEGER:
            # I-JSON: a count beyond 2**53 - 1 has no exact JSON number (ADR 0014).
            raise InvalidPayload(f"{what}: values must lie within ±(2**53 - 1)")
        if set(map(len, self.keys)) != {len(self.dimensions)}:
            raise InvalidPayload(f"{what}: every key needs one label per dimension")
        # Few distinct labels, many cells: check each distinct label once.
        if not all(map(LABEL_RE.match, set(chain.from_iterable(self.keys)))):
            raise InvalidPayload(
                f"{what}: cell labels must be 1-40 characters of a-z, 0-9, '_', '+', '-'"
            )
        if len(set(self.keys)) != len(self.keys):
            raise InvalidPayload(f"{what}: keys must be unique")
        if self.mechanism not in MECHANISMS:
            raise InvalidPayload(f"{what}: mechanism must be one of {', '.join(MECHANISMS)}")
        for label, number in (
            ("scale", self.scale),
            ("sensitivity", self.sensitivity),
            ("rho", self.rho),
            ("ci95", self.ci95),
        ):
            if not math.isfinite(number) or number <= 0:
                raise InvalidPayload(f"{what}: {label} must be a positive finite number")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "measure": self.measure,
            "dimensions": list(self.dimensions),
            "keys": list(map(list, self.keys)),
            "values": list(self.values),
            "mechanism": self.mechanism,
            "scale": self.scale,
            "sensitivity": self.sensitivity,
            "rho": self.rho,
            "ci95": self.ci95,
        }

    @classmethod
    def from_dict(cls, d: Any) -> ReleasedTable:
        what = "table"
        fields = {
            "name", "measure", "dimensions", "keys", "values",
            "mechanism", "scale", "sensitivity", "rho", "ci95",
        }  # fmt: skip
        _get(d, "name", str, what=what)
        _no_extra(d, fields, what=what)
        keys = _get(d, "keys", list, what=what)
        values = _get(d, "values", list, what=what)
        # Exact types (``type(True)`` is bool, not int), checked with C-level maps:
        # intake validates hundreds of cells per submission.
        if not set(map(type, keys)) <= {list} or not set(map(type, chain.from_iterable(keys))) <= {
            str
        }:
            raise InvalidPayload("table keys must be lists of strings")
        if not set(map(type, values)) <= {int}:
            raise InvalidPayload("table values must be integers")
        dims = _get(d, "dimensions", list, what=what)
        if not all(isinstance(x, str) for x in dims):
            raise InvalidPayload("table dimensions must be strings")
        return cls(
            name=d["name"],
            measure=_get(d, "measure", str, what=what),
            dimensions=tuple(dims),
            keys=tuple(map(tuple, keys)),
            values=tuple(values),
            mechanism=_get(d, "mechanism", str, what=what),
            scale=float(_get(d, "scale", (int, float), what=what)),
            sensitivity=float(_get(d, "sensitivity", (int, float), what=what)),
            rho=float(_get(d, "rho", (int, float), what=what)),
            ci95=float(_get(d, "ci95", (int, float), what=what)),
        )


@dataclass(frozen=True)
class PrivacySpend:
    """Total privacy cost of one submission: ρ (zCDP) and its (ε, δ) conversion."""

    rho: float
    epsilon: float
    delta: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.rho) and self.rho > 0):
            raise InvalidPayload("privacy.rho must be a positive finite number")
        if not (math.isfinite(self.epsilon) and self.epsilon > 0 and 0 < self.delta < 1):
            raise InvalidPayload("privacy.epsilon must be positive and delta in (0, 1)")

    def to_dict(self) -> dict[str, Any]:
        return {"rho": self.rho, "epsilon": self.epsilon, "delta": self.delta}

    @classmethod
    def from_dict(cls, d: Any) -> PrivacySpend:
        _no_extra(d if isinstance(d, dict) else {}, {"rho", "epsilon", "delta"}, what="privacy")
        return cls(
            rho=float(_get(d, "rho", (int, float), what="privacy")),
            epsilon=float(_get(d, "epsilon", (int, float), what="privacy")),
            delta=float(_get(d, "delta", (int, float), what="privacy")),
        )


@dataclass(frozen=True)
class SubmissionPayload:
    """What an institution releases for one period: DP tables and their cost.

    This is exactly the plaintext that leaves the building; ``publiek agent
    inspect`` shows it field by field."""

    institution_id: str
    period: str
    submission_id: str
    created_at: str
    segment_model: str
    bounds: dict[str, int]
    tables: tuple[ReleasedTable, ...]
    privacy: PrivacySpend
    version: str = PROTOCOL_VERSION

    def __post_init__(self) -> None:
        # An earlier version exists only as a record read back from the agent's
        # ledger (``from_record``); the wire (``from_dict``) and sealing refuse it.
        if self.version != PROTOCOL_VERSION and self.version not in EARLIER_VERSIONS:
            raise UnsupportedVersion(f"payload version {self.version!r} is not {PROTOCOL_VERSION}")
        check_slug(self.institution_id, what="institution_id")
        check_period(self.period)
        if not HEX32_RE.match(self.submission_id):
            raise InvalidPayload("submission_id must be 16 bytes as 32 lower-case hex digits")
        if not 0 < len(self.tables) <= MAX_TABLES:
            raise InvalidPayload(f"a submission carries 1..{MAX_TABLES} tables")
        if len({t.name for t in self.tables}) != len(self.tables):
            raise InvalidPayload("table names must be unique within a submission")
        if not all(isinstance(v, int) and v > 0 for v in self.bounds.values()):
            raise InvalidPayload("bounds must be positive integers")

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "institution_id": self.institution_id,
            "period": self.period,
            "submission_id": self.submission_id,
            "created_at": self.created_at,
            "segment_model": self.segment_model,
            "bounds": dict(self.bounds),
            "tables": [t.to_dict() for t in self.tables],
            "privacy": self.privacy.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: Any) -> SubmissionPayload:
        """A payload of this protocol version, as it arrives on the wire."""
        return cls._parse(d, versions=(PROTOCOL_VERSION,))

    @classmethod
    def from_record(cls, d: Any) -> SubmissionPayload:
        """A payload the agent's ledger recorded, possibly under an earlier version.

        The fields of ``publiek/1`` and ``publiek/2`` are the same; only their
        canonical bytes differ. Such a payload can be shown, never sealed."""
        return cls._parse(d, versions=(PROTOCOL_VERSION, *EARLIER_VERSIONS))

    @classmethod
    def _parse(cls, d: Any, *, versions: tuple[str, ...]) -> SubmissionPayload:
        what = "payload"
        allowed = {
            "version", "institution_id", "period", "submission_id", "created_at",
            "segment_model", "bounds", "tables", "privacy",
        }  # fmt: skip
        version = _get(d, "version", str, what=what)
        if version not in versions:
            raise UnsupportedVersion(
                f"payload version {version!r} is not {PROTOCOL_VERSION}",
                hint="upgrade the agent or the aggregator so both speak the same version",
            )
        _no_extra(d, allowed, what=what)
        bounds = _get(d, "bounds", dict, what=what)
        tables = _get(d, "tables", list, what=what)
        return cls(
            version=version,
            institution_id=_get(d, "institution_id", str, what=what),
            period=_get(d, "period", str, what=what),
            submission_id=_get(d, "submission_id", str, what=what),
            created_at=_get(d, "created_at", str, what=what),
            segment_model=_get(d, "segment_model", str, what=what),
            bounds={str(k): v for k, v in bounds.items()},
            tables=tuple(ReleasedTable.from_dict(t) for t in tables),
            privacy=PrivacySpend.from_dict(_get(d, "privacy", dict, what=what)),
        )


@dataclass(frozen=True)
class EnvelopeHeader:
    """The clear-text context of a sealed submission. All of it is bound into
    the HPKE ``info`` and into the signature, so a ciphertext cannot be moved
    to another institution, period, key or submission id."""

    suite: str
    kem_key_id: str
    signer_key_id: str
    institution_id: str
    period: str
    submission_id: str
    version: str = PROTOCOL_VERSION

    def __post_init__(self) -> None:
        if self.version != PROTOCOL_VERSION:
            raise UnsupportedVersion(
                f"envelope version {self.version!r} is not {PROTOCOL_VERSION}",
                hint="upgrade the agent or the aggregator so both speak the same version",
            )
        for label, value in (
            ("kem_key_id", self.kem_key_id),
            ("signer_key_id", self.signer_key_id),
            ("submission_id", self.submission_id),
        ):
            if not isinstance(value, str) or not HEX32_RE.match(value):
                raise MalformedMessage(f"envelope {label} must be 32 lower-case hex digits")
        check_slug(self.institution_id, what="envelope institution_id")
        check_period(self.period)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "suite": self.suite,
            "kem_key_id": self.kem_key_id,
            "signer_key_id": self.signer_key_id,
            "institution_id": self.institution_id,
            "period": self.period,
            "submission_id": self.submission_id,
        }


@dataclass(frozen=True)
class Envelope:
    header: EnvelopeHeader
    sealed: bytes = field(repr=False)

    def __post_init__(self) -> None:
        # The header validated itself; what is left is that the parts are what
        # they claim, so an envelope built in code cannot carry a str as its
        # ciphertext or a dict as its header.
        if not isinstance(self.header, EnvelopeHeader):
            raise MalformedMessage("envelope header must be an EnvelopeHeader")
        if not isinstance(self.sealed, bytes):
            raise MalformedMessage("envelope sealed must be bytes")

    def to_dict(self) -> dict[str, Any]:
        return {**self.header.to_dict(), "sealed": b64encode(self.sealed)}

    @classmethod
    def from_dict(cls, d: Any) -> Envelope:
        what = "envelope"
        if not isinstance(d, dict):
            raise MalformedMessage("envelope must be a JSON object")
        allowed = {
            "version", "suite", "kem_key_id", "signer_key_id",
            "institution_id", "period", "submission_id", "sealed",
        }  # fmt: skip
        if set(d) != allowed:
            raise MalformedMessage(f"envelope fields must be exactly: {', '.join(sorted(allowed))}")
        if not all(isinstance(v, str) for v in d.values()):
            raise MalformedMessage("envelope fields must be strings")
        try:
            header = EnvelopeHeader(
                version=d["version"],
                suite=d["suite"],
                kem_key_id=d["kem_key_id"],
                signer_key_id=d["signer_key_id"],
                institution_id=d["institution_id"],
                period=d["period"],
                submission_id=d["submission_id"],
            )
        except InvalidPayload as exc:
            raise MalformedMessage(f"{what}: {exc.detail}") from exc
        return cls(header=header, sealed=b64decode(d["sealed"], what="envelope.sealed"))


@dataclass(frozen=True)
class Receipt:
    """The aggregator's signed acknowledgement of one stored submission."""

    submission_id: str
    institution_id: str
    period: str
    digest: str
    log_index: int
    received_at: str
    aggregator_key_id: str
    signature: bytes = field(repr=False, default=b"")

    def __post_init__(self) -> None:
        # A receipt is what an institution keeps as proof and what an auditor
        # checks against the log; one with a malformed field could be neither
        # verified nor refused with a useful reason later, so it never exists.
        # The signature may be empty: that is the body, before signing.
        for label, value in (
            ("submission_id", self.submission_id),
            ("aggregator_key_id", self.aggregator_key_id),
        ):
            if not isinstance(value, str) or not HEX32_RE.match(value):
                raise InvalidPayload(f"receipt {label} must be 32 lower-case hex digits")
        check_slug(self.institution_id, what="receipt institution_id")
        check_period(self.period)
        if not isinstance(self.digest, str) or not HEX64_RE.match(self.digest):
            raise InvalidPayload("receipt digest must be 64 lower-case hex digits (SHA-256)")
        if isinstance(self.log_index, bool) or not isinstance(self.log_index, int):
            raise InvalidPayload("receipt log_index must be an integer")
        if self.log_index < 0:
            raise InvalidPayload("receipt log_index must not be negative")
        check_timestamp(self.received_at, what="receipt received_at")
        if not isinstance(self.signature, bytes) or len(self.signature) not in (
            0,
            SIGNATURE_BYTES,
        ):
            raise InvalidPayload(f"receipt signature must be {SIGNATURE_BYTES} bytes (Ed25519)")

    def body(self) -> dict[str, Any]:
        return {
            "submission_id": self.submission_id,
            "institution_id": self.institution_id,
            "period": self.period,
            "digest": self.digest,
            "log_index": self.log_index,
            "received_at": self.received_at,
            "aggregator_key_id": self.aggregator_key_id,
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self.body(), "signature": b64encode(self.signature)}

    @classmethod
    def from_dict(cls, d: Any) -> Receipt:
        what = "receipt"
        receipt = cls(
            submission_id=_get(d, "submission_id", str, what=what),
            institution_id=_get(d, "institution_id", str, what=what),
            period=_get(d, "period", str, what=what),
            digest=_get(d, "digest", str, what=what),
            log_index=_get(d, "log_index", int, what=what),
            received_at=_get(d, "received_at", str, what=what),
            aggregator_key_id=_get(d, "aggregator_key_id", str, what=what),
            signature=b64decode(_get(d, "signature", str, what=what), what="receipt.signature"),
        )
        if not receipt.signature:
            # Only a body being signed has no signature; a receipt on the wire always has one.
            raise InvalidPayload(f"receipt signature must be {SIGNATURE_BYTES} bytes (Ed25519)")
        return receipt


DESIGN_RE = re.compile(r"^[a-z0-9][a-z0-9._/-]{0,63}$")
WEIGHT_TOLERANCE = 1e-9


@dataclass(frozen=True)
class PeriodTable:
    """One table of a period's release design and its share of the submission's ρ."""

    name: str
    weight: float

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not NAME_RE.match(self.name):
            raise InvalidPayload("period config: table names must be snake_case identifiers")
        if not math.isfinite(self.weight) or not 0 < self.weight <= 1:
            raise InvalidPayload(f"period config: the weight of {self.name} must lie in (0, 1]")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "weight": self.weight}

    @classmethod
    def from_dict(cls, d: Any) -> PeriodTable:
        what = "period config table"
        _no_extra(d if isinstance(d, dict) else {}, {"name", "weight"}, what=what)
        return cls(
            name=_get(d, "name", str, what=what),
            weight=float(_get(d, "weight", (int, float), what=what)),
        )


@dataclass(frozen=True)
class PeriodConfig:
    """What the taskforce fixed for one period, signed by the aggregator.

    The per-institution budget (ρ, and the δ at which it is stated as ε), the
    mechanism, the release design with its tables and weights, the default
    contribution bounds and k. The aggregator fixes these when it opens the
    period and signs them with its receipt key (``protocol.period_config``);
    an agent draws a release only under a config whose signature checks
    (online or offline), and may spend less than ``rho_budget``, never more.
    It holds no personal data and is public."""

    period: str
    rho_budget: float
    delta: float
    mechanism: str
    design: str
    tables: tuple[PeriodTable, ...]
    bounds: dict[str, int]
    k: int
    issued_at: str
    aggregator_key_id: str
    signature: bytes = field(repr=False, default=b"")
    version: str = PROTOCOL_VERSION

    def __post_init__(self) -> None:
        if self.version != PROTOCOL_VERSION:
            raise UnsupportedVersion(
                f"period config version {self.version!r} is not {PROTOCOL_VERSION}",
                hint="upgrade the agent or the aggregator so both speak the same version",
            )
        check_period(self.period)
        if not math.isfinite(self.rho_budget) or self.rho_budget <= 0:
            raise InvalidPayload("period config: rho_budget must be a positive finite number")
        if not (math.isfinite(self.delta) and 0 < self.delta < 1):
            raise InvalidPayload("period config: delta must lie strictly between 0 and 1")
        if self.mechanism not in MECHANISMS:
            raise InvalidPayload(f"period config: mechanism must be one of {', '.join(MECHANISMS)}")
        if not isinstance(self.design, str) or not DESIGN_RE.match(self.design):
            raise InvalidPayload("period config: design must be a short identifier")
        if not 0 < len(self.tables) <= MAX_TABLES:
            raise InvalidPayload(f"period config: 1..{MAX_TABLES} tables")
        if len({t.name for t in self.tables}) != len(self.tables):
            raise InvalidPayload("period config: table names must be unique")
        if abs(math.fsum(t.weight for t in self.tables) - 1.0) > WEIGHT_TOLERANCE:
            raise InvalidPayload("period config: the table weights must add up to 1")
        if not all(
            isinstance(k, str) and NAME_RE.match(k) and type(v) is int and v > 0
            for k, v in self.bounds.items()
        ):
            raise InvalidPayload("period config: bounds must be named positive integers")
        if type(self.k) is not int or self.k < 1:
            raise InvalidPayload("period config: k must be a whole number of at least 1")
        key_id = self.aggregator_key_id
        if not isinstance(key_id, str) or not HEX32_RE.match(key_id):
            raise InvalidPayload("period config: aggregator_key_id must be 32 hex digits")

    def body(self) -> dict[str, Any]:
        """Everything but the signature: the bytes signed are its canonical form."""
        return {
            "version": self.version,
            "period": self.period,
            "rho_budget": self.rho_budget,
            "delta": self.delta,
            "mechanism": self.mechanism,
            "design": self.design,
            "tables": [t.to_dict() for t in self.tables],
            "bounds": dict(self.bounds),
            "k": self.k,
            "issued_at": self.issued_at,
            "aggregator_key_id": self.aggregator_key_id,
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self.body(), "signature": b64encode(self.signature)}

    @property
    def weights(self) -> dict[str, float]:
        return {t.name: t.weight for t in self.tables}

    @classmethod
    def from_dict(cls, d: Any) -> PeriodConfig:
        what = "period config"
        allowed = {
            "version", "period", "rho_budget", "delta", "mechanism", "design", "tables",
            "bounds", "k", "issued_at", "aggregator_key_id", "signature",
        }  # fmt: skip
        version = _get(d, "version", str, what=what)
        if version != PROTOCOL_VERSION:
            raise UnsupportedVersion(
                f"period config version {version!r} is not {PROTOCOL_VERSION}",
                hint="upgrade the agent or the aggregator so both speak the same version",
            )
        _no_extra(d, allowed, what=what)
        bounds = _get(d, "bounds", dict, what=what)
        if not all(type(v) is int for v in bounds.values()):
            raise InvalidPayload("period config: bounds must be named positive integers")
        return cls(
            version=version,
            period=_get(d, "period", str, what=what),
            rho_budget=float(_get(d, "rho_budget", (int, float), what=what)),
            delta=float(_get(d, "delta", (int, float), what=what)),
            mechanism=_get(d, "mechanism", str, what=what),
            design=_get(d, "design", str, what=what),
            tables=tuple(PeriodTable.from_dict(t) for t in _get(d, "tables", list, what=what)),
            bounds={str(k): v for k, v in bounds.items()},
            k=_get(d, "k", int, what=what),
            issued_at=_get(d, "issued_at", str, what=what),
            aggregator_key_id=_get(d, "aggregator_key_id", str, what=what),
            signature=b64decode(_get(d, "signature", str, what=what), what=f"{what} signature"),
        )
