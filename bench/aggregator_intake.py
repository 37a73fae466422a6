"""Benchmark: intake at 50 concurrent agents against a real server.

    .venv/bin/python bench/aggregator_intake.py --database sqlite
    .venv/bin/python bench/aggregator_intake.py --database postgresql

A real ``publiek aggregator serve`` process on 127.0.0.1; 50 agents, each with
its own keep-alive HTTP/1.1 connection, submit ``--rounds`` sealed envelopes
one after the other (all agents start together). The agents are coroutines
writing prepared requests on raw sockets: real agents run on their own
machines, so the load generator must not take the server's CPU (50 httpx
threads in one process spent about 11 ms of CPU per request, more than the
server itself). Reports submissions per second
and the p50/p99 latency of one submission (HTTP round trip, including HPKE
open, signature check, the stored transaction and the signed receipt).
Target: p99 at most 250 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its live children so far (Linux /proc):
    with ``--workers N`` the server's work is done in forked children."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return own + sum(cpu_seconds(int(child)) for child in children)


async def agent(
    host: str, port: int, requests: list[bytes], gate: asyncio.Event, out: list[tuple[float, int]]
) -> None:
    """One agent: one connection, its requests one after the other."""
    reader, writer = await asyncio.open_connection(host, port)
    # Without TCP_NODELAY, Nagle's algorithm holds the body back behind the
    # headers until the server's delayed ACK (about 40 ms).
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    await gate.wait()
    for request in requests:
        t = time.perf_counter()
        writer.write(request)
        status = int((await reader.readline()).split()[1])
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await reader.readexactly(length)
        out.append((time.perf_counter() - t, status))
    writer.close()


async def load(base: str, work: list[list[bytes]]) -> tuple[list[float], list[int], float]:
    """Run every agent at once; return latencies, failed statuses and elapsed seconds."""
    host, port = base.removeprefix("http://").split(":")
    head = (
        f"POST /v1/submissions HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Content-Type: application/json\r\n"
    )
    requests = [
        [(head + f"Content-Length: {len(e)}\r\n\r\n").encode() + e for e in envelopes]
        for envelopes in work
    ]
    gate = asyncio.Event()
    out: list[tuple[float, int]] = []
    tasks = [asyncio.create_task(agent(host, int(port), r, gate, out)) for r in requests]
    await asyncio.sleep(0.5)  # every agent connected before the clock starts
    t0 = time.perf_counter()
    gate.set()
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - t0
    return [t for t, _ in out], [s for _, s in out if s != 200], elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=10)
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
        server_cpu = cpu_seconds(proc.pid)
        latencies, failures, elapsed = asyncio.run(load(base, list(work.values())))
        server_cpu = cpu_seconds(proc.pid) - server_cpu
        proc.terminate()
        proc.wait()
    q = statistics.quantiles(latencies, n=100)
    p50, p99 = statistics.median(latencies) * 1000, q[98] * 1000
    rate = len(latencies) / elapsed
    print(f"{args.database}, {args.workers} worker(s): {args.agents} agents × {args.rounds} "
          f"submissions = {len(latencies)} in {elapsed:.2f} s → {rate:.0f} submissions/s; "
          f"p50 {p50:.0f} ms, p99 {p99:.0f} ms; failures {len(failures)}; server CPU "
          f"{server_cpu / len(latencies) * 1000:.1f} ms per submission")  # fmt: skip
    return 0 if not failures and p99 <= 250 else 1


if __name__ == "__main__":
    sys.exit(main())
