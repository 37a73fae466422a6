"""Shared test settings, and the fixtures that keep the inner loop fast.

``pytest -m "not slow"`` is the developer's inner loop; ``make test`` runs
every test. The fixtures here make repeated setup cheaper without changing
what a test checks: each shortcut produces exactly what the long way would.
"""

import gc
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import typer.testing
from hypothesis import HealthCheck, settings

settings.register_profile(
    "publiek", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=100
)
# The inner loop tries fewer examples of each property; `make test` tries them all.
settings.register_profile("inner-loop", settings.get_profile("publiek"), max_examples=25)
settings.load_profile("publiek")
TESTS = Path(__file__).parent
# Modules whose every test is slow and whose collection alone costs: the inner loop
# skips collecting them (the API fuzz run generates its cases from docs/openapi.json
# as it is collected, about a second).
SLOW_MODULES = {TESTS / "hostile" / "test_api_fuzz.py"}


def inner_loop(config: pytest.Config) -> bool:
    """Whether this run is the inner loop, ``pytest -m "not slow"``."""
    return " ".join(str(config.getoption("markexpr", "") or "").split()) == "not slow"


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """The inner loop runs one pytest-xdist worker per core (ADR 0032), unless
    ``-n`` says otherwise (``-n 0``: one process, e.g. under a debugger).

    Its 900-odd tests are many small ones, none above 1.5 s: on the two cores
    of the reference machine two workers take the inner loop from about 40 s
    to about 23 s, where no further cut of what the tests do could. Only the
    inner loop: ``make test`` and CI run every test in one process, as they
    run the PostgreSQL tests against one server."""
    worker = hasattr(config, "workerinput") or "PYTEST_XDIST_WORKER" in os.environ
    if not worker and inner_loop(config) and config.getoption("numprocesses", None) is None:
        config.option.numprocesses = os.cpu_count() or 1


def pytest_configure(config: pytest.Config) -> None:
    """The inner loop loads the ``inner-loop`` profile, unless
    ``--hypothesis-profile`` names one. Property tests there run 25 examples
    instead of 100, which halves what they cost; every run of the whole suite
    (``make test``, CI) runs the full 100.

    Schemathesis's plugin serves only the API fuzz run, one of ``SLOW_MODULES``:
    it is loaded when they are collected, not in the inner loop (about 1 s)."""
    if not inner_loop(config):
        config.pluginmanager.import_plugin("schemathesis.pytest.plugin")
    elif not config.getoption("--hypothesis-profile", None):
        settings.load_profile("inner-loop")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """The inner loop does not collect ``SLOW_MODULES``: ``-m`` would deselect
    every one of their tests anyway, after paying for their collection."""
    if collection_path in SLOW_MODULES and inner_loop(config):
        return True
    return None


def pytest_collection_finish(session: pytest.Session) -> None:
    """Freeze what collection imported and built (modules, test functions and
    their parameters): it lives to the end of the run, and the garbage collector
    would traverse all of it again at every full collection. The inner loop
    spends about 3.3 s collecting garbage without this, about 2.6 s with it. The
    agent's ingest and the server freeze theirs at start too
    (``agent.ingest.process.settle_garbage_collector``)."""
    gc.freeze()


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


@pytest.fixture(scope="session")
def _migrated_sqlite(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[[Callable[..., None]], Path]:
    """A SQLite database brought to the newest revision by ``upgrade`` (the real
    migrations), made on first use: most sessions that need one need it often."""
    made: list[Path] = []

    def template(upgrade: Callable[..., None]) -> Path:
        if not made:
            from aggregator.storage import Database

            path = tmp_path_factory.mktemp("migrated") / "aggregator.db"
            db = Database(f"sqlite:///{path}")
            upgrade(db.engine)
            db.engine.dispose()
            made.append(path)
        return made[0]

    return template


@pytest.fixture(autouse=True)
def _sqlite_upgrade_shortcut(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    _migrated_sqlite: Callable[[Callable[..., None]], Path],
) -> None:
    """SQLite databases skip the alembic run when its outcome is known: a fresh,
    empty one migrated to head gets a copy of the session's migrated database,
    and one already at head (every ``publiek aggregator`` command brings its
    database to head first) is left as it is, which is all ``upgrade`` does.

    Each alembic run loads its environment and every revision script and, on
    an empty file, runs every revision: 30 to 90 ms, and the suite makes well
    over a hundred databases and runs even more commands on them. The copy is
    SQLite's own backup of a database the real migrations built, so its schema
    and ``alembic_version`` are exactly what ``upgrade`` would have written.
    Anything else (PostgreSQL, a database at another revision, another target)
    runs the real migrations, and so does every test marked ``migrations``."""
    if request.node.get_closest_marker("migrations") or "aggregator.storage" not in sys.modules:
        return  # the aggregator is not imported for tests that never use it: those run alembic
    from aggregator import migrations

    upgrade = migrations.upgrade

    def upgrade_or_copy(engine: Any, revision: str = "head") -> None:
        if revision != "head" or engine.dialect.name != "sqlite":
            upgrade(engine, revision)
            return
        template = _migrated_sqlite(upgrade)
        raw = engine.raw_connection()
        try:
            target = raw.driver_connection
            if not target.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                with closing(sqlite3.connect(template)) as source:
                    source.backup(target)
                return
            if _revision(target) == _revision_of(template):
                return
        finally:
            raw.close()
        upgrade(engine, revision)

    monkeypatch.setattr(migrations, "upgrade", upgrade_or_copy)


def _revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:  # no alembic_version table
        return None
    return None if row is None else str(row[0])


def _revision_of(path: Path) -> str | None:
    with closing(sqlite3.connect(path)) as conn:
        return _revision(conn)
