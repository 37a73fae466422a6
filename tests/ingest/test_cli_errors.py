"""Every fatal ingest error through the real CLI: exit code 2 and one line naming what and where.

The personal values in the exports (postcodes, e-mail addresses) must never
appear in the message."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import xlsxwriter

from tests.ingest.ingest_fixtures import GOOD_ROWS, HEADER, MAPPING

PERSONAL = ("1234", "jan@example.nl", "piet@", "9999")


def fails_with_one_line(result: Any, *fragments: str) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    line = lines[0]
    assert line.startswith("error: ")
    for fragment in fragments:
        assert fragment in line, line
    for value in PERSONAL:
        assert value not in line.lower()
    return line


def ingest(run_cli: Callable[..., Any], tmp_path: Path, export: Path, mapping: Path) -> Any:
    return run_cli(
        "agent", "ingest", str(export), "--mapping", str(mapping), "-w", str(tmp_path / "ws")
    )


def test_missing_export_file(run_cli, tmp_path, mapping_file) -> None:
    result = ingest(run_cli, tmp_path, tmp_path / "nope.csv", mapping_file)
    fails_with_one_line(result, "nope.csv", "no such file")


def test_folder_instead_of_export(run_cli, tmp_path, mapping_file) -> None:
    (tmp_path / "exports").mkdir()
    result = ingest(run_cli, tmp_path, tmp_path / "exports", mapping_file)
    fails_with_one_line(result, "exports", "is a folder")


def test_undecodable_bytes_name_line_and_column(run_cli, tmp_path, write) -> None:
    mapping = write("map.toml", '[source]\nencoding = "utf-8"\n\n' + MAPPING)
    rows = [HEADER, GOOD_ROWS[0], "B9;14-08-2026;Caf\xe9;Toneel;1234 ab;12;;1;5,00"]
    export = write("export.csv", "\n".join(rows) + "\n", encoding="cp1252")
    result = ingest(run_cli, tmp_path, export, mapping)
    fails_with_one_line(result, "export.csv", "line 3", "column 3 ('Voorstelling')", "utf-8")


def test_undecodable_bytes_below_a_sep_line_name_the_header_column(
    run_cli, tmp_path, write
) -> None:
    mapping = write("map.toml", '[source]\nencoding = "utf-8"\n\n' + MAPPING)
    rows = ["sep=;", HEADER, GOOD_ROWS[0], "B9;14-08-2026;Caf\xe9;Toneel;1234 ab;12;;1;5,00"]
    export = write("export.csv", "\n".join(rows) + "\n", encoding="cp1252")
    result = ingest(run_cli, tmp_path, export, mapping)
    fails_with_one_line(result, "export.csv", "line 4", "column 3 ('Voorstelling')", "utf-8")


def test_mapped_column_missing_lists_the_columns_there(run_cli, tmp_path, write) -> None:
    mapping = write("map.toml", MAPPING.replace('"Prijs"', '"Bedrag"'))
    export = write("export.csv", "\n".join([HEADER, *GOOD_ROWS]) + "\n")
    line = fails_with_one_line(
        run_cli(
            "agent", "ingest", str(export), "--mapping", str(mapping), "-w", str(tmp_path / "ws")
        ),
        "export.csv",
        "'Bedrag'",
    )
    assert "the file has: 'Bestelnummer', 'Voorstellingsdatum'" in line


def test_a_file_without_header_row_is_not_echoed(run_cli, tmp_path, write, mapping_file) -> None:
    export = write("export.csv", "\n".join(GOOD_ROWS) + "\n")  # the header row is missing
    line = fails_with_one_line(
        ingest(run_cli, tmp_path, export, mapping_file), "export.csv", "does not look like a header"
    )
    assert not any(value in line.lower() for value in PERSONAL)
    suggested = run_cli("agent", "mapping", "suggest", str(export))
    assert suggested.exit_code == 2
    assert not any(value in suggested.output.lower() for value in PERSONAL)


def test_empty_file(run_cli, tmp_path, write, mapping_file) -> None:
    result = ingest(run_cli, tmp_path, write("export.csv", b""), mapping_file)
    fails_with_one_line(result, "export.csv", "empty")


def test_header_without_rows(run_cli, tmp_path, write, mapping_file) -> None:
    result = ingest(run_cli, tmp_path, write("export.csv", HEADER + "\n"), mapping_file)
    fails_with_one_line(result, "export.csv", "header but no rows")


def test_missing_sheet_lists_the_sheets(run_cli, tmp_path, write) -> None:
    path = tmp_path / "export.xlsx"
    workbook = xlsxwriter.Workbook(path)
    sheet = workbook.add_worksheet("Verkopen 2026")
    sheet.write_row(0, 0, ["Voorstellingsdatum", "E-mailadres"])
    sheet.write_row(1, 0, ["14-08-2026", "jan@example.nl"])
    workbook.close()
    mapping = write(
        "map.toml",
        '[source]\nsheet = "Verkopen"\n[columns]\nvisit_date = "Voorstellingsdatum"\n',
    )
    result = ingest(run_cli, tmp_path, path, mapping)
    fails_with_one_line(result, "export.xlsx", "no sheet named 'Verkopen'", "'Verkopen 2026'")


def test_mapping_syntax_error_names_the_toml_line(run_cli, tmp_path, write, export_csv) -> None:
    mapping = write("map.toml", "[columns]\nvisit_date = Voorstellingsdatum\n")
    result = ingest(run_cli, tmp_path, export_csv, mapping)
    fails_with_one_line(result, "map.toml", "line 2")


def test_unknown_canonical_column_in_mapping(run_cli, tmp_path, write, export_csv) -> None:
    mapping = write("map.toml", MAPPING + '\n[extra]\nx = "y"\n')
    result = ingest(run_cli, tmp_path, export_csv, mapping)
    fails_with_one_line(result, "map.toml", "extra")


def test_ambiguous_dates_ask_for_date_format(run_cli, tmp_path, write, mapping_file) -> None:
    rows = [HEADER, "B1;01-02-2026;X;Toneel;1234AB;1;;1;1", "B2;12-11-2026;X;Toneel;1234AB;1;;1;1"]
    result = ingest(run_cli, tmp_path, write("export.csv", "\n".join(rows) + "\n"), mapping_file)
    fails_with_one_line(result, "export.csv", "'Voorstellingsdatum'", "ambiguous", "date_format")


def test_damaged_parquet_is_unreadable(run_cli, tmp_path, write, mapping_file) -> None:
    result = ingest(run_cli, tmp_path, write("export.parquet", b"PAR1 broken"), mapping_file)
    fails_with_one_line(result, "export.parquet", "cannot be read as Parquet")


def test_damaged_workbook_is_unreadable(run_cli, tmp_path, write, mapping_file) -> None:
    result = ingest(run_cli, tmp_path, write("export.xlsx", b"PK\x03\x04 broken"), mapping_file)
    fails_with_one_line(result, "export.xlsx", "cannot be read as a spreadsheet")


def test_nothing_is_recorded_for_a_failed_file(run_cli, tmp_path, write, mapping_file) -> None:
    bad = write("export.csv", HEADER + "\n")
    ingest(run_cli, tmp_path, bad, mapping_file)
    assert not list((tmp_path / "ws" / "visits").glob("*/*.parquet"))
    assert not (tmp_path / "ws" / "tmp").exists() or not any((tmp_path / "ws" / "tmp").iterdir())


def test_ingest_help_documents_every_option(run_cli) -> None:
    result = run_cli("agent", "ingest", "--help")
    assert result.exit_code == 0
    for option in ("--mapping", "--workspace", "--report-json", "EXPORT"):
        assert option in result.output
    assert "[columns]" in result.output and "detected" in result.output


def test_xlsx_datetime_cells_are_read(run_cli, tmp_path, write) -> None:
    path = tmp_path / "export.xlsx"
    workbook = xlsxwriter.Workbook(path)
    sheet = workbook.add_worksheet("Verkopen")
    date_format = workbook.add_format({"num_format": "dd-mm-yyyy"})
    sheet.write_row(0, 0, ["Voorstellingsdatum", "E-mailadres", "Aantal kaarten"])
    sheet.write_datetime(1, 0, datetime(2026, 8, 14), date_format)
    sheet.write_row(1, 1, ["jan@example.nl", 2])
    workbook.close()
    mapping = write(
        "map.toml",
        '[source]\nsheet = "Verkopen"\n[columns]\nvisit_date = "Voorstellingsdatum"\n'
        'email = "E-mailadres"\ntickets = "Aantal kaarten"\n',
    )
    result = ingest(run_cli, tmp_path, path, mapping)
    assert result.exit_code == 0, result.output
    assert "1 accepted" in result.output
