"""Every way a release file can be wrong is refused, each with its own message.

In the order verification meets them: the container (size, structure, names,
limits, canonical form), the signature under the pinned key, the tables
against the signed manifest, then the content of tables signed all the same.
"""

from __future__ import annotations

import io
import struct
import zipfile

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

import protocol.segment_release as segment_release
from protocol import canonical_zip
from protocol.errors import InvalidSignature, MalformedMessage, PayloadTooLarge, PubliekError
from protocol.keys import SigningKey
from protocol.segment_release import (
    MANIFEST,
    MEMBERS,
    PC4,
    PC6,
    SIGNATURE,
    TABLES,
    verify_release,
)
from segments.build import ModelTables
from tests.segments.forge import forge, members_of, span_of

WHERE = "model.segments"


def verify(data: bytes, key: SigningKey) -> None:
    verify_release(data, model_key=key.public, where=WHERE)


def repack(members: dict[str, bytes], order: list[str] | None = None) -> bytes:
    return canonical_zip.pack((name, members[name]) for name in order or list(members))


# --- the container ---------------------------------------------------------


def test_an_unsigned_release_is_refused_as_unsigned(
    release_bytes: bytes, model_key: SigningKey
) -> None:
    members = members_of(release_bytes)
    del members[SIGNATURE]
    with pytest.raises(InvalidSignature, match=r"is not signed: it has no signature\.json"):
        verify(repack(members), model_key)


@pytest.mark.parametrize("missing", [MANIFEST, *TABLES])
def test_a_release_without_one_of_its_members_is_refused(
    release_bytes: bytes, model_key: SigningKey, missing: str
) -> None:
    members = members_of(release_bytes)
    del members[missing]
    with pytest.raises(MalformedMessage, match=f"lacks {missing}"):
        verify(repack(members), model_key)


def test_a_release_with_an_extra_member_is_refused(
    release_bytes: bytes, model_key: SigningKey
) -> None:
    members = {**members_of(release_bytes), "notes.txt": b"hello"}
    with pytest.raises(MalformedMessage, match=r"holds a member it should not: 'notes\.txt'"):
        verify(repack(members), model_key)


@pytest.mark.parametrize("name", ["../pc4.parquet", "/etc/pc4.parquet", "a\\pc4.parquet"])
def test_a_member_name_with_a_path_is_refused(
    release_bytes: bytes, model_key: SigningKey, name: str
) -> None:
    members = {**members_of(release_bytes), name: b"x"}
    with pytest.raises(MalformedMessage, match="a member with a path in its name"):
        verify(repack(members), model_key)


def test_a_member_named_twice_is_refused(release_bytes: bytes, model_key: SigningKey) -> None:
    members = list(members_of(release_bytes).items())
    twice = canonical_zip.pack([*members, members[2]])
    with pytest.raises(MalformedMessage, match="holds a member twice"):
        verify(twice, model_key)


