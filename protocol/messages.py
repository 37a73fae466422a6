"""Typed protocol messages.

Plain frozen dataclasses, separate from how they are serialized
(``protocol.encoding``). Each message declares its wire schema once
(``SCHEMA``, :mod:`protocol.schema`): every field required, no other field
accepted, exact types, full-match patterns and closed sets. ``from_dict``
refuses any other set of members and decodes the fields; ``__post_init__``
checks every field against the same schema and then the rules that relate
fields, so an object that exists is a valid message, whether it was parsed or
built in code. Policy (is the period open, is the budget left, are these the
release design's tables and labels) lives with whoever enforces it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

from protocol import EARLIER_VERSIONS, PROTOCOL_VERSION
from protocol.encoding import MAX_SAFE_INTEGER, b64encode
from protocol.errors import InvalidPayload, MalformedMessage, UnsupportedVersion
from protocol.schema import (
    Array,
    Boolean,
    Bytes,
    Dictionary,
    Integer,
    Nested,
    Number,
    OneOf,
    OrNull,
    Schema,
    Text,
    Timestamp,
    Violation,
    full_match,
)

# Periods are quarters only: month periods would overlap the quarters and let
# one household's visits be released twice in the same three months.
PERIOD = r"20[0-9]{2}-Q[1-4]"
MONTH_PERIOD = r"20[0-9]{2}-M(0[1-9]|1[0-2])"
SLUG = r"[a-z0-9][a-z0-9-]{1,62}"
HEX32 = r"[0-9a-f]{32}"
HEX64 = r"[0-9a-f]{64}"
NAME = r"[a-z][a-z0-9_]{0,62}"
# Cell labels come from public key sets (segments, disciplines, provinces,
# months, bands). The narrow alphabet keeps free text, e-mail addresses and
# spreadsheet formulas out of anything the aggregator may later publish;
# intake further requires each label to be in its dimension's key set
# (``dp.release_design.labels``).
LABEL = r"[a-z0-9][a-z0-9_+-]{0,39}"
# A four-digit Dutch postcode area: here only the institution's own (a venue's
# public location, never a household's).
PC4 = r"[1-9][0-9]{3}"
DESIGN = r"[a-z0-9][a-z0-9._/-]{0,63}"
# Compiled full-match forms, for callers that check one string.
PERIOD_RE = full_match(PERIOD)
MONTH_PERIOD_RE = full_match(MONTH_PERIOD)
SLUG_RE = full_match(SLUG)
HEX32_RE = full_match(HEX32)
HEX64_RE = full_match(HEX64)
NAME_RE = full_match(NAME)
LABEL_RE = full_match(LABEL)
PC4_RE = full_match(PC4)

SUITE_NAME = "DHKEM-X25519-HKDF-SHA256/HKDF-SHA256/ChaCha20Poly1305"
MECHANISMS = ("discrete_gaussian", "discrete_laplace")
# The segment models this protocol knows. A payload names the model its
# segment cells come from; the aggregator reads the name as a closed
# vocabulary, never as text, so it can carry nothing else (an e-mail address,
# a postcode). The project ships the synthetic demo model only; a licensed
# model is added here, with its segments in ``dp.release_design.SEGMENTS``, in
# a release of agent and aggregator alike (ADR 0021). ``synthetic-2026.1`` is
# the signed synthetic release (``segments.synthetic``, ADR 0026/0027);
# ``synthetic-demo-2026`` the older unsigned demo file, still accepted.
SEGMENT_MODELS = ("synthetic-demo-2026", "synthetic-2026.1")
# The model built into every release of Publiek: it has no signed release, so
# a period config naming it carries no release digest (ADR 0030).
DEMO_SEGMENT_MODEL = "synthetic-demo-2026"
SIGNATURE_BYTES = 64
# HPKE X25519 ``enc`` (32 bytes) and the ChaCha20-Poly1305 tag (16) at least.
MIN_SEALED_BYTES = 48
MAX_SEALED_BYTES = 8 * 1024 * 1024
MAX_TABLES = 64
MAX_CELLS = 200_000
MAX_DIMENSIONS = 4
MAX_BOUNDS = 8
WEIGHT_TOLERANCE = 1e-9
# Household sketches (ADR 0034, 0036). The bounds are the protocol's, so that
# an auditor reads them here; ``dp.sketches`` takes them from here.
SKETCH_DESIGN = "publiek-sketch/1"
SKETCH_SEED_BYTES = 32
SKETCH_MIN_WIDTH = 1 << 8
SKETCH_MAX_WIDTH = 1 << 22
# Parts of one released sketch (one per discipline of the release design's key
# set) and their buckets in all: a sketch must fit an envelope with the tables
# (8 MiB); the period config's width is chosen so that it does.
MAX_SKETCH_PARTS = 16
MAX_SKETCH_BUCKETS = 1 << 19


@dataclass(frozen=True)
class Quarter(Text):
    """A period label; a month label gets its own reason (a common mistake)."""

    def check(self, value: Any) -> None:
        if type(value) is str and MONTH_PERIOD_RE.match(value):
            raise Violation("is a month; periods are quarters only (e.g. 2026-Q3)")
        super().check(value)

    def describe(self) -> str:
        return f"{super().describe()}, a quarter; a month label `YYYY-Mmm` is refused as such"


def _checked(rule: Text | Timestamp, value: Any, what: str, hint: str = "") -> str:
    try:
        rule.check(value)
    except Violation as v:
        raise InvalidPayload(f"{what} {v.reason}", hint=hint) from None
    return str(value)


_NAME_MEANING = "a snake_case identifier"
_QUARTER = Quarter(PERIOD, meaning="a quarter such as 2026-Q3")
_SLUG = Text(SLUG, meaning="a lower-case slug (a-z, 0-9, '-'), 2-63 characters")
_HEX32 = Text(HEX32, meaning="32 lower-case hex digits")
_TIMESTAMP = Timestamp()
_POSITIVE = Number(0.0, math.inf)
_BOUNDS = Dictionary(
    Text(NAME, meaning=_NAME_MEANING),
    Integer(1),
    MAX_BOUNDS,
    note="which names, and their range, the release design fixes (intake: section 3)",
)


def is_sketch_width(width: Any) -> bool:
    """A power of two within [SKETCH_MIN_WIDTH, SKETCH_MAX_WIDTH]."""
    return (
        type(width) is int
        and SKETCH_MIN_WIDTH <= width <= SKETCH_MAX_WIDTH
        and not width & (width - 1)
    )


def check_period(period: str) -> str:
    """A quarter label such as ``2026-Q3``; month labels (``2026-M07``) are refused."""
    return _checked(_QUARTER, period, "period", hint="use the quarter label, e.g. 2026-Q3")


def check_slug(value: str, *, what: str) -> str:
    return _checked(_SLUG, value, what, hint="a lower-case slug (a-z, 0-9, '-')")


def check_timestamp(value: str, *, what: str) -> str:
    """An RFC 3339 date-time with its offset (``2026-10-01T00:00:00+00:00``)."""
    return _checked(_TIMESTAMP, value, what)


def _version(found: Any, accepted: tuple[str, ...], what: str) -> None:
    """``unsupported-version`` for a message of another version; checked first, so
    that a message of another version is named as such, whatever else differs."""
    if found not in accepted:
        shown = repr(found) if found in (*EARLIER_VERSIONS, PROTOCOL_VERSION) else "another"
        raise UnsupportedVersion(
            f"{what} version {shown} is not {PROTOCOL_VERSION}",
            hint="upgrade the agent or the aggregator so both speak the same version",
        )


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

    SCHEMA: ClassVar[Schema] = Schema(
        "table",
        {
            "name": Text(
                NAME, note="one of the release design's tables (intake)", meaning=_NAME_MEANING
            ),
            "measure": Text(
                NAME,
                note="the table's measure in the release design (intake)",
                meaning=_NAME_MEANING,
            ),
            "dimensions": Array(Text(NAME, meaning=_NAME_MEANING), 1, MAX_DIMENSIONS),
            "keys": Array(
                Array(
                    Text(LABEL, meaning="labels of 1-40 characters: a-z, 0-9, '_', '+', '-'"),
                    1,
                    MAX_DIMENSIONS,
                ),
                1,
                MAX_CELLS,
                note="one label per dimension, unique keys; each label in its dimension's key "
                "set (intake)",
            ),
            "values": Array(
                Integer(-MAX_SAFE_INTEGER),
                1,
                MAX_CELLS,
                note="one per key; intake bounds each by the table (section 3)",
            ),
            "mechanism": OneOf(MECHANISMS),
            "scale": Number(0.0, math.inf, note="the noise scale"),
            "sensitivity": Number(
                0.0, math.inf, note="per household; the one intake derives (section 3)"
            ),
            "rho": Number(0.0, math.inf, note="OpenDP's privacy map of the table (intake)"),
            "ci95": Number(0.0, math.inf, note="half-width of one cell's 95% interval"),
        },
    )

    def __post_init__(self) -> None:
        # Named in errors once its name is known to be one (never free text).
        what = f"table {self.name}" if self.SCHEMA.follows("name", self.name) else "table"
        self.SCHEMA.check(self, what=what)
        if len(self.keys) != len(self.values):
            raise InvalidPayload(f"{what}: needs one value per key")
        if set(map(len, self.keys)) != {len(self.dimensions)}:
            raise InvalidPayload(f"{what}: every key needs one label per dimension")
        if len(set(self.keys)) != len(self.keys):
            raise InvalidPayload(f"{what}: keys must be unique")

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
        return cls(**cls.SCHEMA.decode(d))


@dataclass(frozen=True)
class PrivacySpend:
    """Total privacy cost of one submission: ρ (zCDP) and its (ε, δ) conversion."""

    rho: float
    epsilon: float
    delta: float

    SCHEMA: ClassVar[Schema] = Schema(
        "privacy",
        {
            "rho": Number(
                0.0, math.inf, note="the sum of the tables' ρ and the sketch's, if any (intake)"
            ),
            "epsilon": _POSITIVE,
            "delta": Number(0.0, 1.0, high_open=True),
        },
    )

    def __post_init__(self) -> None:
        self.SCHEMA.check(self)

    def to_dict(self) -> dict[str, Any]:
        return {"rho": self.rho, "epsilon": self.epsilon, "delta": self.delta}

    @classmethod
    def from_dict(cls, d: Any) -> PrivacySpend:
        return cls(**cls.SCHEMA.decode(d))


@dataclass(frozen=True)
class SketchPart:
    """The released sketch of the households whose main discipline is
    ``discipline``: a noisy household count and ``width`` noisy signed bucket
    sums (ADR 0034, 0036). Values stay out of its repr."""

    discipline: str
    households: int = field(repr=False)
    buckets: tuple[int, ...] = field(repr=False)

    SCHEMA: ClassVar[Schema] = Schema(
        "sketch part",
        {
            "discipline": Text(
                LABEL,
                note="a label of the release design's discipline key set (intake)",
                meaning="a label of 1-40 characters: a-z, 0-9, '_', '+', '-'",
            ),
            "households": Integer(-MAX_SAFE_INTEGER, note="noisy; may be negative"),
            "buckets": Array(
                Integer(-MAX_SAFE_INTEGER),
                SKETCH_MIN_WIDTH,
                SKETCH_MAX_WIDTH,
                note="noisy signed bucket sums, exactly the sketch's width",
            ),
        },
    )

    def __post_init__(self) -> None:
        what = (
            f"sketch part {self.discipline}"
            if self.SCHEMA.follows("discipline", self.discipline)
            else "sketch part"
        )
        self.SCHEMA.check(self, what=what)

    def to_dict(self) -> dict[str, Any]:
        return {
            "discipline": self.discipline,
            "households": self.households,
            "buckets": list(self.buckets),
        }

    @classmethod
    def from_dict(cls, d: Any) -> SketchPart:
        return cls(**cls.SCHEMA.decode(d))


@dataclass(frozen=True)
class ReleasedSketch:
    """An institution's household sketch for the period, one part per main
    discipline (the parts partition its households, so together they have
    household sensitivity 1 and are one OpenDP release of ρ ``rho``).

    ``scale`` is the noise scale of every bucket, ``count_scale`` that of every
    part's household count; the seed is the period config's, not repeated here."""

    design: str
    width: int
    mechanism: str
    scale: float
    count_scale: float
    rho: float
    parts: tuple[SketchPart, ...]

    SCHEMA: ClassVar[Schema] = Schema(
        "sketch",
        {
            "design": OneOf((SKETCH_DESIGN,)),
            "width": Integer(
                SKETCH_MIN_WIDTH, SKETCH_MAX_WIDTH, note="a power of two; the period config's"
            ),
            "mechanism": OneOf(MECHANISMS, note="the period config's (intake)"),
            "scale": Number(0.0, math.inf, note="noise scale of each bucket"),
            "count_scale": Number(0.0, math.inf, note="noise scale of each part's count"),
            "rho": Number(0.0, math.inf, note="OpenDP's privacy map of the sketch (intake)"),
            "parts": Array(
                Nested(SketchPart),
                1,
                MAX_SKETCH_PARTS,
                note="one per discipline of the release design's key set, unique (intake)",
            ),
        },
    )

    def __post_init__(self) -> None:
        self.SCHEMA.check(self)
        if not is_sketch_width(self.width):
            raise InvalidPayload("sketch width must be a power of two")
        if any(len(part.buckets) != self.width for part in self.parts):
            raise InvalidPayload(f"every sketch part needs exactly {self.width} buckets")
        if len(self.parts) * self.width > MAX_SKETCH_BUCKETS:
            raise InvalidPayload(f"a sketch holds at most {MAX_SKETCH_BUCKETS} buckets in all")
        if len({part.discipline for part in self.parts}) != len(self.parts):
            raise InvalidPayload("sketch parts must name distinct disciplines")

    def __repr__(self) -> str:  # bucket values stay out of logs
        return (
            f"ReleasedSketch(design={self.design!r}, width={self.width}, "
            f"mechanism={self.mechanism!r}, parts={len(self.parts)}, rho={self.rho:g})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "design": self.design,
            "width": self.width,
            "mechanism": self.mechanism,
            "scale": self.scale,
            "count_scale": self.count_scale,
            "rho": self.rho,
            "parts": [part.to_dict() for part in self.parts],
        }

    @classmethod
    def from_dict(cls, d: Any) -> ReleasedSketch:
        return cls(**cls.SCHEMA.decode(d))


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
    catchment_origin: str | None
    bounds: dict[str, int]
    tables: tuple[ReleasedTable, ...]
    privacy: PrivacySpend
    sketch: ReleasedSketch | None = None
    named_overlaps: bool = False
    version: str = PROTOCOL_VERSION

    SCHEMA: ClassVar[Schema] = Schema(
        "payload",
        {
            "version": OneOf((PROTOCOL_VERSION,)),
            "institution_id": _SLUG,
            "period": _QUARTER,
            "submission_id": Text(HEX32, note="16 random bytes", meaning=_HEX32.meaning),
            "created_at": _TIMESTAMP,
            "segment_model": OneOf(SEGMENT_MODELS, note="the one its period config names (intake)"),
            "catchment_origin": OrNull(
                Text(PC4, meaning="a four-digit PC4 such as 3511"),
                note="the institution's own PC4 its catchment bands were counted from; public",
            ),
            "bounds": _BOUNDS,
            "tables": Array(
                Nested(ReleasedTable),
                1,
                MAX_TABLES,
                note="unique names; exactly the release design's tables (intake)",
            ),
            "privacy": Nested(PrivacySpend),
            "sketch": OrNull(
                Nested(ReleasedSketch),
                note="present exactly when the period config fixes a sketch (intake)",
            ),
            "named_overlaps": Boolean(
                note="consent that institutions which also consented see their named pairwise "
                "overlap with this one"
            ),
        },
    )

    def __post_init__(self) -> None:
        # An earlier version exists only as a record read back from the agent's
        # ledger (``from_record``); the wire (``from_dict``) and sealing refuse it.
        _version(self.version, (PROTOCOL_VERSION, *EARLIER_VERSIONS), "payload")
        self.SCHEMA.check(self, skip=("version",))
        for name in _absent_before(self.version):
            if getattr(self, name) != _ABSENT[name]:
                raise InvalidPayload(f"a {self.version} payload has no {name}")
        if len({t.name for t in self.tables}) != len(self.tables):
            raise InvalidPayload("table names must be unique within a submission")

    def to_dict(self) -> dict[str, Any]:
        """The payload's members; one recorded under an earlier version lacks the
        members added since (``catchment_origin`` in ``publiek/3``, ``sketch`` and
        ``named_overlaps`` in ``publiek/4``), so its bytes stay its own."""
        members: dict[str, Any] = {
            "version": self.version,
            "institution_id": self.institution_id,
            "period": self.period,
            "submission_id": self.submission_id,
            "created_at": self.created_at,
            "segment_model": self.segment_model,
            "catchment_origin": self.catchment_origin,
            "bounds": dict(self.bounds),
            "tables": [t.to_dict() for t in self.tables],
            "privacy": self.privacy.to_dict(),
            "sketch": None if self.sketch is None else self.sketch.to_dict(),
            "named_overlaps": self.named_overlaps,
        }
        for name in _absent_before(self.version):
            del members[name]
        return members

    @classmethod
    def from_dict(cls, d: Any) -> SubmissionPayload:
        """A payload of this protocol version, as it arrives on the wire."""
        return cls._parse(d, versions=(PROTOCOL_VERSION,))

    @classmethod
    def from_record(cls, d: Any) -> SubmissionPayload:
        """A payload the agent's ledger recorded, possibly under an earlier version.

        The fields of ``publiek/1`` and ``publiek/2`` are the same, only their
        canonical bytes differ; ``publiek/3`` added ``catchment_origin``, which
        an earlier record lacks (it reads as null); ``publiek/4`` added
        ``sketch`` and ``named_overlaps`` (they read as null and false). Such a
        payload can be shown, never sealed."""
        return cls._parse(d, versions=(PROTOCOL_VERSION, *EARLIER_VERSIONS))

    @classmethod
    def _parse(cls, d: Any, *, versions: tuple[str, ...]) -> SubmissionPayload:
        if type(d) is dict and "version" in d:
            _version(d["version"], versions, "payload")
            absent = _absent_before(d["version"])
            if absent:
                for name in absent:
                    if name in d:
                        raise InvalidPayload(f"a {d['version']} payload has no {name}")
                defaults = {name: _ABSENT[name] for name in absent}
                fields = cls.SCHEMA.decode({**d, **defaults}, omit=("version", *absent))
                return cls(version=d["version"], **defaults, **fields)
        fields = cls.SCHEMA.decode(d, omit=("version",))
        return cls(version=d["version"], **fields)


# What an earlier version's payload lacks, and what it reads as.
_ABSENT: dict[str, Any] = {"catchment_origin": None, "sketch": None, "named_overlaps": False}


def _absent_before(version: str) -> tuple[str, ...]:
    """The payload members a record of ``version`` does not have."""
    if version in ("publiek/1", "publiek/2"):
        return ("catchment_origin", "sketch", "named_overlaps")
    if version == "publiek/3":
        return ("sketch", "named_overlaps")
    return ()


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

    SCHEMA: ClassVar[Schema] = Schema(
        "envelope",
        {
            "version": OneOf((PROTOCOL_VERSION,)),
            "suite": OneOf((SUITE_NAME,)),
            "kem_key_id": Text(
                HEX32, note="the aggregator key it is sealed to", meaning=_HEX32.meaning
            ),
            "signer_key_id": Text(
                HEX32, note="the institution's signing key", meaning=_HEX32.meaning
            ),
            "institution_id": _SLUG,
            "period": _QUARTER,
            "submission_id": _HEX32,
        },
        error=MalformedMessage,
    )

    def __post_init__(self) -> None:
        _version(self.version, (PROTOCOL_VERSION,), "envelope")
        self.SCHEMA.check(self, skip=("version",))

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
    """A sealed submission on the wire: the header's fields and ``sealed``."""

    header: EnvelopeHeader
    sealed: bytes = field(repr=False)

    SCHEMA: ClassVar[Schema] = Schema(
        "envelope",
        {
            **EnvelopeHeader.SCHEMA.fields,
            "sealed": Bytes(
                MIN_SEALED_BYTES, MAX_SEALED_BYTES, note="HPKE `enc` ‖ ciphertext (section 4)"
            ),
        },
        error=MalformedMessage,
    )

    def __post_init__(self) -> None:
        # The header validated itself; what is left is that the parts are what
        # they claim, so an envelope built in code cannot carry a str as its
        # ciphertext or a dict as its header.
        if not isinstance(self.header, EnvelopeHeader):
            raise MalformedMessage("envelope header must be an EnvelopeHeader")
        self.SCHEMA.check(self, skip=tuple(EnvelopeHeader.SCHEMA.fields))

    def to_dict(self) -> dict[str, Any]:
        return {**self.header.to_dict(), "sealed": b64encode(self.sealed)}

    @classmethod
    def from_dict(cls, d: Any) -> Envelope:
        cls.SCHEMA.require_fields(d, tuple(cls.SCHEMA.fields))
        _version(d["version"], (PROTOCOL_VERSION,), "envelope")
        fields = cls.SCHEMA.decode(d)
        sealed = fields.pop("sealed")
        return cls(header=EnvelopeHeader(**fields), sealed=sealed)


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

    SCHEMA: ClassVar[Schema] = Schema(
        "receipt",
        {
            "submission_id": _HEX32,
            "institution_id": _SLUG,
            "period": _QUARTER,
            "digest": Text(
                HEX64, note="SHA-256 of the envelope", meaning="64 lower-case hex digits"
            ),
            "log_index": Integer(0),
            "received_at": _TIMESTAMP,
            "aggregator_key_id": Text(HEX32, note="the receipt key", meaning=_HEX32.meaning),
            "signature": Bytes(SIGNATURE_BYTES, SIGNATURE_BYTES, note="Ed25519 (section 5.6)"),
        },
    )

    def __post_init__(self) -> None:
        # A receipt is what an institution keeps as proof and what an auditor
        # checks against the log; one with a malformed field could be neither
        # verified nor refused with a useful reason later, so it never exists.
        # The signature may be empty: that is the body, before signing.
        self.SCHEMA.check(self, skip=("signature",) if self.signature == b"" else ())

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
        receipt = cls(**cls.SCHEMA.decode(d))
        if not receipt.signature:
            # Only a body being signed has no signature; a receipt on the wire always has one.
            raise InvalidPayload(f"receipt signature must be {SIGNATURE_BYTES} bytes (Ed25519)")
        return receipt


