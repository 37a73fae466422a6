"""The demo's whole flow against a real aggregator process on 127.0.0.1.

The truth is recomputed here from the synthetic export rows with a plain
Python reading of the household-key rules of docs/architecture.md (independent of the agent's
polars pipeline), then compared with what the aggregator published.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from demo.run import SYNTHETIC_MODEL, DemoResult, format_benchmark, run_demo
from tests.integration.sector_truth import (
    CHECKED,
    all_bytes,
    checked_cells,
    label,
    misses_allowed,
    synthetic_model,
)
from tests.integration.sector_truth import leaks as leaks_in
from tests.integration.sector_truth import truth as truth_of
from tests.scratch import scratch

# The demo over a ten-institution sector: the slowest module (`pytest -m "not slow"` skips it).
pytestmark = pytest.mark.slow

INSTITUTIONS = 10
K = 3


def truth(result: DemoResult) -> dict[tuple[str, str], int]:
    """Exact sector totals of the tables in :data:`CHECKED` (tests/integration/sector_truth.py)."""
    return truth_of(result.sector.rows, result.sector_key.reveal(), synthetic_model())


def published(result: DemoResult) -> list[dict[str, Any]]:
    return checked_cells(result.benchmark["cells"])


def leaks(result: DemoResult, text: str) -> list[str]:
    """Personal data from the demo's synthetic exports that occur in ``text``."""
    return leaks_in(result.sector.rows, text)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[DemoResult]]:
    with scratch(tmp_path_factory, "demo") as root:
        yield [
            run_demo(
                root,
                institutions=INSTITUTIONS,
                households=8000,
                k=K,
                progress=lambda _: None,
                earlier_quarter=False,
            )
            for _ in range(2)
        ]


def test_true_totals_lie_in_the_stated_95_percent_interval(runs: list[DemoResult]) -> None:
    inside = []
    for result in runs:
        exact = truth(result)
        listed = [c for c in result.benchmark["cells"] if c["table"] in CHECKED]
        assert len(listed) == 8 + 8 + 13 + 5 + 2  # the full public key sets
        cells = published(result)  # the ones not too uncertain
        inside += [c["ci95_low"] <= exact.get(label(c), 0) <= c["ci95_high"] for c in cells]
    n = len(inside)
    assert n >= 20
    assert n - sum(inside) <= misses_allowed(n), f"{sum(inside)}/{n}"


def test_every_institution_contributes_to_every_cell(runs: list[DemoResult]) -> None:
    assert {c["institutions"] for c in runs[0].benchmark["cells"]} == {INSTITUTIONS}


def test_two_runs_draw_different_noise(runs: list[DemoResult]) -> None:
    noise = []
    for result in runs:
        exact = truth(result)
        noise.append({label(c): c["estimate"] - exact.get(label(c), 0) for c in published(result)})
    common = noise[0].keys() & noise[1].keys()
    assert common
    assert sum(noise[0][k] != noise[1][k] for k in common) > len(common) // 2


def test_the_printed_sector_table_has_no_negative_count_and_marks_uncertain_cells(
    runs: list[DemoResult],
) -> None:
    benchmark = runs[0].benchmark
    assert all(c["estimate"] is None or c["estimate"] >= 0 for c in benchmark["cells"])
    disciplines = sorted({c["discipline"] for c in benchmark["cells"] if "discipline" in c})
    text = format_benchmark(benchmark, disciplines)
    # the demo's segments are the synthetic model's, and the table says so
    assert (benchmark["segment_model"], benchmark["synthetic"]) == ("synthetic-2026.1", True)
    assert SYNTHETIC_MODEL.format(model="synthetic-2026.1") in text.splitlines()[1]
    assert not re.search(r"(?<![\w-])-\d", text)
    assert "te onzeker:" in text


def test_aggregator_state_holds_no_personal_data(runs: list[DemoResult]) -> None:
    result = runs[-1]
    stored = all_bytes(result.workspace / "aggregator")
    assert "aggregator.db" in {p.name for p in (result.workspace / "aggregator").iterdir()}
    assert leaks(result, stored) == []


def test_the_scan_would_find_personal_data(runs: list[DemoResult], tmp_path: Path) -> None:
    result = runs[-1]
    row = next(r for r in result.sector.rows.iter_rows(named=True) if r["email"] and r["postcode"])
    (tmp_path / "leak.txt").write_text(f"visitor {row['email'].upper()};{row['postcode'].lower()};")
    assert leaks(result, all_bytes(tmp_path)) == sorted(
        [row["postcode"].upper().replace(" ", ""), row["email"].lower()]
    )


def test_demo_output_holds_no_personal_data(tmp_path: Path) -> None:
    lines: list[str] = []
    result = run_demo(tmp_path, institutions=6, households=1500, k=K, progress=lines.append)
    printed = "\n".join(lines) + all_bytes(tmp_path / "aggregator")
    assert "Sector benchmark" in printed
    assert leaks(result, printed) == []
