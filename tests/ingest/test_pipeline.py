"""Ingest end to end: canonical visits, household keys, quarantine, report, idempotence."""

from __future__ import annotations

import hashlib
import hmac
import json
import stat
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import xlsxwriter

from agent.ingest import ingest_exports
from agent.ingest.mapping import Mapping
from agent.workspace import Workspace
from protocol.encoding import b64decode
from protocol.errors import UsageError
from tests.ingest.ingest_fixtures import GOOD_ROWS, HEADER, MAPPING

PERSONAL = ("1234", "12-a", "jan@example.nl", "piet@", "9999", "zz")


def run_ingest(
    run_cli: Callable[..., Any], tmp_path: Path, *exports: Path, options: tuple[str, ...] = ()
) -> Any:
    return run_cli(
        "agent",
        "ingest",
        *map(str, exports),
        "--mapping",
        str(tmp_path / "map.toml"),
        "-w",
        str(tmp_path / "ws"),
        "--report-json",
        str(tmp_path / "report.json"),
        *options,
    )


def sector_key(tmp_path: Path, period: str) -> bytes:
    text = (tmp_path / "ws" / "keys" / f"local-sector-{period}.key").read_text(encoding="ascii")
    return b64decode(text.strip(), what="sector key")


def test_canonical_visits_carry_keys_and_pc4_but_no_address(
    run_cli, tmp_path, mapping_file, export_csv
) -> None:
    result = run_ingest(run_cli, tmp_path, export_csv)
    assert result.exit_code == 0, result.output
    visits = Workspace(tmp_path / "ws").load_visits("2026-Q3").sort("source_row")
    assert visits["source_row"].to_list() == [2, 3, 4, 5]
    assert visits["pc4"].to_list() == ["1234", "1234", None, "9999"]
    assert visits["tickets"].to_list() == [2, 1, 3, 1]
    assert visits["price"].to_list() == [24.5, 24.5, 1024.0, 10.0]
    assert visits["discipline"].to_list() == ["theater", "theater", "music", "music"]
    assert visits["visit_date"].to_list()[0] == date(2026, 8, 14)
    key = sector_key(tmp_path, "2026-Q3")
    expected = [
        hmac.digest(key, b"1234AB|12|A", hashlib.sha256),
        hmac.digest(key, b"1234AB|12|A", hashlib.sha256),
        hmac.digest(key, b"piet@example.nl", hashlib.sha256),
        hmac.digest(key, b"9999ZZ|1|", hashlib.sha256),
    ]
    assert visits["household_key"].to_list() == expected
    stored = pl.read_parquet(next((tmp_path / "ws" / "visits").glob("*/*.parquet")))
    for column in stored.select(pl.col(pl.String)).columns:
        values = stored[column].drop_nulls().to_list()
        assert not any("1234AB" in v or "@" in v for v in values), column


def test_report_json_and_terminal_carry_counts_not_content(
    run_cli, tmp_path, write, mapping_file
) -> None:
    rows = [
        *GOOD_ROWS,
        "B5;31-02-2026;X;Toneel;1234 ab;12;;1;1",  # invalid_date
        "B6;14-08-2026;X;Toneel;1234 ab;12;;nul;1",  # invalid_tickets
        "B7;14-08-2026;X;Toneel;1234 ab;12;;1;gratis",  # invalid_price
        "B8;14-08-2026;X;Toneel;12 ab;;geen;1;1",  # no_household_key
        "B9;14-08-2026;X;Circus;;;jan@example.nl;1;1",  # unmapped discipline, accepted
    ]
    export = write("export.csv", "\n".join([HEADER, *rows]) + "\n")
    result = run_ingest(run_cli, tmp_path, export, options=("--max-rejected", "0.5"))
    assert result.exit_code == 0
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["rows_read"] == 9
    assert report["rows_accepted"] == 5
    assert report["rows_rejected"] == 4
    assert report["rejected_by_reason"] == {
        "invalid_date": 1,
        "invalid_tickets": 1,
        "invalid_price": 1,
        "no_household_key": 1,
    }
    assert report["households"] == 4
    # seen in one row only: counted, not named (a rare value may be a visitor's name)
    assert report["unmapped_disciplines"] == {
        "(1 rare value(s) withheld: each seen in fewer than 10 rows)": 1
    }
    assert report["detected"]["export.csv"]["delimiter"] == ";"
    assert "invalid_date 1" in result.output
    for value in PERSONAL:
        assert value not in result.output.lower()


