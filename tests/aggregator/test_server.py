"""``publiek aggregator serve``: binding, worker processes, clean stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def children_of(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in path.read_text().split()] if path.exists() else []


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


@pytest.mark.slow
def test_two_workers_serve_on_loopback_and_stop_together(tmp_path: Path) -> None:
    address = tmp_path / "server.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "aggregator", "serve", "--state", str(tmp_path),
         "--port", "0", "--workers", "2", "--address-file", str(address)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not address.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        url = json.loads(address.read_text())["url"]
        assert url.startswith("http://127.0.0.1:")
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        workers = children_of(proc.pid)
        assert len(workers) == 2
        assert {httpx.get(f"{url}/healthz").status_code for _ in range(10)} == {200}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    time.sleep(0.2)
    assert not any(alive(w) for w in workers)
    assert not address.exists()
