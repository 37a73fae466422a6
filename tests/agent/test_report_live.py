"""``publiek agent report`` through a real aggregator on 127.0.0.1 (issue 18).

The demo's sector (six institutions, real ingests, real submissions, a
published period) is the world: the demo itself writes one institution's
report, and the aggregator is then served again over the demo's state. The
report's own numbers are checked against counts taken here, with plain
polars, from the visits stored in the workspace; its peer group's and the
sector's figures against the API's answers; the refusals are one line each
with exit code 2, and an aggregator out of reach gives the own numbers only,
exit code 3.
"""

from __future__ import annotations

import math
import shutil
import stat
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from agent.client import AggregatorClient
from agent.own_report import default_path
from agent.workspace import Workspace
from aggregator.periods import open_period
from aggregator.settings import Settings
from aggregator.storage import Database
from cli import app
from demo.run import run_demo
from dp.release_design import DEFAULT_MAX_VISITS
from protocol.keys import SigningKey
from tests.agent.own_report_sample import read_report
from tests.aggregator.conftest import start_server
from tests.scratch import scratch

pytestmark = pytest.mark.slow  # the demo and a server: seconds (ADR 0032)

PERIOD = "2026-Q3"
EARLIER = "2026-Q2"  # the demo's first quarter, also published
K = 3
runner = CliRunner()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    with scratch(tmp_path_factory, "report-live") as folder:
        root = folder / "demo"
        result = run_demo(root, institutions=6, households=3000, k=K, progress=lambda _: None)
        settings = Settings(state_dir=root / "aggregator", k=K)
        server = start_server(settings.state_dir, settings.db_url, k=K)
        try:
            ws = Workspace(root / "agents" / result.sector.institutions[0].slug / "workspace")
            demo_report = default_path(ws, PERIOD, "nl")
            demo_bytes = demo_report.read_bytes()
            ws.save_config(replace(ws.load_config(), aggregator_url=server.url))
            yield SimpleNamespace(ws=ws, url=server.url, demo_report=demo_report,
                                  demo_bytes=demo_bytes, db_url=settings.db_url)  # fmt: skip
        finally:
            server.stop()


