"""Penetration and not-yet-visitors against a known truth (ADR 0031).

A synthetic population (the synthetic segment model at a small size,
``segments.synthetic.synthetic_tables``) and synthetic institutions, each at
a PC4 of its own, whose true visiting households per PC4 and segment are
drawn from that population with a reach that falls with distance. Their
``households_by_segment_catchment`` and ``households_by_segment_province``
tables are counted exactly and noised by OpenDP (``dp.measurements
.release_tables``) at the ρ share such a table gets, then estimated by
``aggregator.penetration`` per peer group (each member in its catchment, at
every radius) and for the sector (the country, and by province). Every
estimate is compared with the truth: the coverage of the stated 95%
intervals, overall and by the true number of visiting households in the
cell, and the error of what is shown.

    .venv/bin/python bench/penetration_accuracy.py [--replicates 40] [--write]

``--write`` puts the tables into docs/benchmarks.md (section "Penetration and
not-yet-visitors"); tests/aggregator/test_penetration_truth.py runs a smaller
version of the same simulation and checks the coverage.
"""

from __future__ import annotations

import argparse
import itertools
import math
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/'s own modules

from sections import replace_section

from aggregator.penetration import (
    CATCHMENT_TABLE,
    PROVINCE_TABLE,
    Contributor,
    Interval,
    Population,
    SegmentFigures,
    clear,
    group_in_catchments,
    sector_in_country,
    visitors_interval,
)
from aggregator.screening import TableInput
from dp.catchments import BANDS, RADII, UNKNOWN, bands_within, pc4_bands
from dp.measurements import GAUSSIAN, TableRequest, default_rho, noise_std
from dp.measurements import release_tables as noised
from dp.release_design import HOUSEHOLDS, PROVINCES, rho_share
from segments.synthetic import synthetic_tables

K = 3
BAND_REACH = {"within_15_km": 1.0, "15_to_30_km": 0.35, "30_to_60_km": 0.08, "beyond_60_km": 0.01}
SIZE_BINS = (0, 100, 300, 1_000, 3_000, math.inf)


def table_rho(name: str, rho: float) -> float:
    """The table's share of a submission's ρ by the release design."""
    return rho_share(name, rho)


@dataclass(frozen=True)
class Institution:
    """One synthetic institution's exact tables (numpy arrays in key order)."""

    institution_id: str
    origin: int
    catchment: np.ndarray  # (segments + unknown) × BANDS
    province: np.ndarray  # (segments + unknown) × (PROVINCES + unknown)


@dataclass(frozen=True)
class World:
    population: Population
    institutions: tuple[Institution, ...]
    groups: tuple[tuple[int, ...], ...]  # indexes into institutions


def build_world(
    seed: int, *, institutions: int = 36, households: int = 200_000, model_seed: int = 11
) -> World:
    """A population and institutions with known visiting households, in peer
    groups of 4–8 (the rest of the sector is the sector)."""
    model = synthetic_tables(model_seed, pc6_per_pc4=1, households=households)
    population = Population(model.segment_ids, model.pc4)
    segments = population.segments
    rng = np.random.default_rng(seed)
    pc4 = population.pc4
    counts = pc4.select(segments).to_numpy()  # PC4 × segment
    provinces = pc4["province"].to_list()
    province_index = np.array([PROVINCES.index(p) for p in provinces])
    codes = pc4["pc4"].to_numpy()
    made = []
    for i in range(institutions):
        origin = int(rng.choice(codes))
        band = pc4_bands(pc4.select("pc4", "lat", "lon"), origin)["band"].to_numpy()
        reach = rng.uniform(0.02, 0.25)
        affinity = rng.lognormal(0.0, 0.6, size=len(segments))
        decay = np.array([BAND_REACH.get(b, 0.0) for b in BANDS])[band]
        rate = np.clip(reach * decay[:, None] * affinity[None, :], 0.0, 1.0)
        visiting = rng.binomial(counts, rate)  # PC4 × segment
        catchment = np.zeros((len(segments) + 1, len(BANDS)), dtype=np.int64)
        province = np.zeros((len(segments) + 1, len(PROVINCES) + 1), dtype=np.int64)
        for b in range(len(BANDS)):
            catchment[: len(segments), b] = visiting[band == b].sum(axis=0)
        for p in range(len(PROVINCES)):
            province[: len(segments), p] = visiting[province_index == p].sum(axis=0)
        # Households the model cannot place: no segment, no band, no province.
        stray = rng.poisson(0.02 * visiting.sum())
        catchment[len(segments), BANDS.index(UNKNOWN)] = stray
        province[len(segments), len(PROVINCES)] = stray
        made.append(Institution(f"inst-{i:03d}", origin, catchment, province))
    order = rng.permutation(institutions)
    groups, start = [], 0
    while start + 4 <= institutions:
        size = int(rng.integers(4, 9))
        groups.append(tuple(int(x) for x in order[start : start + size]))
        start += size
    return World(population, tuple(made), tuple(g for g in groups if len(g) >= 4))


