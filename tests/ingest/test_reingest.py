"""Re-ingest after a mapping mistake: exports that reject too many rows are held
back (exit 3, nothing stored), and ``--replace`` ingests an export again until a
period of it is released (ADR 0022)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agent.workspace import Workspace
from tests.ingest.ingest_fixtures import GOOD_ROWS, HEADER, MAPPING
from tests.ingest.test_pipeline import PERSONAL


def _ingest(run_cli: Callable[..., Any], tmp_path: Path, export: Path, *options: str) -> Any:
    return run_cli(
        "agent", "ingest", str(export), "-m", str(tmp_path / "map.toml"),
        "-w", str(tmp_path / "ws"), *options,
    )  # fmt: skip


def _recorded(tmp_path: Path) -> int:
    with sqlite3.connect(tmp_path / "ws" / "agent.db") as db:
        return int(db.execute("SELECT COUNT(*) FROM ingested_files").fetchone()[0])


def test_a_mapping_mistake_holds_the_export_back_and_the_fixed_mapping_ingests_it(
    run_cli, tmp_path, write, export_csv
) -> None:
    write("map.toml", '[source]\ndate_format = "%Y-%m-%d"\n\n' + MAPPING)  # the wrong one
    held = _ingest(run_cli, tmp_path, export_csv)
    assert held.exit_code == 3
    assert "held back export.csv: 4 of 4 data rows rejected" in held.output
    assert "mostly invalid_date (4)" in held.output
    assert "held back, not counted: export.csv" in held.output  # the count line says so
    assert "date_format" in held.output
    for value in PERSONAL:
        assert value not in held.output.lower()
    assert Workspace(tmp_path / "ws").load_visits("2026-Q3").height == 0
    assert _recorded(tmp_path) == 0
    assert list((tmp_path / "ws" / "quarantine").glob("*.parquet"))  # where it went wrong

    write("map.toml", MAPPING)
    fixed = _ingest(run_cli, tmp_path, export_csv)
    assert fixed.exit_code == 0, fixed.output
    assert "skipped" not in fixed.output
    assert Workspace(tmp_path / "ws").load_visits("2026-Q3").height == 4
    assert not list((tmp_path / "ws" / "quarantine").glob("*.parquet"))


def test_the_allowed_share_comes_from_the_option_or_agent_toml(
    run_cli, tmp_path, write, mapping_file
) -> None:
    rows = [*GOOD_ROWS[:2], "B5;99-99-2026;X;Toneel;1234 ab;12;;1;1"]  # a third rejected
    export = write("export.csv", "\n".join([HEADER, *rows]) + "\n")
    assert _ingest(run_cli, tmp_path, export).exit_code == 3
    bad = _ingest(run_cli, tmp_path, export, "--max-rejected", "1.5")
    assert bad.exit_code == 2
    assert "--max-rejected must be a share between 0 and 1" in bad.output
    (tmp_path / "ws" / "agent.toml").write_text("[ingest]\nmax_rejected = 0.5\n")
    assert _ingest(run_cli, tmp_path, export).exit_code == 0
    assert Workspace(tmp_path / "ws").load_visits("2026-Q3").height == 2


def test_replace_removes_the_exports_visits_and_ingests_it_again(
    run_cli, tmp_path, write, mapping_file, export_csv
) -> None:
    assert _ingest(run_cli, tmp_path, export_csv).exit_code == 0
    before = Workspace(tmp_path / "ws").load_visits("2026-Q3")
    assert set(before["discipline"].to_list()) == {"theater", "music"}
    write("map.toml", MAPPING.replace('"Klassiek" = "music"', '"Klassiek" = "theater"'))
    skipped = _ingest(run_cli, tmp_path, export_csv).output
    assert "skipped export.csv" in skipped and "add --replace" in skipped
    again = _ingest(run_cli, tmp_path, export_csv, "--replace")
    assert again.exit_code == 0, again.output
    assert "replaced export.csv" in again.output
    after = Workspace(tmp_path / "ws").load_visits("2026-Q3")
    assert after.height == 4
    assert set(after["discipline"].to_list()) == {"theater"}
    assert _recorded(tmp_path) == 1


def test_replace_is_refused_once_a_period_of_the_export_was_released(
    run_cli, tmp_path, mapping_file, export_csv
) -> None:
    assert _ingest(run_cli, tmp_path, export_csv).exit_code == 0
    with sqlite3.connect(tmp_path / "ws" / "agent.db") as db:
        db.execute("INSERT INTO releases VALUES ('2026-Q3', 'd', 's', 0.1, 't', x'00')")
    refused = _ingest(run_cli, tmp_path, export_csv, "--replace")
    assert refused.exit_code == 2
    assert "its visits of 2026-Q3 were released already" in refused.output
    assert Workspace(tmp_path / "ws").load_visits("2026-Q3").height == 4
    assert _recorded(tmp_path) == 1


def test_replace_of_an_export_never_ingested_just_ingests_it(
    run_cli, tmp_path, mapping_file, export_csv
) -> None:
    result = _ingest(run_cli, tmp_path, export_csv, "--replace")
    assert result.exit_code == 0
    assert "replaced" not in result.output
    assert Workspace(tmp_path / "ws").load_visits("2026-Q3").height == 4


def test_layout_rows_do_not_count_towards_the_rejected_share(run_cli, tmp_path, write) -> None:
    """A header repeated on every page is the export's layout, not a mapping mistake."""
    write("map.toml", MAPPING)
    rows = [GOOD_ROWS[0], HEADER, GOOD_ROWS[1], HEADER, "TOTAAL;;;;;;;3;49,00"]
    export = write("paged.csv", "\n".join([HEADER, *rows]) + "\n")
    result = _ingest(run_cli, tmp_path, export)
    assert result.exit_code == 0, result.output
    assert "held back" not in result.output
    assert Workspace(tmp_path / "ws").load_visits("2026-Q3").height == 2


