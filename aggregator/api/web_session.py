"""Logging in to the web pages with the staff accounts (ADR 0040).

The JSON API takes a bearer token; a browser page cannot send one, so the
login form exchanges the same username and password, through the same
throttle (``aggregator.auth.throttled_login``), for the same kind of token and
keeps it in a cookie:

* ``HttpOnly`` (no script reads it; the pages have none anyway),
  ``SameSite=Strict`` (no other site's page or form sends it along, which is
  what keeps ``POST /logout`` and the role pages safe from cross-site
  requests), ``Path=/``, and ``Secure`` unless the page was asked for over
  plain HTTP from a loopback address (a developer's or the demo's server;
  behind a TLS proxy the host is not loopback, so the cookie is ``Secure``).
* A session lasts :data:`SESSION_HOURS` hours; logging out revokes its token.
* The cookie is read only by the page guards here, never by the JSON API,
  whose state-changing routes keep needing the bearer header.
* A form post whose ``Origin`` is another site is refused (a login forced
  from another site's page would put a reader in someone else's session).

The guards: :data:`TaskforcePage` and :data:`PrivacyOfficerPage`. Nobody
logged in is sent to the login form (303), which returns to the page after;
a staff member of the other role gets a 403 page that says which role the
page is for. Institutions have no web login: their view is the report their
own agent writes (`“publiek agent report”`).
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from typing import Annotated
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from aggregator.api.dependencies import Services, ServicesDep
from aggregator.auth import (
    PRIVACY_OFFICER,
    TASKFORCE,
    Principal,
    principal_for_token,
    revoke_token,
    throttled_login,
)
from aggregator.request_limits import read_capped
from aggregator.settings import Settings
from aggregator.web_chrome import PHRASES as CHROME_PHRASES
from aggregator.web_chrome import chrome
from protocol.errors import PayloadTooLarge, TooManyRequests, Unauthenticated
from views.labels import DEFAULT_LANGUAGE, LANGUAGES, Text
from views.labels import bilingual as _t
from views.pages import render

SESSION_COOKIE = "publiek_session"
SESSION_HOURS = 8
MAX_FORM_BYTES = 4 * 1024
FORM = "application/x-www-form-urlencoded"
HOME = {TASKFORCE: "/taskforce", PRIVACY_OFFICER: "/privacy"}

router = APIRouter(tags=["web"], include_in_schema=False)


LOGIN: dict[str, Text] = {
    "title": _t("Inloggen", "Log in"),
    "lede": _t(
        "Voor de taskforce en de privacy officer. Instellingen lezen hun eigen rapport met "
        "“publiek agent report”; openbare cijfers staan op de sectorpagina zonder in te loggen.",
        "For the taskforce and the privacy officer. Institutions read their own report with "
        "“publiek agent report”; public figures are on the sector page without logging in.",
    ),
    "username": _t("Gebruikersnaam", "Username"),
    "password": _t("Wachtwoord", "Password"),
    "submit": _t("Inloggen", "Log in"),
    "note": _t(
        f"Een sessie duurt {SESSION_HOURS} uur. Geen account? De beheerder maakt het aan met "
        "“publiek aggregator user add”.",
        f"A session lasts {SESSION_HOURS} hours. No account? The operator creates one with "
        "“publiek aggregator user add”.",
    ),
    "wrong": _t("Gebruikersnaam of wachtwoord klopt niet.", "The username or password is wrong."),
    "throttled": _t(
        "Te veel mislukte pogingen voor dit account of vanaf dit adres. Wacht {wait} seconden.",
        "Too many failed attempts for this account or from this address. Wait {wait} seconds.",
    ),
    "other_site": _t(
        "Dit formulier kwam van een andere website en is niet verwerkt.",
        "This form came from another website and was not processed.",
    ),
}
FORBIDDEN: dict[str, Text] = {
    "title": _t("Geen toegang", "No access"),
    "message": _t(
        "Deze pagina is voor de rol {role}; u bent ingelogd als {name} ({own}).",
        "This page is for the role {role}; you are logged in as {name} ({own}).",
    ),
    "what_now": _t(
        "Gebruik de links hierboven voor de pagina's van uw rol, of log uit en in met een "
        "ander account.",
        "Use the links above for your role's pages, or log out and in with another account.",
    ),
}


class LoginNeeded(Exception):
    """Nobody is logged in on a page that needs a role: send them to the form."""

    def __init__(self, target: str, lang: str) -> None:
        super().__init__("login needed")
        self.target = target
        self.lang = lang


class WrongRole(Exception):
    """A staff member of another role: the page says whose it is."""

    def __init__(self, role: str, principal: Principal, lang: str) -> None:
        super().__init__(f"the page is for the role {role}")
        self.role = role
        self.principal = principal
        self.lang = lang


def page_language(request: Request) -> str:
    """The reader's language from ``?lang=`` (anything else: the default)."""
    asked = request.query_params.get("lang", DEFAULT_LANGUAGE)
    return asked if asked in LANGUAGES else DEFAULT_LANGUAGE