def _keys(rows: Sequence[str], columns: Sequence[str]) -> tuple[tuple[str, str], ...]:
    return tuple((r, c) for r in rows for c in columns)


def noised_members(world: World, rho: float) -> list[Contributor]:
    """Every institution's two tables with fresh OpenDP noise, as the
    aggregator reads them (``TableInput`` with the noise's std)."""
    segments = (*world.population.segments, UNKNOWN)
    catchment_keys = _keys(segments, BANDS)
    province_keys = _keys(segments, (*PROVINCES, UNKNOWN))
    members = []
    for inst in world.institutions:
        requests = [
            TableRequest(
                CATCHMENT_TABLE, HOUSEHOLDS, ("segment", "catchment"), catchment_keys,
                tuple(int(v) for v in inst.catchment.ravel()), 1.0, table_rho(CATCHMENT_TABLE, rho),
            ),
            TableRequest(
                PROVINCE_TABLE, HOUSEHOLDS, ("segment", "province"), province_keys,
                tuple(int(v) for v in inst.province.ravel()), 1.0, table_rho(PROVINCE_TABLE, rho),
            ),
        ]  # fmt: skip
        released, _ = noised(requests, mechanism=GAUSSIAN)
        tables = {
            t.name: TableInput(
                t.name, t.measure, t.dimensions, t.keys, t.values, noise_std(t.mechanism, t.scale)
            )
            for t in released
        }
        members.append(Contributor(inst.institution_id, inst.origin, tables))
    return members


@dataclass(frozen=True)
class Cell:
    """One estimated cell beside its truth."""

    kind: str  # group | sector | province
    group: int  # the peer group's number (-1: the sector)
    radius: str
    segment: str
    population: int
    true_visitors: int
    penetration: Interval | None
    not_yet_visitors: Interval
    true_index: float | None
    profile_index: Interval | None
    visitors_shown: bool

    @property
    def true_penetration(self) -> float:
        return 100.0 * self.true_visitors / self.population


def _true_index(visitors: dict[str, int], population: dict[str, int], s: str) -> float | None:
    audience, everyone = sum(visitors.values()), sum(population.values())
    if audience <= 0 or population[s] <= 0:
        return None
    return 100.0 * (visitors[s] / audience) / (population[s] / everyone)


def cells_of(world: World, members: list[Contributor]) -> Iterator[Cell]:
    """Every peer group at every radius, the sector and its provinces."""
    pop, segments = world.population, world.population.segments
    for number, group in enumerate(world.groups):
        chosen = [members[i] for i in group]
        for radius in RADII:
            audience = group_in_catchments(chosen, pop, radius=radius, k=K)
            within = [BANDS.index(b) for b in bands_within(radius)]
            truth = {
                s: sum(int(world.institutions[i].catchment[j, within].sum()) for i in group)
                for j, s in enumerate(segments)
            }
            area = dict.fromkeys(segments, 0)
            for i in group:
                for s, n in (pop.catchment(world.institutions[i].origin, radius) or {}).items():
                    area[s] += n
            yield from _compare(("group", number), radius, audience.segments, truth, area)
    sector = sector_in_country(members, pop, k=K)
    truth = {
        s: sum(int(inst.province[j, : len(PROVINCES)].sum()) for inst in world.institutions)
        for j, s in enumerate(segments)
    }
    yield from _compare(("sector", -1), "country", sector.segments, truth, pop.country())
    by_province = pop.by_province()
    for p, name in enumerate(PROVINCES):
        rows = [r for r in sector.provinces if r.province == name]
        truth = {
            s: sum(int(inst.province[j, p]) for inst in world.institutions)
            for j, s in enumerate(segments)
        }
        yield from _compare(("province", -1), "country", rows, truth, by_province.get(name, {}))