def test_a_replace_that_is_held_back_keeps_the_earlier_visits(
    run_cli, tmp_path, write, mapping_file, export_csv
) -> None:
    """Nothing may be lost: the earlier run's visits go only once the new one is accepted."""
    assert _ingest(run_cli, tmp_path, export_csv).exit_code == 0
    write("map.toml", '[source]\ndate_format = "%Y-%m-%d"\n\n' + MAPPING)  # a new mistake
    held = _ingest(run_cli, tmp_path, export_csv, "--replace")
    assert held.exit_code == 3
    assert "its earlier ingest is kept" in held.output
    assert "replaced" not in held.output
    assert Workspace(tmp_path / "ws").load_visits("2026-Q3").height == 4
    assert _recorded(tmp_path) == 1


@pytest.mark.slow  # 0.4 s or more: outside the inner loop (ADR 0032)
def test_a_replaced_export_keeps_its_place_among_the_cumulative_exports(
    run_cli, tmp_path, write, mapping_file
) -> None:
    """Day 1 replaced after day 2 was ingested must not override day 2's orders."""
    day1 = write("day1.csv", "\n".join([HEADER, GOOD_ROWS[0]]) + "\n")
    refunded = GOOD_ROWS[0].replace(";2;24,50", ";1;24,50")  # day 2: B1 cut to one ticket
    day2 = write("day2.csv", "\n".join([HEADER, refunded, GOOD_ROWS[1]]) + "\n")
    for export in (day1, day2):
        assert _ingest(run_cli, tmp_path, export).exit_code == 0
    assert Workspace(tmp_path / "ws").load_visits("2026-Q3")["tickets"].sum() == 2
    write("map.toml", MAPPING.replace('"Toneel" = "theater"', '"Toneel" = "cabaret"'))
    assert _ingest(run_cli, tmp_path, day1, "--replace").exit_code == 0
    visits = Workspace(tmp_path / "ws").load_visits("2026-Q3")
    assert visits["tickets"].sum() == 2  # B1 as day 2 has it, B2
