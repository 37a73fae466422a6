"""Benchmark: intake at 50 concurrent agents against a real server.

    .venv/bin/python bench/aggregator_intake.py --database sqlite
    .venv/bin/python bench/aggregator_intake.py --database postgresql

A real ``publiek aggregator serve`` process on 127.0.0.1; 50 agent threads,
each with its own HTTP connection, submit ``--rounds`` sealed envelopes one
after the other (all agents start together). Reports submissions per second
and the p50/p99 latency of one submission (HTTP round trip, including HPKE
open, signature check, the stored transaction and the signed receipt).
Target: p99 at most 250 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import nullcontext
from pathlib import Path

import httpx
from aggregator_sector import Releaser, prepare, seal, throwaway_postgres

ROOT = Path(__file__).resolve().parents[1]


def start(state: Path, url: str, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    address = state / "server.json"
    cmd = [sys.executable, "-m", "cli", "aggregator", "serve", "--state", str(state),
           "--database", url, "--port", "0", "--address-file", str(address),
           "--workers", str(workers)]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    for _ in range(600):
        if address.exists():
            base = json.loads(address.read_text())["url"]
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    return proc, base
            except httpx.TransportError:
                pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="publiek-bench-"))
    pg = throwaway_postgres() if args.database == "postgresql" else nullcontext(None)
    with pg as pg_url:
        url = pg_url or f"sqlite:///{tmp / 'aggregator.db'}"
        db, recipient, signers = prepare(tmp / "state", url, args.agents)
        db.engine.dispose()
        releaser = Releaser()
        work = {
            iid: [seal(releaser.payload(iid, r), signer, recipient) for r in range(args.rounds)]
            for iid, signer in signers.items()
        }
        proc, base = start(tmp / "state", url, args.workers)
        latencies: list[float] = []
        failures: list[int] = []
        lock = threading.Lock()
        gate = threading.Barrier(args.agents)

        def agent(envelopes: list[bytes]) -> None:
            # TCP_NODELAY: without it, Nagle's algorithm holds the body back
            # behind the headers until the server's delayed ACK (about 40 ms).
            nodelay = httpx.HTTPTransport(
                socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
            )
            with httpx.Client(base_url=base, timeout=60, transport=nodelay) as client:
                client.get("/healthz")  # connect before the clock starts
                gate.wait()
                for envelope in envelopes:
                    t = time.perf_counter()
                    r = client.post("/v1/submissions", content=envelope)
                    with lock:
                        latencies.append(time.perf_counter() - t)
                        if r.status_code != 200:
                            failures.append(r.status_code)

        threads = [threading.Thread(target=agent, args=(e,)) for e in work.values()]
        t0 = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        elapsed = time.perf_counter() - t0
        proc.terminate()
        proc.wait()
    q = statistics.quantiles(latencies, n=100)
    p50, p99 = statistics.median(latencies) * 1000, q[98] * 1000
    rate = len(latencies) / elapsed
    print(f"{args.database}, {args.workers} worker(s): {args.agents} agents × {args.rounds} "
          f"submissions = {len(latencies)} in {elapsed:.2f} s → {rate:.0f} submissions/s; "
          f"p50 {p50:.0f} ms, p99 {p99:.0f} ms; failures {len(failures)}")  # fmt: skip
    return 0 if not failures and p99 <= 250 else 1


if __name__ == "__main__":
    sys.exit(main())
