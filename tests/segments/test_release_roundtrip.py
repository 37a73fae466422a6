"""A release built and signed verifies and parses back into the tables it was made of."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.errors import InvalidSignature, MalformedMessage, UnsupportedVersion, UsageError
from protocol.keys import SigningKey
from protocol.segment_release import (
    FORMAT,
    MANIFEST,
    MEMBERS,
    TABLES,
    FileEntry,
    Manifest,
    Segment,
    SegmentRelease,
    Texts,
    open_unpinned,
    read_release_file,
    verify_release,
)
from protocol.segment_tables import RESERVED_IDS
from segments.build import ModelTables
from segments.synthetic import synthetic_model_key
from tests.segments.forge import VERSION, forge, members_of, pack


def test_a_release_verifies_and_holds_exactly_its_tables(
    release: SegmentRelease, tables: ModelTables
) -> None:
    assert release.version == VERSION
    assert release.manifest.format == FORMAT
    assert release.manifest.segments == tables.segments
    assert release.segments == tables.segment_ids
    assert release.pinned
    assert not release.synthetic
    assert release.municipalities.equals(tables.municipalities)
    assert release.pc4.equals(tables.pc4)
    assert release.pc6.equals(tables.pc6)


def test_the_digest_is_the_sha256_of_the_signed_manifest(
    release: SegmentRelease, release_bytes: bytes
) -> None:
    manifest = members_of(release_bytes)[MANIFEST]
    assert release.digest == hashlib.sha256(manifest).hexdigest()
    assert release.manifest.to_bytes() == manifest


def test_the_file_is_a_plain_zip_of_the_five_members_in_order(release_bytes: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(release_bytes)) as archive:
        assert archive.namelist() == list(MEMBERS)
        assert archive.testzip() is None
        assert {i.compress_type for i in archive.infolist()} == {zipfile.ZIP_STORED}


def test_the_manifest_is_canonical_json_listing_each_table(release_bytes: bytes) -> None:
    manifest = json.loads(members_of(release_bytes)[MANIFEST])
    assert set(manifest) == {"format", "version", "synthetic", "created", "segments", "files"}
    assert set(manifest["files"]) == {"municipalities.parquet", "pc4.parquet", "pc6.parquet"}
    assert manifest["segments"][0]["name"].keys() == {"nl", "en"}


def test_packing_the_same_tables_twice_gives_the_same_bytes(
    tables: ModelTables, model_key: SigningKey, release_bytes: bytes
) -> None:
    assert pack(tables, model_key) == release_bytes


def test_the_pc4_fallback_shares_sum_to_one_per_pc4(release: SegmentRelease) -> None:
    shares = release.pc4_shares()
    sums = shares.group_by("pc4").agg(pl.col("share").sum())
    assert sums["share"].min() == pytest.approx(1.0)
    assert sums["share"].max() == pytest.approx(1.0)
    assert shares.columns == ["pc4", "segment", "share", "households"]
    first = shares.filter(pl.col("pc4") == shares["pc4"][0])
    assert tuple(first["segment"]) == release.segments


def test_a_pc4_without_households_has_no_fallback_shares(
    tables: ModelTables, model_key: SigningKey
) -> None:
    empty = tables.pc4["pc4"][0]
    pc4 = tables.pc4.with_columns(
        pl.when(pl.col("pc4") == empty).then(0).otherwise(pl.col(s)).alias(s)
        for s in tables.segment_ids
    )
    changed = ModelTables(tables.segments, tables.municipalities, pc4, tables.pc6)
    release = verify_release(pack(changed, model_key), model_key=model_key.public, where="t")
    assert empty not in release.pc4_shares()["pc4"]
    assert release.households == int(pc4.select(pl.sum_horizontal(tables.segment_ids)).sum().item())


def test_a_model_without_pc6_codes_is_a_pc4_only_model(
    tables: ModelTables, model_key: SigningKey
) -> None:
    pc4_only = ModelTables(tables.segments, tables.municipalities, tables.pc4, tables.pc6.head(0))
    release = verify_release(pack(pc4_only, model_key), model_key=model_key.public, where="t")
    assert release.pc6.height == 0


def test_show_without_a_pinned_key_checks_the_signature_under_the_key_the_file_names(
    release_bytes: bytes, model_key: SigningKey
) -> None:
    release = open_unpinned(release_bytes, where="t")
    assert not release.pinned
    assert release.signer == model_key.public


def test_a_release_of_another_version_than_expected_is_refused(
    release_bytes: bytes, model_key: SigningKey
) -> None:
    with pytest.raises(UsageError, match=r"not synthetic-2026\.1, the version asked for"):
        verify_release(
            release_bytes,
            model_key=model_key.public,
            where="t",
            expected_version="synthetic-2026.1",
        )


def test_a_manifest_of_another_format_is_refused_as_such(
    tables: ModelTables, model_key: SigningKey
) -> None:
    def older(manifest: dict[str, object]) -> None:
        manifest["format"] = "publiek-segment-model/1"

    forged = forge(tables, model_key, edit=older)
    with pytest.raises(UnsupportedVersion, match="'publiek-segment-model/1' is not"):
        verify_release(forged, model_key=model_key.public, where="t")


def test_a_json_model_file_of_format_1_is_refused_with_the_command_that_installs_it(
    model_key: SigningKey,
) -> None:
    old = json.dumps({"format": "publiek-segment-model/1", "version": "x"}).encode()
    with pytest.raises(MalformedMessage, match="agent segment-model install"):
        verify_release(old, model_key=model_key.public, where="t")


def test_the_demo_key_cannot_sign_a_release_that_claims_to_be_real(tables: ModelTables) -> None:
    with pytest.raises(UsageError, match="synthetic releases only"):
        pack(tables, synthetic_model_key(), synthetic=False)
    forged = forge(tables, synthetic_model_key())  # synthetic: false in the manifest
    with pytest.raises(InvalidSignature, match="does not call itself synthetic"):
        verify_release(forged, model_key=synthetic_model_key().public, where="t")


def test_a_release_file_larger_than_the_limit_is_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, release_bytes: bytes
) -> None:
    import protocol.segment_release as segment_release
    from protocol.errors import PayloadTooLarge

    path = tmp_path / "big.segments"
    path.write_bytes(release_bytes)
    monkeypatch.setattr(segment_release, "MAX_RELEASE_BYTES", len(release_bytes) - 1)
    with pytest.raises(PayloadTooLarge):
        read_release_file(path)


_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=80)
_SEGMENT = st.builds(
    Segment,
    id=st.from_regex(r"\A[a-z0-9][a-z0-9-]{1,39}\Z").filter(lambda s: s not in RESERVED_IDS),
    name=st.builds(Texts, nl=_TEXT, en=_TEXT),
    description=st.builds(Texts, nl=_TEXT, en=_TEXT),
)
_ENTRY = st.builds(
    FileEntry,
    sha256=st.from_regex(r"\A[0-9a-f]{64}\Z"),
    bytes=st.integers(1, 1_000_000),
    rows=st.integers(0, 600_000),
)


@given(
    version=st.from_regex(r"\A[a-z0-9][a-z0-9.-]{0,62}[a-z0-9]\Z"),
    synthetic=st.booleans(),
    created=st.dates().map(lambda d: d.isoformat()),
    segments=st.lists(_SEGMENT, min_size=1, max_size=8, unique_by=lambda s: s.id),
    entries=st.tuples(_ENTRY, _ENTRY, _ENTRY),
)
def test_a_manifest_reads_back_from_its_canonical_bytes(
    version: str,
    synthetic: bool,
    created: str,
    segments: list[Segment],
    entries: tuple[FileEntry, FileEntry, FileEntry],
) -> None:
    manifest = Manifest(
        version=version,
        synthetic=synthetic,
        created=created,
        segments=tuple(segments),
        files=dict(zip(TABLES, entries, strict=True)),
    )
    assert Manifest.from_bytes(manifest.to_bytes()) == manifest