def test_quarantine_holds_row_column_and_reason_only(
    run_cli, tmp_path, write, mapping_file
) -> None:
    rows = [GOOD_ROWS[0], "B5;99-99-2026;X;Toneel;1234 ab;12;;1;1", "B8;14-08-2026;X;;;;;1;1"]
    export = write("export.csv", "\n".join([HEADER, *rows]) + "\n")
    run_ingest(run_cli, tmp_path, export)
    quarantine = pl.read_parquet(next((tmp_path / "ws" / "quarantine").glob("*.parquet")))
    assert quarantine.columns == ["source_file", "source_digest", "source_row", "column", "reason"]
    assert quarantine.select("source_row", "column", "reason").rows() == [
        (3, "Voorstellingsdatum", "invalid_date"),
        (4, "Postcode+Huisnummer+E-mailadres", "no_household_key"),
    ]


def test_the_same_file_twice_is_never_counted_twice(
    run_cli, tmp_path, mapping_file, export_csv, write
) -> None:
    copy = write("copy-with-other-name.csv", export_csv.read_bytes())
    first = run_ingest(run_cli, tmp_path, export_csv, copy)
    assert "skipped copy-with-other-name.csv" in first.output
    second = run_ingest(run_cli, tmp_path, export_csv)
    assert second.exit_code == 0
    assert "skipped export.csv" in second.output
    assert Workspace(tmp_path / "ws").load_visits("2026-Q3").height == 4


def test_an_export_of_an_ingested_size_but_other_bytes_is_ingested(
    run_cli, tmp_path, mapping_file, export_csv, write
) -> None:
    run_ingest(run_cli, tmp_path, export_csv)
    content = export_csv.read_bytes()
    changed = content.replace(b"2026", b"2025", 1)
    assert len(changed) == len(content) and changed != content
    other = write("other.csv", changed)
    result = run_ingest(run_cli, tmp_path, other)
    assert result.exit_code == 0
    assert "skipped" not in result.output


def test_a_cp1252_export_of_an_ingested_size_is_read_as_cp1252(
    run_cli, tmp_path, mapping_file, write
) -> None:
    rows = [r.replace("Hamlet", "Hamlét") for r in GOOD_ROWS]
    first = write("first.csv", "\n".join([HEADER, *rows]) + "\n", encoding="cp1252")
    run_ingest(run_cli, tmp_path, first)
    # Same size, other bytes: its digest is computed before the pass and its
    # whole-file check (not UTF-8) decides how the pass reads it.
    # Other order ids too: an order in two exports counts once (the newest export's).
    second = write(
        "second.csv", "\n".join([HEADER, *["C" + r[1:] for r in rows]]) + "\n", encoding="cp1252"
    )
    assert second.stat().st_size == first.stat().st_size
    result = run_ingest(run_cli, tmp_path, second)
    assert result.exit_code == 0, result.output
    assert "skipped" not in result.output
    events = Workspace(tmp_path / "ws").load_visits("2026-Q3").get_column("event").to_list()
    assert events.count("Hamlét") == 4


def test_a_file_ingested_by_an_agent_that_kept_no_sizes_is_still_skipped(
    run_cli, tmp_path, mapping_file, export_csv
) -> None:
    run_ingest(run_cli, tmp_path, export_csv)
    with Workspace(tmp_path / "ws").connect() as db:
        db.execute("DELETE FROM ingested_file_sizes")
    again = run_ingest(run_cli, tmp_path, export_csv)
    assert "skipped export.csv" in again.output
    assert Workspace(tmp_path / "ws").load_visits("2026-Q3").height == 4


