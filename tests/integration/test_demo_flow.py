"""The demo's whole flow against a real aggregator process on 127.0.0.1.

The truth is recomputed here from the synthetic export rows with a plain
Python reading of the household-key rules of docs/architecture.md (independent of the agent's
polars pipeline), then compared with what the aggregator published.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from agent.regions import province_of
from agent.segments import synthetic_demo_model
from demo.run import DemoResult, format_benchmark, run_demo
from demo.sector import KINDS

# The demo over a ten-institution sector: the slowest module (`pytest -m "not slow"` skips it).
pytestmark = pytest.mark.slow

INSTITUTIONS = 10
K = 3


def _pc6(raw: str) -> str | None:
    pc = raw.upper().replace(" ", "")
    ok = re.fullmatch(r"[1-9][0-9]{3}[A-Z]{2}", pc) and pc[4:] not in ("SA", "SD", "SS")
    return pc if ok else None


def _house(raw: str) -> tuple[int, str] | None:
    m = re.fullmatch(r"([0-9]+)[\s\-/]*([A-Z0-9\s\-/]*)", raw.strip().upper())
    if not m or int(m[1]) == 0:
        return None
    return int(m[1]), re.sub(r"[\s\-/]+", "", m[2])


def _email(raw: str) -> str | None:
    e = raw.strip().lower()
    local, _, domain = e.partition("@")
    return e if e.count("@") == 1 and local and "." in domain else None


FREQUENCY = ((10, "10+"), (5, "5-9"), (3, "3-4"), (2, "2"), (1, "1"))
MAX_VISITS = 12  # tickets per household per institution and period (the default bound)


def truth(result: DemoResult) -> dict[tuple[str, str], int]:
    """Exact sector totals per (table, label) of the tables in :data:`CHECKED`.

    Each institution's household has its lowest PC4 (for segment and
    province), its distinct visit days (frequency band) and its tickets
    capped at :data:`MAX_VISITS`; all are new in the demo's only period."""
    genre_map = {g: d for _, genres in KINDS.values() for g, d in genres.items()}
    key = result.sector_key.reveal()
    rows = []
    for r in result.sector.rows.iter_rows(named=True):
        pc6, house, email = _pc6(r["postcode"]), _house(r["house_number"]), _email(r["email"])
        identity = f"{pc6}|{house[0]}|{house[1]}" if pc6 and house else email
        if identity is None:
            continue
        rows.append(
            {
                "institution": r["institution"],
                "household_key": hmac.new(key, identity.encode(), hashlib.sha256).digest(),
                "pc4": pc6[:4] if pc6 else None,
                "day": r["visit_date"],
                "discipline": genre_map[r["discipline"]],
                "tickets": int(r["tickets"]),
            }
        )
    households = (
        pl.DataFrame(rows)
        .group_by("institution", "household_key")
        .agg(
            pl.col("pc4").min(),
            pl.col("day").n_unique().alias("days"),
            pl.col("tickets").sum().clip(upper_bound=MAX_VISITS).alias("tickets"),
        )
    )
    households = (
        synthetic_demo_model()
        .assign(households)
        .with_columns(province_of(pl.col("pc4")).fill_null("unknown").alias("province"))
    )
    out: dict[tuple[str, str], int] = {}
    for row in households.iter_rows(named=True):
        band = next(label for edge, label in FREQUENCY if row["days"] >= edge)
        for table, label, amount in (
            ("households_by_segment", row["segment"], 1),
            ("visits_by_segment", row["segment"], row["tickets"]),
            ("households_by_province", row["province"], 1),
            ("households_by_frequency_band", band, 1),
            ("households_by_returning", "new", 1),
        ):
            out[(table, label)] = out.get((table, label), 0) + amount
    return out


# Tables whose exact value this test can recompute without the agent's tie-breaks.
CHECKED = {
    "households_by_segment": "segment",
    "visits_by_segment": "segment",
    "households_by_province": "province",
    "households_by_frequency_band": "frequency_band",
    "households_by_returning": "returning",
}


def label(cell: dict[str, Any]) -> tuple[str, str]:
    return cell["table"], cell[CHECKED[cell["table"]]]


def published(result: DemoResult) -> list[dict[str, Any]]:
    return [c for c in result.benchmark["cells"] if c["published"] and c["table"] in CHECKED]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[DemoResult]:
    root = tmp_path_factory.mktemp("demo")
    return [
        run_demo(root, institutions=INSTITUTIONS, households=3000, k=K, progress=lambda _: None)
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
    # At 95% coverage, more misses than 5% + 3 sd + 1 happen with probability < 1%.
    n = len(inside)
    assert n >= 20
    assert n - sum(inside) <= 0.05 * n + 3 * math.sqrt(0.0475 * n) + 1, f"{sum(inside)}/{n}"


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
    assert not re.search(r"(?<![\w-])-\d", text)
    assert "te onzeker:" in text


_PC6_TOKEN = re.compile(r"(?<![A-Za-z0-9])([1-9][0-9]{3} ?[A-Za-z]{2})(?![A-Za-z0-9])")


def _personal_data(result: DemoResult) -> tuple[set[str], set[str]]:
    """(PC6 postcodes in compact upper case, e-mail addresses and names in lower case)."""
    rows = result.sector.rows
    postcodes = {pc.upper().replace(" ", "") for pc in rows["postcode"].to_list() if pc}
    texts = {e.lower() for e in rows["email"].to_list() if e}
    texts |= {n.lower() for n in rows["name"].unique().to_list()}
    return postcodes, texts


def leaks(result: DemoResult, text: str) -> list[str]:
    """Personal data from the synthetic exports that occur in ``text``.

    A postcode counts when it stands as a token of its own (in any case, with
    or without the space), so random base64 or hex in envelopes and digests,
    which can contain any six characters by chance, is not a false alarm."""
    postcodes, texts = _personal_data(result)
    tokens = {t.upper().replace(" ", "") for t in _PC6_TOKEN.findall(text)}
    lowered = text.lower()
    return sorted(tokens & postcodes) + sorted(t for t in texts if t in lowered)


def _all_bytes(folder: Path) -> str:
    return "\n".join(
        p.read_bytes().decode("utf-8", errors="replace")
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    )


def test_aggregator_state_holds_no_personal_data(runs: list[DemoResult]) -> None:
    result = runs[-1]
    stored = _all_bytes(result.workspace / "aggregator")
    assert "aggregator.db" in {p.name for p in (result.workspace / "aggregator").iterdir()}
    assert leaks(result, stored) == []


def test_the_scan_would_find_personal_data(runs: list[DemoResult], tmp_path: Path) -> None:
    result = runs[-1]
    row = next(r for r in result.sector.rows.iter_rows(named=True) if r["email"] and r["postcode"])
    (tmp_path / "leak.txt").write_text(f"visitor {row['email'].upper()};{row['postcode'].lower()};")
    assert leaks(result, _all_bytes(tmp_path)) == sorted(
        [row["postcode"].upper().replace(" ", ""), row["email"].lower()]
    )


def test_demo_output_holds_no_personal_data(tmp_path: Path) -> None:
    lines: list[str] = []
    result = run_demo(tmp_path, institutions=6, households=1500, k=K, progress=lines.append)
    printed = "\n".join(lines) + _all_bytes(tmp_path / "aggregator")
    assert "Sector benchmark" in printed
    assert leaks(result, printed) == []