@dataclass(frozen=True)
class PeriodTable:
    """One table of a period's release design and its share of the submission's ρ."""

    name: str
    weight: float

    SCHEMA: ClassVar[Schema] = Schema(
        "period config table",
        {
            "name": Text(NAME, meaning=_NAME_MEANING),
            "weight": Number(0.0, 1.0, note="share of a submission's ρ"),
        },
    )

    def __post_init__(self) -> None:
        self.SCHEMA.check(self)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "weight": self.weight}

    @classmethod
    def from_dict(cls, d: Any) -> PeriodTable:
        return cls(**cls.SCHEMA.decode(d))


@dataclass(frozen=True)
class PeriodSketch:
    """The household sketch every institution of the period releases: its
    design, width, public hash seed and share of the submission's ρ (ADR 0036).
    The seed is public (privacy does not rest on it, ADR 0034); it only makes
    sketches of one period combinable and no others."""

    width: int
    seed: bytes = field(repr=False)
    weight: float
    design: str = SKETCH_DESIGN

    SCHEMA: ClassVar[Schema] = Schema(
        "period config sketch",
        {
            "design": OneOf((SKETCH_DESIGN,)),
            "width": Integer(SKETCH_MIN_WIDTH, SKETCH_MAX_WIDTH, note="a power of two"),
            "seed": Bytes(
                SKETCH_SEED_BYTES, SKETCH_SEED_BYTES, note="public key of the bucket/sign hash"
            ),
            "weight": Number(0.0, 1.0, high_open=True, note="share of a submission's ρ"),
        },
    )

    def __post_init__(self) -> None:
        self.SCHEMA.check(self)
        if not is_sketch_width(self.width):
            raise InvalidPayload("period config sketch width must be a power of two")

    def to_dict(self) -> dict[str, Any]:
        return {
            "design": self.design,
            "width": self.width,
            "seed": b64encode(self.seed),
            "weight": self.weight,
        }

    @classmethod
    def from_dict(cls, d: Any) -> PeriodSketch:
        return cls(**cls.SCHEMA.decode(d))


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
    segment_model: str
    segment_model_digest: str | None
    issued_at: str
    aggregator_key_id: str
    signature: bytes = field(repr=False, default=b"")
    sketch: PeriodSketch | None = None
    version: str = PROTOCOL_VERSION

    SCHEMA: ClassVar[Schema] = Schema(
        "period config",
        {
            "version": OneOf((PROTOCOL_VERSION,)),
            "period": _QUARTER,
            "rho_budget": Number(0.0, math.inf, note="zCDP ρ per institution for the period"),
            "delta": Number(0.0, 1.0, high_open=True, note="δ at which ρ is stated as ε"),
            "mechanism": OneOf(MECHANISMS),
            "design": Text(
                DESIGN,
                note="release design id, e.g. `publiek-tables/3`",
                meaning="a short identifier",
            ),
            "tables": Array(
                Nested(PeriodTable),
                1,
                MAX_TABLES,
                note="`{name, weight}`, unique names, weights adding up to 1",
            ),
            "bounds": _BOUNDS,
            "k": Integer(1, note="minimum institutions per published cell"),
            "segment_model": OneOf(
                SEGMENT_MODELS, note="the version every submission of the period releases with"
            ),
            "segment_model_digest": OrNull(
                Text(HEX64, meaning="64 lower-case hex digits"),
                note="SHA-256 of that release's signed manifest; null for the built-in demo model "
                f"`{DEMO_SEGMENT_MODEL}` only",
            ),
            "issued_at": Timestamp(note="when the period was opened"),
            "aggregator_key_id": Text(HEX32, note="the receipt key", meaning=_HEX32.meaning),
            "sketch": OrNull(
                Nested(PeriodSketch),
                note="the household sketch of every submission; null: no sketches this period",
            ),
            "signature": Bytes(
                SIGNATURE_BYTES,
                SIGNATURE_BYTES,
                note="Ed25519 in domain `publiek/1 period-config` over the body",
            ),
        },
    )

    def __post_init__(self) -> None:
        _version(self.version, (PROTOCOL_VERSION,), "period config")
        skip = ("version", "signature") if self.signature == b"" else ("version",)
        self.SCHEMA.check(self, skip=skip)
        if len({t.name for t in self.tables}) != len(self.tables):
            raise InvalidPayload("period config: table names must be unique")
        sketch_weight = 0.0 if self.sketch is None else self.sketch.weight
        if abs(math.fsum(t.weight for t in self.tables) + sketch_weight - 1.0) > WEIGHT_TOLERANCE:
            raise InvalidPayload(
                "period config: the table weights and the sketch's weight must add up to 1"
            )
        if (self.segment_model_digest is None) != (self.segment_model == DEMO_SEGMENT_MODEL):
            raise InvalidPayload(
                "period config: a segment model release digest is given exactly when the model "
                f"is a signed release (every model but {DEMO_SEGMENT_MODEL})"
            )

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
            "segment_model": self.segment_model,
            "segment_model_digest": self.segment_model_digest,
            "issued_at": self.issued_at,
            "aggregator_key_id": self.aggregator_key_id,
            "sketch": None if self.sketch is None else self.sketch.to_dict(),
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self.body(), "signature": b64encode(self.signature)}

    @property
    def weights(self) -> dict[str, float]:
        return {t.name: t.weight for t in self.tables}

    @classmethod
    def from_dict(cls, d: Any) -> PeriodConfig:
        if type(d) is dict and "version" in d:
            _version(d["version"], (PROTOCOL_VERSION,), "period config")
        config = cls(**cls.SCHEMA.decode(d))
        if not config.signature:
            raise InvalidPayload(f"period config signature must be {SIGNATURE_BYTES} bytes")
        return config


# Every message with a schema, for the docs test and the fuzzers.
SCHEMAS: tuple[Schema, ...] = (
    SubmissionPayload.SCHEMA,
    ReleasedTable.SCHEMA,
    PrivacySpend.SCHEMA,
    Envelope.SCHEMA,
    Receipt.SCHEMA,
    PeriodConfig.SCHEMA,
    PeriodTable.SCHEMA,
    ReleasedSketch.SCHEMA,
    SketchPart.SCHEMA,
    PeriodSketch.SCHEMA,
)
