"""What the sector pages keep of a closed period is computed by the server's
warmer, not by the first reader (``aggregator.api.sector_pages.warm``), and a
new closing is a new key: nothing stale is shown."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aggregator import overlaps_inputs, penetration_inputs
from aggregator.api import sector_pages
from aggregator.app import create_app
from aggregator.intake import Intake
from aggregator.periods import close_period, reopen_period
from tests.aggregator.conftest import PERIOD, Aggregator, enroll_agents, make_aggregator

pytestmark = pytest.mark.slow  # real submissions through the intake


def _kept_periods() -> set[tuple[str, str]]:
    return {(key[1], key[2]) for key in penetration_inputs._KEPT}


def _kept_overlap_inputs() -> set[tuple[str, str]]:
    return {(key[1], key[2]) for key in overlaps_inputs._KEPT}


def _submitted(tmp_path: Path) -> Aggregator:
    """An aggregator whose open period holds five institutions' real submissions."""
    agg = make_aggregator(tmp_path / "state", f"sqlite:///{tmp_path / 'aggregator.db'}")
    agents = enroll_agents(
        agg.db, [(f"Theater {i}", "theater", "utrecht", "small") for i in range(5)]
    )
    intake = Intake(agg.db, agg.keyring)
    for agent in agents:
        intake.accept(agent.seal(agent.payload(PERIOD), agg.recipient))
    return agg


def test_the_warmer_computes_a_closed_periods_inputs_before_any_view(tmp_path: Path) -> None:
    agg = _submitted(tmp_path)
    sector_pages.forget_kept()
    app = create_app(agg.settings)
    svc = app.state.services

    sector_pages.warm(svc)  # open: nothing is kept, the pages compute it live
    assert (PERIOD, "open") not in _kept_periods() | _kept_overlap_inputs()

    close_period(agg.db, PERIOD, k=5)
    sector_pages.warm(svc)
    assert (PERIOD, "closed") in _kept_periods()
    # Without sketches, the overlaps' NoSketches is kept as firmly as their inputs would be.
    assert (PERIOD, "closed") in _kept_overlap_inputs()
    # Its model is the built-in demo one, without a population: penetration's NotFound is
    # kept with the inputs (cheap to ask again), never as the page's answer, which a
    # model published later must be able to change.
    assert not [key for key in sector_pages._ANSWERS if "group_penetration" in key]
    kept = len(sector_pages._ANSWERS)
    sector_pages.warm(svc)  # a second round finds everything kept
    assert len(sector_pages._ANSWERS) == kept

    reopen_period(agg.db, PERIOD)  # a reopen and a new close are a new key
    close_period(agg.db, PERIOD, k=5)
    before, overlaps_before = set(penetration_inputs._KEPT), set(overlaps_inputs._KEPT)
    sector_pages.warm(svc)
    assert set(penetration_inputs._KEPT) - before
    assert set(overlaps_inputs._KEPT) - overlaps_before


def test_the_running_server_warms_in_the_background(tmp_path: Path) -> None:
    agg = _submitted(tmp_path)
    close_period(agg.db, PERIOD, k=5)
    sector_pages.forget_kept()
    with TestClient(create_app(agg.settings)):  # the lifespan starts the warmer
        deadline = time.monotonic() + 30
        while (PERIOD, "closed") not in _kept_periods() and time.monotonic() < deadline:
            time.sleep(0.1)
    assert (PERIOD, "closed") in _kept_periods()