def test_several_exports_in_one_call_add_up(run_cli, tmp_path, write, mapping_file) -> None:
    a = write("a.csv", "\n".join([HEADER, *GOOD_ROWS[:2]]) + "\n")
    b = write("b.csv", "\n".join([HEADER, *GOOD_ROWS[2:]]) + "\n")
    result = run_ingest(run_cli, tmp_path, a, b)
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert result.exit_code == 0
    assert (report["rows_read"], report["households"]) == (4, 3)


def test_generated_sector_key_is_private_and_never_printed(
    run_cli, tmp_path, mapping_file, export_csv
) -> None:
    result = run_ingest(run_cli, tmp_path, export_csv)
    path = tmp_path / "ws" / "keys" / "local-sector-2026-Q3.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text(encoding="ascii").strip() not in result.output


def test_xlsx_export_on_a_named_sheet(run_cli, tmp_path, write) -> None:
    path = tmp_path / "export.xlsx"
    workbook = xlsxwriter.Workbook(path)
    workbook.add_worksheet("Voorblad").write(0, 0, "Overzicht")
    sheet = workbook.add_worksheet("Verkopen")
    sheet.write_row(0, 0, HEADER.split(";"))
    for r, row in enumerate(GOOD_ROWS, start=1):
        values: list[object] = row.split(";")
        values[7] = int(str(values[7]))  # tickets as a number cell
        sheet.write_row(r, 0, values)
    workbook.close()
    write("map.toml", '[source]\nsheet = "Verkopen"\n\n' + MAPPING)
    result = run_ingest(run_cli, tmp_path, path)
    assert result.exit_code == 0, result.output
    visits = Workspace(tmp_path / "ws").load_visits("2026-Q3").sort("source_row")
    assert visits["tickets"].to_list() == [2, 1, 3, 1]
    assert "from the mapping sheet Verkopen" in result.output


def test_workbook_sheet_is_found_by_its_headers(run_cli, tmp_path, write) -> None:
    path = tmp_path / "export.xlsx"
    workbook = xlsxwriter.Workbook(path)
    workbook.add_worksheet("Voorblad").write_row(0, 0, ["Overzicht", "Totaal"])
    sheet = workbook.add_worksheet("Verkopen")
    sheet.write_row(0, 0, HEADER.split(";"))
    sheet.write_row(1, 0, GOOD_ROWS[0].split(";"))
    workbook.close()
    write("map.toml", MAPPING)
    result = run_ingest(run_cli, tmp_path, path)
    assert result.exit_code == 0, result.output
    assert "detected sheet Verkopen" in result.output


def test_parquet_export_with_typed_columns(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "Voorstellingsdatum": [date(2026, 8, 14), date(2026, 8, 15)],
            "Postcode": ["1234 ab", None],
            "Huisnummer": ["12-a", None],
            "E-mailadres": [None, "piet@example.nl"],
            "Aantal kaarten": [2, 1],
            "Prijs": [24.5, 10.0],
        }
    )
    path = tmp_path / "export.parquet"
    frame.write_parquet(path)
    (tmp_path / "map.toml").write_text(
        '[columns]\nvisit_date = "Voorstellingsdatum"\npostcode = "Postcode"\n'
        'house_number = "Huisnummer"\nemail = "E-mailadres"\ntickets = "Aantal kaarten"\n'
        'price = "Prijs"\n',
        encoding="utf-8",
    )
    report = ingest_exports([path], Mapping.load(tmp_path / "map.toml"), Workspace(tmp_path / "ws"))
    assert (report.rows_accepted, report.households) == (2, 2)
    visits = Workspace(tmp_path / "ws").load_visits("2026-Q3").sort("source_row")
    assert visits["price"].to_list() == [24.5, 10.0]
    assert visits["tickets"].to_list() == [2, 1]