def test_a_member_larger_than_its_limit_is_refused_before_it_is_read(
    release_bytes: bytes, model_key: SigningKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    size = len(members_of(release_bytes)[PC6])
    monkeypatch.setitem(segment_release.MAX_MEMBER_BYTES, PC6, size - 1)
    with pytest.raises(PayloadTooLarge, match=r"pc6\.parquet declares more bytes than its limit"):
        verify(release_bytes, model_key)


def test_a_file_larger_than_a_release_may_be_is_refused(
    release_bytes: bytes, model_key: SigningKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(segment_release, "MAX_RELEASE_BYTES", len(release_bytes) - 1)
    with pytest.raises(PayloadTooLarge, match="more than a segment model release may be"):
        verify(release_bytes, model_key)


def _find_central(data: bytes, name: str) -> int:
    end = data.rindex(b"PK\x05\x06")
    start = struct.unpack("<L", data[end + 16 : end + 20])[0]
    offset = start
    while offset < end:
        name_len = struct.unpack("<H", data[offset + 28 : offset + 30])[0]
        if data[offset + 46 : offset + 46 + name_len].decode() == name:
            return offset
        offset += 46 + name_len
    raise AssertionError(name)


@pytest.mark.parametrize("field_offset", [20, 24], ids=["compressed size", "size"])
def test_a_declared_size_that_is_not_the_members_size_is_refused(
    release_bytes: bytes, model_key: SigningKey, field_offset: int
) -> None:
    data = bytearray(release_bytes)
    entry = _find_central(release_bytes, PC4)
    declared = struct.unpack("<L", data[entry + field_offset : entry + field_offset + 4])[0]
    data[entry + field_offset : entry + field_offset + 4] = struct.pack("<L", declared + 1000)
    with pytest.raises(PubliekError, match=WHERE):
        verify(bytes(data), model_key)


def test_a_file_claiming_more_entries_than_a_release_has_is_refused_before_parsing(
    release_bytes: bytes, model_key: SigningKey
) -> None:
    data = bytearray(release_bytes)
    end = len(data) - 22
    data[end + 8 : end + 12] = struct.pack("<HH", 60000, 60000)
    with pytest.raises(MalformedMessage, match="not a ZIP file of its form"):
        verify(bytes(data), model_key)


def test_a_compressed_release_is_refused(release_bytes: bytes, model_key: SigningKey) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members_of(release_bytes).items():
            archive.writestr(name, content)
    with pytest.raises(MalformedMessage, match="is compressed"):
        verify(out.getvalue(), model_key)


def test_the_same_members_written_by_another_zip_writer_are_not_the_release(
    release_bytes: bytes, model_key: SigningKey
) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, content in members_of(release_bytes).items():
            archive.writestr(name, content)
    with pytest.raises(MalformedMessage, match="not in its canonical form"):
        verify(out.getvalue(), model_key)


def test_members_in_another_order_are_not_the_release(
    release_bytes: bytes, model_key: SigningKey
) -> None:
    members = members_of(release_bytes)
    with pytest.raises(MalformedMessage, match="not in its canonical form"):
        verify(repack(members, order=list(reversed(MEMBERS))), model_key)


# --- the signature -----------------------------------------------------------


def test_a_release_signed_by_another_key_is_refused_naming_both_fingerprints(
    tables: ModelTables, model_key: SigningKey
) -> None:
    other = SigningKey.generate()
    with pytest.raises(InvalidSignature, match="not by the pinned model key"):
        verify(forge(tables, other), model_key)


def test_a_signature_by_the_pinned_key_over_another_manifest_is_refused(
    release_bytes: bytes, tables: ModelTables, model_key: SigningKey
) -> None:
    def renamed(manifest: dict[str, object]) -> None:
        manifest["version"] = "other-2026.1"

    members = members_of(release_bytes)
    members[SIGNATURE] = members_of(forge(tables, model_key, edit=renamed))[SIGNATURE]
    with pytest.raises(InvalidSignature, match="the signature does not match the manifest"):
        verify(repack(members), model_key)


@pytest.mark.parametrize("member", MEMBERS)
def test_a_flipped_byte_in_any_member_is_refused(
    release_bytes: bytes, model_key: SigningKey, member: str
) -> None:
    start, end = span_of(release_bytes, member)
    data = bytearray(release_bytes)
    data[(start + end) // 2] ^= 0x01
    with pytest.raises(PubliekError, match=WHERE):
        verify(bytes(data), model_key)


@pytest.mark.parametrize("member", MEMBERS)
def test_a_changed_member_in_an_intact_zip_is_refused_by_the_signature(
    release_bytes: bytes, model_key: SigningKey, member: str
) -> None:
    """The ZIP's own CRC rebuilt to match: only the signature and the hashes
    it covers can tell."""
    members = members_of(release_bytes)
    content = bytearray(members[member])
    content[len(content) // 2] ^= 0x01
    members[member] = bytes(content)
    expected = MalformedMessage if member == SIGNATURE else InvalidSignature
    with pytest.raises((expected, MalformedMessage)):
        verify(repack(members), model_key)
    if member in TABLES:
        with pytest.raises(InvalidSignature, match=f"{member} is not the table the signed"):
            verify(repack(members), model_key)


@given(position=st.integers(min_value=0), flip=st.integers(min_value=1, max_value=255))
def test_any_changed_byte_anywhere_is_refused(
    release_bytes: bytes, model_key: SigningKey, position: int, flip: int
) -> None:
    data = bytearray(release_bytes)
    data[position % len(data)] ^= flip
    with pytest.raises(PubliekError):
        verify(bytes(data), model_key)


@given(length=st.integers(min_value=0))
def test_a_truncated_release_is_refused(
    release_bytes: bytes, model_key: SigningKey, length: int
) -> None:
    with pytest.raises(PubliekError):
        verify(release_bytes[: length % len(release_bytes)], model_key)


# --- content, signed all the same -------------------------------------------


def _with(tables: ModelTables, **frames: pl.DataFrame) -> ModelTables:
    return ModelTables(
        tables.segments,
        frames.get("municipalities", tables.municipalities),
        frames.get("pc4", tables.pc4),
        frames.get("pc6", tables.pc6),
    )


def _refused(tables: ModelTables, key: SigningKey, match: str) -> None:
    with pytest.raises(MalformedMessage, match=match):
        verify(forge(tables, key), key)


def test_shares_that_do_not_sum_to_one_are_refused(
    tables: ModelTables, model_key: SigningKey
) -> None:
    first = tables.segment_ids[0]
    pc6 = tables.pc6.with_columns(
        pl.when(pl.int_range(pl.len()) == 5)
        .then(pl.col(first) + 0.01)
        .otherwise(pl.col(first))
        .alias(first)
    )
    code = pc6["pc6"][5]
    _refused(
        _with(tables, pc6=pc6), model_key, rf"shares do not sum to 1 .*1 row \(the first: {code}\)"
    )


def test_a_negative_share_is_refused(tables: ModelTables, model_key: SigningKey) -> None:
    a, b = tables.segment_ids[:2]
    pc6 = tables.pc6.with_columns((pl.col(a) + pl.col(b) + 0.5).alias(a), pl.lit(-0.5).alias(b))
    _refused(_with(tables, pc6=pc6), model_key, "a share is not a number from 0 to 1")


def test_a_pc6_whose_pc4_is_missing_is_refused(tables: ModelTables, model_key: SigningKey) -> None:
    missing = int(tables.pc6["pc6"][0][:4])
    pc4 = tables.pc4.filter(pl.col("pc4") != missing)
    _refused(_with(tables, pc4=pc4), model_key, "a PC6 lies in a PC4 the pc4 table does not have")


def test_a_duplicate_segment_id_is_refused(tables: ModelTables, model_key: SigningKey) -> None:
    def twice(manifest: dict[str, object]) -> None:
        segments = manifest["segments"]
        assert isinstance(segments, list)
        segments[1] = {**segments[1], "id": segments[0]["id"]}

    with pytest.raises(MalformedMessage, match="names segment urban-young more than once"):
        verify(forge(tables, model_key, edit=twice), model_key)


@pytest.mark.parametrize("table", ["pc4", "municipalities"])
def test_an_unknown_province_is_refused(
    tables: ModelTables, model_key: SigningKey, table: str
) -> None:
    frame = getattr(tables, table).with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.lit("holland"))
        .otherwise(pl.col("province"))
        .alias("province")
    )
    _refused(_with(tables, **{table: frame}), model_key, "a province is not one of the twelve")


def test_a_pc4_in_another_province_than_its_municipality_is_refused(
    tables: ModelTables, model_key: SigningKey
) -> None:
    pc4 = tables.pc4.with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.lit("limburg" if tables.pc4["province"][0] != "limburg" else "zeeland"))
        .otherwise(pl.col("province"))
        .alias("province")
    )
    _refused(_with(tables, pc4=pc4), model_key, "a PC4's province is not its municipality's")


