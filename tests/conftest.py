"""Shared test settings."""

from collections.abc import Iterator
from typing import Any

import pytest
import typer.testing
from hypothesis import HealthCheck, settings

settings.register_profile(
    "publiek", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=100
)
settings.load_profile("publiek")


@pytest.fixture(scope="session", autouse=True)
def _cli_built_once() -> Iterator[None]:
    """Build each Typer app's Click command once per test session.

    ``typer.testing.CliRunner.invoke`` rebuilds the whole command tree from the
    functions' signatures on every call (about 25 ms for ``cli.app``), which
    over the suite's CLI tests was the largest single cost of the inner loop.
    A built Click command keeps no state between invocations (each gets its own
    context), so reusing it runs the same code a fresh build would."""
    built: dict[int, tuple[Any, Any]] = {}
    build = typer.testing._get_command

    def cached(app: Any) -> Any:
        entry = built.get(id(app))
        if entry is None or entry[0] is not app:
            entry = built[id(app)] = (app, build(app))
        return entry[1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(typer.testing, "_get_command", cached)
        yield
