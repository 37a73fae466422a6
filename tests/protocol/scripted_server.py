"""Standard-library HTTP servers on 127.0.0.1 whose answers a test scripts.

Shared by the client tests (retries, problem documents, headers) and the
hostile JSON tests (a deep answer): both need what the aggregator would send
to cross a real socket, not a mocked transport.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

Answer = tuple[int, str, bytes]  # status, content type, body


class ScriptedServers:
    """Servers started by :meth:`start`, each answering every GET and POST
    with what its ``answer`` returns for the request; all stopped on leaving
    the ``with`` block."""

    def __init__(self) -> None:
        self._servers: list[ThreadingHTTPServer] = []

    def start(self, answer: Callable[[BaseHTTPRequestHandler], Answer]) -> str:
        """Start one server; its base URL."""

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, media, body = answer(self)
                self.send_response(status)
                self.send_header("content-type", media)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._servers.append(server)
        # A short poll: shutdown() waits for it, once per test.
        threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
        return f"http://127.0.0.1:{server.server_address[1]}"

    def __enter__(self) -> ScriptedServers:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