def test_negative_households_are_refused(tables: ModelTables, model_key: SigningKey) -> None:
    segment = tables.segment_ids[-1]
    pc4 = tables.pc4.with_columns(pl.lit(-1, dtype=pl.Int64).alias(segment))
    _refused(_with(tables, pc4=pc4), model_key, "a number of households is negative")


def test_households_that_are_not_whole_numbers_are_refused(
    tables: ModelTables, model_key: SigningKey
) -> None:
    segment = tables.segment_ids[0]
    pc4 = tables.pc4.with_columns(pl.col(segment).cast(pl.Float64))
    _refused(_with(tables, pc4=pc4), model_key, f"column {segment} is Float64, not Int64")


@pytest.mark.parametrize("code", ["1234SA", "0123AB", "1234ab", "12345A"])
def test_a_pc6_code_that_cannot_exist_is_refused(
    tables: ModelTables, model_key: SigningKey, code: str
) -> None:
    pc6 = tables.pc6.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.lit(code)).otherwise("pc6").alias("pc6")
    )
    _refused(_with(tables, pc6=pc6), model_key, "a PC6 is not four digits and two capital")


def test_a_centroid_outside_the_netherlands_is_refused(
    tables: ModelTables, model_key: SigningKey
) -> None:
    pc4 = tables.pc4.with_columns(pl.col("lon").alias("lat"), pl.col("lat").alias("lon"))
    _refused(_with(tables, pc4=pc4), model_key, "a centroid lies outside the Netherlands")


def test_a_pc4_listed_twice_is_refused(tables: ModelTables, model_key: SigningKey) -> None:
    pc4 = pl.concat([tables.pc4, tables.pc4.head(1)])
    _refused(_with(tables, pc4=pc4), model_key, "a PC4 appears more than once")


def test_a_table_whose_rows_are_not_the_manifests_count_is_refused(
    tables: ModelTables, model_key: SigningKey
) -> None:
    def more(manifest: dict[str, object]) -> None:
        files = manifest["files"]
        assert isinstance(files, dict)
        files[PC4]["rows"] += 1

    with pytest.raises(MalformedMessage, match=r"not the .* its manifest states"):
        verify(forge(tables, model_key, edit=more), model_key)


def test_a_manifest_with_an_unknown_field_is_refused(
    tables: ModelTables, model_key: SigningKey
) -> None:
    def extra(manifest: dict[str, object]) -> None:
        manifest["licence"] = "CC-BY"

    with pytest.raises(MalformedMessage, match="has unknown fields: licence"):
        verify(forge(tables, model_key, edit=extra), model_key)
