"""Exports without a genre column: their visits get the discipline the institution
enrolled with (unless the mapping sets ``default_discipline``), the report counts
them, and ``mapping suggest`` proposes it (ADR 0022)."""

from __future__ import annotations

import json
import secrets
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.workspace import AgentConfig, Workspace
from protocol.keys import SecretBytes

HEADER = "Bestelnummer;Datum;E-mailadres;Aantal"
ROWS = [f"B{n};{14 + n}-08-2026;v{n}@example.nl;2" for n in range(3)]
MAPPING = """\
[columns]
order_id = "Bestelnummer"
visit_date = "Datum"
email = "E-mailadres"
tickets = "Aantal"
"""


def _enrolled(tmp_path: Path, discipline: str = "museum") -> Workspace:
    """An enrolled workspace with the period's sector key in place, as after
    ``agent sector-key fetch`` (an enrolled workspace refuses to ingest without it)."""
    workspace = Workspace(tmp_path / "ws")
    workspace.save_config(AgentConfig("inst-1", "https://agg.example", discipline, "Utrecht"))
    workspace.install_sector_key("2026-Q3", SecretBytes(secrets.token_bytes(32)))
    return workspace


def _ingest(run_cli: Callable[..., Any], tmp_path: Path, export: Path) -> Any:
    return run_cli(
        "agent", "ingest", str(export), "-m", str(tmp_path / "map.toml"),
        "-w", str(tmp_path / "ws"), "--report-json", str(tmp_path / "report.json"),
    )  # fmt: skip


def _disciplines(tmp_path: Path) -> list[str]:
    return Workspace(tmp_path / "ws").load_visits("2026-Q3")["discipline"].to_list()


def test_without_a_genre_column_visits_get_the_enrolled_discipline(
    run_cli, tmp_path, write
) -> None:
    _enrolled(tmp_path)
    write("map.toml", MAPPING)
    result = _ingest(run_cli, tmp_path, write("e.csv", "\n".join([HEADER, *ROWS]) + "\n"))
    assert result.exit_code == 0, result.output
    assert _disciplines(tmp_path) == ["museum"] * 3
    assert "3 visits without a genre counted as museum" in result.output
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert (report["defaulted"], report["default_discipline"]) == (3, "museum")


def test_the_mappings_default_discipline_comes_first(run_cli, tmp_path, write) -> None:
    _enrolled(tmp_path)
    write("map.toml", 'default_discipline = "film"\n' + MAPPING)
    result = _ingest(run_cli, tmp_path, write("e.csv", "\n".join([HEADER, *ROWS]) + "\n"))
    assert result.exit_code == 0, result.output
    assert _disciplines(tmp_path) == ["film"] * 3
    assert "3 visits without a genre counted as film" in result.output


def test_an_unenrolled_workspace_counts_them_as_other_and_says_so(run_cli, tmp_path, write) -> None:
    write("map.toml", MAPPING)
    result = _ingest(run_cli, tmp_path, write("e.csv", "\n".join([HEADER, *ROWS]) + "\n"))
    assert _disciplines(tmp_path) == ["other"] * 3
    assert "3 visits without a genre counted as other" in result.output


def test_empty_genre_cells_of_a_genre_column_are_counted(run_cli, tmp_path, write) -> None:
    _enrolled(tmp_path)
    write("map.toml", MAPPING + 'discipline = "Genre"\n')
    rows = [f"{r};{g}" for r, g in zip(ROWS, ["Toneel", "", "theater"], strict=True)]
    result = _ingest(
        run_cli, tmp_path, write("e.csv", "\n".join([HEADER + ";Genre", *rows]) + "\n")
    )
    assert result.exit_code == 0, result.output
    # A genre column: an empty cell is no statement about the institution's discipline.
    assert sorted(_disciplines(tmp_path)) == ["other", "other", "theater"]
    assert "1 visits without a genre counted as other" in result.output


def test_mapping_suggest_proposes_the_enrolled_discipline(run_cli, tmp_path, write) -> None:
    export = write("e.csv", "\n".join([HEADER, *ROWS]) + "\n")
    plain = run_cli("agent", "mapping", "suggest", str(export))
    assert '# default_discipline = "theater"' in plain.output
    assert "default_discipline" not in tomllib.loads(plain.output)
    _enrolled(tmp_path, "heritage")
    draft = run_cli("agent", "mapping", "suggest", str(export), "-w", str(tmp_path / "ws"))
    assert draft.exit_code == 0, draft.output
    assert tomllib.loads(draft.output)["default_discipline"] == "heritage"
    with_genre = write("g.csv", "\n".join([HEADER + ";Genre", *[r + ";Toneel" for r in ROWS]]))
    draft = run_cli("agent", "mapping", "suggest", str(with_genre), "-w", str(tmp_path / "ws"))
    assert "default_discipline" not in draft.output
