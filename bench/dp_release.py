"""Time the DP release of every table for one large institution.

Target (issue 5): all tables for an institution with 2 million households in
at most 5 s, from canonical visits in memory to noisy tables and the composed
OpenDP spend (bounding + counting + noise + accounting; reading Parquet and
sealing are not included).

    .venv/bin/python bench/dp_release.py [--households 2000000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dp_synthetic import synthetic_visits

from agent.segments import synthetic_demo_model
from agent.tables import ReleaseConfig, build_tables
from dp.measurements import release_tables


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    model = synthetic_demo_model()
    visits = synthetic_visits(args.households)
    config = ReleaseConfig(home_pc4="3511")
    print(
        f"{args.households:,} households, {visits.height:,} visit rows; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    build, noise = [], []
    for run in range(args.runs):
        cpu = time.process_time()
        started = time.perf_counter()
        requests = build_tables(visits, model, config, period="2026-Q3")
        built = time.perf_counter()
        tables, spend = release_tables(requests, mechanism=config.mechanism, delta=config.delta)
        done = time.perf_counter()
        build.append(built - started)
        noise.append(done - built)
        print(
            f"run {run + 1}: bound+count {built - started:.2f} s, noise+accounting "
            f"{done - built:.2f} s, total {done - started:.2f} s "
            f"(CPU {time.process_time() - cpu:.2f} s over all threads) "
            f"({len(tables)} tables, {sum(len(t.keys) for t in tables)} cells, "
            f"ρ={spend.rho:g}, ε={spend.epsilon:.2f})",
            flush=True,
        )
    total = [b + n for b, n in zip(build, noise, strict=True)]
    print(
        f"median total {median(total):.2f} s (best {min(total):.2f} s); "
        f"load average now {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
