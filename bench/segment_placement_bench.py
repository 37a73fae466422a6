"""Time placing households in segments at ingest, and reading the installed model.

Target (issue 16): placing households by PC6 adds at most 1 s to a 10-million-row
ingest with the full synthetic release (``synthetic-2026.1``: 452,536 PC6). The
ingest places each distinct address once, so the bench places as many
*addresses* as the export has rows (10 million: every row a new address, the
worst case), 90 % in a PC6 of the model and 10 % in one it lacks (placed by
their PC4). Timed per round, on addresses made outside the timing:

* ``lookup``: the table built from the model (:class:`agent.segments.Placement`,
  once per ingest);
* ``areas``: each address's PC6 to its row of shares (what the address book does
  per group of new addresses);
* ``draw``: each household's segment from its key and that row (what the household
  table does at the end).

Wall and CPU time (the process's, all threads: polars runs the gathers on both
cores) are printed; on a shared box the wall time moves with the load.

Also timed: reading the installed release for an ingest, verified every time
(before ADR 0029) against the cache of its verified tables (first ingest:
verify and write the cache; every later one: read it).

    .venv/bin/python bench/segment_placement_bench.py [--addresses 10000000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from statistics import median

import numpy as np
import polars as pl

from agent.ingest.household_keys import from_digests
from agent.segment_install import (
    cached_release_model,
    install_model,
    installed_release,
    model_of,
    pin_model_key,
)
from agent.segments import Placement
from agent.workspace import Workspace
from segments.synthetic import synthetic_model_key, synthetic_release


def _addresses(pc6: pl.Series, n: int, seed: int) -> tuple[pl.Series, pl.Series]:
    """``n`` normalised PC6 codes (one in ten not in the model) and 32-byte keys."""
    rng = np.random.default_rng(seed)
    codes = pc6.gather(pl.Series(rng.integers(0, pc6.len(), n)))
    lacking = pl.Series(np.arange(0, n, 10))
    codes = codes.scatter(lacking, codes.gather(lacking).str.slice(0, 4) + "XZ")
    return codes, from_digests(rng.bytes(32 * n))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--addresses", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    data = synthetic_release()
    with tempfile.TemporaryDirectory() as folder:
        ws = Workspace(Path(folder) / "ws").ensure()
        pin_model_key(ws, synthetic_model_key().public.to_text())
        (Path(folder) / "synthetic-2026.1.segments").write_bytes(data)
        install_model(ws, Path(folder) / "synthetic-2026.1.segments")
        print(
            f"release {len(data) / 1e6:.1f} MB; {os.cpu_count()} CPUs, "
            f"load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        verified, first, cached = [], [], []
        for _ in range(args.rounds):
            started = time.perf_counter()
            model = model_of(installed_release(ws))
            verified.append(time.perf_counter() - started)
            (ws.root / "segment-model.cache" / "model.json").unlink(missing_ok=True)
            started = time.perf_counter()
            cached_release_model(ws)
            first.append(time.perf_counter() - started)
            started = time.perf_counter()
            model = cached_release_model(ws)
            cached.append(time.perf_counter() - started)
        print(
            f"installed model for an ingest: verified every time {median(verified):.2f} s, "
            f"first ingest (verify, write the cache) {median(first):.2f} s, "
            f"later ingests (the cache) {median(cached):.2f} s",
            flush=True,
        )
        assert model.pc6 is not None
        pc6, keys = _addresses(model.pc6["pc6"], args.addresses, seed=7)
        totals, cpu = [], []
        for run in range(args.rounds):
            cpu_started = time.process_time()
            started = time.perf_counter()
            placement = Placement(model)
            built = time.perf_counter()
            areas = placement.areas(pc6)
            looked_up = time.perf_counter()
            segments = placement.segments(keys, areas)
            drawn = time.perf_counter()
            totals.append(drawn - started)
            cpu.append(time.process_time() - cpu_started)
            print(
                f"run {run + 1}: lookup {built - started:.2f} s, areas {looked_up - built:.2f} s, "
                f"draw {drawn - looked_up:.2f} s, total {drawn - started:.2f} s "
                f"(CPU {cpu[-1]:.2f} s) "
                f"({args.addresses:,} addresses, {segments.null_count()} null)",
                flush=True,
            )
        print(
            f"median total {median(totals):.2f} s (CPU {median(cpu):.2f} s) for "
            f"{args.addresses:,} addresses; "
            f"load average now {os.getloadavg()[0]:.1f}"
        )


if __name__ == "__main__":
    main()
