"""Segment model releases (format ``publiek-segment-model/2``): one signed file.

A segment model says, per PC6 and per PC4, which audience segments live
there: the population the benchmarks compare visitors against. The taskforce
publishes it as one file, ``VERSION.segments``, signed with its model key
(Ed25519, fingerprint pinned out of band like the custodian key), so that
every institution and the aggregator use exactly the same tables and an
aggregator cannot swap them.

The file is a ZIP archive (stored, not compressed: Parquet compresses itself)
of exactly five members:

* ``manifest.json``: RFC 8785 canonical JSON (:class:`Manifest`): format,
  version, whether the model is synthetic, its date, the segments with their
  Dutch and English names and descriptions, and per table its SHA-256, size
  and number of rows;
* ``signature.json``: canonical JSON (:class:`Signature`), Ed25519 over the
  domain ``publiek/1 segment-model-release`` and the SHA-256 of the manifest's
  bytes (the release's :attr:`SegmentRelease.digest`);
* ``municipalities.parquet``, ``pc4.parquet``, ``pc6.parquet``: the tables
  (:data:`MUNICIPALITY_COLUMNS`, :func:`pc4_columns`, :func:`pc6_columns`).

Untrusted bytes are checked in an order that parses as little as possible
before trust is established (:func:`verify_release`): size limits, then the
ZIP structure (exactly the five member names, stored, each within its limit,
declared sizes equal to actual sizes, and the whole file byte for byte the
canonical container of its members), then the signature over the manifest
under the pinned key, then each table's size and SHA-256 against the signed
manifest, and only then is Parquet parsed and the content checked. Every
refusal is a :class:`~protocol.errors.PubliekError` naming the file and what
to do. ``docs/segment-model.md`` describes the format field by field; ADR 0026
records why it looks like this.

This module builds releases too (:func:`pack_release`), so that the bytes a
verifier checks and the bytes a signer writes have one definition.
"""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar

import polars as pl

from protocol.encoding import b64encode, canonical_bytes, parse_canonical
from protocol.errors import (
    InvalidSignature,
    MalformedMessage,
    PayloadTooLarge,
    PubliekError,
    UnsupportedVersion,
    UsageError,
)
from protocol.keys import SigningKey, VerifyKey, fingerprint
from protocol.messages import HEX32, HEX64, SIGNATURE_BYTES
from protocol.schema import (
    Array,
    Bytes,
    Dictionary,
    Integer,
    Nested,
    OneOf,
    Rule,
    Schema,
    Text,
    Violation,
    full_match,
)

FORMAT = "publiek-segment-model/2"
SUFFIX = ".segments"
SIGNATURE_DOMAIN = b"publiek/1 segment-model-release"

MANIFEST = "manifest.json"
SIGNATURE = "signature.json"
MUNICIPALITIES = "municipalities.parquet"
PC4 = "pc4.parquet"
PC6 = "pc6.parquet"
TABLES = (MUNICIPALITIES, PC4, PC6)
# The members in the order the canonical container holds them.
MEMBERS = (MANIFEST, SIGNATURE, *TABLES)

# Limits, checked before anything is parsed. A real model has at most about
# 470,000 PC6 codes, 4,100 PC4 areas, 350 municipalities and a few dozen
# segments; the limits leave room for that and no more (ADR 0026).
MAX_SEGMENTS = 64
MAX_ROWS = {MUNICIPALITIES: 1_000, PC4: 9_000, PC6: 600_000}
MIB = 1024 * 1024
MAX_MEMBER_BYTES = {
    MANIFEST: 256 * 1024,
    SIGNATURE: 4 * 1024,
    MUNICIPALITIES: 1 * MIB,
    PC4: 16 * MIB,
    PC6: 384 * MIB,
}
# The members, plus their ZIP headers (one local and one central header per
# member, the end record): the container adds under 1 KiB.
MAX_RELEASE_BYTES = sum(MAX_MEMBER_BYTES.values()) + 4096
SHARE_TOLERANCE = 1e-6

# The provinces, as slugs: the release design's key set of the province
# dimension (``dp.release_design.PROVINCES``; tests/segments keeps them equal).
PROVINCES: tuple[str, ...] = (
    "groningen", "friesland", "drenthe", "overijssel", "flevoland", "gelderland",
    "utrecht", "noord-holland", "zuid-holland", "zeeland", "noord-brabant", "limburg",
)  # fmt: skip
# A box around the Netherlands (with its coastal waters): a centroid outside it
# is a swapped latitude and longitude or a projected coordinate, not a PC4.
LAT_RANGE = (50.6, 53.7)
LON_RANGE = (3.2, 7.3)

# The public key of the openly derived synthetic model key
# (``segments.synthetic.synthetic_model_key``; tests/segments keeps them equal).
# Its secret half is published, so a release it signs proves nothing: such a
# release must call itself synthetic, and every description of it says so.
DEMO_MODEL_KEY = "4Ky6RlFXxac8oocM6a5XEvFvaYouVwkHzV-hGopULt0"
DEMO_LABEL = "synthetic, signed by the public demo key — not for real releases"