def report(world: SimpleNamespace, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["agent", "report", "-w", str(world.ws.root), *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def page(world: SimpleNamespace) -> Any:
    code, out, err = report(world, "--period", PERIOD)
    assert code == 0, err
    path = Path(out.strip())
    assert path == default_path(world.ws, PERIOD, "nl")
    return read_report(path.read_text(encoding="utf-8"))


def test_the_demo_writes_one_institutions_report_owner_only(world: SimpleNamespace) -> None:
    assert world.demo_bytes.startswith(b'<!doctype html>\n<html lang="nl">')
    assert stat.S_IMODE(world.demo_report.stat().st_mode) == 0o600


def test_the_own_numbers_are_the_exact_counts_of_the_stored_visits(
    world: SimpleNamespace, page: Any
) -> None:
    visits = world.ws.load_visits(PERIOD)
    per_household = visits.group_by("household_key").agg(pl.col("tickets").sum())
    assert per_household["tickets"].max() <= DEFAULT_MAX_VISITS  # no visit clipped away
    households = visits["household_key"].n_unique()
    by_month = visits.group_by(pl.col("visit_date").dt.strftime("%Y-%m").alias("m")).agg(
        pl.col("tickets").sum()
    )
    # Returning: households of the quarter whose link key is among the earlier quarter's
    # (the demo runs two quarters; the rule is agent.release.RETURNING_RULE).
    earlier = world.ws.load_visits(EARLIER)["link_key"].unique().implode()
    returning = visits.filter(pl.col("link_key").is_in(earlier))["household_key"].n_unique()
    assert 0 < returning < households
    rows = page.rows
    assert rows[("households_by_returning", "new")][0].data["exact"] == str(households - returning)
    assert rows[("households_by_returning", "returning")][0].data["exact"] == str(returning)
    for month, tickets in by_month.iter_rows():
        assert rows[("visits_by_month", month)][0].data["exact"] == str(tickets)
    segments = sum(int(rows[k][0].data["exact"]) for k in rows if k[0] == "households_by_segment")
    assert segments == households
    assert [c.data["exact"] for c in rows[("trend", PERIOD)][:2]] == [
        str(households),
        str(int(by_month["tickets"].sum())),
    ]


def _api(world: SimpleNamespace) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    agent = world.ws.load_config()
    signer = SigningKey.load(world.ws.signing_key_path)
    with AggregatorClient(world.url) as http:
        own = http.own_report(PERIOD, agent.institution_id, signer)
        sector = http.get(f"/v1/periods/{PERIOD}/benchmarks", params={"limit": 10_000})
    return own["cells"], sector["cells"]


Z95 = 1.959963984540054


def _sd(cell: dict[str, Any]) -> float:
    return (cell["ci95_high"] - cell["ci95_low"]) / (2 * Z95)


def _table_sums(cells: list[dict[str, Any]]) -> list[tuple[float, float, tuple[int, int]]]:
    """Each households table that lists every key of its key set (the totals a
    share may be taken of): its sum of published households, that sum's
    standard deviation, and the report's preference among equal sums (the
    fewest too uncertain cells, then the fewest cells)."""
    sizes = {"households_by_returning": 2, "households_by_frequency_band": 5,
             "households_by_recency": 4, "households_by_discipline_count": 3,
             "households_by_segment": 8, "households_by_province": 13,
             "households_by_discipline": 12}  # fmt: skip
    sums = []
    for table, size in sizes.items():
        listed = [c for c in cells if c["table"] == table and not c["too_uncertain"]]
        if len([c for c in cells if c["table"] == table]) == size:
            total = float(sum(c["estimate"] for c in listed))
            sd = math.sqrt(sum(_sd(c) ** 2 for c in listed))
            sums.append((total, sd, (size - len(listed), size)))
    return sums


def test_the_benchmark_figures_are_the_apis(world: SimpleNamespace, page: Any) -> None:
    peer_cells, sector_cells = _api(world)
    checked = 0
    for column, cells in ((2, peer_cells), (3, sector_cells)):
        listed = {(c["table"], str(c[c["dimensions"][0]])): c for c in cells
                  if len(c["dimensions"]) == 1}  # fmt: skip
        sums = _table_sums(cells)
        used = set()
        for (table, key), tds in page.rows.items():
            if not table.startswith("households_by") or table == "households_by_discipline":
                continue
            td, cell = tds[column], listed.get((table, key))
            if cell is None:
                assert td.gap == "too_few"
            elif cell["too_uncertain"]:
                assert td.gap == "too_uncertain"
            elif td.gap is None:  # a number: the API's, as a share of one table's sum
                assert float(td.count or "nan") == cell["estimate"]
                derived = 100 * cell["estimate"] / float(td.data["estimate"])
                # The tables of one measure add up to the same total (ADR 0012): the one
                # whose sum the share was taken of, and among equal sums the report's choice.
                total, total_sd, _ = min(
                    sums, key=lambda t: (round(abs(t[0] - derived) / derived, 4), t[2])
                )
                used.add(total)
                shown = [float(td.data[x]) for x in ("estimate", "low", "high")]
                # The share's interval: the delta method for cell / total, the cell in the total.
                share = cell["estimate"] / total
                variance = _sd(cell) ** 2 * (1 - 2 * share) + share**2 * total_sd**2
                half = Z95 * math.sqrt(max(0.0, variance)) / total
                assert shown == pytest.approx(
                    [100 * share, 100 * max(0.0, share - half), 100 * (share + half)], abs=1e-4
                )
                checked += 1
        assert len(used) == 1, used  # one total for every households share of the group
    assert checked >= 10


def test_english_to_a_file_of_ones_choosing(world: SimpleNamespace, tmp_path: Path) -> None:
    out = tmp_path / "rapport.html"
    code, stdout, err = report(world, "--period", PERIOD, "--lang", "en", "--out", str(out))
    assert (code, stdout.strip(), err) == (0, str(out), "")
    assert '<html lang="en">' in out.read_text(encoding="utf-8")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("period", "says"),
    [("2026-Q9", "a quarter"), ("2027-Q1", "this workspace holds no visits of 2027-Q1")],
)
def test_a_period_it_cannot_report_is_one_line_with_exit_code_2(
    world: SimpleNamespace, period: str, says: str
) -> None:
    code, out, err = report(world, "--period", period)
    assert (code, out) == (2, "")
    assert err.startswith("error: ") and says in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("opened", [False, True], ids=["not-opened", "open"])
def test_a_period_the_aggregator_has_not_published_gives_the_own_numbers_and_exit_code_3(
    world: SimpleNamespace, tmp_path: Path, opened: bool
) -> None:
    """The staff can read their exact counts on the day they ingest; the
    benchmark follows once the taskforce publishes the period (a period not
    opened yet, or open and not published)."""
    # A quarter of each case's own: the opened one stays open in the module's aggregator.
    quarter = "2027-Q1" if opened else "2026-Q4"
    if opened:
        db = Database(world.db_url)
        open_period(db, quarter, rho_budget=1.0)
        db.engine.dispose()
    stored = world.ws.visits_dir / f"period={quarter}"
    shutil.copytree(world.ws.visits_dir / f"period={PERIOD}", stored)
    out = tmp_path / "not-yet.html"
    try:
        code, stdout, err = report(world, "--period", quarter, "--out", str(out))
    finally:
        shutil.rmtree(stored)
    assert (code, stdout.strip()) == (3, str(out)), err
    assert err.startswith(f"warning: own numbers only, no benchmark of {quarter} for this")
    assert len(err.strip().splitlines()) == 1
    html = out.read_text(encoding="utf-8")
    assert f"De benchmark van {quarter} is er voor deze instelling (nog) niet" in html
    assert 'data-count="' not in html
    assert '<data class="exact"' in html  # the own exact counts are there


def test_out_of_reach_the_report_holds_the_own_numbers_and_exit_code_is_3(
    world: SimpleNamespace, tmp_path: Path
) -> None:
    config = world.ws.load_config()
    world.ws.save_config(replace(config, aggregator_url="http://127.0.0.1:9"))
    out = tmp_path / "own-only.html"
    try:
        code, stdout, err = report(world, "--period", PERIOD, "--out", str(out))
    finally:
        world.ws.save_config(config)
    assert (code, stdout.strip()) == (3, str(out))
    assert err.startswith("warning: own numbers only") and len(err.strip().splitlines()) == 1
    html = out.read_text(encoding="utf-8")
    assert "De benchmark kon niet worden opgehaald" in html and 'data-count="' not in html
