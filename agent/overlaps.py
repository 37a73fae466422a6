"""``agent overlaps``: an institution's own household overlaps, read from the aggregator.

The aggregator serves them only to the institution itself (signed request)
and only once the period is published (ADR 0037); the figures, intervals and
k rule are the aggregator's. What this module adds is the operator's side of
a refusal: the problem's title and detail, and a hint that says what to do
from here, in particular where consent to named overlaps is set
(``share_named_overlaps`` in ``release.toml``; ``agent.release_config``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agent.client import AggregatorClient
from agent.release_config import FILE_NAME as RELEASE_TOML
from agent.workspace import Workspace
from protocol.errors import (
    InvalidPayload,
    NamedOverlapNotOptedIn,
    NamedOverlapOtherNotOptedIn,
    NamedOverlapOtherNotSubmitted,
    NotFound,
    PubliekError,
    UsageError,
)
from protocol.keys import SigningKey
from protocol.messages import check_period, check_slug


def _hint(error: PubliekError, period: str, other: str | None) -> str:
    """What the operator can do about ``error`` beyond the server's own hint
    (which speaks to whichever institution asked); empty when nothing is to add."""
    if isinstance(error, NamedOverlapOtherNotOptedIn):
        return (
            f"that consent is {other}'s own: its agent sets share_named_overlaps = true in "
            f"its {RELEASE_TOML} before it submits; nothing to change in this workspace"
        )
    if isinstance(error, NamedOverlapNotOptedIn):
        return (
            f"this workspace consents with share_named_overlaps = true in {RELEASE_TOML}, "
            "which counts from its next submission"
        )
    if isinstance(error, NamedOverlapOtherNotSubmitted):
        return (
            f"{other} sent no household sketch in {period}, which is published: a named overlap "
            "with it can only come in a later period where both send one"
        )
    if isinstance(error, NotFound):
        return (
            f"overlaps are read once the taskforce publishes {period}, and only by an "
            "institution that submitted a household sketch in it"
        )
    return ""


def _check_typed(check: Callable[[], object], hint: str) -> None:
    """A period or id the operator typed wrong is a usage error, said before
    any request (the protocol's checks call it an invalid payload)."""
    try:
        check()
    except InvalidPayload as error:
        raise UsageError(error.detail, hint=hint) from None


def read_overlaps(
    workspace: Workspace,
    period: str,
    other: str | None = None,
    *,
    client: AggregatorClient | None = None,
) -> dict[str, Any]:
    """The institution's own overlaps in ``period`` (``other`` None), or its
    named pair with ``other``. A refusal is raised as its own error class,
    with the problem's title in front and this side's hint."""
    _check_typed(lambda: check_period(period), "give a quarter, e.g. --period 2026-Q3")
    if other is not None:
        _check_typed(
            lambda: check_slug(other, what="the other institution's id"),
            "give the id the other institution enrolled with, e.g. --with zaal-b",
        )
    config = workspace.load_config()
    signer = SigningKey.load(workspace.signing_key_path)
    http = client if client is not None else AggregatorClient(config.aggregator_url)
    try:
        if other is None:
            return http.own_overlaps(period, config.institution_id, signer)
        return http.named_overlap(period, config.institution_id, other, signer)
    except PubliekError as error:
        if type(error).__init__ is not PubliekError.__init__:
            raise  # one that carries more than a detail and a hint (Retry-After, say)
        hint = _hint(error, period, other) or error.hint
        raise type(error)(f"{error.title}: {error.detail}", hint=hint) from error
    finally:
        if client is None:
            http.close()