def test_injected_sector_key_is_used(tmp_path: Path, mapping_file, export_csv) -> None:
    from protocol.keys import SecretBytes

    key = b"s" * 32
    ingest_exports(
        [export_csv],
        Mapping.load(mapping_file),
        Workspace(tmp_path / "ws"),
        sector_key=lambda period: SecretBytes(key),
    )
    visits = Workspace(tmp_path / "ws").load_visits("2026-Q3").sort("source_row")
    assert visits["household_key"][0] == hmac.digest(key, b"1234AB|12|A", hashlib.sha256)
    assert not (tmp_path / "ws" / "keys" / "local-sector-2026-Q3.key").exists()


def test_unmapped_values_that_look_personal_are_withheld(run_cli, tmp_path, write) -> None:
    write("map.toml", MAPPING.replace('discipline = "Genre"', 'discipline = "E-mailadres"'))
    export = write("export.csv", "\n".join([HEADER, *GOOD_ROWS]) + "\n")
    result = run_ingest(run_cli, tmp_path, export)
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert result.exit_code == 0
    assert "jan@example.nl" not in result.output
    assert "jan@example.nl" not in json.dumps(report)
    assert list(report["unmapped_disciplines"].values()) == [2]


def test_only_recurring_label_like_unmapped_values_are_named() -> None:
    from agent.ingest.disciplines import shareable

    shown = shareable({"Circus": 40, "Jan de Vries": 1, "Musical": 12})
    assert shown == {
        "Circus": 40,
        "Musical": 12,
        "(1 rare value(s) withheld: each seen in fewer than 10 rows)": 1,
    }
    assert list(shareable({"jan@example.nl": 30})) == [
        "(1 distinct values withheld: check which column is mapped as discipline)"
    ]


def test_distinct_households_count_each_key_once_per_period() -> None:
    from agent.ingest.report import count_households, key_columns

    a, b = bytes(range(32)), bytes(range(1, 33))
    # c shares a's first eight bytes: only the second part tells them apart.
    c = a[:8] + bytes(24)

    def table(*rows: tuple[int, bytes]) -> pl.DataFrame:
        return pl.DataFrame(
            {"period_code": [p for p, _ in rows], "household_key": [k for _, k in rows]},
            schema={"period_code": pl.Int32, "household_key": pl.Binary},
        )

    one_export = key_columns(table((8106, a), (8106, b), (8106, a), (8107, a), (8106, c)))
    other_export = key_columns(table((8106, b), (8107, b)))
    assert count_households(one_export) == 4  # a, b and c in Q3; a in Q4
    assert count_households(pl.concat([one_export, other_export])) == 5  # and b in Q4


def test_a_separate_addition_column_keys_as_an_addition_in_the_number(
    run_cli, tmp_path, write
) -> None:
    """Tix writes the addition ("Toev.") in a column of its own: "12" + "a" is "12a"."""
    write(
        "map.toml",
        MAPPING.replace(
            'house_number = "Huisnummer"\n',
            'house_number = "Huisnummer"\nhouse_number_addition = "Toev."\n',
        ),
    )
    rows = [
        "B1;14-08-2026;Hamlet;Toneel;1234 ab;12;a;;2;24,50",
        "B2;15-08-2026;Hamlet;Toneel;1234AB;12;A ;;1;24,50",
        "B3;16-08-2026;Hamlet;Toneel;1234AB;12;;;1;24,50",
    ]
    header = HEADER.replace("Huisnummer;", "Huisnummer;Toev.;")
    export = write("export.csv", "\n".join([header, *rows]) + "\n")
    result = run_ingest(run_cli, tmp_path, export)
    assert result.exit_code == 0, result.output
    ws = Workspace(tmp_path / "ws")
    visits = ws.load_visits("2026-Q3").sort("source_row")
    keys = visits["household_key"].to_list()
    assert keys[0] == keys[1] != keys[2]
    key = sector_key(tmp_path, "2026-Q3")
    assert keys[0] == hmac.new(key, b"1234AB|12|A", hashlib.sha256).digest()
    assert keys[2] == hmac.new(key, b"1234AB|12|", hashlib.sha256).digest()