VERSION = r"[a-z0-9][a-z0-9.-]{0,62}[a-z0-9]"
SEGMENT_ID = r"[a-z0-9][a-z0-9-]{1,39}"
PC6_CODE = r"[1-9][0-9]{3}[A-Z]{2}"
PC6_NEVER = ("SA", "SD", "SS")  # letter pairs never issued
MUNICIPALITY_CODE = r"GM[0-9]{4}"
DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
TEXT = r"[^\x00-\x1f\x7f-\x9f]"
MAX_NAME_CHARS = 80
MAX_DESCRIPTION_CHARS = 1000

# Column names of the tables besides the segment columns; a segment id may not
# be one of them, nor the label of households without a segment.
KEY_COLUMNS = ("pc4", "pc6", "municipality", "province", "lat", "lon", "code", "name")
RESERVED_IDS = frozenset({*KEY_COLUMNS, "unknown"})
MUNICIPALITY_COLUMNS: dict[str, pl.DataType] = {
    "code": pl.String(),
    "name": pl.String(),
    "province": pl.String(),
}


def pc4_columns(segments: Sequence[str]) -> dict[str, pl.DataType]:
    """pc4.parquet: the area, where it lies, and its households per segment."""
    return {
        "pc4": pl.Int32(),
        "municipality": pl.String(),
        "province": pl.String(),
        "lat": pl.Float64(),
        "lon": pl.Float64(),
        **{segment: pl.Int64() for segment in segments},
    }


def pc6_columns(segments: Sequence[str]) -> dict[str, pl.DataType]:
    """pc6.parquet: each PC6's share of households per segment."""
    return {"pc6": pl.String(), **{segment: pl.Float64() for segment in segments}}


# --- the manifest and the signature: canonical JSON ------------------------


@dataclass(frozen=True)
class Texts:
    """A text in Dutch and in English."""

    nl: str
    en: str

    def to_dict(self) -> dict[str, str]:
        return {"nl": self.nl, "en": self.en}


@dataclass(frozen=True)
class Bilingual(Rule):
    """An object ``{"nl": ..., "en": ...}``: the same text in both languages."""

    max_chars: int
    note: str = ""
    json_type: ClassVar[str] = "object"

    def decode(self, value: Any) -> Any:
        if type(value) is dict and set(value) == {"nl", "en"}:
            return Texts(nl=value["nl"], en=value["en"])
        return value

    def check(self, value: Any) -> None:
        if not isinstance(value, Texts):
            raise Violation("must be an object with exactly the members nl and en")
        pattern = full_match(f"{TEXT}{{1,{self.max_chars}}}")
        for language in ("nl", "en"):
            text = getattr(value, language)
            if type(text) is not str or not pattern.match(text):
                raise Violation(
                    f"member {language} must be text of 1–{self.max_chars} characters "
                    "without control characters"
                )

    def describe(self) -> str:
        return (
            f"`nl` and `en`: the Dutch and the English text, each 1–{self.max_chars} "
            "characters without control characters"
        )


@dataclass(frozen=True)
class Flag(Rule):
    """A JSON ``true`` or ``false``."""

    note: str = ""
    json_type: ClassVar[str] = "boolean"

    def check(self, value: Any) -> None:
        if type(value) is not bool:
            raise Violation("must be true or false")

    def describe(self) -> str:
        return "`true` or `false`"


@dataclass(frozen=True)
class Day(Rule):
    """A calendar date ``YYYY-MM-DD`` that exists."""

    note: str = ""
    json_type: ClassVar[str] = "string"
    _compiled: ClassVar[Any] = full_match(DATE)

    def check(self, value: Any) -> None:
        if type(value) is not str or not self._compiled.match(value):
            raise Violation("must be a date YYYY-MM-DD")
        try:
            date.fromisoformat(value)
        except ValueError:
            raise Violation("is not a real date") from None

    def describe(self) -> str:
        return "date `YYYY-MM-DD` (a real date)"


@dataclass(frozen=True)
class Segment:
    """One audience segment: its id (the cell label in every table that counts
    by segment) and what it means, in Dutch and English."""

    id: str
    name: Texts
    description: Texts

    SCHEMA: ClassVar[Schema] = Schema(
        "segment",
        {
            "id": Text(
                SEGMENT_ID,
                note="unique in the release; not `unknown` nor a column name of the tables",
                meaning="a lower-case slug (a-z, 0-9, '-') of 2–40 characters",
            ),
            "name": Bilingual(MAX_NAME_CHARS),
            "description": Bilingual(MAX_DESCRIPTION_CHARS),
        },
        error=MalformedMessage,
    )

    def __post_init__(self) -> None:
        self.SCHEMA.check(self)
        if self.id in RESERVED_IDS:
            raise MalformedMessage(
                f"segment id {self.id!r} is reserved",
                hint=f"use another id than {', '.join(sorted(RESERVED_IDS))}",
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name.to_dict(),
            "description": self.description.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: Any) -> Segment:
        return cls(**cls.SCHEMA.decode(d))


