"""Utility of the published estimates at the default budget (issue 12's targets).

At ε = 1 per quarter per institution (δ = 1e-7, ρ from
``dp.measurements.rho_for_epsilon``, spent by one submission split over the
tables by the release design's weights), on two sectors from demo/sector.py
(the realistic sector, 60 institutions by default, and the 16-institution
demo sector), repeated ``--runs`` times with fresh OpenDP noise:

1. every institution's exact tables are built once (``agent.tables.
   build_tables``, from the generator's ground truth: its household ids, not
   the ingest's address matching) with the default ticket cap (bounded) and
   with no cap (unbounded);
2. per run, each institution's tables are noised by ``dp.measurements.
   release_tables`` (OpenDP), summed per group as the aggregator does (the
   sector and every peer group of ``aggregator.peergroups.assign`` with at
   least k = 5 institutions), with the summed noise variances, and
   post-processed by ``aggregator.estimates.estimate_tables``;
3. the estimates are compared with the truth: the *unbounded* exact counts
   for relative errors (error = noise + post-processing + ticket-cap bias),
   the *bounded* exact counts for coverage (what the interval is about).

Reported (markdown): (a) household cells with ≥ 1,000 households, p50/p95
relative error (target p95 ≤ 5%); (b) the visits margins by month,
discipline and segment and their total with ≥ 5,000 visits (target p95 ≤
10%); (c) coverage of the stated 95% intervals of every cell not marked too
uncertain (target 93–97%); (d) the share of cells marked too uncertain;
(e) the cells, tables and groups that miss a target, with what their error is
made of; and the share of visits the ticket cap loses at 8, 12 and 20.

    .venv/bin/python bench/dp_accuracy.py [--runs 20] [--institutions 60] [--seed 11]
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import polars as pl

from agent.segments import synthetic_demo_model
from agent.tables import ReleaseConfig, build_tables
from agent.visits import VISIT_SCHEMA
from aggregator.estimates import ObservedTable, estimate_tables
from aggregator.peergroups import Member, assign
from demo.sector import KINDS, PERIOD, InstitutionSpec, Sector, generate_sector
from dp.measurements import TableRequest, noise_std, release_tables, rho_for_epsilon
from dp.release_design import DEFAULT_MAX_VISITS

EPSILON = 1.0
DELTA = 1e-7
K = 5
HOUSEHOLDS_MIN = 1_000  # truth threshold of the household-cell target
VISITS_MIN = 5_000  # truth threshold of the visits-margin target
HOUSEHOLDS_P95 = 0.05
VISITS_P95 = 0.10
COVERAGE = (0.93, 0.97)
VISITS_MARGINS = ("visits_by_month", "visits_by_discipline", "visits_by_segment")
VISITS_TOTAL = "visits (total)"  # the sum of a margin: post-processed margins share it
CAPS = (8, DEFAULT_MAX_VISITS, 20)
UNCAPPED = 10**9
MODEL = synthetic_demo_model()


@dataclass
class Institution:
    spec: InstitutionSpec
    requests: list[TableRequest]  # bounded exact tables at the default cap (to be noised)
    bounded: dict[str, np.ndarray]
    unbounded: dict[str, np.ndarray]
    visits_by_cap: dict[int, int]  # counted visits (tickets) per ticket cap
    variances: dict[str, float] = field(default_factory=dict)  # noise variance per cell


@dataclass
class Group:
    group_id: str
    members: tuple[int, ...]  # indices into the bench's institutions
    bounded: dict[str, np.ndarray] = field(default_factory=dict)
    unbounded: dict[str, np.ndarray] = field(default_factory=dict)
    # per table, one row per run: estimate, 95% interval, marked too uncertain
    estimate: dict[str, list[np.ndarray]] = field(default_factory=lambda: defaultdict(list))
    low: dict[str, list[np.ndarray]] = field(default_factory=lambda: defaultdict(list))
    high: dict[str, list[np.ndarray]] = field(default_factory=lambda: defaultdict(list))
    uncertain: dict[str, list[np.ndarray]] = field(default_factory=lambda: defaultdict(list))
    raw_sd: dict[str, float] = field(default_factory=dict)  # sd of the summed noise of a cell


@dataclass
class Bench:
    label: str
    institutions: list[Institution]
    groups: list[Group]
    tables: list[TableRequest]  # one institution's requests: names, keys, measures


def canonical_visits(sector: Sector) -> dict[str, pl.DataFrame]:
    """Canonical visits per institution from the generator's ground truth."""
    genres = {g: d for _, mapping in KINDS.values() for g, d in mapping.items()}
    ids = sector.rows["household"].unique().sort()
    keys = pl.DataFrame(
        {
            "household": ids,
            "household_key": [hashlib.sha256(f"bench {h}".encode()).digest() for h in ids],
        },
        schema={"household": pl.Int64, "household_key": pl.Binary},
    )
    columns = {
        "period": pl.lit(PERIOD),
        "visit_date": pl.col("visit_date").str.to_date("%d-%m-%Y"),
        "household_key": pl.col("household_key"),
        "pc4": pl.col("postcode").str.replace_all(" ", "").str.slice(0, 4).replace("", None),
        "order_id": pl.col("order_id"),
        "tickets": pl.col("tickets").cast(pl.Int32),
        "price": pl.lit(25.0),
        "event": pl.col("event"),
        "discipline": pl.col("discipline").replace_strict(genres),
        "birth_year": pl.lit(None, pl.Int32),
        "source_digest": pl.lit("bench"),
        "source_row": pl.int_range(pl.len()).cast(pl.Int64),
    }
    rows = sector.rows.join(keys, on="household", how="left", maintain_order="left")
    schema = {name: dtype for name, dtype in VISIT_SCHEMA.items() if name in columns}
    return {
        str(slug): part.select(
            *(expr.alias(name) for name, expr in columns.items() if name in schema)
        ).cast(schema)  # type: ignore[arg-type]
        for (slug,), part in rows.partition_by("institution", as_dict=True).items()
    }


