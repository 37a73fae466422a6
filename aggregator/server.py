"""Running the aggregator under uvicorn.

The server binds its own socket (port 0 picks a free port) and, when asked,
writes the address it really listens on to a file, so a supervisor or the
demo can start it without guessing ports.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import uvicorn

from aggregator.app import create_app
from aggregator.settings import Settings


def serve(settings: Settings, *, host: str, port: int, address_file: Path | None = None) -> None:
    app = create_app(settings)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    if address_file is not None:
        tmp = address_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"url": f"http://{host}:{bound_port}"}), encoding="utf-8")
        tmp.replace(address_file)
    try:
        server.run(sockets=[sock])
    finally:
        if address_file is not None:
            address_file.unlink(missing_ok=True)
