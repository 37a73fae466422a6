"""The ingest places each household while its PC6 is known; the release uses that
placement when its model made it, and says how to get it back when not (ADR 0029)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from agent import segment_install
from agent.ingest import ingest_exports
from agent.ingest.mapping import Mapping
from agent.release_config import ReleaseConfig
from agent.segment_install import cached_release_model, install_model, pin_model_key
from agent.segments import PLACED, SegmentModel, with_ingest_placement
from agent.tables import build_tables
from agent.visits import HOUSEHOLD_TABLES
from agent.workspace import Workspace
from protocol.keys import SigningKey
from tests.ingest.ingest_fixtures import HEADER
from tests.small_release import small_release

KEY = SigningKey.generate()
PERIOD = "2026-Q3"


@pytest.fixture
def installed(tmp_path: Path, workspace: Path) -> SegmentModel:
    """The workspace with a small signed release installed under its pinned key."""
    ws = Workspace(workspace)
    pin_model_key(ws, KEY.public.to_text())
    file = tmp_path / "release.segments"
    file.write_bytes(small_release(KEY))
    return install_model(ws, file)


def _export(write: Callable[..., Path], model: SegmentModel, households: int = 40) -> Path:
    """One visit each of ``households`` addresses in PC6 codes of the model."""
    assert model.pc6 is not None
    codes = model.pc6["pc6"].head(households).to_list()
    rows = [f"B{i};14-08-2026;Hamlet;Toneel;{c};{i + 1};;1;10" for i, c in enumerate(codes)]
    return write("export.csv", "\n".join([HEADER, *rows]) + "\n")


def _ingest(workspace: Path, export: Path, mapping_file: Path) -> pl.DataFrame:
    ingest_exports([export], Mapping.load(mapping_file), Workspace(workspace))
    return Workspace(workspace).load_visits(PERIOD)


@pytest.mark.slow  # 0.4 s or more: outside the inner loop (ADR 0032)
def test_households_are_placed_by_the_installed_release_at_ingest(
    workspace, installed, write, mapping_file
) -> None:
    visits = _ingest(workspace, _export(write, installed), mapping_file)
    assert visits["segment_model"].cast(pl.String).unique().to_list() == [installed.digest]
    # Each household is where its PC6's shares and its key put it.
    pc6 = installed.pc6["pc6"].head(40)  # type: ignore[index]
    placement = installed.placement
    expected = placement.segments(visits["household_key"], placement.areas(pc6))
    by_row = visits.sort("source_row")["segment"].cast(pl.String)
    assert by_row.to_list() == expected.cast(pl.String).to_list()


def test_the_release_uses_the_stored_placement_of_its_own_model(
    workspace, installed, write, mapping_file, capsys
) -> None:
    visits = _ingest(workspace, _export(write, installed), mapping_file)
    capsys.readouterr()
    placed = with_ingest_placement(visits, installed)
    assert placed[PLACED].null_count() == 0
    assert placed[PLACED].to_list() == visits["segment"].cast(pl.String).to_list()
    build_tables(visits, installed, ReleaseConfig(), period=PERIOD)
    assert "not placed" not in capsys.readouterr().err


def test_another_model_places_by_pc4_and_names_the_fix(
    workspace, installed, write, mapping_file, capsys
) -> None:
    visits = _ingest(workspace, _export(write, installed), mapping_file)
    other = SegmentModel(
        version=installed.version,
        segments=installed.segments,
        shares=installed.shares,
        pc6=installed.pc6,
        release_digest="0" * 64,
    )
    capsys.readouterr()
    placed = with_ingest_placement(visits, other)
    assert placed[PLACED].null_count() == visits.height
    err = capsys.readouterr().err
    assert err.count("warning:") == 1
    assert "publiek agent ingest --replace" in err
    build_tables(visits, other, ReleaseConfig(), period=PERIOD)  # places by PC4


def test_household_tables_written_before_placement_are_still_read(
    workspace, installed, write, mapping_file
) -> None:
    _ingest(workspace, _export(write, installed), mapping_file)
    folder = Workspace(workspace).visits_dir / f"period={PERIOD}" / HOUSEHOLD_TABLES
    for table in folder.glob("*.parquet"):
        pl.read_parquet(table).drop("segment").write_parquet(table)
    visits = Workspace(workspace).load_visits(PERIOD)
    assert visits.height == 40
    assert visits["segment"].null_count() == visits["segment_model"].null_count() == 40
    build_tables(visits, installed, ReleaseConfig(), period=PERIOD)


def test_the_verified_release_is_cached_until_its_bytes_change(
    workspace, installed, monkeypatch
) -> None:
    ws = Workspace(workspace)
    first = cached_release_model(ws)  # verifies and caches

    def no_verification(*args: object, **kwargs: object) -> object:
        raise AssertionError("verified again")

    monkeypatch.setattr(segment_install, "verify_release", no_verification)
    again = cached_release_model(ws)
    assert again.digest == first.digest == installed.digest
    assert again.pc6 is not None and again.pc6.equals(installed.pc6)
    assert again.shares.equals(installed.shares)
    # Other bytes in the release file: verified again, not read from the cache.
    path = segment_install.release_path(ws)
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(AssertionError, match="verified again"):
        cached_release_model(ws)


def _households_by_segment(visits: pl.DataFrame, model: SegmentModel) -> dict[str, int]:
    requests = build_tables(visits, model, ReleaseConfig(), period=PERIOD)
    table = next(r for r in requests if r.measure == "households" and r.dimensions == ("segment",))
    return {key[0]: n for key, n in zip(table.keys, table.values, strict=True) if n}


def test_the_tables_count_households_in_their_stored_segment(
    workspace, installed, write, mapping_file
) -> None:
    visits = _ingest(workspace, _export(write, installed), mapping_file)
    first = installed.segments[0]
    stored = visits.with_columns(pl.lit(first, pl.Categorical).alias("segment"))
    assert _households_by_segment(stored, installed) == {first: 40}
    # Placed by another model: counted where their PC4 puts them instead.
    other = stored.with_columns(pl.lit("0" * 64, pl.Categorical).alias("segment_model"))
    assert len(_households_by_segment(other, installed)) > 1
