"""``publiek demo --serve``: the dashboard stays up after the demo until Ctrl-C,
the logins it prints open their role's pages, and Ctrl-C (or a SIGTERM) stops the aggregator
with it (nothing left listening)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # 0.4 s or more: outside the inner loop (ADR 0032)
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_demo_serve_keeps_the_dashboard_up_until_ctrl_c(tmp_path: Path, stop: int) -> None:
    demo = subprocess.Popen(
        [sys.executable, "-m", "cli", "demo", "--serve", "--institutions", "6",
         "--workspace", str(tmp_path / "demo")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert demo.stdout is not None
    printed: list[str] = []
    try:
        deadline = time.monotonic() + 300
        url = None
        while url is None and time.monotonic() < deadline:
            line = demo.stdout.readline()
            assert line, "the demo ended before serving:\n" + "".join(printed)
            printed.append(line)
            found = re.match(r"dashboard: (\S+) \(serving until Ctrl-C\)", line)
            url = found[1] if found else None
        assert url is not None, "".join(printed)
        time.sleep(1)  # still up after the demo's last line
        page = httpx.get(url, timeout=10)
        assert page.status_code == 200 and "<html" in page.text
        # The printed logins open their role's pages.
        for user, home in (("taskforce", "/taskforce"), ("privacy", "/privacy")):
            password = re.search(rf"user {user} +password (\S+)  → \S+{home}\n", "".join(printed))
            assert password is not None, "".join(printed)
            form = {"username": user, "password": password[1]}
            answer = httpx.post(url.rstrip("/") + "/login", data=form, timeout=30)
            assert (answer.status_code, answer.headers["location"]) == (303, home)
        demo.send_signal(stop)
        rest, _ = demo.communicate(timeout=60)
    finally:
        if demo.poll() is None:
            os.kill(demo.pid, signal.SIGKILL)
            demo.wait()
    assert demo.returncode == 0, rest
    assert "Ctrl-C: stopping the aggregator" in rest and "aggregator stopped" in rest
    with pytest.raises(httpx.TransportError):
        httpx.get(url, timeout=5)
