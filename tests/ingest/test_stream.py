"""The one streaming pass: groups of rows, household tables beside the visits, re-runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from agent.ingest import IngestReport, ingest_exports, keying, stream
from agent.ingest.address_book import AddressBook
from agent.ingest.coded_values import ByCode
from agent.ingest.mapping import Mapping
from agent.ingest.plan import ReadPlan
from agent.ingest.rows import HASH_SEEDS, address_hash, price_of
from agent.segments import synthetic_demo_model
from agent.visits import PLACED_BY_METADATA, PLACEMENT_SCHEMA, VISIT_SCHEMA
from agent.workspace import Workspace
from protocol.keys import SecretBytes
from tests.ingest.ingest_fixtures import GOOD_ROWS, HEADER

ROWS = [
    *GOOD_ROWS,
    "B5;01-10-2026;Hamlet;Toneel;1234AB;12 a;;2;24,50",  # same household, next quarter
    "B6;31-02-2026;Hamlet;Toneel;1234AB;12-a;;2;24,50",  # invalid date
    "B7;14-08-2026;Hamlet;Toneel;;;onbekend;1;24,50",  # no household key
    "B8;17-08-2026;Hamlet;Toneel;1234 AB;12-a;jan@example.nl;1;24,50",  # B1's address again
]


def _ingest(tmp_path: Path, name: str, export: Path, mapping_file: Path) -> IngestReport:
    # These small exports reject many of their rows on purpose: nothing is held back.
    return ingest_exports(
        [export], Mapping.load(mapping_file), Workspace(tmp_path / name), max_rejected=1.0
    )


def _visits(tmp_path: Path, name: str) -> pl.DataFrame:
    workspace = Workspace(tmp_path / name)
    return pl.concat([workspace.load_visits(p) for p in ("2026-Q3", "2026-Q4")]).sort("source_row")


@pytest.fixture
def export(write: Callable[..., Path]) -> Path:
    return write("export.csv", "\n".join([HEADER, *ROWS]) + "\n")


@pytest.mark.slow  # 0.4 s or more: outside the inner loop (ADR 0032)
def test_rows_in_many_small_groups_keyed_in_the_child_give_what_one_group_gives(
    tmp_path, export, mapping_file, monkeypatch
) -> None:
    whole = _ingest(tmp_path, "one", export, mapping_file)
    monkeypatch.setattr(stream, "GROUP_ROWS", 2)
    monkeypatch.setattr(keying, "PROCESS_MIN", 1)
    split = _ingest(tmp_path, "many", export, mapping_file)
    assert {k: v for k, v in split.to_dict().items() if k != "quarantine"} == {
        k: v for k, v in whole.to_dict().items() if k != "quarantine"
    }
    assert whole.households == 4 and whole.rows_accepted == 6
    one, many = _visits(tmp_path, "one"), _visits(tmp_path, "many")
    # Keys differ between the two workspaces (each makes its own link key, and its
    # own sector keys), and so do the segments drawn from them; everything else is the same.
    keyed = ("household_key", "link_key", "segment")
    assert one.drop(keyed).equals(many.drop(keyed))
    # The same household gets the same key in every group of its period.
    by_row = dict(zip(many["source_row"], many["household_key"], strict=True))
    assert by_row[2] == by_row[3] == by_row[9]
    assert by_row[6] != by_row[2]  # another quarter, another sector key
    # ... and the same link key in every period: the link key does not rotate.
    links = dict(zip(many["source_row"], many["link_key"], strict=True))
    assert links[2] == links[3] == links[9] == links[6]
    assert all(len(k) == 32 for k in many["link_key"])
    assert links[2] not in many["household_key"].to_list()
    for column in ("household_key", "link_key"):
        assert one[column].is_duplicated().to_list() == many[column].is_duplicated().to_list()


def test_visit_files_hold_household_numbers_and_the_keys_sit_in_one_table(
    tmp_path, export, mapping_file
) -> None:
    _ingest(tmp_path, "ws", export, mapping_file)
    folder = tmp_path / "ws" / "visits" / "period=2026-Q3"
    parts = sorted(folder.glob("*.parquet"))
    assert parts and all(p.stem.rsplit("-", 1)[1].isdigit() for p in parts)
    stored = pl.read_parquet(parts)
    assert "household_key" not in stored.columns and "pc4" not in stored.columns
    table = pl.read_parquet(next((folder / "households").glob("*.parquet")))
    assert table.columns == ["household", "household_key", "link_key", "pc4", "segment"]
    assert set(stored["household"]) <= set(table["household"])
    # The model that placed the households is named in the table's metadata.
    placed_by = pl.read_parquet_metadata(next((folder / "households").glob("*.parquet")))
    assert placed_by[PLACED_BY_METADATA] == synthetic_demo_model().digest


def test_visit_files_with_the_whole_schema_are_read_beside_ingested_ones(
    tmp_path, export, mapping_file
) -> None:
    _ingest(tmp_path, "ws", export, mapping_file)
    workspace = Workspace(tmp_path / "ws")
    ingested = workspace.load_visits("2026-Q3")
    ingested.head(1).with_columns(
        pl.lit("whole").alias("source_digest"), pl.lit("W1").alias("order_id")
    ).write_parquet(workspace.visits_dir / "period=2026-Q3" / "whole.parquet")
    both = workspace.load_visits("2026-Q3")
    assert both.schema == pl.Schema({**VISIT_SCHEMA, **PLACEMENT_SCHEMA})
    assert both.height == ingested.height + 1
    assert both.filter(pl.col("source_digest") == "whole").height == 1


@pytest.mark.slow  # 0.4 s or more: outside the inner loop (ADR 0032)
def test_a_run_after_a_killed_one_replaces_its_parts_instead_of_adding_to_them(
    tmp_path, export, mapping_file
) -> None:
    _ingest(tmp_path, "ws", export, mapping_file)
    workspace = Workspace(tmp_path / "ws")
    folder = workspace.visits_dir / "period=2026-Q3"
    digest = next(folder.glob("*.parquet")).stem.rsplit("-", 1)[0]
    # A run killed while moving its files left a part behind and recorded nothing.
    stale = folder / f"{digest}-0042.parquet"
    stale.write_bytes(next(folder.glob("*.parquet")).read_bytes())
    with workspace.connect() as db:
        db.execute("DELETE FROM ingested_files")
    before = workspace.load_visits("2026-Q3").height
    _ingest(tmp_path, "ws", export, mapping_file)
    assert not stale.exists()
    assert workspace.load_visits("2026-Q3").height < before
    assert (
        workspace.load_visits("2026-Q3").height
        == _visits(tmp_path, "ws").filter(pl.col("period") == "2026-Q3").height
    )


def test_a_row_gets_the_first_reason_that_applies_with_prices_parsed_per_group(
    tmp_path, write
) -> None:
    mapping = write(
        "map.toml",
        '[columns]\nvisit_date = "Datum"\nemail = "E-mail"\nprice = "Prijs"\n'
        'birth_year = "Geboortejaar"\n',
    )
    export = write(
        "export.csv",
        "Datum;E-mail;Prijs;Geboortejaar\n"
        "31-02-2026;a@example.nl;gratis;1990\n"  # date first
        "14-08-2026;b@example.nl;gratis;1700\n"  # price before birth year
        "14-08-2026;c@example.nl;-5,00;1990\n"  # negative price
        "14-08-2026;d@example.nl;12,50;1700\n"  # birth year
        "14-08-2026;e@example.nl;€ 1.234,50;1990\n"  # accepted
        "14-08-2026;f@example.nl;;1990\n",  # no price: accepted
    )
    report = _ingest(tmp_path, "ws", export, mapping)
    quarantine = pl.read_parquet(next((tmp_path / "ws" / "quarantine").glob("*.parquet")))
    assert quarantine.select("source_row", "reason").rows() == [
        (2, "invalid_date"),
        (3, "invalid_price"),
        (4, "invalid_price"),
        (5, "invalid_birth_year"),
    ]
    assert report.rows_accepted == 2
    prices = Workspace(tmp_path / "ws").load_visits("2026-Q3").sort("source_row")["price"]
    assert prices.to_list() == [1234.5, None]


def test_two_new_addresses_sharing_a_64_bit_hash_get_numbers_of_their_own() -> None:
    """New addresses are told apart by h1 first; a collision takes a second round."""
    keys = keying.Keying()
    book = AddressBook(lambda _period: SecretBytes(bytes(32)), keys)
    rows = pl.DataFrame(
        {
            "period_code": [8106] * 5,
            "h1": [1, 1, 2, 1, 1],  # three addresses share h1 = 1
            "h2": [1, 2, 1, 2, 3],
            "postcode": ["1234AB", "1234AB", "1234AB", "1234AB", "1234AB"],
            "house_number": ["1", "2", "3", "2", "4"],
            "email": [None] * 5,
        },
        schema_overrides={
            "h1": pl.UInt64,
            "h2": pl.UInt64,
            "period_code": pl.Int32,
            "email": pl.String,
        },
    )
    try:
        numbers = book.numbers(rows, accepted=None).to_list()
        assert numbers[0] != numbers[1] and numbers[1] == numbers[3]
        assert len({numbers[0], numbers[1], numbers[2], numbers[4]}) == 4
        table = book.household_table()
    finally:
        keys.close()
    assert sorted(table["household"].to_list()) == sorted({*numbers})
    assert table["household_key"].n_unique() == 4
    # Met again in a later group: found, nothing added.
    again = AddressBook(lambda _period: SecretBytes(bytes(32)), keying.Keying())
    try:
        assert again.numbers(rows, accepted=None).to_list() == numbers
        assert again.numbers(rows.reverse(), accepted=None).to_list() == numbers[::-1]
        assert len(again.index) == 4
    finally:
        again.keying.close()


def test_address_hashes_tell_fields_apart_not_only_values() -> None:
    frame = pl.DataFrame(
        {
            "period_code": [8106, 8106, 8106, 8107, 8106, 8106],
            "postcode": ["12", "1234AB", "1234AB", "1234AB", None, "1234AB"],
            "house_number": ["1234AB", "12", "12", "12", "1234AB", None],
            "email": [None, None, None, None, "12", "12"],
        },
        schema_overrides={"period_code": pl.Int32},
    )
    hashes = frame.select(*(address_hash(seed).alias(f"h{n}") for n, seed in enumerate(HASH_SEEDS)))
    # Rows 1 and 2 are one address; swapped fields, another period or the same
    # values in other columns are other addresses, under both hashes.
    for column in hashes.columns:
        values = hashes[column].to_list()
        assert values[1] == values[2]
        assert len(set(values)) == 5


def test_a_plans_coded_column_keeps_its_codes_when_no_other_column_of_it_is_left() -> None:
    plan = ReadPlan(columns={}, date_format="%d-%m-%Y", decimal=",")
    first = pl.Series(["Toneel", "Dans", None]).cast(plan.labels.dtype)
    assert first.to_physical().to_list() == [0, 1, None]
    del first  # only the plan holds the Categorical now
    again = pl.Series(["Dans", "Opera"]).cast(plan.labels.dtype)
    assert again.to_physical().to_list() == [1, 2]


def test_values_are_mapped_by_code_from_the_groups_that_hold_them() -> None:
    """A code can exist before any group holds its value (the engine codes ahead):
    the map fills it only when a group does, and never from the Categorical's list."""
    plan = ReadPlan(columns={}, date_format="%d-%m-%Y", decimal=",")
    ahead = pl.Series(["12,50", "x", "3,00"]).cast(plan.prices.dtype)  # codes 0, 1, 2
    prices = ByCode(price_of(","))
    group = pl.Series(["3,00", None, "12,50", "3,00"]).cast(plan.prices.dtype)
    by_code = prices.update(group)
    assert by_code["price"].gather(group.to_physical()).to_list() == [3.0, None, 12.5, 3.0]
    assert prices.known.to_list() == [True, False, True]
    later = pl.Series(["x", "12,50"]).cast(plan.prices.dtype)
    assert prices.update(later)["price"].to_list() == [12.5, None, 3.0]
    assert prices.table()["value"].to_list() == ["12,50", "x", "3,00"]
    del ahead
