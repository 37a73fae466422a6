"""Accuracy of DP sector totals: relative error and coverage of stated intervals.

For the demo sector (16 institutions) and a 100-institution synthetic sector
(demo/sector.py), every institution's tables are built from canonical visits
(in-process, no HTTP), released at a period budget of ε = 0.5, 1 and 2 per
quarter (δ = 1e-7; ρ found by OpenDP), and summed per cell across
institutions as the aggregator does. Reported per ε and measure:

* relative error of sector totals against the *unbounded* truth, p50 and p95
  over cells whose truth is ≥ 1 (error = noise + bounding bias);
* coverage of the stated 95% interval of sector totals (dp.measurements.
  sum_ci95) and of single cells (ReleasedTable.ci95) around the *bounded*
  truth: the quantity the interval is about;
* the bias of the default contribution bounds (and alternatives) on the
  sector totals.

    .venv/bin/python bench/dp_accuracy.py [--reps 20] [--big-reps 4]
"""

from __future__ import annotations

import argparse
import hashlib
import time
from collections import defaultdict
from dataclasses import replace
from datetime import datetime
from statistics import quantiles

import polars as pl

from agent.segments import synthetic_demo_model
from agent.tables import ReleaseConfig, build_tables
from agent.visits import VISIT_SCHEMA
from demo.sector import KINDS, generate_sector
from dp.measurements import TableRequest, release_tables, sum_ci95

EPSILONS = (0.5, 1.0, 2.0)
MODEL = synthetic_demo_model()
PERIOD = "2026-Q3"


def canonical_visits(institutions: int, households: int, seed: int) -> dict[str, pl.DataFrame]:
    """Canonical visits per institution, from the generator's ground truth."""
    sector = generate_sector(institutions=institutions, households=households, seed=seed)
    genres = {g: d for _, mapping in KINDS.values() for g, d in mapping.items()}
    # Institution names repeat beyond 48 (3 kinds x 16 cities) but each
    # institution's rows are contiguous: a run id tells them apart.
    rows = sector.rows.select(
        pl.format("{}-{}", pl.col("institution"), pl.col("institution").rle_id()).alias(
            "institution"
        ),
        pl.lit(PERIOD).alias("period"),
        pl.col("visit_date").str.to_date("%d-%m-%Y"),
        pl.col("household")
        .map_elements(
            lambda h: hashlib.sha256(f"bench {h}".encode()).digest(), return_dtype=pl.Binary
        )
        .alias("household_key"),
        pl.col("postcode").str.replace_all(" ", "").str.slice(0, 4).replace("", None).alias("pc4"),
        "order_id",
        pl.col("tickets").cast(pl.Int32),
        pl.lit(25.0).alias("price"),
        "event",
        pl.col("discipline").replace_strict(genres).alias("discipline"),
        pl.lit(None, pl.Int32).alias("birth_year"),
        pl.lit("bench").alias("source_digest"),
        pl.int_range(pl.len()).cast(pl.Int64).alias("source_row"),
        pl.lit(None, pl.Binary).alias("link_key"),  # one period only: nobody returns
    )
    return {
        str(name[0]): part.drop("institution").cast(VISIT_SCHEMA)  # type: ignore[arg-type]
        for name, part in rows.group_by("institution", maintain_order=True)
    }


def exact_tables(
    visits: dict[str, pl.DataFrame], config: ReleaseConfig
) -> dict[str, list[TableRequest]]:
    return {
        slug: build_tables(v, MODEL, config, period=PERIOD, earlier_households=None)
        for slug, v in visits.items()
    }


Cell = tuple[str, int]


def totals(tables: dict[str, list[TableRequest]]) -> dict[Cell, int]:
    out: dict[Cell, int] = defaultdict(int)
    for requests in tables.values():
        for r in requests:
            for i, v in enumerate(r.values):
                out[(r.name, i)] += v
    return out


