"""What every web page of the aggregator has around its content: the site's
name, the pages the reader's role may open, the other language, and who is
logged in with a button to log out (``views/templates/base.html``, ADR 0040).

The navigation is by role because the pages are: the public sees what the
taskforce published, the taskforce its sector overview and trends (published
or not), the privacy officer the audit pages. A link is never shown to a page
the reader's role cannot open (the guard in ``aggregator.api.web_session``
refuses it anyway).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request

from aggregator.auth import PRIVACY_OFFICER, TASKFORCE, Principal
from views.labels import DEFAULT_LANGUAGE, LANGUAGES, Text
from views.labels import bilingual as _t

LANGUAGE_NAMES: Mapping[str, str] = {"nl": "Nederlands", "en": "English"}


PHRASES: Mapping[str, Text] = {
    "site": _t("Publiek", "Publiek"),
    "tagline": _t("publieksdata van de culturele sector", "audience data of the cultural sector"),
    "navigation": _t("Pagina's", "Pages"),
    "language": _t("Taal", "Language"),
    "logged_in_as": _t("Ingelogd als", "Logged in as"),
    "log_out": _t("Uitloggen", "Log out"),
    "log_in": _t("Inloggen", "Log in"),
    "skip": _t("Naar de inhoud", "Skip to content"),
    TASKFORCE: _t("taskforce", "taskforce"),
    PRIVACY_OFFICER: _t("privacy officer", "privacy officer"),
}

# (path, Dutch label, English label) per audience, in the order of the navigation.
NAVIGATION: Mapping[str | None, tuple[tuple[str, str, str], ...]] = {
    None: (
        ("/", "Sector", "Sector"),
        ("/trends", "Trends", "Trends"),
    ),
    TASKFORCE: (
        ("/taskforce", "Sectoroverzicht", "Sector overview"),
        ("/taskforce/trends", "Trends", "Trends"),
        ("/", "Openbare pagina", "Public page"),
    ),
    PRIVACY_OFFICER: (
        ("/privacy", "Overzicht", "Overview"),
        ("/privacy/log", "Transparantielog", "Transparency log"),
        ("/privacy/budgets", "Privacybudget", "Privacy budget"),
        ("/privacy/periods", "Perioden", "Periods"),
    ),
}


def phrases(lang: str) -> dict[str, str]:
    return {name: text[lang] for name, text in PHRASES.items()}


def own_path(request: Request) -> str:
    """The request's path when it is a path on this site, else ``/``: an error
    page answers any path asked for (``//evil.example/login`` included), and a
    link built from it must not lead to another site."""
    path = request.url.path
    return path if path.startswith("/") and not path.startswith(("//", "/\\")) else "/"


def with_language(request: Request, lang: str) -> str:
    """This page's path and query with ``lang`` set to ``lang`` (other parameters kept)."""
    query = [(k, v) for k, v in parse_qsl(request.url.query) if k != "lang"]
    if lang != DEFAULT_LANGUAGE:
        query.append(("lang", lang))
    return own_path(request) + (f"?{urlencode(query)}" if query else "")


def chrome(request: Request, principal: Principal | None, lang: str) -> dict[str, Any]:
    """The context ``base.html`` needs: pass it to ``views.pages.render`` with the page's own."""
    role = principal.role if principal else None
    path = request.url.path
    suffix = "" if lang == DEFAULT_LANGUAGE else f"?lang={lang}"
    nav = [
        {"href": href + suffix, "label": nl if lang == "nl" else en, "current": href == path}
        for href, nl, en in NAVIGATION.get(role, NAVIGATION[None])
    ]
    others = [
        {"code": code, "name": LANGUAGE_NAMES[code], "href": with_language(request, code)}
        for code in LANGUAGES
        if code != lang
    ]
    user = None
    if principal is not None:
        user = {"name": principal.name, "role": PHRASES[principal.role][lang]}
    login_query = urlencode({"next": own_path(request), **({"lang": lang} if lang != "nl" else {})})
    return {
        "lang": lang,
        "chrome": phrases(lang),
        "nav": nav,
        "other_languages": others,
        "user": user,
        "login_href": f"/login?{login_query}",
    }
