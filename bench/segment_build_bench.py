"""Time building and verifying a segment model release from CSV inputs.

Target (issue 16): building a release from CSV inputs covering 4,000 PC4
areas and 450,000 PC6 codes takes at most 10 s. The inputs are the synthetic
model's tables (segments/synthetic.py: 4,041 PC4, 452,536 PC6, 349
municipalities, 7 segments), written as the four CSV files first, outside the
timing. Timed: ``build_release`` (read and check the CSV files, write the
Parquet tables, sign, pack) and ``verify_release`` (container, signature,
hashes, Parquet, content checks).

    .venv/bin/python bench/segment_build_bench.py [--runs 3] [--pc6-per-pc4 112]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path
from statistics import median

from protocol.keys import SigningKey
from protocol.segment_release import verify_release
from segments.build import build_release, write_inputs
from segments.synthetic import PC6_PER_PC4, synthetic_tables


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pc6-per-pc4", type=int, default=PC6_PER_PC4)
    args = parser.parse_args()
    key = SigningKey.generate()
    with tempfile.TemporaryDirectory() as folder:
        tables = synthetic_tables(pc6_per_pc4=args.pc6_per_pc4)
        inputs = write_inputs(tables, Path(folder))
        csv_bytes = sum(p.stat().st_size for p in Path(folder).iterdir())
        print(
            f"{tables.pc4.height:,} PC4, {tables.pc6.height:,} PC6, "
            f"{tables.municipalities.height} municipalities, {len(tables.segments)} segments; "
            f"CSV inputs {csv_bytes / 1e6:.1f} MB; {os.cpu_count()} CPUs, "
            f"load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        builds, verifies = [], []
        for run in range(args.runs):
            started = time.perf_counter()
            built = build_release(inputs, version="bench-2026.1", created="2026-01-01", key=key)
            done = time.perf_counter()
            release = verify_release(built.data, model_key=key.public, where="bench")
            checked = time.perf_counter()
            builds.append(done - started)
            verifies.append(checked - done)
            print(
                f"run {run + 1}: build {done - started:.2f} s, verify {checked - done:.2f} s "
                f"(release {len(built.data) / 1e6:.1f} MB, {release.pc6.height:,} PC6)",
                flush=True,
            )
    print(
        f"median build {median(builds):.2f} s, median verify {median(verifies):.2f} s; "
        f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB "
        f"(the process, generation included); load average now {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