@dataclass(frozen=True)
class FileEntry:
    """What the manifest says of one table: the signature covers these, so a
    table is checked against them before it is parsed."""

    sha256: str
    bytes: int
    rows: int

    SCHEMA: ClassVar[Schema] = Schema(
        "manifest file entry",
        {
            "sha256": Text(HEX64, note="of the member's bytes", meaning="64 lower-case hex digits"),
            "bytes": Integer(1, max(MAX_MEMBER_BYTES.values()), note="the member's size"),
            "rows": Integer(0, max(MAX_ROWS.values()), note="the table's number of rows"),
        },
        error=MalformedMessage,
    )

    def __post_init__(self) -> None:
        self.SCHEMA.check(self)

    def to_dict(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "bytes": self.bytes, "rows": self.rows}

    @classmethod
    def from_dict(cls, d: Any) -> FileEntry:
        return cls(**cls.SCHEMA.decode(d))


@dataclass(frozen=True)
class Manifest:
    """``manifest.json``: everything the signature covers."""

    version: str
    synthetic: bool
    created: str
    segments: tuple[Segment, ...]
    files: Mapping[str, FileEntry]
    format: str = FORMAT

    SCHEMA: ClassVar[Schema] = Schema(
        "segment model manifest",
        {
            "format": OneOf((FORMAT,), note="checked first: another format is refused as such"),
            "version": Text(
                VERSION,
                note="the name the period config and every submission use",
                meaning="a lower-case slug (a-z, 0-9, '-', '.') of 2–64 characters",
            ),
            "synthetic": Flag(note="`true`: the tables describe no real population"),
            "created": Day(),
            "segments": Array(Nested(Segment), 1, MAX_SEGMENTS, note="in the tables' column order"),
            "files": Dictionary(
                Text(r"(municipalities|pc4|pc6)\.parquet", meaning="a table's file name"),
                Nested(FileEntry),
                len(TABLES),
                note="exactly the three tables",
            ),
        },
        error=MalformedMessage,
    )

    def __post_init__(self) -> None:
        if self.format != FORMAT:
            raise UnsupportedVersion(
                f"segment model format {_shown_format(self.format)} is not {FORMAT}",
                hint="use a release made for this version of Publiek",
            )
        self.SCHEMA.check(self, skip=("format",))
        ids = self.segment_ids
        if len(set(ids)) != len(ids):
            twice = sorted({s for s in ids if ids.count(s) > 1})
            raise MalformedMessage(
                f"segment model manifest names segment {twice[0]} more than once",
                hint="each segment id appears once",
            )
        if set(self.files) != set(TABLES):
            raise MalformedMessage(
                "segment model manifest does not list exactly the three tables",
                hint=f"the files are exactly: {', '.join(TABLES)}",
            )

    @property
    def segment_ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.segments)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "version": self.version,
            "synthetic": self.synthetic,
            "created": self.created,
            "segments": [s.to_dict() for s in self.segments],
            "files": {name: entry.to_dict() for name, entry in sorted(self.files.items())},
        }

    def to_bytes(self) -> bytes:
        return canonical_bytes(self.to_dict())

    @classmethod
    def from_bytes(cls, data: bytes) -> Manifest:
        d = parse_canonical(data, what="segment model manifest")
        cls.SCHEMA.require_fields(d, tuple(cls.SCHEMA.fields))
        if d["format"] != FORMAT:
            raise UnsupportedVersion(
                f"segment model format {_shown_format(d['format'])} is not {FORMAT}",
                hint="use a release made for this version of Publiek",
            )
        fields = cls.SCHEMA.decode(d)
        files = fields.pop("files")
        if type(files) is dict:
            files = {name: FileEntry.from_dict(entry) for name, entry in files.items()}
        return cls(**fields, files=files)


def _shown_format(found: Any) -> str:
    """A format as an error may quote it: only the ones this code knows."""
    return repr(found) if found in (FORMAT, "publiek-segment-model/1") else "another"


@dataclass(frozen=True)
class Signature:
    """``signature.json``: who signed the manifest, and the signature.

    The public key travels with the signature so that ``publiek segments show``
    can check a release without a pinned key (and says so); a verifier with a
    pinned key compares the key id with it first."""

    key_id: str
    public_key: bytes = field(repr=False)
    signature: bytes = field(repr=False)

    SCHEMA: ClassVar[Schema] = Schema(
        "segment model signature",
        {
            "key_id": Text(
                HEX32, note="the key id of `public_key`", meaning="32 lower-case hex digits"
            ),
            "public_key": Bytes(32, 32, note="the signer's Ed25519 public key"),
            "signature": Bytes(
                SIGNATURE_BYTES,
                SIGNATURE_BYTES,
                note="Ed25519 in domain `publiek/1 segment-model-release` over the "
                "SHA-256 of the manifest's bytes",
            ),
        },
        error=MalformedMessage,
    )

    def __post_init__(self) -> None:
        self.SCHEMA.check(self)
        if VerifyKey(self.public_key).key_id != self.key_id:
            raise MalformedMessage(
                "segment model signature names a key id that is not its public key's",
                hint="use the file as published",
            )

    @property
    def signer(self) -> VerifyKey:
        return VerifyKey(self.public_key)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "public_key": b64encode(self.public_key),
            "signature": b64encode(self.signature),
        }

    def to_bytes(self) -> bytes:
        return canonical_bytes(self.to_dict())

    @classmethod
    def from_bytes(cls, data: bytes) -> Signature:
        return cls(**cls.SCHEMA.decode(parse_canonical(data, what="segment model signature")))


