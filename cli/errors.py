"""How every command reports a failure: one actionable line on stderr, exit code 2.

Exit codes: 0 done; 1 a check that found a difference (``agent inspect``);
2 a usage or protocol error (:func:`friendly`); 3 an ingest that held back an
export for rejecting too many rows (:data:`TOO_MANY_REJECTED`), an ``agent report``
written without the benchmark (``cli.agent.OWN_NUMBERS_ONLY``), or a
``custodian distribute`` that skipped agents (``cli.custodian.SKIPPED_EXIT_CODE``).

``--verbose`` (the top-level option, see :mod:`cli`) lets the exception and its
traceback through instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from importlib.util import find_spec
from typing import Any, TypeVar

import typer

from protocol.errors import PubliekError, UsageError

F = TypeVar("F", bound=Callable[..., Any])
# ``agent ingest``: an export rejected more than its allowed share of rows and was
# held back (nothing stored); distinct from 2 so that a cron job's alert says which.
TOO_MANY_REJECTED = 3
_state = {"verbose": False}


def set_verbose(verbose: bool) -> None:
    """Show tracebacks instead of one line (``publiek --verbose``)."""
    _state["verbose"] = verbose


def friendly(func: F) -> F:
    """Report Publiek errors as one actionable line with exit code 2."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except PubliekError as exc:
            if _state["verbose"]:
                raise
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:
            # Library messages can quote the data they choked on (a cell of an
            # export, say), so only the type is shown unless --verbose.
            if _state["verbose"]:
                raise
            typer.echo(
                f"error: unexpected {type(exc).__name__}; run again with --verbose for details",
                err=True,
            )
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def require_extra(extra: str, modules: Iterable[str]) -> None:
    """Refuse a command whose part of Publiek (the ``publiek[extra]`` extra) was not
    installed.

    An institution installs ``publiek[agent]``, without the aggregator's
    server stack, so an aggregator command there would otherwise end in an
    ``unexpected ModuleNotFoundError``. Checked with ``find_spec``, which
    imports nothing, before the command does anything.
    """
    if any(find_spec(module) is None for module in modules):
        raise UsageError(f"the {extra} is not installed: pip install 'publiek[{extra}]'")
