"""Dates written with month names, in Dutch and English, as box offices export them."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from agent.ingest import dialect
from agent.ingest.normalise import visit_date
from agent.workspace import Workspace
from tests.ingest.ingest_fixtures import HEADER, MAPPING

CASES = [
    (["1 augustus 2026", "14 september 2026"], "%d %b %Y"),
    (["za 12 okt 2026 20:15", "vr 2 okt. 2026 14:00"], "%a %d %b %Y %H:%M"),
    (["Aug 1, 2026", "Oct 12, 2026"], "%b %d, %Y"),
    (["1-aug-2026", "12-OKT-2026"], "%d-%b-%Y"),
    (["Saturday, August 1, 2026", "Monday, October 12, 2026"], "%a %b %d, %Y"),
]


@pytest.mark.parametrize(("values", "expected"), CASES)
def test_the_format_of_dates_with_month_names_is_detected(values: list[str], expected: str) -> None:
    found = dialect.date_format_from(dialect.date_evidence(values), where="x")
    assert found == expected


@pytest.mark.parametrize(("values", "expected"), CASES)
def test_dates_with_month_names_parse_to_their_day(values: list[str], expected: str) -> None:
    parsed = pl.Series(values).to_frame("d").select(visit_date(pl.col("d"), expected))
    assert parsed.to_series().to_list() in (
        [date(2026, 8, 1), date(2026, 9, 14)],
        [date(2026, 10, 12), date(2026, 10, 2)],
        [date(2026, 8, 1), date(2026, 10, 12)],
    )


def test_each_month_in_both_languages_and_a_wrong_day_is_null() -> None:
    dutch = ["jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"]
    english = ["January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December"]  # fmt: skip
    values = [f"3 {m} 2026" for m in dutch + english] + ["31 februari 2026", "3 foo 2026"]
    parsed = pl.Series(values).to_frame("d").select(visit_date(pl.col("d"), "%d %B %Y"))
    months = [d.month if d else None for d in parsed.to_series().to_list()]
    assert months == [*range(1, 13), *range(1, 13), None, None]


def test_numeric_formats_are_not_touched_by_the_month_names() -> None:
    parsed = pl.Series(["14-08-2026"]).to_frame("d").select(visit_date(pl.col("d"), "%d-%m-%Y"))
    assert parsed.item() == date(2026, 8, 14)


def test_an_export_with_dutch_month_names_ingests(run_cli: Any, tmp_path: Path, write: Any) -> None:
    write("map.toml", MAPPING)
    rows = [
        "B1;za 15 aug 2026 20:15;Hamlet;Toneel;1234 ab;12;;2;24,50",
        "B2;zo 16 augustus 2026 14:00;Hamlet;Toneel;1234 ab;14;;1;24,50",
        "B3;wo 30 sep. 2026 20:00;Hamlet;Toneel;1234 ab;16;;1;24,50",
    ]
    export = write("export.csv", "\n".join([HEADER, *rows]) + "\n")
    result = run_cli(
        "agent", "ingest", str(export), "--mapping", str(tmp_path / "map.toml"),
        "-w", str(tmp_path / "ws"), "--report-json", str(tmp_path / "report.json"),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["rows_accepted"] == 3
    assert report["detected"]["export.csv"]["date_format"] == "%a %d %b %Y %H:%M"
    visits = Workspace(tmp_path / "ws").load_visits("2026-Q3").sort("source_row")
    assert visits["visit_date"].to_list() == [
        date(2026, 8, 15),
        date(2026, 8, 16),
        date(2026, 9, 30),
    ]