SCHEMAS = (Manifest.SCHEMA, Segment.SCHEMA, FileEntry.SCHEMA, Signature.SCHEMA)


def manifest_digest(manifest_bytes: bytes) -> bytes:
    """What the model key signs, and what names a release: SHA-256 of the manifest."""
    return hashlib.sha256(manifest_bytes).digest()


def is_demo_key(key: VerifyKey) -> bool:
    return key.to_text() == DEMO_MODEL_KEY


# --- the tables -------------------------------------------------------------


Fail = Callable[[str, str], PubliekError]


def check_tables(
    segments: Sequence[str],
    municipalities: pl.DataFrame,
    pc4: pl.DataFrame,
    pc6: pl.DataFrame,
    *,
    fail: Fail,
) -> None:
    """Raise ``fail(what, hint)`` unless the tables are a consistent model.

    Areas are named by their codes (public area codes, never a household):
    the first offending one and how many there are, so that a model owner can
    find the row whatever file it came from."""
    _check_schema("municipalities", municipalities, MUNICIPALITY_COLUMNS, fail)
    _check_schema("pc4", pc4, pc4_columns(segments), fail)
    _check_schema("pc6", pc6, pc6_columns(segments), fail)
    for name, frame in (("municipalities", municipalities), ("pc4", pc4), ("pc6", pc6)):
        table = f"{name}.parquet"
        if frame.height == 0 and name != "pc6":
            raise fail(f"the {name} table is empty", "a model covers the whole country")
        if frame.height > MAX_ROWS[table]:
            raise fail(
                f"the {name} table has {frame.height:,} rows, more than {MAX_ROWS[table]:,}",
                "each row is one area; check for repeated rows",
            )
    _check_municipalities(municipalities, fail)
    _check_pc4(segments, municipalities, pc4, fail)
    _check_pc6(segments, pc4, pc6, fail)


def _check_schema(
    name: str, frame: pl.DataFrame, expected: Mapping[str, pl.DataType], fail: Fail
) -> None:
    if list(frame.columns) != list(expected):
        raise fail(
            f"the {name} table's columns are not the expected ones in their order",
            f"the columns are: {', '.join(expected)}",
        )
    for column, dtype in expected.items():
        if frame.schema[column] != dtype:
            raise fail(
                f"the {name} table's column {column} is {frame.schema[column]}, not {dtype}",
                "write the table with the types docs/segment-model.md gives",
            )
    nulls = [c for c in frame.columns if frame[c].null_count()]
    if nulls:
        raise fail(f"the {name} table has empty cells in column {nulls[0]}", "fill every cell")


def _first(frame: pl.DataFrame, bad: pl.Expr, code: str) -> tuple[int, str] | None:
    """How many rows ``bad`` holds for, and the code of the first of them."""
    hits = frame.filter(bad).get_column(code)
    return (hits.len(), str(hits[0])) if hits.len() else None


def _require(found: tuple[int, str] | None, what: str, hint: str, fail: Fail) -> None:
    if found is not None:
        count, first = found
        many = f"{count:,} rows" if count > 1 else "1 row"
        raise fail(f"{what}: {many} (the first: {first})", hint)


def _is_text(column: str, max_chars: int) -> pl.Expr:
    length = pl.col(column).str.len_chars()
    return (
        length.is_between(1, max_chars)
        & ~pl.col(column).str.contains(r"[\x00-\x1f\x7f-\x9f]")
        & (pl.col(column) == pl.col(column).str.strip_chars())
    )


def _check_municipalities(frame: pl.DataFrame, fail: Fail) -> None:
    _require(
        _first(frame, ~pl.col("code").str.contains(rf"^{MUNICIPALITY_CODE}$"), "code"),
        "municipalities: a code is not GM followed by four digits",
        "use the CBS municipality code, e.g. GM0363",
        fail,
    )
    _require(
        _first(frame, pl.col("code").is_duplicated(), "code"),
        "municipalities: a code appears more than once",
        "list each municipality once",
        fail,
    )
    _require(
        _first(frame, ~_is_text("name", MAX_NAME_CHARS), "code"),
        f"municipalities: a name is empty, longer than {MAX_NAME_CHARS} characters, "
        "padded with spaces or holds a control character",
        "give each municipality its name as written",
        fail,
    )
    _require(
        _first(frame, ~pl.col("province").is_in(PROVINCES), "code"),
        "municipalities: a province is not one of the twelve",
        f"use one of: {', '.join(PROVINCES)}",
        fail,
    )