def config_for(spec: InstitutionSpec, rho: float, max_visits: int) -> ReleaseConfig:
    """The institution's release config: one submission spends the whole period budget."""
    return ReleaseConfig(
        rho=rho, period_budget=rho, max_visits=max_visits, delta=DELTA, home_province=spec.province
    )


def _visits_total(requests: Iterable[TableRequest]) -> int:
    """Counted tickets: the sum of any visits table (every one is a partition)."""
    return next(sum(r.values) for r in requests if r.measure == "visits")


def _arrays(requests: Iterable[TableRequest]) -> dict[str, np.ndarray]:
    return {r.name: np.array(r.values, dtype=float) for r in requests}


def prepare(label: str, sector: Sector, rho: float) -> Bench:
    """Every institution's exact tables (once) and the groups they are summed over."""
    started = time.perf_counter()
    visits = canonical_visits(sector)
    institutions = []
    for spec in sector.institutions:
        build = {
            cap: build_tables(visits[spec.slug], MODEL, config_for(spec, rho, cap), period=PERIOD)
            for cap in (*CAPS, UNCAPPED)
        }
        institutions.append(
            Institution(
                spec=spec,
                requests=build[DEFAULT_MAX_VISITS],
                bounded=_arrays(build[DEFAULT_MAX_VISITS]),
                unbounded=_arrays(build[UNCAPPED]),
                visits_by_cap={cap: _visits_total(b) for cap, b in build.items()},
            )
        )
    members = [Member(s.slug, s.discipline, s.province, s.size_class) for s in sector.institutions]
    _, peer_groups = assign(members, K)
    index = {s.slug: i for i, s in enumerate(sector.institutions)}
    groups = [
        Group(g.group_id, tuple(index[m] for m in g.members))
        for g in peer_groups
        if len(g.members) >= K
    ]
    tables = institutions[0].requests
    for g in groups:
        for r in tables:
            g.bounded[r.name] = np.sum([institutions[i].bounded[r.name] for i in g.members], 0)
            g.unbounded[r.name] = np.sum([institutions[i].unbounded[r.name] for i in g.members], 0)
    print(
        f"  {label}: {len(institutions)} institutions, {sector.rows.height:,} export rows, "
        f"{len(groups)} groups of ≥ {K}; exact tables in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    return Bench(label, institutions, groups, tables)


def run_once(bench: Bench, mechanism: str) -> None:
    """One release by every institution, summed and post-processed per group."""
    noisy = []
    for inst in bench.institutions:
        released, _ = release_tables(inst.requests, mechanism=mechanism, delta=DELTA)
        noisy.append({t.name: np.array(t.values, dtype=float) for t in released})
        if not inst.variances:
            inst.variances = {t.name: noise_std(mechanism, t.scale) ** 2 for t in released}
    for g in bench.groups:
        observed = []
        for r in bench.tables:
            variance = sum(bench.institutions[i].variances[r.name] for i in g.members)
            g.raw_sd[r.name] = math.sqrt(variance)
            values = np.sum([noisy[i][r.name] for i in g.members], 0)
            observed.append(
                ObservedTable(
                    name=r.name,
                    measure=r.measure,
                    dimensions=r.dimensions,
                    keys=r.keys,
                    values=tuple(float(v) for v in values),
                    variances=(variance,) * len(r.keys),
                )
            )
        estimates = estimate_tables(observed)
        for r in bench.tables:
            cells = estimates[r.name]
            g.estimate[r.name].append(np.array([c.estimate for c in cells]))
            g.low[r.name].append(np.array([c.ci95_low for c in cells]))
            g.high[r.name].append(np.array([c.ci95_high for c in cells]))
            g.uncertain[r.name].append(np.array([c.too_uncertain for c in cells]))


# --- analysis ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CellErrors:
    """Relative errors of one cell over the runs, and what they are made of."""

    group: Group
    table: str
    key: str
    truth: float
    errors: np.ndarray  # |estimate - unbounded truth| / truth, one per run
    noise: float  # sd of the summed raw noise / truth
    cap_loss: float  # (unbounded - bounded truth) / truth
    bias: float  # mean(estimate) / bounded truth - 1 (post-processing)
    uncertain: float  # share of runs in which the cell was marked too uncertain


def cell_errors(bench: Bench, tables: Sequence[str], minimum: float) -> list[CellErrors]:
    out = []
    for g in bench.groups:
        for name in tables:
            if name == VISITS_TOTAL:
                truth = np.array([g.unbounded[VISITS_MARGINS[0]].sum()])
                bounded = np.array([g.bounded[VISITS_MARGINS[0]].sum()])
                estimate = np.array(g.estimate[VISITS_MARGINS[0]]).sum(1, keepdims=True)
                uncertain = np.zeros_like(estimate, dtype=bool)
                raw = g.raw_sd[VISITS_MARGINS[0]] * math.sqrt(len(g.bounded[VISITS_MARGINS[0]]))
                keys = ["total"]
            else:
                truth, bounded = g.unbounded[name], g.bounded[name]
                estimate = np.array(g.estimate[name])
                uncertain = np.array(g.uncertain[name])
                raw = g.raw_sd[name]
                table = next(r for r in bench.tables if r.name == name)
                keys = ["/".join(k) for k in table.keys]
            for c, key in enumerate(keys):
                if truth[c] < minimum:
                    continue
                out.append(
                    CellErrors(
                        group=g,
                        table=name,
                        key=key,
                        truth=float(truth[c]),
                        errors=np.abs(estimate[:, c] - truth[c]) / truth[c],
                        noise=raw / truth[c],
                        cap_loss=float(truth[c] - bounded[c]) / truth[c],
                        bias=float(estimate[:, c].mean() / bounded[c] - 1) if bounded[c] else 0.0,
                        uncertain=float(uncertain[:, c].mean()),
                    )
                )
    return out


def pct(values: np.ndarray, q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else math.nan


def _pooled(cells: Sequence[CellErrors]) -> np.ndarray:
    return np.concatenate([c.errors for c in cells]) if cells else np.zeros(0)


def why(cell: CellErrors, target: float) -> str:
    """What the error of a cell that misses its target is mostly made of."""
    if cell.cap_loss > target / 2:
        return f"ticket cap loses {cell.cap_loss:.1%} of the true count"
    if 1.96 * cell.noise > target:
        return (
            f"noise: {len(cell.group.members)} institutions each add noise to a thin cell "
            f"(±{1.96 * cell.noise:.1%} at 95% before post-processing)"
        )
    if abs(cell.bias) > target / 2:
        return f"post-processing bias {cell.bias:+.1%}"
    return "noise and post-processing together"


def error_row(label: str, what: str, cells: Sequence[CellErrors], target: float) -> str:
    errors = _pooled(cells)
    p95 = pct(errors, 95)
    verdict = "met" if p95 <= target else "**not met**"
    return (
        f"| {label} | {what} | {len(cells)} | {pct(errors, 50):.2%} | {p95:.2%} | "
        f"≤ {target:.0%}: {verdict} |"
    )


def by_table_rows(label: str, cells: Sequence[CellErrors]) -> list[str]:
    rows = []
    for name in sorted({c.table for c in cells}):
        part = [c for c in cells if c.table == name]
        errors = _pooled(part)
        rows.append(
            f"| {label} | {name} | {len(part)} | {pct(errors, 50):.2%} | {pct(errors, 95):.2%} | "
            f"{max(float(np.percentile(c.errors, 95)) for c in part):.2%} |"
        )
    return rows


def misses(label: str, cells: Sequence[CellErrors], target: float, limit: int) -> list[str]:
    """The cells whose own p95 (over the runs) misses the target, worst first."""
    worst = sorted(
        (c for c in cells if np.percentile(c.errors, 95) > target),
        key=lambda c: -float(np.percentile(c.errors, 95)),
    )
    rows = [
        f"| {label} | {c.group.group_id} ({len(c.group.members)}) | {c.table} | {c.key} | "
        f"{c.truth:,.0f} | {float(np.percentile(c.errors, 95)):.1%} | {1.96 * c.noise:.1%} | "
        f"{c.cap_loss:.2%} | {c.bias:+.2%} | {c.uncertain:.0%} | {why(c, target)} |"
        for c in worst[:limit]
    ]
    if len(worst) > limit:
        rows.append(f"| {label} | … {len(worst) - limit} more cells | | | | | | | | | |")
    return rows


@dataclass
class Coverage:
    inside: int = 0
    stated: int = 0  # cells with an interval (not marked too uncertain)
    uncertain: int = 0
    cells: int = 0
    inside_all: int = 0  # including the cells marked too uncertain
    counted: int = 0  # cells whose bounded truth is at least 1
    counted_uncertain: int = 0

    def add(self, inside: np.ndarray, uncertain: np.ndarray, truth: np.ndarray) -> None:
        self.inside += int((inside & ~uncertain).sum())
        self.stated += int((~uncertain).sum())
        self.uncertain += int(uncertain.sum())
        self.cells += int(inside.size)
        self.inside_all += int(inside.sum())
        counted = np.broadcast_to(truth >= 1, uncertain.shape)
        self.counted += int(counted.sum())
        self.counted_uncertain += int((uncertain & counted).sum())

    def row(self, label: str, what: str) -> str:
        share = self.inside / self.stated if self.stated else math.nan
        se = math.sqrt(0.95 * 0.05 / self.stated) if self.stated else math.nan
        if COVERAGE[0] <= share <= COVERAGE[1]:
            verdict = "in 93–97%"
        elif COVERAGE[0] - 2 * se <= share <= COVERAGE[1] + 2 * se:
            verdict = "outside 93–97%, within 2 s.e."
        else:
            verdict = "**outside 93–97%**"
        counted = self.counted_uncertain / self.counted if self.counted else math.nan
        return (
            f"| {label} | {what} | {self.stated:,} | {share:.1%} ± {se:.1%} | {verdict} | "
            f"{self.inside_all / self.cells:.1%} | {self.uncertain / self.cells:.1%} | "
            f"{counted:.1%} |"
        )


def coverage(bench: Bench) -> dict[str, Coverage]:
    """Coverage of the bounded truth by the stated intervals, per table and measure."""
    out: dict[str, Coverage] = defaultdict(Coverage)
    for g in bench.groups:
        for r in bench.tables:
            truth = g.bounded[r.name]
            low, high = np.array(g.low[r.name]), np.array(g.high[r.name])
            inside = (low <= truth) & (truth <= high)
            uncertain = np.array(g.uncertain[r.name], dtype=bool)
            for key in (r.name, r.measure, "all tables"):
                out[key].add(inside, uncertain, truth)
    return out


def cap_rows(bench: Bench) -> list[str]:
    rows = []
    unbounded = sum(i.visits_by_cap[UNCAPPED] for i in bench.institutions)
    for cap in CAPS:
        lost = unbounded - sum(i.visits_by_cap[cap] for i in bench.institutions)
        worst = max(
            1 - i.visits_by_cap[cap] / max(1, i.visits_by_cap[UNCAPPED]) for i in bench.institutions
        )
        rows.append(
            f"| {bench.label} | {cap} | {lost / unbounded:.3%} | {worst:.3%} | {unbounded:,} |"
        )
    return rows


def markdown(header: Sequence[str], rows: Iterable[str]) -> None:
    """Print a markdown table (``rows`` are already formatted lines)."""
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print(row)


def sector_row(bench: Bench) -> str:
    specs = [i.spec for i in bench.institutions]
    sizes = sorted(s.households for s in specs)
    classes = " / ".join(
        str(sum(s.size_class == c for s in specs)) for c in ("small", "medium", "large")
    )
    groups = ", ".join(f"{g.group_id} ({len(g.members)})" for g in bench.groups)
    visits = sum(i.visits_by_cap[UNCAPPED] for i in bench.institutions)
    return (
        f"| {bench.label} | {len(specs)} ({classes}) | {sizes[0]:,} / {sizes[len(sizes) // 2]:,} "
        f"/ {sizes[-1]:,} | {visits:,} | {groups} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Utility of the published estimates at ε = 1.")
    parser.add_argument("--runs", type=int, default=20, help="releases per sector")
    parser.add_argument("--institutions", type=int, default=60, help="size of the realistic sector")
    parser.add_argument("--seed", type=int, default=11, help="seed of the realistic sector")
    parser.add_argument("--limit", type=int, default=15, help="missing cells listed per target")
    args = parser.parse_args()
    mechanism = ReleaseConfig().mechanism
    rho = rho_for_epsilon(EPSILON, DELTA)
    print(
        f"run {datetime.now().isoformat(timespec='minutes')}; {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}; ε = {EPSILON:g}, δ = {DELTA:g}, ρ = {rho:.4f}, "
        f"{mechanism}, ticket cap {DEFAULT_MAX_VISITS}, k = {K}, {args.runs} runs",
        flush=True,
    )
    realistic = generate_sector(institutions=args.institutions, seed=args.seed)
    benches = [
        prepare(f"realistic ({args.institutions})", realistic, rho),
        prepare("demo (16)", generate_sector(institutions=16, seed=7), rho),
    ]
    for bench in benches:
        started = time.perf_counter()
        for _ in range(args.runs):
            run_once(bench, mechanism)
        print(f"  {bench.label}: {args.runs} runs in {time.perf_counter() - started:.1f} s")
    tables = benches[0].tables
    households = [r.name for r in tables if r.measure == "households"]
    margins = [name for name in VISITS_MARGINS if any(r.name == name for r in tables)]
    products = [r.name for r in tables if r.measure == "visits" and r.name not in margins]
    a = {b.label: cell_errors(b, households, HOUSEHOLDS_MIN) for b in benches}
    b_ = {b.label: cell_errors(b, [*margins, VISITS_TOTAL], VISITS_MIN) for b in benches}
    other = {b.label: cell_errors(b, products, VISITS_MIN) for b in benches}
    groups = [(a, "household cells", HOUSEHOLDS_MIN, HOUSEHOLDS_P95)]
    groups += [(b_, "visits margins and total", VISITS_MIN, VISITS_P95)]
    groups += [(other, "other visits tables (no target)", VISITS_MIN, VISITS_P95)]

    print("\n#### Sectors and groups\n")
    markdown(
        [
            "sector",
            "institutions (small / medium / large)",
            "households a quarter (min/median/max)",
            "visits (tickets, uncapped)",
            "groups of ≥ 5 (institutions)",
        ],
        (sector_row(b) for b in benches),
    )

    print("\n#### (a) Household cells and (b) visits margins: relative error\n")
    markdown(
        ["sector", "cells", "number of cells", "p50", "p95", "target"],
        (
            error_row(bench.label, f"{what}, truth ≥ {minimum:,}", errors[bench.label], target)
            for bench in benches
            for errors, what, minimum, target in groups
            if errors[bench.label]
        ),
    )
    print("\nBy table (cells of every group pooled; the last column is the worst cell's p95):\n")
    markdown(
        ["sector", "table", "cells", "p50", "p95", "worst cell p95"],
        (
            row
            for bench in benches
            for errors, _, _, _ in groups
            for row in by_table_rows(bench.label, errors[bench.label])
        ),
    )

    print("\n#### (c) Coverage of the stated 95% intervals and (d) cells marked too uncertain\n")
    keys = ("all tables", "households", "visits", *(r.name for r in tables))
    covered = {bench.label: coverage(bench) for bench in benches}
    markdown(
        [
            "sector",
            "tables",
            "cells × runs with an interval",
            "coverage (± 1 s.e.)",
            "target",
            "coverage incl. too uncertain",
            "too uncertain",
            "too uncertain, truth ≥ 1",
        ],
        (covered[bench.label][key].row(bench.label, key) for bench in benches for key in keys),
    )
    print("\nToo uncertain among the cells the targets are about (cells × runs):\n")
    markdown(
        ["sector", "cells", "too uncertain"],
        (
            f"| {bench.label} | {what}, truth ≥ {minimum:,} | "
            f"{float(np.mean([c.uncertain for c in errors[bench.label]])):.1%} |"
            for bench in benches
            for errors, what, minimum, _ in groups[:2]
            if errors[bench.label]
        ),
    )

    print("\n#### (e) Cells that miss their target (own p95 over the runs), worst first\n")
    markdown(
        [
            "sector",
            "group (institutions)",
            "table",
            "cell",
            "truth",
            "p95 rel. error",
            "±95% noise of the raw sum",
            "ticket-cap loss",
            "post-processing bias",
            "too uncertain",
            "why",
        ],
        (
            row
            for bench in benches
            for errors, _, _, target in groups[:2]
            for row in misses(bench.label, errors[bench.label], target, args.limit)
        ),
    )
    print("\nTables whose coverage lies outside 93–97% are marked in (c).")

    print("\n#### Ticket cap: share of visits lost\n")
    markdown(
        [
            "sector",
            "tickets per household per quarter",
            "visits lost (sector)",
            "worst institution",
            "visits (uncapped)",
        ],
        (row for bench in benches for row in cap_rows(bench)),
    )


if __name__ == "__main__":
    main()
