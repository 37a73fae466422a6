"""The headers every answer carries, and the answer to an error nobody expected.

One ASGI middleware around every route, the problem handlers included, so
that no answer goes out without them: the dashboard page, the JSON and
problem documents, the CSV and Parquet downloads, the OpenAPI document.

- ``Content-Security-Policy``: nothing may load or run (``default-src
  'none'``); the one thing the dashboard needs is its inline stylesheet,
  allowed by its hash, so no other style (an injected one) applies either.
  The pages have no scripts, images or frames (docs/architecture.md:
  no scripts, no CDN), and may not be framed or change their base URL;
  their forms (login, logout, a page's filters) go to this site only
  (``form-action 'self'``).
- ``Cache-Control: no-store`` on a role's pages and downloads, the login
  form and every answer to a request with a session cookie, and ``Vary:
  Cookie`` on every answer: nothing a session opened is kept by a browser
  after logging out, or by a shared proxy for the next reader.
- ``X-Content-Type-Options: nosniff``: a download or a problem document is
  never taken for a page; ``X-Frame-Options: DENY`` for browsers that do
  not read ``frame-ancestors``; ``Referrer-Policy: no-referrer``: a link
  followed from a page does not tell its target which period or group was
  being looked at.

An exception that no handler took is a bug (a test should have found it).
It is still answered as an RFC 9457 problem document, ``internal-error``
with these headers and no detail of its cause, and then re-raised, so that
the server logs it as before.
"""

from __future__ import annotations

import base64
import hashlib

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aggregator.api.problems import problem_response
from aggregator.api.web_session import SESSION_COOKIE
from aggregator.page_sections import STYLE
from protocol.errors import InternalError


def _style_source(css: str) -> str:
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    return f"'sha256-{digest}'"


CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        f"style-src {_style_source(STYLE)}",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


PRIVATE_PATHS = ("/taskforce", "/privacy", "/login", "/logout")


def _private(scope: Scope) -> bool:
    """An answer no browser or proxy may keep: a role's pages and downloads, the
    login form, and anything asked for with a session cookie (a public page then
    carries the reader's name; a figure of an unpublished period must not
    outlive the session in a cache)."""
    path: str = scope["path"]
    if path.startswith(PRIVATE_PATHS):
        return True
    cookies = b"".join(v for k, v in scope["headers"] if k == b"cookie")
    return SESSION_COOKIE.encode() + b"=" in cookies


class SecurityHeaders:
    """Add :data:`SECURITY_HEADERS` to every HTTP answer; answer an unhandled
    exception with a 500 problem document."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        private = _private(scope)

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                if private:
                    headers["Cache-Control"] = "no-store"
                headers.add_vary_header("Cookie")
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            if not started:
                error = InternalError(
                    "the aggregator failed unexpectedly",
                    hint="retry later; operators: the server's log has the error",
                )
                await problem_response(error, scope["path"])(scope, receive, send_with_headers)
            raise