def _check_pc4(
    segments: Sequence[str], municipalities: pl.DataFrame, pc4: pl.DataFrame, fail: Fail
) -> None:
    _require(
        _first(pc4, ~pl.col("pc4").is_between(1000, 9999), "pc4"),
        "pc4: a PC4 is not a number from 1000 to 9999",
        "give the four digits of the postcode area",
        fail,
    )
    _require(
        _first(pc4, pl.col("pc4").is_duplicated(), "pc4"),
        "pc4: a PC4 appears more than once",
        "list each PC4 once, with its households per segment",
        fail,
    )
    _require(
        _first(pc4, ~pl.col("province").is_in(PROVINCES), "pc4"),
        "pc4: a province is not one of the twelve",
        f"use one of: {', '.join(PROVINCES)}",
        fail,
    )
    home = pc4.join(
        municipalities.select(pl.col("code").alias("municipality"), pl.col("province").alias("_p")),
        on="municipality",
        how="left",
    )
    _require(
        _first(home, pl.col("_p").is_null(), "pc4"),
        "pc4: a PC4's municipality is not in the municipalities table",
        "add the municipality, or correct the PC4's municipality code",
        fail,
    )
    _require(
        _first(home, pl.col("_p") != pl.col("province"), "pc4"),
        "pc4: a PC4's province is not its municipality's",
        "give a PC4 the province of the municipality that holds most of it",
        fail,
    )
    inside = pl.col("lat").is_between(*LAT_RANGE) & pl.col("lon").is_between(*LON_RANGE)
    _require(
        _first(pc4, ~inside, "pc4"),
        f"pc4: a centroid lies outside the Netherlands (latitude {LAT_RANGE[0]}–{LAT_RANGE[1]}, "
        f"longitude {LON_RANGE[0]}–{LON_RANGE[1]})",
        "give WGS 84 degrees (latitude about 52, longitude about 5), not RD coordinates",
        fail,
    )
    negative = pl.any_horizontal(pl.col(s) < 0 for s in segments)
    _require(
        _first(pc4, negative, "pc4"),
        "pc4: a number of households is negative",
        "give households per segment as whole numbers of 0 or more",
        fail,
    )


def _check_pc6(segments: Sequence[str], pc4: pl.DataFrame, pc6: pl.DataFrame, fail: Fail) -> None:
    _require(
        _first(
            pc6,
            ~pl.col("pc6").str.contains(rf"^{PC6_CODE}$")
            | pl.col("pc6").str.slice(4).is_in(PC6_NEVER),
            "pc6",
        ),
        "pc6: a PC6 is not four digits and two capital letters (not SA, SD or SS)",
        "write PC6 codes without a space, e.g. 1234AB",
        fail,
    )
    _require(
        _first(pc6, pl.col("pc6").is_duplicated(), "pc6"),
        "pc6: a PC6 appears more than once",
        "list each PC6 once",
        fail,
    )
    bad_share = pl.any_horizontal(
        ~pl.col(s).is_finite() | (pl.col(s) < 0) | (pl.col(s) > 1) for s in segments
    )
    _require(
        _first(pc6, bad_share, "pc6"),
        "pc6: a share is not a number from 0 to 1",
        "give each segment's share of the PC6's households as a fraction",
        fail,
    )
    total = pl.sum_horizontal(*segments)
    _require(
        _first(pc6, (total - 1).abs() > SHARE_TOLERANCE, "pc6"),
        f"pc6: a PC6's shares do not sum to 1 ± {SHARE_TOLERANCE:g}",
        "the shares of one PC6 are fractions of its households and add up to 1",
        fail,
    )
    area = pc6.select("pc6", pl.col("pc6").str.slice(0, 4).cast(pl.Int32).alias("pc4"))
    orphans = area.join(pc4.select("pc4"), on="pc4", how="anti")
    _require(
        _first(orphans, pl.lit(value=True), "pc6"),
        "pc6: a PC6 lies in a PC4 the pc4 table does not have",
        "add the PC4 (with its households), or leave the PC6 out",
        fail,
    )


def pc4_shares(segments: Sequence[str], pc4: pl.DataFrame) -> pl.DataFrame:
    """The fallback for a household with a PC4 and no (known) PC6: the share of
    each segment among the PC4's households (columns ``pc4``, ``segment``,
    ``share``, ``households``, segments in release order). A PC4 without any
    households has no shares: its households fall in ``unknown``."""
    order = pl.Enum(list(segments))
    long = pc4.unpivot(
        index="pc4", on=list(segments), variable_name="segment", value_name="households"
    ).with_columns(pl.col("segment").cast(order))
    total = pl.col("households").sum().over("pc4")
    return (
        long.filter(total > 0)
        .with_columns((pl.col("households") / total).alias("share"))
        .sort("pc4", "segment")
        .select("pc4", pl.col("segment").cast(pl.String), "share", "households")
    )


# --- the container: a canonical ZIP -----------------------------------------

