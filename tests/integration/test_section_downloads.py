"""The overview's profile and overlap sections as CSV and Parquet
(``aggregator.api.section_downloads``), through a real server over the demo's
state: the files hold the API's figures, the page links them, the public
gets published periods only and the taskforce's routes need its session."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import polars as pl
import pytest

from aggregator.auth import TASKFORCE, create_user
from aggregator.settings import Settings
from aggregator.storage import Database
from demo.run import run_demo
from tests.aggregator.conftest import start_server
from tests.scratch import scratch

pytestmark = pytest.mark.slow  # the demo and a server: seconds (ADR 0032)

PERIOD = "2026-Q3"
K = 3
PASSWORD = "a long enough passphrase"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    with scratch(tmp_path_factory, "section-downloads") as folder:
        root = folder / "demo"
        run_demo(root, institutions=6, households=3000, k=K, progress=lambda _: None,
                 earlier_quarter=False)  # fmt: skip
        settings = Settings(state_dir=root / "aggregator", k=K)
        db = Database(settings.db_url)
        create_user(db, "tf-downloads", TASKFORCE, PASSWORD)
        db.engine.dispose()
        server = start_server(settings.state_dir, settings.db_url, k=K)
        try:
            yield SimpleNamespace(url=server.url)
        finally:
            server.stop()


def _csv(client: httpx.Client, path: str, **params: str) -> pl.DataFrame:
    answer = client.get(path, params=params)
    assert answer.status_code == 200, answer.text[:300]
    assert answer.headers["content-type"].startswith("text/csv")
    return pl.read_csv(io.BytesIO(answer.content))


def test_the_profile_file_holds_the_apis_figures(world: SimpleNamespace) -> None:
    with httpx.Client(base_url=world.url, timeout=60) as client:
        api = client.get(f"/v1/periods/{PERIOD}/penetration", params={"group": "sector"}).json()
        frame = _csv(client, f"/periods/{PERIOD}/profile.csv", group="sector")
        parquet = client.get(f"/periods/{PERIOD}/profile.parquet", params={"group": "sector"})
        assert pl.read_parquet(io.BytesIO(parquet.content)).height == frame.height
    segments = frame.filter(pl.col("by") == "segment")
    assert segments["segment"].to_list() == [s["segment"] for s in api["segments"]]
    for row, entry in zip(segments.iter_rows(named=True), api["segments"], strict=True):
        assert row["population"] == entry["population"]
        for name in ("visitors", "penetration", "profile_index"):
            assert row[f"{name}_estimate"] == entry[name]["estimate"]
            assert row[f"{name}_too_uncertain"] == entry[name]["too_uncertain"]
    assert (frame["visitors_estimate"].drop_nulls() >= 0).all()


def test_the_overlaps_file_holds_the_crossover_and_the_reach(world: SimpleNamespace) -> None:
    with httpx.Client(base_url=world.url, timeout=60) as client:
        crossover = client.get(f"/v1/periods/{PERIOD}/overlaps", params={"by": "discipline"})
        reach = client.get(f"/v1/periods/{PERIOD}/reach").json()
        frame = _csv(client, f"/periods/{PERIOD}/overlaps.csv")
    cells = frame.filter(pl.col("figure") == "shared_households")
    assert cells.height == len(crossover.json()["cells"])
    for row, cell in zip(cells.iter_rows(named=True), crossover.json()["cells"], strict=True):
        assert (row["left"], row["right"]) == (cell["left"], cell["right"])
        expected = cell["shared_households"]["estimate"] if cell["listed"] else None
        assert row["value_estimate"] == expected
    sector = frame.filter(pl.col("figure") == "reach").row(0, named=True)
    assert sector["value_estimate"] == reach["reach"]["estimate"]
    assert sector["value_ci95_low"] == reach["reach"]["ci95_low"]


def test_the_page_links_them_and_the_links_answer(world: SimpleNamespace) -> None:
    with httpx.Client(base_url=world.url, timeout=60) as client:
        page = client.get("/", params={"period": PERIOD}).text
        links = [
            h.replace("&amp;", "&")
            for h in re.findall(r'href="([^"]+\.(?:csv|parquet)[^"]*)"', page)
        ]
        assert any("/profile.csv" in h for h in links) and any(
            "/overlaps.parquet" in h for h in links
        )
        for href in links:
            assert client.get(href).status_code == 200, href


def test_the_public_gets_published_periods_and_the_taskforce_routes_need_a_session(
    world: SimpleNamespace,
) -> None:
    with httpx.Client(base_url=world.url, timeout=60, follow_redirects=False) as client:
        assert client.get("/periods/2027-Q1/overlaps.csv").status_code == 404
        anonymous = client.get(f"/taskforce/periods/{PERIOD}/overlaps.csv")
        assert anonymous.status_code == 303
        login = client.post("/login", data={"username": "tf-downloads", "password": PASSWORD})
        assert login.status_code == 303
        assert client.get(f"/taskforce/periods/{PERIOD}/overlaps.csv").status_code == 200


def _trend_section(page: str, name: str) -> list[tuple[str, str | None]]:
    """(data-key, the estimate shown or None for a gap) of one trends section's cells."""
    start = page.index(f'data-table="{name}"')
    section = page[start : page.index("</section>", start)]
    cell = r'<td[^>]*data-key="([^"]*)"[^>]*>(?:<data class="estimate" value="([^"]*)")?'
    return [(key, value or None) for key, value in re.findall(cell, section)]


def _shown(figure: dict[str, Any]) -> float | None:
    """What a page shows of an API figure: its estimate, or a gap when too uncertain."""
    return None if figure["too_uncertain"] else float(figure["estimate"])


def test_the_trends_carry_the_profile_the_crossover_and_the_reach_of_the_apis(
    world: SimpleNamespace,
) -> None:
    with httpx.Client(base_url=world.url, timeout=60) as client:
        page = client.get("/trends").text
        penetration = client.get(
            f"/v1/periods/{PERIOD}/penetration", params={"group": "sector"}
        ).json()
        crossover = client.get(f"/v1/periods/{PERIOD}/overlaps", params={"by": "discipline"}).json()
        reach = client.get(f"/v1/periods/{PERIOD}/reach").json()

    def floats(name: str) -> list[float | None]:
        return [float(v) if v is not None else None for _, v in _trend_section(page, name)]

    segments = penetration["segments"]
    assert floats("profile_index") == [_shown(s["profile_index"]) for s in segments]
    assert floats("penetration") == [_shown(s["penetration"]) for s in segments]
    pairs = [_shown(c["shared_households"]) if c["listed"] else None for c in crossover["cells"]]
    assert floats("crossover") == pairs
    assert floats("reach") == [
        _shown(reach[name])
        for name in ("reach", "mean_institutions", "household_institution_pairs")
    ]
    # Six institutions: most figures are too uncertain, the pairs' count is not.
    shown = floats("profile_index") + floats("penetration") + pairs + floats("reach")
    assert any(v is not None for v in shown)
