"""``segments.build``: the four CSV files a model owner has become one signed release."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.errors import UsageError
from protocol.keys import SigningKey
from protocol.segment_release import verify_release
from segments.build import BuildInputs, ModelTables, build_release, read_inputs, write_inputs


@pytest.fixture
def inputs(tables: ModelTables, tmp_path: Path) -> BuildInputs:
    return write_inputs(tables, tmp_path / "inputs")


def build(inputs: BuildInputs, key: SigningKey) -> bytes:
    return build_release(inputs, version="owner-2026.1", created="2026-03-01", key=key).data


@pytest.mark.slow  # 0.4 s or more: outside the inner loop (ADR 0032)
def test_the_csv_files_read_back_as_the_tables_they_were_written_from(
    inputs: BuildInputs, tables: ModelTables
) -> None:
    read, normalised = read_inputs(inputs)
    assert normalised == 0
    assert read.segments == tables.segments
    assert read.municipalities.equals(tables.municipalities)
    assert read.pc4.equals(tables.pc4)
    assert read.pc6.equals(tables.pc6)


def test_a_built_release_verifies_under_the_owners_key(
    inputs: BuildInputs, tables: ModelTables, model_key: SigningKey
) -> None:
    release = verify_release(build(inputs, model_key), model_key=model_key.public, where="t")
    assert (release.version, release.manifest.created) == ("owner-2026.1", "2026-03-01")
    assert not release.synthetic
    assert release.pc6.equals(tables.pc6)


def test_columns_in_another_order_are_read_by_name(
    inputs: BuildInputs, tables: ModelTables
) -> None:
    frame = pl.read_csv(inputs.pc4, infer_schema=False)
    frame.select(reversed(frame.columns)).write_csv(inputs.pc4)
    assert read_inputs(inputs)[0].pc4.equals(tables.pc4)


@settings(max_examples=10)
@given(decimals=st.integers(min_value=3, max_value=5))
def test_shares_rounded_in_the_input_are_normalised_and_counted(
    tables: ModelTables, tmp_path_factory: pytest.TempPathFactory, decimals: int
) -> None:
    ids = tables.segment_ids
    rounded = tables.pc6.with_columns(pl.col(s).round(decimals) for s in ids)
    inputs = write_inputs(
        ModelTables(tables.segments, tables.municipalities, tables.pc4, rounded),
        tmp_path_factory.mktemp("rounded"),
    )
    read, normalised = read_inputs(inputs)
    sums = read.pc6.select(pl.sum_horizontal(ids)).to_series()
    assert normalised > 0
    assert (sums - 1).abs().max() <= 1e-9


def _edit_csv(path: Path, row: int, column: str, value: str) -> None:
    frame = pl.read_csv(path, infer_schema=False)
    frame.with_columns(
        pl.when(pl.int_range(pl.len()) == row)
        .then(pl.lit(value))
        .otherwise(pl.col(column))
        .alias(column)
    ).write_csv(path)


def test_percentages_instead_of_shares_are_refused_naming_the_line(
    inputs: BuildInputs, tables: ModelTables
) -> None:
    frame = pl.read_csv(inputs.pc6, infer_schema=False)
    ids = tables.segment_ids
    frame.with_columns((pl.col(s).cast(pl.Float64) * 100).cast(pl.String) for s in ids).write_csv(
        inputs.pc6
    )
    with pytest.raises(UsageError, match=r"pc6\.csv line 2: the shares sum to 100\.0000, not 1"):
        read_inputs(inputs)


def test_households_that_are_not_whole_numbers_are_refused_naming_line_and_column(
    inputs: BuildInputs,
) -> None:
    _edit_csv(inputs.pc4, 3, "students", "12.5")
    with pytest.raises(UsageError, match=r"pc4\.csv line 5, column students: not a whole number"):
        read_inputs(inputs)


def test_an_empty_cell_is_refused(inputs: BuildInputs) -> None:
    _edit_csv(inputs.pc4, 0, "lat", "")
    with pytest.raises(UsageError, match=r"pc4\.csv line 2, column lat"):
        read_inputs(inputs)


def test_a_missing_segment_column_is_refused_naming_it(inputs: BuildInputs) -> None:
    pl.read_csv(inputs.pc6, infer_schema=False).drop("students").write_csv(inputs.pc6)
    with pytest.raises(UsageError, match="lacks the columns students"):
        read_inputs(inputs)


def test_an_extra_column_is_refused_naming_it(inputs: BuildInputs) -> None:
    frame = pl.read_csv(inputs.municipalities, infer_schema=False)
    frame.with_columns(pl.lit("x").alias("inhabitants")).write_csv(inputs.municipalities)
    with pytest.raises(UsageError, match="has columns it should not: inhabitants"):
        read_inputs(inputs)


def test_a_segment_listed_twice_is_refused(inputs: BuildInputs) -> None:
    frame = pl.read_csv(inputs.segments, infer_schema=False)
    pl.concat([frame, frame.head(1)]).write_csv(inputs.segments)
    with pytest.raises(UsageError, match="lists segment urban-young more than once"):
        read_inputs(inputs)


def test_a_segment_id_that_names_a_column_is_refused(inputs: BuildInputs) -> None:
    _edit_csv(inputs.segments, 0, "id", "province")
    with pytest.raises(
        UsageError, match=r"segments\.csv line 2: segment id 'province' is reserved"
    ):
        read_inputs(inputs)


def test_an_unknown_province_is_refused_naming_the_area(
    inputs: BuildInputs, tables: ModelTables, model_key: SigningKey
) -> None:
    _edit_csv(inputs.municipalities, 0, "province", "Noord-Holland")
    code = tables.municipalities["code"][0]
    with pytest.raises(UsageError, match=f"a province is not one of the twelve: 1 row .*{code}"):
        build(inputs, model_key)


def test_a_pc6_whose_pc4_is_missing_is_refused(
    inputs: BuildInputs, tables: ModelTables, model_key: SigningKey
) -> None:
    frame = pl.read_csv(inputs.pc4, infer_schema=False)
    frame.filter(pl.col("pc4") != tables.pc6["pc6"][0][:4]).write_csv(inputs.pc4)
    with pytest.raises(UsageError, match="a PC6 lies in a PC4 the pc4 table does not have"):
        build(inputs, model_key)


def test_a_file_that_is_not_utf8_is_refused(inputs: BuildInputs) -> None:
    inputs.municipalities.write_bytes(
        "code,name,province\nGM0001,Sûdwest,friesland\n".encode("cp1252")
    )
    with pytest.raises(UsageError, match="not a readable UTF-8 CSV file"):
        read_inputs(inputs)


def test_a_missing_file_is_refused_naming_it(inputs: BuildInputs) -> None:
    inputs.pc6.unlink()
    with pytest.raises(UsageError, match=r"pc6\.csv does not exist"):
        read_inputs(inputs)


def test_a_version_that_is_not_a_slug_is_refused(
    inputs: BuildInputs, model_key: SigningKey
) -> None:
    with pytest.raises(UsageError, match="version must be a lower-case slug"):
        build_release(inputs, version="CBS 2026", created="2026-03-01", key=model_key)