# ZIP headers of the canonical container (APPNOTE 6.3.x): version 2.0, no
# flags, stored, 1980-01-01 00:00, Unix mode 0644, no extra fields or comments.
_LOCAL = struct.Struct("<4sHHHHHLLLHH")
_CENTRAL = struct.Struct("<4sHHHHHHLLLHHHHHLL")
_END = struct.Struct("<4sHHHHLLH")
_VERSION = 20
_MADE_BY = (3 << 8) | _VERSION  # Unix
_DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01
_MODE = 0o100644 << 16
MAX_CENTRAL_DIRECTORY = 4096
MAX_ENTRIES = 16


def pack_container(members: Iterable[tuple[str, bytes]]) -> bytes:
    """The one byte string a release's members make: a stored ZIP with fixed
    headers, so that verifying can rebuild it and compare (any changed byte,
    in a member or in the ZIP structure, is refused)."""
    out = bytearray()
    central = bytearray()
    count = 0
    for name, data in members:
        raw_name = name.encode("ascii")
        crc = zlib.crc32(data)
        offset = len(out)
        out += _LOCAL.pack(b"PK\x03\x04", _VERSION, 0, 0, 0, _DOS_DATE, crc, len(data),
                           len(data), len(raw_name), 0)  # fmt: skip
        out += raw_name + data
        central += _CENTRAL.pack(b"PK\x01\x02", _MADE_BY, _VERSION, 0, 0, 0, _DOS_DATE, crc,
                                 len(data), len(data), len(raw_name), 0, 0, 0, 0, _MODE,
                                 offset)  # fmt: skip
        central += raw_name
        count += 1
    start = len(out)
    out += central
    out += _END.pack(b"PK\x05\x06", 0, 0, count, count, len(central), start, 0)
    return bytes(out)


def _safe_name(name: str) -> str:
    """A member name as an error may quote it: a plain file name, or nothing."""
    return repr(name) if full_match(r"[a-z0-9_.-]{1,40}").match(name) else "(a name not shown)"


def read_container(data: bytes, *, where: str) -> dict[str, bytes]:
    """The members of a release file, after every check that needs no parsing
    of their content: size, structure, names, limits, and canonical form."""
    if not isinstance(data, bytes):
        raise MalformedMessage(f"{where}: a release is bytes")
    if len(data) > MAX_RELEASE_BYTES:
        raise PayloadTooLarge(
            f"{where} is {len(data):,} bytes, more than a segment model release may be "
            f"({MAX_RELEASE_BYTES:,})",
            hint="use the release as the taskforce published it",
        )
    not_a_release = MalformedMessage(
        f"{where} is not a segment model release ({FORMAT}): not a ZIP file of its form",
        hint="use the VERSION.segments file as published; a JSON model file of format "
        "publiek-segment-model/1 is installed with `publiek agent segment-model install`",
    )
    # The end record, read before zipfile sees the file: no comment, one disk,
    # a central directory that ends where the record begins and is small. A
    # file claiming millions of entries is refused before any is parsed.
    if len(data) < _END.size:
        raise not_a_release
    sig, disk, cd_disk, entries, total, cd_size, cd_offset, comment = _END.unpack(
        data[-_END.size :]
    )
    if (
        sig != b"PK\x05\x06"
        or (disk, cd_disk, comment) != (0, 0, 0)
        or entries != total
        or total > MAX_ENTRIES
        or cd_size > MAX_CENTRAL_DIRECTORY
        or cd_offset + cd_size != len(data) - _END.size
        or data[-_END.size - 20 : -_END.size - 16] == b"PK\x06\x07"  # a ZIP64 locator
    ):
        raise not_a_release
    try:
        members = _members(data, where=where)
    except PubliekError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, struct.error, EOFError,
            NotImplementedError, OverflowError, OSError, KeyError, UnicodeError,
            RuntimeError, zlib.error) as exc:  # fmt: skip
        raise MalformedMessage(
            f"{where} is damaged: its ZIP structure or a member does not check out "
            f"({type(exc).__name__})",
            hint="download the release again; use the file as published",
        ) from exc
    if pack_container((name, members[name]) for name in MEMBERS) != data:
        raise MalformedMessage(
            f"{where} is not in the canonical form of a release: its ZIP structure was altered",
            hint="use the file as published; a model owner rebuilds it with "
            "`publiek segments build`",
        )
    return members


