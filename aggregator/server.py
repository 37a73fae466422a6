"""Running the aggregator under uvicorn.

The server binds its own socket (port 0 picks a free port) and, when asked,
writes the address it really listens on to a file, so a supervisor or the
demo can start it without guessing ports.

With ``workers > 1`` the bound socket is shared by that many forked worker
processes (each with its own database pool): opening envelopes and checking
signatures then run in parallel, while the database still serialises the
short write transactions. The parent only supervises: SIGTERM/SIGINT stop
every worker, and a worker that dies stops the service so that a
supervisor (systemd) restarts it whole.
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import multiprocessing.connection
import signal
import socket
from collections.abc import Callable
from pathlib import Path
from types import FrameType

import uvicorn

from aggregator.app import create_app
from aggregator.settings import Settings
from protocol.state_files import write_private


def _settle_garbage_collector() -> None:
    """Move everything built at start-up out of the collector's sight and collect
    the young generation less often.

    Intake allocates many small, short-lived objects (a submission's cells);
    with the default thresholds the collector kept rescanning the long-lived
    objects of the framework and the ORM (measured in bench/aggregator_intake.py,
    ADR 0010)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def _run(settings: Settings, sock: socket.socket) -> None:
    app = create_app(settings)
    _settle_garbage_collector()
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


def http_url(host: str, port: int) -> str:
    """The URL of ``host:port``: an IPv6 literal goes in brackets (RFC 3986), else
    ``http://::1:8470`` would read as host ``:`` and not work when pasted."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _write_address(address_file: Path, host: str, port: int) -> None:
    # Often in the state folder, where every file is private (ADR 0017).
    write_private(address_file, json.dumps({"url": http_url(host, port)}).encode())


def serve(
    settings: Settings,
    *,
    host: str,
    port: int,
    address_file: Path | None = None,
    workers: int = 1,
    announce: Callable[[str], None] | None = None,
) -> None:
    """Serve until stopped; ``announce`` is given the bound URL once the socket
    is bound (before requests are answered), so the operator sees where to point
    agents and a browser even with port 0."""
    app = create_app(settings)  # migrations and keys, once, before any worker starts
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit TCP_NODELAY (Linux). Without it, a response
    # written as headers then body waits for the client's delayed ACK (~40 ms).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    if announce is not None:
        announce(http_url(host, bound_port))
    try:
        if workers <= 1:
            config = uvicorn.Config(app, log_level="warning", access_log=False)
            server = uvicorn.Server(config)
            _settle_garbage_collector()
            if address_file is not None:
                _write_address(address_file, host, bound_port)
            server.run(sockets=[sock])
            return
        app.state.db.engine.dispose()
        sock.listen(2048)
        context = multiprocessing.get_context("fork")
        children = [context.Process(target=_run, args=(settings, sock)) for _ in range(workers)]
        for child in children:
            child.start()

        def stop(_signum: int, _frame: FrameType | None) -> None:
            for child in children:
                child.terminate()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        if address_file is not None:
            _write_address(address_file, host, bound_port)
        multiprocessing.connection.wait([c.sentinel for c in children])
        stop(signal.SIGTERM, None)
        for child in children:
            child.join()
    finally:
        if address_file is not None:
            address_file.unlink(missing_ok=True)