def session_principal(request: Request, svc: Services) -> Principal | None:
    """Who the session cookie belongs to, or None (no cookie, or an ended session)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return principal_for_token(svc.db, token)
    except Unauthenticated:
        return None


class StaffPage:
    """A page for one staff role, by the session cookie."""

    def __init__(self, role: str) -> None:
        self.role = role

    def __call__(self, request: Request, svc: ServicesDep) -> Principal:
        lang = page_language(request)
        principal = session_principal(request, svc)
        if principal is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise LoginNeeded(target, lang)
        if principal.role != self.role:
            raise WrongRole(self.role, principal, lang)
        return principal


TaskforcePage = Annotated[Principal, Depends(StaffPage(TASKFORCE))]
PrivacyOfficerPage = Annotated[Principal, Depends(StaffPage(PRIVACY_OFFICER))]


def optional_staff(request: Request, svc: ServicesDep) -> Principal | None:
    """Whoever is logged in, if anyone: public pages show their navigation."""
    return session_principal(request, svc)


OptionalStaff = Annotated[Principal | None, Depends(optional_staff)]


def local_target(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None: the form never sends
    anyone to another site (``//evil.example`` and ``/\\evil`` are not paths here)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


def _secure(request: Request, settings: Settings) -> bool:
    """Whether the session cookie gets ``Secure``. The setting decides when it
    is given; else Secure unless the page came over plain HTTP to a loopback
    host and no proxy says the reader's side was HTTPS. A proxy that passes a
    loopback ``Host`` without ``X-Forwarded-Proto`` looks like a local reader:
    set ``secure_cookies = true`` there (docs/operations.md)."""
    if settings.secure_cookies is not None:
        return settings.secure_cookies
    forwarded = request.headers.get("x-forwarded-proto", "").lower()
    if request.url.scheme == "https" or forwarded == "https":
        return True
    if "proto=https" in request.headers.get("forwarded", "").lower():
        return True
    host = request.url.hostname or ""
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host != "localhost"


def _from_other_site(request: Request) -> bool:
    """Whether a form post came from another site's page. A browser that sends
    ``Sec-Fetch-Site`` says so itself (a page cannot forge it); without it, the
    ``Origin``. Our own pages' ``Referrer-Policy: no-referrer`` makes Chromium
    send ``Origin: null`` even for our own login form, so ``Origin`` alone
    would refuse every real login."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site not in ("same-origin", "none")
    origin = request.headers.get("origin")
    return origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}"


def _login_page(
    request: Request, lang: str, *, target: str, username: str = "", error: str = "", status: int
) -> HTMLResponse:
    page = render(
        "login.html",
        **chrome(request, None, lang),
        t={k: v[lang] for k, v in LOGIN.items()},
        next=target,
        username=username,
        error=error,
    )
    return HTMLResponse(page, status_code=status)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, svc: ServicesDep) -> Response:
    """The login form; a reader already logged in goes on to the page asked for."""
    lang = page_language(request)
    target = local_target(request.query_params.get("next")) or ""
    principal = session_principal(request, svc)
    if principal is not None:
        return RedirectResponse(target or HOME[principal.role], status_code=303)
    return _login_page(request, lang, target=target, status=200)


@router.post("/login", response_class=HTMLResponse)
async def login_submit(request: Request, svc: ServicesDep) -> Response:
    """Check the password (throttled as the API's token exchange is) and start a session."""
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media != FORM:
        return _login_page(request, DEFAULT_LANGUAGE, target="", status=415)
    try:
        body = await read_capped(request, MAX_FORM_BYTES)
    except PayloadTooLarge:
        return _login_page(request, DEFAULT_LANGUAGE, target="", status=413)
    form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    lang = form.get("lang", DEFAULT_LANGUAGE)
    lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    target = local_target(form.get("next")) or ""
    username = form.get("username", "").strip()
    if _from_other_site(request):
        error = LOGIN["other_site"][lang]
        return _login_page(request, lang, target=target, error=error, status=403)
    try:
        token = await run_in_threadpool(
            throttled_login, svc.db, svc.throttle, username, form.get("password", ""),
            client=request.client.host if request.client else None,
            valid_for=timedelta(hours=SESSION_HOURS),
        )  # fmt: skip
    except TooManyRequests as exc:
        error = LOGIN["throttled"][lang].format(wait=exc.retry_after)
        return _login_page(request, lang, target=target, username=username, error=error, status=429)
    except Unauthenticated:
        error = LOGIN["wrong"][lang]
        return _login_page(request, lang, target=target, username=username, error=error, status=401)
    principal = principal_for_token(svc.db, token)
    home = HOME[principal.role] + ("" if lang == DEFAULT_LANGUAGE else f"?lang={lang}")
    response = RedirectResponse(target or home, status_code=303)
    response.set_cookie(
        SESSION_COOKIE, token, max_age=SESSION_HOURS * 3600, path="/",
        httponly=True, samesite="strict", secure=_secure(request, svc.settings),
    )  # fmt: skip
    return response


@router.post("/logout")
def logout(request: Request, svc: ServicesDep) -> Response:
    """End the session: its token revoked, the cookie dropped, the reader on the public page."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        revoke_token(svc.db, token)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


def install_web_handlers(app: FastAPI) -> None:
    """The guards' answers: a redirect to the form, or the 403 page."""

    @app.exception_handler(LoginNeeded)
    async def _login_needed(request: Request, exc: LoginNeeded) -> Response:
        query = {"next": exc.target, **({"lang": exc.lang} if exc.lang != "nl" else {})}
        return RedirectResponse(f"/login?{urlencode(query)}", status_code=303)

    @app.exception_handler(WrongRole)
    async def _wrong_role(request: Request, exc: WrongRole) -> Response:
        lang = exc.lang
        role = CHROME_PHRASES[exc.role][lang]
        own = CHROME_PHRASES[exc.principal.role][lang]
        message = FORBIDDEN["message"][lang].format(role=role, name=exc.principal.name, own=own)
        page = render(
            "forbidden.html",
            **chrome(request, exc.principal, lang),
            t={k: v[lang] for k, v in FORBIDDEN.items()},
            message=message,
        )
        return HTMLResponse(page, status_code=403)