def _members(data: bytes, *, where: str) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        names = [info.filename for info in infos]
        for name in names:
            if "/" in name or "\\" in name or ".." in name or ":" in name:
                raise MalformedMessage(
                    f"{where} holds a member with a path in its name",
                    hint="a release holds five plain files and nothing else; do not extract it",
                )
        unexpected = [n for n in names if n not in MEMBERS]
        if unexpected:
            raise MalformedMessage(
                f"{where} holds a member a release does not have: {_safe_name(unexpected[0])}",
                hint=f"a release holds exactly: {', '.join(MEMBERS)}",
            )
        if len(set(names)) != len(names):
            raise MalformedMessage(
                f"{where} holds a member twice",
                hint=f"a release holds exactly: {', '.join(MEMBERS)}",
            )
        missing = [n for n in MEMBERS if n not in names]
        if missing == [SIGNATURE]:
            raise InvalidSignature(
                f"{where} is not signed: it has no {SIGNATURE}",
                hint="use only releases signed with the taskforce's model key",
            )
        if missing:
            raise MalformedMessage(
                f"{where} lacks {', '.join(missing)}",
                hint=f"a release holds exactly: {', '.join(MEMBERS)}",
            )
        members = {}
        for info in infos:
            name = info.filename
            limit = MAX_MEMBER_BYTES[name]
            if info.flag_bits & 0x1:
                raise MalformedMessage(
                    f"{where}: {name} is encrypted", hint="use the file as published"
                )
            if info.compress_type != zipfile.ZIP_STORED:
                raise MalformedMessage(
                    f"{where}: {name} is compressed; release members are stored as they are",
                    hint="use the file as published",
                )
            if info.file_size > limit or info.compress_size > limit:
                raise PayloadTooLarge(
                    f"{where}: {name} declares {info.file_size:,} bytes, more than its limit "
                    f"of {limit:,}",
                    hint="use the release as the taskforce published it",
                )
            if info.compress_size != info.file_size:
                raise MalformedMessage(
                    f"{where}: {name} declares a stored size that is not its size",
                    hint="use the file as published",
                )
            with archive.open(info) as member:
                content = member.read(limit + 1)
            if len(content) != info.file_size:
                raise MalformedMessage(
                    f"{where}: {name} is not the size its ZIP entry declares",
                    hint="use the file as published",
                )
            members[name] = content
    return members


# --- the release ------------------------------------------------------------


@dataclass(frozen=True)
class SegmentRelease:
    """A verified segment model release: its manifest and its tables.

    It exists only with tables that passed every check against its manifest
    (the constructor runs them), so whoever holds one holds a consistent
    model. ``pinned`` says whether the signer was checked against a pinned
    model key (:func:`verify_release`) or only against the key the file names
    (:func:`open_unpinned`, for ``publiek segments show``)."""

    manifest: Manifest
    signer: VerifyKey
    pinned: bool
    digest: str
    municipalities: pl.DataFrame = field(repr=False)
    pc4: pl.DataFrame = field(repr=False)
    pc6: pl.DataFrame = field(repr=False)

    def __post_init__(self) -> None:
        where = f"segment model release {self.manifest.version}"
        for name, frame in ((MUNICIPALITIES, self.municipalities), (PC4, self.pc4),
                            (PC6, self.pc6)):  # fmt: skip
            if frame.height != self.manifest.files[name].rows:
                raise MalformedMessage(
                    f"{where}: {name} has {frame.height:,} rows, not the "
                    f"{self.manifest.files[name].rows:,} its manifest states",
                    hint="use the file as published",
                )

        def fail(what: str, hint: str) -> PubliekError:
            return MalformedMessage(f"{where}: {what}", hint=hint)

        check_tables(self.segments, self.municipalities, self.pc4, self.pc6, fail=fail)

    @property
    def version(self) -> str:
        return self.manifest.version

    @property
    def segments(self) -> tuple[str, ...]:
        """The segment ids, in release order."""
        return self.manifest.segment_ids

    @property
    def synthetic(self) -> bool:
        return self.manifest.synthetic

    @property
    def demo_key(self) -> bool:
        """Signed by the public demo key (whose secret half anyone has)."""
        return is_demo_key(self.signer)

    @property
    def households(self) -> int:
        return int(self.pc4.select(pl.sum_horizontal(self.segments).sum()).item())

    def pc4_shares(self) -> pl.DataFrame:
        return pc4_shares(self.segments, self.pc4)


def verify_release(
    data: bytes, *, model_key: VerifyKey, where: str, expected_version: str | None = None
) -> SegmentRelease:
    """The release in ``data``, verified against the pinned ``model_key``; raises
    unless every check passes (``expected_version``: the one the caller was
    told to use, for instance by the period config)."""
    return _open(data, model_key=model_key, where=where, expected_version=expected_version)


def open_unpinned(data: bytes, *, where: str) -> SegmentRelease:
    """The release in ``data`` checked like :func:`verify_release`, except that
    the signature is checked under the key the file itself names. Nothing but
    a description (``publiek segments show``) may rest on it: whoever made
    the file chose that key."""
    return _open(data, model_key=None, where=where, expected_version=None)


