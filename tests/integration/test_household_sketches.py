"""Household sketches end to end (issue 17, ADR 0036), against a real
aggregator process on 127.0.0.1: the taskforce opens a period with a sketch,
two agents whose audiences overlap release and submit over HTTP, the
aggregator stores their sketches, and ``period_sketches`` reads back one per
institution, in parts by discipline, from which the overlap is estimated.
The ρ of tables and sketch adds up to the budget in both ledgers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from agent import ledger
from agent.enrollment import enroll
from agent.ingest import ingest_exports
from agent.ingest.mapping import Mapping
from agent.workspace import Workspace
from aggregator.enrollment import create_token
from aggregator.overlap_estimators import intersection
from aggregator.periods import open_period, standing
from aggregator.sketch_inputs import SubmittedSketch, period_sketches
from aggregator.storage import Database
from cli import app
from demo.run import aggregator_process
from demo.sector import PERIOD, Sector, generate_sector, write_exports
from dp.release_design import DISCIPLINES
from dp.sketches import NoisySketch
from protocol.keys import SecretBytes
from tests.aggregator.conftest import make_aggregator

pytestmark = pytest.mark.slow

runner = CliRunner()
SECTOR_KEY = SecretBytes(bytes(range(32)))
# A large budget so that the overlap of a few hundred households is measurable
# here; the mechanics are the same at the default budget.
BUDGET = 5.0
SHARE = 0.25


@dataclass
class World:
    db: Database
    sector: Sector
    agents: dict[str, Workspace]
    sketches: list[SubmittedSketch]
    outputs: dict[str, Any]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("sketches")
    state = make_aggregator(root / "aggregator", period=None, k=1)
    open_period(
        state.db, PERIOD, rho_budget=BUDGET, k=1, overlap_share=SHARE, overlap_households=800
    )
    sector = generate_sector(institutions=2, sizes=[900, 700], seed=5)
    exports = write_exports(sector, root / "exports")
    with aggregator_process(state.settings, lambda _: None) as url:
        agents: dict[str, Workspace] = {}
        outputs: dict[str, Any] = {}
        for index, spec in enumerate(sector.institutions):
            token = create_token(
                state.db, name=f"Zaal {index}", discipline=spec.discipline,
                province=spec.province, valid_for=timedelta(hours=1),
            )[1]  # fmt: skip
            ws = Workspace(root / "agents" / spec.slug / "ws")
            enroll(ws, url, token)
            ws.install_sector_key(PERIOD, SECTOR_KEY)
            mapping = Mapping.load(root / "exports" / spec.slug / "mapping.toml")
            ingest_exports([exports[spec.slug]], mapping, ws)
            if index == 0:  # the first consents to named overlaps, the second does not
                (ws.root / "release.toml").write_text("share_named_overlaps = true\n")
            ran = runner.invoke(app, ["agent", "submit", "--period", PERIOD, "-w", str(ws.root)])
            assert ran.exit_code == 0, ran.output
            agents[ws.load_config().institution_id] = ws
            outputs[ws.load_config().institution_id] = ran
        yield World(state.db, sector, agents, period_sketches(state.db, PERIOD), outputs)
    state.db.engine.dispose()


def test_each_institution_has_one_sketch_with_a_part_per_discipline(world: World) -> None:
    assert [s.institution_id for s in world.sketches] == sorted(world.agents)
    config = world.sketches[0].parts["music"].config
    assert config.period == PERIOD and config.width >= 256
    for submitted in world.sketches:
        assert list(submitted.parts) == list(DISCIPLINES)
        assert {p.config for p in submitted.parts.values()} == {config}
    consent = {s.institution_id: s.named_overlaps for s in world.sketches}
    first = world.agents[world.sketches[0].institution_id]
    expected_first = (first.root / "release.toml").exists()
    assert consent[world.sketches[0].institution_id] is expected_first
    assert sorted(consent.values()) == [False, True]


def _whole(parts: dict[str, NoisySketch]) -> NoisySketch:
    """The institution's sketch of all its households: the parts summed (each
    household is in one part, so the sum is the sketch of the union)."""
    any_part = next(iter(parts.values()))
    buckets = [sum(col) for col in zip(*(p.buckets for p in parts.values()), strict=True)]
    return NoisySketch(
        config=any_part.config,
        buckets=tuple(buckets),
        households=sum(p.households for p in parts.values()),
        mechanism=any_part.mechanism,
        bucket_variance=any_part.bucket_variance * len(parts),
        count_variance=any_part.count_variance * len(parts),
        bucket_kurtosis=any_part.bucket_kurtosis * len(parts),
        rho=any_part.rho,
    )


def test_the_stored_sketches_measure_the_true_overlap(world: World) -> None:
    rows = world.sector.rows
    slugs = [i.slug for i in world.sector.institutions]
    audiences = [set(rows.filter(pl.col("institution") == s)["household"].to_list()) for s in slugs]
    true = len(audiences[0] & audiences[1])
    a, b = (_whole(s.parts) for s in world.sketches)
    estimate = intersection(a, b)
    assert true > 20  # the synthetic audiences do overlap
    assert abs(estimate.estimate - true) <= 5 * estimate.std + 5, (estimate, true)
    totals = sorted(round(s.households) for s in (a, b))
    sizes = sorted(len(x) for x in audiences)
    assert all(
        abs(t - n) <= 6 * a.count_variance**0.5 + 5 for t, n in zip(totals, sizes, strict=True)
    )


def test_rho_of_tables_and_sketch_adds_up_in_both_ledgers(world: World) -> None:
    for institution_id, ws in world.agents.items():
        [entry] = ledger.entries(ws, PERIOD)
        payload = entry.payload
        assert payload.sketch is not None
        tables = sum(t.rho for t in payload.tables)
        assert payload.sketch.rho == pytest.approx(SHARE * BUDGET, rel=1e-3)
        assert tables + payload.sketch.rho == pytest.approx(payload.privacy.rho, rel=1e-9)
        assert ledger.spent(ws, PERIOD) == pytest.approx(BUDGET, rel=1e-6)
        counted = standing(world.db, PERIOD, institution_id)
        assert counted.rho_spent == pytest.approx(payload.privacy.rho, rel=1e-12)
        assert counted.rho_left == pytest.approx(0.0, abs=1e-6)


def test_inspect_shows_the_sketch_summary_and_the_consent(world: World) -> None:
    for ws in world.agents.values():
        [entry] = ledger.entries(ws, PERIOD)
        shown = runner.invoke(app, ["agent", "inspect", entry.submission_id, "-w", str(ws.root)])
        assert shown.exit_code == 0, shown.output
        assert f"household sketch publiek-sketch/1: {len(DISCIPLINES)} parts" in shown.stdout
        assert "named overlaps shared: " in shown.stdout
        assert "sealed envelope matches this plaintext" in shown.stdout