def _compare(
    kind: tuple[str, int],
    radius: str,
    rows: Sequence[SegmentFigures],
    truth: dict[str, int],
    area: dict[str, int],
) -> Iterator[Cell]:
    for r in rows:
        if r.population <= 0:
            continue
        yield Cell(
            kind=kind[0],
            group=kind[1],
            radius=radius,
            segment=r.segment,
            population=r.population,
            true_visitors=truth[r.segment],
            penetration=r.penetration,
            not_yet_visitors=r.not_yet_visitors,
            true_index=_true_index(truth, area, r.segment),
            profile_index=r.profile_index,
            visitors_shown=clear(visitors_interval(r.visitors)),
        )


def simulate(seed: int, replicates: int, **world_options: int) -> list[Cell]:
    """Cells of ``replicates`` noise draws over one world."""
    world = build_world(seed, **world_options)
    rho = default_rho()
    out: list[Cell] = []
    for _ in range(replicates):
        out.extend(cells_of(world, noised_members(world, rho)))
    return out


@dataclass(frozen=True)
class Coverage:
    penetration: float
    not_yet_visitors: float
    index: float
    cells: int
    index_cells: int


def coverage(cells: Sequence[Cell], *, shown_only: bool = False) -> Coverage:
    """Share of intervals that hold the truth (``shown_only``: of the cells
    whose figures are published, the rest being too uncertain)."""
    chosen = [c for c in cells if c.penetration is not None]
    if shown_only:
        pen = [c for c in chosen if clear(c.penetration)]
        nyv = [c for c in chosen if clear(c.not_yet_visitors)]
    else:
        pen = nyv = chosen
    indexed = [c for c in cells if c.profile_index is not None and c.true_index is not None]
    if shown_only:
        indexed = [c for c in indexed if c.visitors_shown and clear(c.profile_index)]
    return Coverage(
        penetration=_share(c.penetration.covers(c.true_penetration) for c in pen),  # type: ignore[union-attr]
        not_yet_visitors=_share(
            c.not_yet_visitors.covers(c.population - c.true_visitors) for c in nyv
        ),
        index=_share(c.profile_index.covers(c.true_index) for c in indexed),  # type: ignore[union-attr,arg-type]
        cells=len(pen),
        index_cells=len(indexed),
    )


def _share(flags: Iterator[bool]) -> float:
    values = list(flags)
    return sum(values) / len(values) if values else math.nan


def by_size(cells: Sequence[Cell]) -> list[tuple[str, int, float, float, float, float, float]]:
    """Per bin of true visiting households: cells, share shown, coverage of
    penetration, median absolute error in points and median relative error of
    the shown penetration, coverage of the profile index."""
    out = []
    for low, high in itertools.pairwise(SIZE_BINS):
        chosen = [c for c in cells if low <= c.true_visitors < high and c.penetration is not None]
        if not chosen:
            continue
        shown = [c for c in chosen if clear(c.penetration)]
        label = f"{low:,}–{high:,}" if math.isfinite(high) else f"≥ {low:,}"
        points = [abs(c.penetration.estimate - c.true_penetration) for c in chosen]  # type: ignore[union-attr]
        relative = [
            abs(c.penetration.estimate - c.true_penetration) / c.true_penetration  # type: ignore[union-attr]
            for c in shown
            if c.true_penetration > 0
        ]
        indexed = [c for c in chosen if c.profile_index is not None and c.true_index is not None]
        out.append(
            (
                label,
                len(chosen),
                len(shown) / len(chosen),
                coverage(chosen).penetration,
                statistics.median(points),
                statistics.median(relative) if relative else math.nan,
                _share(c.profile_index.covers(c.true_index) for c in indexed),  # type: ignore[union-attr,arg-type]
            )
        )
    return out


