"""Benchmark: computing (and storing) all benchmarks of one period for N institutions.

    .venv/bin/python bench/aggregator_compute.py --institutions 500 --database sqlite
    .venv/bin/python bench/aggregator_compute.py --institutions 500 --database postgresql

Each institution submits the tables of the release design (200 cells)
through the real intake; the timed part is ``close_period``: load every
submission, assign peer groups, post-process every group's tables
(aggregator/estimates.py) and store them. Target: at most 10 s for 500.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

from aggregator_sector import PERIOD, Releaser, prepare, seal, throwaway_postgres

from aggregator.intake import Intake
from aggregator.keyring import Keyring
from aggregator.periods import close_period
from aggregator.settings import Settings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--institutions", type=int, default=500)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    state = Path(tempfile.mkdtemp(prefix="publiek-bench-"))
    pg = throwaway_postgres() if args.database == "postgresql" else nullcontext(None)
    with pg as pg_url:
        url = pg_url or f"sqlite:///{state / 'aggregator.db'}"
        t0 = time.perf_counter()
        db, recipient, signers = prepare(state / "state", url, args.institutions)
        releaser = Releaser()
        intake = Intake(db, Keyring(Settings(state_dir=state / "state", database_url=url), db))
        for n, (iid, signer) in enumerate(signers.items()):
            intake.accept(seal(releaser.payload(iid, n), signer, recipient))
        cells = sum(len(t[3]) for t in releaser.parts)
        print(f"set-up: {args.institutions} institutions × {cells} cells submitted "
              f"in {time.perf_counter() - t0:.1f} s ({args.database})")  # fmt: skip
        t1 = time.perf_counter()
        result = close_period(db, PERIOD, k=5)
        elapsed = time.perf_counter() - t1
        group_cells = sum(len(g.cells) for g in result.groups)
        print(f"close_period (compute + store): {elapsed:.2f} s for {len(result.groups)} peer "
              f"groups, {group_cells} group cells")  # fmt: skip
        db.engine.dispose()
    return 0 if elapsed <= 10 else 1


if __name__ == "__main__":
    sys.exit(main())