def test_an_addition_column_without_a_house_number_is_refused() -> None:
    with pytest.raises(UsageError, match="house_number_addition"):
        Mapping.from_dict(
            {"columns": {"visit_date": "D", "house_number_addition": "Toev."}}, where="m"
        )


def test_a_leading_sep_line_names_the_delimiter(run_cli, tmp_path, write) -> None:
    """Excel writes "sep=;" above the header; rows keep the numbers the file shows."""
    write("map.toml", MAPPING)
    export = write("export.csv", "\n".join(["sep=;", HEADER, *GOOD_ROWS]) + "\n")
    result = run_ingest(run_cli, tmp_path, export)
    assert result.exit_code == 0, result.output
    visits = Workspace(tmp_path / "ws").load_visits("2026-Q3").sort("source_row")
    assert visits["source_row"].to_list() == [3, 4, 5, 6]
    assert visits["tickets"].to_list() == [2, 1, 3, 1]
    assert "delimiter ;" in result.output or "delimiter ';'" in result.output


def test_title_rows_above_the_header_in_a_workbook(run_cli, tmp_path, write) -> None:
    path = tmp_path / "export.xlsx"
    workbook = xlsxwriter.Workbook(path)
    sheet = workbook.add_worksheet("Verkopen")
    sheet.write(0, 0, "Verkoopoverzicht theater")
    sheet.write(1, 0, "Periode: juli t/m september 2026")
    sheet.write_row(3, 0, HEADER.split(";"))
    for r, row in enumerate(GOOD_ROWS, start=4):
        sheet.write_row(r, 0, row.split(";"))
    workbook.close()
    write("map.toml", MAPPING)
    result = run_ingest(run_cli, tmp_path, path)
    assert result.exit_code == 0, result.output
    visits = Workspace(tmp_path / "ws").load_visits("2026-Q3").sort("source_row")
    assert visits["source_row"].to_list() == [5, 6, 7, 8]
    assert visits["tickets"].to_list() == [2, 1, 3, 1]


def test_repeated_headers_and_totals_rows_have_reasons_of_their_own(
    run_cli, tmp_path, write, mapping_file
) -> None:
    """Two exports pasted together and a totals line are not 'invalid dates'."""
    rows = [
        GOOD_ROWS[0],
        ";;Totaal Hamlet;;;;;2;24,50",
        HEADER,
        GOOD_ROWS[1],
        "Subtotaal:;;;;;;;3;49,00",
        "TOTAL;;;;;;;3;49,00",
        "B5;31-02-2026;Totaal;Toneel;1234 ab;12;;1;1",  # a date that is no date: invalid
    ]
    export = write("export.csv", "\n".join([HEADER, *rows]) + "\n")
    # One invalid row of three data rows: allowed here so that every reason is stored.
    result = run_ingest(run_cli, tmp_path, export, options=("--max-rejected", "0.5"))
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["rows_accepted"] == 2
    assert report["rejected_by_reason"] == {
        "repeated_header": 1,
        "totals_row": 3,
        "invalid_date": 1,
    }
    quarantine = pl.read_parquet(next((tmp_path / "ws" / "quarantine").glob("*.parquet")))
    assert quarantine.sort("source_row").select("source_row", "reason").rows() == [
        (3, "totals_row"),
        (4, "repeated_header"),
        (6, "totals_row"),
        (7, "totals_row"),
        (8, "invalid_date"),
    ]


def test_a_totals_row_in_an_export_with_only_dates_and_addresses(run_cli, tmp_path, write) -> None:
    write(
        "map.toml",
        '[columns]\nvisit_date = "Datum"\npostcode = "Postcode"\nhouse_number = "Nr"\n',
    )
    rows = ["Datum;Postcode;Nr", "14-08-2026;1234 ab;12", "Totaal;;", "15-08-2026;1234 ab;14"]
    export = write("export.csv", "\n".join(rows) + "\n")
    result = run_ingest(run_cli, tmp_path, export)
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["rows_accepted"] == 2
    assert report["rejected_by_reason"] == {"totals_row": 1}