def report(cells: Sequence[Cell], *, command: str, seconds: float, replicates: int) -> str:
    everything, shown = coverage(cells), coverage(cells, shown_only=True)
    kinds = {kind: [c for c in cells if c.kind == kind] for kind in ("group", "sector", "province")}
    shown_nyv = len([c for c in cells if clear(c.not_yet_visitors)])
    groups = len({c.group for c in kinds["group"]})
    setup = (
        f"({seconds:.0f} s on the 2-core VM.) A synthetic population (the synthetic segment "
        "model, seed 11, at 200,000 households in 4,026 PC4 areas) and 36 synthetic "
        "institutions, each at a PC4 of its own, whose true visiting households per PC4 and "
        "segment are drawn from the population (reach 2–25%, a segment affinity per "
        "institution, falling with distance: ×1 within 15 km, ×0.35 to 30 km, ×0.08 to 60 km, "
        "×0.01 beyond; 2% more households without a segment). Their "
        "`households_by_segment_catchment` and `households_by_segment_province` tables are "
        "noised by OpenDP (discrete Gaussian) at their share of ρ = 0.0202 (ε = 1, δ = 1e-7) "
        "in the release design publiek-tables/3, "
        f"{replicates} times, and estimated by `aggregator.penetration`: {groups} peer "
        "groups of 4–8 members at each radius (15, 30, 60 km), the sector in the country and "
        "by province. The truth of a group's cell is its members' true visiting households "
        "summed (a household visiting two members counts twice, as in the estimate)."
    )
    same_event = (
        "Penetration and not-yet-visitors share one event (the population is exact: both "
        "intervals hold the truth exactly when the visitors' interval does), so their coverage "
        "over every cell is the same number; they differ in which cells are shown."
    )
    lines = [
        "## Penetration and not-yet-visitors",
        "",
        "```",
        command,
        "```",
        "",
        setup,
        "",
        ("**Coverage of the stated 95% intervals** (every cell, before the *too uncertain* "
        "rule; and of the cells shown):"),
        "",
        "| figure | every cell | cells | shown cells | cells shown |",
        "|---|---|---|---|---|",
        _row("penetration", everything.penetration, everything.cells, shown.penetration,
             shown.cells),
        _row("not-yet-visitors", everything.not_yet_visitors, everything.cells,
             shown.not_yet_visitors, shown_nyv),
        _row("profile index (delta method)", everything.index, everything.index_cells,
             shown.index, shown.index_cells),
        "",
        same_event,
        "",
        ("**By the true number of visiting households in the cell** (penetration; error in "
        "percentage points over every cell, relative error over the cells shown):"),
        "",
        ("| true visiting households | cells | shown | coverage | median error (points) "
        "| median relative error (shown) | index coverage |"),
        "|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for label, n, share, cov, points, relative, index in by_size(cells):
        lines.append(
            f"| {label} | {n:,} | {share:.0%} | {cov:.1%} | {points:.2f} | {_percent(relative)} | "
            f"{index:.1%} |"
        )
    lines += [
        "",
        "| estimate | cells | coverage (every cell) |",
        "|---|---|---|",
        *(
            f"| {kind} | {len(chosen):,} | {coverage(chosen).penetration:.1%} |"
            for kind, chosen in (
                ("peer group, each member in its catchment", kinds["group"]),
                ("sector, the country", kinds["sector"]),
                ("sector, by province", kinds["province"]),
            )
        ),
        "",
    ]
    return "\n".join(lines)


def _percent(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.1%}"


def _row(name: str, every: float, cells: int, shown: float, shown_cells: int) -> str:
    return f"| {name} | {every:.1%} | {cells:,} | {shown:.1%} | {shown_cells:,} |"


ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=40, help="noise draws")
    parser.add_argument("--seed", type=int, default=5, help="seed of the synthetic institutions")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    started = time.perf_counter()
    cells = simulate(args.seed, args.replicates)
    seconds = time.perf_counter() - started
    command = f".venv/bin/python bench/penetration_accuracy.py --replicates {args.replicates}"
    text = report(cells, command=command, seconds=seconds, replicates=args.replicates)
    print(text)
    if args.write:
        replace_section(ROOT / "docs" / "benchmarks.md", text)


if __name__ == "__main__":
    main()