def pct(values: list[float], q: int) -> float:
    return quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def accuracy(label: str, visits: dict[str, pl.DataFrame], reps: int) -> list[str]:
    base = ReleaseConfig(home_province="utrecht")
    unbounded = totals(
        exact_tables(visits, replace(base, max_visits=10**9, max_cells=99, max_months=99))
    )
    bounded_tables = exact_tables(visits, base)
    bounded = totals(bounded_tables)
    lines = []
    for epsilon in EPSILONS:
        config = ReleaseConfig.for_epsilon(epsilon)
        share = config.rho / sum(len(r) for r in list(bounded_tables.values())[:1])
        errors: dict[str, list[float]] = defaultdict(list)
        large: dict[str, list[float]] = defaultdict(list)
        inside: dict[str, list[bool]] = defaultdict(list)
        cell_inside: list[bool] = []
        started = time.perf_counter()
        for _ in range(reps):
            noisy: dict[Cell, int] = defaultdict(int)
            scales: dict[Cell, list[float]] = defaultdict(list)
            for requests in bounded_tables.values():
                released, _ = release_tables([replace(r, rho=share) for r in requests])
                for exact, table in zip(requests, released, strict=True):
                    for i, (v, x) in enumerate(zip(table.values, exact.values, strict=True)):
                        noisy[(table.name, i)] += v
                        scales[(table.name, i)].append(table.scale)
                        cell_inside.append(abs(v - x) <= table.ci95)
            for cell, total in noisy.items():
                measure = cell[0].split("_by_")[0]
                truth = unbounded[cell]
                if truth >= 1:
                    errors[measure].append(abs(total - truth) / truth)
                if truth >= 100:
                    large[measure].append(abs(total - truth) / truth)
                inside[measure].append(abs(total - bounded[cell]) <= sum_ci95(scales[cell]))
        took = time.perf_counter() - started
        for measure in ("households", "visits"):
            e, big = errors[measure], large[measure]
            lines.append(
                f"| {label} | {epsilon:g} | {config.rho:.4f} | {measure} | {pct(e, 50):.1%} | "
                f"{pct(e, 95):.1%} | {pct(big, 50):.1%} | {pct(big, 95):.1%} | "
                f"{sum(inside[measure]) / len(inside[measure]):.1%} "
                f"({len(inside[measure])}) | "
                f"{sum(cell_inside) / len(cell_inside):.1%} |"
            )
        print(f"  {label} ε={epsilon:g}: {reps} sector releases in {took:.1f} s", flush=True)
    return lines


def bias(label: str, visits: dict[str, pl.DataFrame]) -> list[str]:
    base = ReleaseConfig(home_province="utrecht")
    truth = totals(
        exact_tables(visits, replace(base, max_visits=10**9, max_cells=99, max_months=99))
    )
    lines = []
    for max_visits, max_cells in ((20, 2), (12, 2), (8, 2), (4, 1), (20, 1)):
        config = replace(base, max_visits=max_visits, max_cells=max_cells)
        got = totals(exact_tables(visits, config))
        for measure in ("households", "visits"):
            cells = [c for c in truth if c[0].startswith(measure)]
            lost = sum(truth[c] - got[c] for c in cells)
            lines.append(
                f"| {label} | {max_visits} | {max_cells} | {measure} | "
                f"{lost / max(1, sum(truth[c] for c in cells)):.2%} |"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--big-reps", type=int, default=4)
    args = parser.parse_args()
    print(f"run {datetime.now().isoformat(timespec='minutes')}", flush=True)
    demo = canonical_visits(16, 9000, 7)
    big = canonical_visits(100, 40000, 11)
    print(
        f"demo sector: {len(demo)} institutions, {sum(v.height for v in demo.values())} visits; "
        f"synthetic sector: {len(big)} institutions, {sum(v.height for v in big.values())} visits",
        flush=True,
    )
    rows = accuracy("demo (16)", demo, args.reps) + accuracy("synthetic (100)", big, args.big_reps)
    print()
    print(
        "| sector | ε per quarter | ρ | measure | rel. error p50 | rel. error p95 | "
        "p50 (truth ≥ 100) | p95 (truth ≥ 100) | "
        "coverage of sector 95% interval (cells) | coverage of per-cell 95% interval |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print()
    print(
        "| sector | max visits | max cells | measure | share of the true total lost to bounding |"
    )
    print("|---|---|---|---|---|")
    print("\n".join(bias("demo (16)", demo) + bias("synthetic (100)", big)))


if __name__ == "__main__":
    main()
