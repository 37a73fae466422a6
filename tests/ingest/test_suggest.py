"""`publiek agent mapping suggest`: a draft mapping from Dutch or English headers."""

from __future__ import annotations

import tomllib
from pathlib import Path

import xlsxwriter

from agent.ingest.suggest import place_columns, suggest_mapping
from tests.ingest.ingest_fixtures import GOOD_ROWS, HEADER


def test_dutch_headers_are_placed(run_cli, export_csv) -> None:
    result = run_cli("agent", "mapping", "suggest", str(export_csv))
    assert result.exit_code == 0, result.output
    draft = tomllib.loads(result.output)
    assert draft["columns"] == {
        "order_id": "Bestelnummer",
        "visit_date": "Voorstellingsdatum",
        "postcode": "Postcode",
        "house_number": "Huisnummer",
        "email": "E-mailadres",
        "tickets": "Aantal kaarten",
        "price": "Prijs",
        "event": "Voorstelling",
        "discipline": "Genre",
    }
    assert draft["source"] == {"encoding": "utf-8", "delimiter": ";", "date_format": "%d-%m-%Y"}
    assert draft["discipline_map"] == {"Toneel": "theater", "Klassiek": "music"}
    assert "# birth_year" in result.output


def test_english_and_abbreviated_headers_are_placed() -> None:
    headers = ["Order ID", "Visit date", "Zip", "House number", "E-mail", "Qty", "Category",
               "Amount", "Event", "Year of birth", "Seat"]  # fmt: skip
    assert place_columns(headers) == {
        "order_id": "Order ID",
        "visit_date": "Visit date",
        "postcode": "Zip",
        "house_number": "House number",
        "email": "E-mail",
        "tickets": "Qty",
        "price": "Amount",
        "event": "Event",
        "discipline": "Category",
        "birth_year": "Year of birth",
    }


def test_short_dutch_headers_are_placed() -> None:
    placed = place_columns(["Datum", "PC", "Huisnr", "E-mailadres", "Aantal", "Genre"])
    assert placed["visit_date"] == "Datum"
    assert placed["postcode"] == "PC"
    assert placed["house_number"] == "Huisnr"
    assert placed["tickets"] == "Aantal"


def test_unplaced_columns_and_genres_are_comments(run_cli, write) -> None:
    export = write(
        "export.csv", "Datum,Stoel,Genre,E-mail\n14-08-2026,A12,Poppenkast,jan@example.nl\n"
    )
    result = run_cli("agent", "mapping", "suggest", str(export))
    assert result.exit_code == 0
    assert '#   "Stoel"' in result.output
    assert '# "Poppenkast" = "other"' in result.output
    assert "# postcode" in result.output
    assert "jan@example.nl" not in result.output
    tomllib.loads(result.output)


def test_the_draft_ingests_the_export_it_came_from(run_cli, tmp_path, export_csv) -> None:
    draft = run_cli("agent", "mapping", "suggest", str(export_csv)).output
    (tmp_path / "draft.toml").write_text(draft, encoding="utf-8")
    result = run_cli(
        "agent", "ingest", str(export_csv), "-m", str(tmp_path / "draft.toml"),
        "-w", str(tmp_path / "ws"),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"{len(GOOD_ROWS)} accepted" in result.output


def test_xlsx_sheet_is_written_into_the_draft(run_cli, tmp_path) -> None:
    path = tmp_path / "export.xlsx"
    workbook = xlsxwriter.Workbook(path)
    sheet = workbook.add_worksheet("Verkopen")
    sheet.write_row(0, 0, HEADER.split(";"))
    sheet.write_row(1, 0, GOOD_ROWS[0].split(";"))
    workbook.close()
    result = run_cli("agent", "mapping", "suggest", str(path))
    assert result.exit_code == 0, result.output
    assert tomllib.loads(result.output)["source"] == {
        "sheet": "Verkopen",
        "date_format": "%d-%m-%Y",
    }


def test_header_names_with_quotes_backslashes_and_control_characters_round_trip() -> None:
    from agent.ingest.suggest import _toml_string

    for header in ['Naam "klant"', "C:\\pad", "regel\neen\ttab\x01"]:
        assert tomllib.loads(f"k = {_toml_string(header)}")["k"] == header


def test_a_separate_addition_column_is_placed() -> None:
    headers = ["Ordernr", "Datum", "Postcode", "Huisnr", "Toev.", "E-mail"]
    placed = place_columns(headers)
    assert placed["house_number"] == "Huisnr"
    assert placed["house_number_addition"] == "Toev."


def test_a_draft_from_an_export_with_a_sep_line(run_cli, write) -> None:
    export = write("export.csv", "\n".join(["sep=;", HEADER, *GOOD_ROWS]) + "\n")
    result = run_cli("agent", "mapping", "suggest", str(export))
    assert result.exit_code == 0, result.output
    draft = tomllib.loads(result.output)
    assert draft["columns"]["visit_date"] == "Voorstellingsdatum"
    assert draft["source"]["delimiter"] == ";"


def test_a_draft_from_a_workbook_with_title_rows(run_cli, tmp_path) -> None:
    path = tmp_path / "export.xlsx"
    workbook = xlsxwriter.Workbook(path)
    sheet = workbook.add_worksheet("Verkopen")
    sheet.write(0, 0, "Verkoopoverzicht")
    sheet.write_row(2, 0, HEADER.split(";"))
    sheet.write_row(3, 0, GOOD_ROWS[0].split(";"))
    workbook.close()
    result = run_cli("agent", "mapping", "suggest", str(path))
    assert result.exit_code == 0, result.output
    assert tomllib.loads(result.output)["columns"]["visit_date"] == "Voorstellingsdatum"


def test_the_draft_names_the_date_format_of_the_export_or_asks_for_it(tmp_path: Path) -> None:
    """An uncommented example format would hold a month-name export back (exit 3)."""
    named = tmp_path / "named.csv"
    named.write_text("Datum;Aantal\n1 augustus 2026;2\n12 september 2026;1\n", encoding="utf-8")
    assert tomllib.loads(suggest_mapping(named))["source"]["date_format"] == "%d %b %Y"
    ambiguous = tmp_path / "ambiguous.csv"
    ambiguous.write_text("Datum;Aantal\n01-02-2026;2\n03-04-2026;1\n", encoding="utf-8")
    draft = suggest_mapping(ambiguous)
    assert "date_format" not in tomllib.loads(draft)["source"]
    assert "do not say: set it" in draft
