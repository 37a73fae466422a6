"""The ``--database`` URL as an operator writes it, and what to say when it fails.

An operator meets the database first through its URL: copied from a hosting
panel (``postgres://``, which SQLAlchemy does not accept), with a password in
it, pointing at a server that is down or a database not yet created. Each of
these must end in one line that says what to change, and never in a line that
shows the password: the URL is always shown redacted (``***``), the password
in its user part and every secret libpq reads from its query string alike.
"""

from __future__ import annotations

from urllib.parse import quote_plus

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError

from protocol.errors import UsageError

# psycopg reports a failed connection in the server's words, without an SQLSTATE;
# these fragments (libpq's and PostgreSQL's English messages) tell the causes apart.
CAUSES = (
    (
        ("password authentication failed", "no password supplied", "password is required"),
        "the database refused the user name or password",
        "check the user and password in --database, `database` in aggregator.toml or ~/.pgpass",
    ),
    (
        ("role", "does not exist"),
        "the database user does not exist",
        "create it (createuser publiek) or correct the user in --database",
    ),
    (
        ("database", "does not exist"),
        "the database does not exist",
        "create it (createdb -O publiek publiek) or correct its name in --database",
    ),
    (
        ("connection refused", "could not connect", "no such file or directory", "timeout"),
        "no database server answers",
        "start PostgreSQL, or correct the host and port in --database",
    ),
    (
        ("could not translate host name", "name or service not known", "nodename nor servname"),
        "the database host name is unknown",
        "correct the host in --database",
    ),
)


# Query parameters psycopg hands to libpq as they are, that hold a secret or say
# where one is kept: ``?password=`` works as well as ``user:password@``, so
# hiding the user part's password alone would show it. Compared in lower case.
SECRET_PARAMETERS = frozenset({"password", "passfile", "sslpassword"})


# What a command meets when its database URL or database is wrong (for the CLI,
# which does not import SQLAlchemy itself).
DATABASE_ERRORS: tuple[type[SQLAlchemyError], ...] = (ArgumentError, OperationalError)


def normalise_url(url: str) -> str:
    """``postgres://`` (Heroku's and many panels' spelling) as SQLAlchemy's
    ``postgresql://``: the same server, so it is accepted rather than refused."""
    for old in ("postgres://", "postgres+"):
        if url.startswith(old):
            return "postgresql" + url[len("postgres") :]
    return url


def redact(url: str) -> str:
    """The URL fit for a message: its password, and the value of every query
    parameter in :data:`SECRET_PARAMETERS`, replaced by ``***``.

    A string that does not parse as a URL is not shown at all, since where its
    password sits cannot be known. The query is written here rather than by
    SQLAlchemy, which would escape ``***`` to ``%2A%2A%2A``."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "the --database URL"
    shown = parsed.set(query={}).render_as_string(hide_password=True)
    pairs = [
        (name, value)
        for name, values in sorted(parsed.query.items())
        for value in ((values,) if isinstance(values, str) else values)
    ]
    if not pairs:
        return shown
    return (
        shown
        + "?"
        + "&".join(
            f"{quote_plus(name)}="
            + ("***" if name.lower() in SECRET_PARAMETERS else quote_plus(value))
            for name, value in pairs
        )
    )


def explain(exc: SQLAlchemyError, url: str) -> UsageError:
    """One actionable line for a failure to reach the database at ``url``.

    Only the cause is named, never the driver's message, which may quote the URL."""
    shown = redact(url)
    if isinstance(exc, ArgumentError):
        return UsageError(
            f"{shown} is not a database URL SQLAlchemy knows",
            hint="write it as postgresql+psycopg://USER@HOST:PORT/DATABASE or sqlite:///PATH",
        )
    text = str(getattr(exc, "orig", None) or exc).lower()
    for fragments, what, hint in CAUSES:
        if _matches(fragments, text):
            return UsageError(f"cannot use the database {shown}: {what}", hint=hint)
    return UsageError(
        f"cannot use the database {shown} ({type(exc).__name__})",
        hint="run again with --verbose for the driver's message",
    )


def _matches(fragments: tuple[str, ...], text: str) -> bool:
    """The role/database pair needs both words; the other causes any one fragment."""
    if fragments[-1] == "does not exist":
        return all(f in text for f in fragments) and f'{fragments[0]} "' in text
    return any(f in text for f in fragments)
