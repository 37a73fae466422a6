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
  (``protocol.segment_tables``, which also holds their checks).

Untrusted bytes are checked in an order that parses as little as possible
before trust is established (:func:`verify_release`): size limits, then the
ZIP structure (``protocol.canonical_zip``: exactly the five member names,
stored, each within its limit, declared sizes equal to actual sizes, and the
whole file byte for byte the canonical container of its members), then the
signature over the manifest under the pinned key, then each table's size and
SHA-256 against the signed manifest, and only then is Parquet parsed and the
content checked. Every refusal is a :class:`~protocol.errors.PubliekError`
naming the file and what to do. ``docs/segment-model.md`` describes the
format field by field; ADR 0026 records why it looks like this.

This module builds releases too (:func:`pack_release`), so that the bytes a
verifier checks and the bytes a signer writes have one definition.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

import polars as pl

from protocol import canonical_zip
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
    Boolean,
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
from protocol.segment_tables import MAX_ROWS, RESERVED_IDS, check_tables, pc4_shares

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

# Limits, checked before anything is parsed: a real model (about 470,000 PC6
# codes, a few dozen segments) fits with room to spare (ADR 0026).
MAX_SEGMENTS = 64
MIB = 1024 * 1024
MAX_MEMBER_BYTES = {
    MANIFEST: 256 * 1024,
    SIGNATURE: 4 * 1024,
    MUNICIPALITIES: 1 * MIB,
    PC4: 16 * MIB,
    PC6: 384 * MIB,
}
# The members plus their ZIP headers (the container adds under 1 KiB).
MAX_RELEASE_BYTES = sum(MAX_MEMBER_BYTES.values()) + 4096

# The public key of the openly derived synthetic model key
# (``segments.synthetic.synthetic_model_key``; tests/segments keeps them equal).
# Its secret half is published, so a release it signs proves nothing: such a
# release must call itself synthetic, and every description of it says so.
DEMO_MODEL_KEY = "4Ky6RlFXxac8oocM6a5XEvFvaYouVwkHzV-hGopULt0"
DEMO_LABEL = "synthetic, signed by the public demo key — not for real releases"

VERSION = r"[a-z0-9][a-z0-9.-]{0,62}[a-z0-9]"
SEGMENT_ID = r"[a-z0-9][a-z0-9-]{1,39}"
DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
TEXT = r"[^\x00-\x1f\x7f-\x9f]"
MAX_NAME_CHARS = 80
MAX_DESCRIPTION_CHARS = 1000

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
            "synthetic": Boolean(note="`true`: the tables describe no real population"),
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


def read_release_file(path: Path) -> bytes:
    """A release file's bytes, refused unread when it is larger than a release may be."""
    try:
        with path.open("rb") as f:
            data = f.read(MAX_RELEASE_BYTES + 1)
    except FileNotFoundError as exc:
        raise UsageError(
            f"{path} does not exist", hint="give the path of a VERSION.segments file"
        ) from exc
    except OSError as exc:
        raise UsageError(
            f"{path} cannot be read ({type(exc).__name__})", hint="check the path"
        ) from exc
    if len(data) > MAX_RELEASE_BYTES:
        raise PayloadTooLarge(
            f"{path} is larger than a segment model release may be ({MAX_RELEASE_BYTES:,} bytes)",
            hint="use the release as the taskforce published it",
        )
    return data


def read_container(data: bytes, *, where: str) -> dict[str, bytes]:
    """The five members of a release file, after every check that needs no
    parsing of their content (``protocol.canonical_zip``)."""
    if not isinstance(data, bytes):
        raise MalformedMessage(f"{where}: a release is bytes")
    if len(data) > MAX_RELEASE_BYTES:
        raise PayloadTooLarge(
            f"{where} is {len(data):,} bytes, more than a segment model release may be "
            f"({MAX_RELEASE_BYTES:,})",
            hint="use the release as the taskforce published it",
        )

    def unsigned(missing: list[str]) -> PubliekError | None:
        if missing != [SIGNATURE]:
            return None
        return InvalidSignature(
            f"{where} is not signed: it has no {SIGNATURE}",
            hint="use only releases signed with the taskforce's model key",
        )

    return canonical_zip.read(
        data,
        where=where,
        names=MEMBERS,
        limits=MAX_MEMBER_BYTES,
        not_this_form=MalformedMessage(
            f"{where} is not a segment model release ({FORMAT}): not a ZIP file of its form",
            hint="use the VERSION.segments file as published; a JSON model file of format "
            "publiek-segment-model/1 is installed with `publiek agent segment-model install`",
        ),
        on_missing=unsigned,
    )


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
    owner's. The tables come with the columns ``protocol.segment_tables`` gives,
    in that order and of those types."""
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
    return canonical_zip.pack(
        [
            (MANIFEST, manifest_bytes),
            (SIGNATURE, signature.to_bytes()),
            *((name, blobs[name][0]) for name in TABLES),
        ]
    )
