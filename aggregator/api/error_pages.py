"""Errors on the web pages answered as a page, not as JSON (ADR 0044).

A reader who follows a stale link (``/?period=2031-Q1``), types a path that
does not exist, or opens the sector page before anything is published is a
person with a browser: a problem document in raw JSON is a dead end for them.
When the request asks for HTML (a browser's ``Accept`` names ``text/html``)
and is not for the JSON API (``/v1/``), the error is shown as a page in the
reader's language, with the site's navigation, the server's message and what
to do. The status code, and headers such as ``Allow`` and ``Retry-After``,
stay those of the problem document; every other client keeps getting the
RFC 9457 document (``aggregator.api.problems``). Both answers carry
``Vary: Accept`` outside ``/v1/``, so that no cache hands a page to a script.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from aggregator.api.problems import problem_response
from aggregator.api.web_session import HOME, page_language, session_principal
from aggregator.auth import Principal
from aggregator.web_chrome import chrome
from protocol.errors import PubliekError, ServiceUnavailable
from views.labels import DEFAULT_LANGUAGE, Text
from views.labels import bilingual as _t
from views.pages import render

API_PREFIX = "/v1/"

TITLES: Mapping[int, Text] = {
    400: _t("Deze aanvraag klopt niet", "This request is not valid"),
    401: _t("Inloggen nodig", "Login needed"),
    403: _t("Geen toegang", "No access"),
    404: _t("Niet gevonden", "Not found"),
    405: _t("Dit kan hier niet", "Not possible here"),
    409: _t("Dit botst met wat er al is", "This conflicts with what is there"),
    413: _t("Te groot", "Too large"),
    422: _t("Deze aanvraag klopt niet", "This request is not valid"),
    429: _t("Te veel aanvragen", "Too many requests"),
    503: _t("Tijdelijk niet beschikbaar", "Temporarily unavailable"),
}
OTHER_TITLE = _t("Deze pagina kan niet worden getoond", "This page cannot be shown")
PHRASES: Mapping[str, Text] = {
    "message": _t("Melding van de server (in het Engels):", "The server's message:"),
    "what_now": _t("Wat u kunt doen:", "What to do:"),
    "home": _t("Naar de startpagina", "To the home page"),
    "status": _t("Statuscode", "Status code"),
}


def wants_page(request: Request) -> bool:
    """A browser asking for a page (not a script): its ``Accept`` names
    ``text/html`` with a weight above 0."""
    for item in request.headers.get("accept", "").lower().split(","):
        kind, *parameters = (part.strip() for part in item.split(";"))
        if kind != "text/html":
            continue
        weights = [p.removeprefix("q=") for p in parameters if p.startswith("q=")]
        try:
            return not weights or float(weights[0]) > 0
        except ValueError:
            return False
    return False


def _reader(request: Request, error: PubliekError) -> Principal | None:
    """Who is logged in, for the navigation; nobody when that cannot be read.
    Not asked at all when the error is that the service (its database) is
    unavailable: the page must not wait on what just failed."""
    if isinstance(error, ServiceUnavailable):
        return None
    try:
        return session_principal(request, request.app.state.services)
    except Exception:  # noqa: BLE001 - an error page must not fail on its navigation
        return None


def error_page(request: Request, error: PubliekError) -> Response | None:
    """``error`` outside the JSON API: a page when a browser asked for one, else
    the problem document, each saying that it depends on ``Accept``. None on the
    API's own paths (the problem document as it always is)."""
    if request.url.path.startswith(API_PREFIX):
        return None
    if not wants_page(request):
        document = problem_response(error, request.url.path)
        document.headers["vary"] = "Accept"
        return document
    lang = page_language(request)
    reader = _reader(request, error)
    home = HOME.get(reader.role, "/") if reader else "/"
    page = render(
        "error.html",
        **chrome(request, reader, lang),
        t={name: text[lang] for name, text in PHRASES.items()},
        title=TITLES.get(error.status, OTHER_TITLE)[lang],
        status=error.status,
        detail=error.detail,
        hint=error.hint,
        home=home + ("" if lang == DEFAULT_LANGUAGE else f"?lang={lang}"),
    )
    headers = {**error.headers(), "vary": "Accept"}
    return HTMLResponse(page, status_code=error.status, headers=headers)