def _open(
    data: bytes, *, model_key: VerifyKey | None, where: str, expected_version: str | None
) -> SegmentRelease:
    members = read_container(data, where=where)
    try:
        signature = Signature.from_bytes(members[SIGNATURE])
    except PubliekError as exc:
        raise MalformedMessage(f"{where}: {exc.detail}", hint=exc.hint) from exc
    if model_key is not None and signature.key_id != model_key.key_id:
        raise InvalidSignature(
            f"{where} is signed by key {fingerprint(signature.signer)}, not by the pinned model "
            f"key {fingerprint(model_key)}",
            hint="check the model key's fingerprint with the taskforce out of band; a release "
            "is used only under that key",
        )
    manifest_bytes = members[MANIFEST]
    digest = manifest_digest(manifest_bytes)
    try:
        signature.signer.verify_domain(SIGNATURE_DOMAIN, signature.signature, digest)
    except InvalidSignature as exc:
        raise InvalidSignature(
            f"{where}: the signature does not match the manifest",
            hint="the release was altered after it was signed; use the file as published",
        ) from exc
    try:
        manifest = Manifest.from_bytes(manifest_bytes)
    except PubliekError as exc:
        raise type(exc)(f"{where}: {exc.detail}", hint=exc.hint) from exc
    if is_demo_key(signature.signer) and not manifest.synthetic:
        raise InvalidSignature(
            f"{where} is signed by the public demo key but does not call itself synthetic",
            hint="the demo key's secret is published: it signs synthetic releases only",
        )
    if expected_version is not None and manifest.version != expected_version:
        raise UsageError(
            f"{where} is segment model {manifest.version}, not {expected_version}, the "
            "version asked for",
            hint="use the release of the version the period config names",
        )
    for name in TABLES:
        entry, content = manifest.files[name], members[name]
        if len(content) != entry.bytes or hashlib.sha256(content).hexdigest() != entry.sha256:
            raise InvalidSignature(
                f"{where}: {name} is not the table the signed manifest describes",
                hint="the release was altered after it was signed; use the file as published",
            )
    tables = {name: _read_parquet(members[name], name=name, where=where) for name in TABLES}
    return SegmentRelease(
        manifest=manifest,
        signer=signature.signer,
        pinned=model_key is not None,
        digest=digest.hex(),
        municipalities=tables[MUNICIPALITIES],
        pc4=tables[PC4],
        pc6=tables[PC6],
    )


def _read_parquet(content: bytes, *, name: str, where: str) -> pl.DataFrame:
    try:
        return pl.read_parquet(io.BytesIO(content))
    except Exception as exc:  # a signed table that polars cannot read: polars' own errors
        raise MalformedMessage(
            f"{where}: {name} is not a Parquet table ({type(exc).__name__})",
            hint="the model owner rebuilds the release with `publiek segments build`",
        ) from exc


def _parquet(frame: pl.DataFrame) -> bytes:
    out = io.BytesIO()
    frame.write_parquet(out, compression="zstd", statistics=True)
    return out.getvalue()


def pack_release(
    *,
    version: str,
    created: str,
    synthetic: bool,
    segments: Sequence[Segment],
    municipalities: pl.DataFrame,
    pc4: pl.DataFrame,
    pc6: pl.DataFrame,
    key: SigningKey,
) -> bytes:
    """Check the tables, write them as Parquet, sign the manifest with ``key``
    and return the release file's bytes (deterministic for the same inputs and
    the same polars version).

    Refusals are :class:`~protocol.errors.UsageError`: the input is the model
    owner's. The tables come with the columns of :data:`MUNICIPALITY_COLUMNS`,
    :func:`pc4_columns` and :func:`pc6_columns`, in that order and of those types."""
    ids = tuple(s.id for s in segments)
    where = f"segment model {version}"

    def fail(what: str, hint: str) -> PubliekError:
        return UsageError(f"{where}: {what}", hint=hint)

    def manifest_of(files: Mapping[str, FileEntry]) -> Manifest:
        try:
            return Manifest(
                version=version,
                synthetic=synthetic,
                created=created,
                segments=tuple(segments),
                files=files,
            )
        except PubliekError as exc:
            raise UsageError(f"{where}: {exc.detail}", hint=exc.hint) from exc

    placeholder = FileEntry(sha256="0" * 64, bytes=1, rows=0)
    manifest_of(dict.fromkeys(TABLES, placeholder))  # the fields, before any work
    if is_demo_key(key.public) and not synthetic:
        raise UsageError(
            f"{where}: the public demo key signs synthetic releases only",
            hint="sign a real release with the taskforce's model key",
        )
    check_tables(ids, municipalities, pc4, pc6, fail=fail)
    blobs = {
        MUNICIPALITIES: (_parquet(municipalities), municipalities.height),
        PC4: (_parquet(pc4), pc4.height),
        PC6: (_parquet(pc6), pc6.height),
    }
    for name, (blob, _) in blobs.items():
        if len(blob) > MAX_MEMBER_BYTES[name]:
            raise fail(
                f"{name} is {len(blob):,} bytes, more than a release may hold "
                f"({MAX_MEMBER_BYTES[name]:,})",
                "fewer segments or rows; ADR 0026 gives the limits",
            )
    manifest = manifest_of(
        {
            name: FileEntry(sha256=hashlib.sha256(blob).hexdigest(), bytes=len(blob), rows=rows)
            for name, (blob, rows) in blobs.items()
        }
    )
    manifest_bytes = manifest.to_bytes()
    signature = Signature(
        key_id=key.public.key_id,
        public_key=key.public.raw,
        signature=key.sign(SIGNATURE_DOMAIN, manifest_digest(manifest_bytes)),
    )
    return pack_container(
        [
            (MANIFEST, manifest_bytes),
            (SIGNATURE, signature.to_bytes()),
            *((name, blobs[name][0]) for name in TABLES),
        ]
    )
