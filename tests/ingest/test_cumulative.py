"""Cumulative and re-generated exports: each order counts once over a period's
exports (the newest export's rows of it), per line where a line id is mapped;
without order ids the report warns when exports overlap (ADR 0022)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from agent.visits import deduplicated
from agent.workspace import Workspace
from tests.ingest.ingest_fixtures import MAPPING as WITH_ADDRESSES

MAPPING = '[source]\ndate_format = "%d-%m-%Y"\n\n' + WITH_ADDRESSES.replace(
    'postcode = "Postcode"\n', ""
).replace('house_number = "Huisnummer"\n', "")
HEADER = "Bestelnummer;Voorstellingsdatum;Voorstelling;Genre;E-mailadres;Aantal kaarten;Prijs"


def _row(order: str, day: int, tickets: int) -> str:
    return f"{order};{day:02d}-08-2026;Hamlet;Toneel;v{order}@example.nl;{tickets};24,50"


def _ingest(run_cli: Callable[..., Any], tmp_path: Path, *exports: Path) -> Any:
    return run_cli(
        "agent", "ingest", *map(str, exports), "-m", str(tmp_path / "map.toml"),
        "-w", str(tmp_path / "ws"),
    )  # fmt: skip


def _tickets(tmp_path: Path) -> int:
    return int(Workspace(tmp_path / "ws").load_visits("2026-Q3")["tickets"].sum())


def test_a_cumulative_pair_counts_each_ticket_once(run_cli, tmp_path, write) -> None:
    write("map.toml", MAPPING)
    # Day 1: a group booking of 12 and 1,186 orders of 2 (2,384 tickets). Day 2: the
    # same orders, the group booking cut to 2, and 4 new orders of 2 (2,382 tickets).
    day1 = [_row("G1", 1, 12), *[_row(f"O{n}", 1 + n % 28, 2) for n in range(1186)]]
    day2 = [_row("G1", 1, 2), *day1[1:], *[_row(f"N{n}", 2, 2) for n in range(4)]]
    first = write("sales-day1.csv", "\n".join([HEADER, *day1]) + "\n")
    second = write("sales-day2.csv", "\n".join([HEADER, *day2]) + "\n")
    assert _ingest(run_cli, tmp_path, first).exit_code == 0
    assert _tickets(tmp_path) == 2384
    result = _ingest(run_cli, tmp_path, second)
    assert result.exit_code == 0, result.output
    assert "the same household, date and event" not in result.output
    assert _tickets(tmp_path) == 2382  # not 4,766
    visits = Workspace(tmp_path / "ws").load_visits("2026-Q3")
    assert visits.height == 1191
    assert visits["order_id"].n_unique() == 1191


def test_a_mapped_line_id_keeps_the_lines_of_one_order_from_two_exports(
    run_cli, tmp_path, write
) -> None:
    write("map.toml", MAPPING.replace("[columns]\n", '[columns]\nline_id = "Regel"\n'))
    header = HEADER + ";Regel"
    # Daily exports of new lines: order A gets a second line on day 2.
    day1 = write("day1.csv", "\n".join([header, _row("A", 1, 2) + ";1"]) + "\n")
    day2 = write(
        "day2.csv", "\n".join([header, _row("A", 1, 3) + ";2", _row("A", 1, 2) + ";1"]) + "\n"
    )
    assert _ingest(run_cli, tmp_path, day1, day2).exit_code == 0
    visits = Workspace(tmp_path / "ws").load_visits("2026-Q3")
    assert sorted(visits["line_id"].to_list()) == ["1", "2"]
    assert _tickets(tmp_path) == 5


def test_without_order_ids_overlapping_exports_are_warned_about(run_cli, tmp_path, write) -> None:
    write("map.toml", MAPPING.replace('order_id = "Bestelnummer"\n', ""))
    day1 = [_row(f"O{n}", 3, 2) for n in range(5)]
    first = write("day1.csv", "\n".join([HEADER, *day1]) + "\n")
    second = write("day2.csv", "\n".join([HEADER, *day1, _row("N1", 4, 1)]) + "\n")
    assert "the same household" not in _ingest(run_cli, tmp_path, first).output
    result = _ingest(run_cli, tmp_path, second)
    assert result.exit_code == 0
    assert "warning: 2026-Q3: 10 visits have the same household, date and event" in result.output
    assert "map order_id" in result.output
    assert _tickets(tmp_path) == 21  # counted twice: nothing to deduplicate by


def test_rows_of_one_order_in_one_export_are_all_kept() -> None:
    visits = pl.DataFrame(
        {
            "order_id": ["A", "A", "A", None, None, ""],
            "line_id": [None, None, None, None, None, None],
            "tickets": [1, 2, 3, 4, 5, 6],
            "source_digest": ["old", "old", "new", "old", "new", "old"],
        },
        schema_overrides={"line_id": pl.String},
    )
    kept = deduplicated(visits, order=[("old", ""), ("new", "")])
    assert kept["tickets"].to_list() == [3, 4, 5, 6]
    assert deduplicated(visits, order=[("new", ""), ("old", "")])["tickets"].to_list() == [
        1, 2, 4, 5, 6,
    ]  # fmt: skip


def test_orders_are_matched_only_between_exports_of_one_layout() -> None:
    """The ticket office's order 1001 is not the museum shop's order 1001."""
    visits = pl.DataFrame(
        {
            "order_id": ["1001", "1001", "1002"],
            "line_id": [None, None, None],
            "tickets": [2, 5, 1],
            "source_digest": ["tickets", "shop", "tickets"],
        },
        schema_overrides={"line_id": pl.String},
    )
    two_systems = [("tickets", "layout-a"), ("shop", "layout-b")]
    assert deduplicated(visits, order=two_systems)["tickets"].to_list() == [2, 5, 1]
    one_system = [("tickets", "layout-a"), ("shop", "layout-a")]
    assert deduplicated(visits, order=one_system)["tickets"].to_list() == [5, 1]


def test_a_row_without_a_line_id_stands_for_its_whole_order() -> None:
    """line_id mapped from the third export on: the newest export holding an order
    decides, whether it has line ids or not."""
    visits = pl.DataFrame(
        {
            "order_id": ["A", "A", "A", "A", "B", "B"],
            "line_id": [None, None, "1", "2", "1", None],
            "tickets": [1, 1, 2, 3, 4, 5],
            "source_digest": ["d1", "d1", "d2", "d3", "d1", "d2"],
        }
    )
    order = [("d1", ""), ("d2", ""), ("d3", "")]
    kept = deduplicated(visits, order=order).sort("tickets")
    # A: the whole-order rows of d1 are superseded by d2 and d3's lines, both kept;
    # B: d2's whole-order row supersedes d1's line 1.
    assert kept["tickets"].to_list() == [2, 3, 5]
