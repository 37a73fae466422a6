"""Every aggregator command takes --state, --database and --config and loads its
settings and database the same way: a config file outside the state folder that
names the database is honoured by all of them, never a fresh SQLite file."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from aggregator.auth import principal_for_token
from aggregator.keyring import Keyring
from aggregator.periods import get_period
from aggregator.settings import load_settings
from aggregator.storage import Database
from cli import app
from protocol.errors import Unauthenticated
from protocol.keys import SealPublicKey, SigningKey

runner = CliRunner()
SHARED = {"--state", "--database", "--config"}


@functools.cache
def aggregator_commands() -> tuple[tuple[str, Any], ...]:
    """Every ``publiek aggregator`` command by its path, from one build of the CLI."""
    found = []

    def walk(command: Any, path: str) -> None:
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                walk(sub, f"{path} {name}")
        else:
            found.append((path, command))

    walk(get_command(app).commands["aggregator"], "aggregator")  # type: ignore[attr-defined]
    return tuple(found)


@pytest.mark.parametrize("path", [p for p, _ in aggregator_commands()])
def test_every_aggregator_command_takes_state_database_and_config(path: str) -> None:
    command = dict(aggregator_commands())[path]
    options = {o for p in command.params for o in p.opts}
    assert options >= SHARED


@pytest.fixture
def outside(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A state folder, and a config file elsewhere naming a database elsewhere."""
    state, etc = tmp_path / "state", tmp_path / "etc"
    etc.mkdir()
    database = etc / "central.db"
    config = etc / "publiek.toml"
    config.write_text(
        f'[aggregator]\ndatabase = "sqlite:///{database}"\nk = 2\nperiod_rho = 0.05\n',
        encoding="utf-8",
    )
    return state, config, database


def publiek(*args: str, input: str | None = None) -> Any:
    result = runner.invoke(app, list(args), input=input)
    assert result.exit_code == 0, result.output
    return result


def test_period_open_uses_the_budget_of_a_config_outside_the_state_folder(
    outside: tuple[Path, Path, Path],
) -> None:
    state, config, database = outside
    out = publiek("aggregator", "period", "open", "2026-Q3", "--state", str(state),
                  "--config", str(config)).output  # fmt: skip
    assert "ρ budget 0.05 per institution" in out
    db = Database(f"sqlite:///{database}")
    assert get_period(db, "2026-Q3").rho_budget == 0.05
    assert get_period(db, "2026-Q3").k == 2
    db.engine.dispose()
    assert not (state / "aggregator.db").exists()


@pytest.mark.slow
def test_every_aggregator_command_uses_the_database_the_config_names(
    outside: tuple[Path, Path, Path], kit: Any
) -> None:
    state, config, database = outside
    common = ["--state", str(state), "--config", str(config)]

    def agg(*args: str, input: str | None = None) -> Any:
        return publiek("aggregator", *args, *common, input=input)

    assert f"config: {config}" in agg("init").output
    db = Database(f"sqlite:///{database}")
    agg("user", "add", "po", "--role", "privacy-officer", "--password-stdin",
        input="a long enough passphrase\n")  # fmt: skip
    token = agg("user", "token", "po").stdout.strip()
    assert principal_for_token(db, token).role == "privacy-officer"
    agg("custodian", "register", "--key", SigningKey.generate().public.to_text())
    key_id = agg("key", "create").stdout.strip()
    agg("key", "activate", key_id)
    assert f"{key_id} active" in agg("key", "list").stdout
    agg("key", "retire", key_id)
    assert "institution " in agg("token", "create", "--institution", "Odeon", "--discipline",
                                 "theater", "--province", "utrecht").stderr  # fmt: skip
    agg("period", "open", kit.PERIOD)
    agg("period", "config", kit.PERIOD, "--out", str(state / "period.json"))

    keyring = Keyring(load_settings(state, config), db)
    active = [k for k in keyring.published() if k["state"] == "active"]
    recipient = SealPublicKey.from_text(active[0]["public_key"])
    agents = kit.enroll(db, [(f"Dans {i}", "dance", "limburg", "large") for i in range(2)])
    for i, a in enumerate(agents):
        envelope = state / f"{i}.envelope"
        envelope.write_bytes(a.seal(a.payload(rho=0.05), recipient))
        assert "accepted" in agg("import", str(envelope)).output
    assert "2 institutions" in agg("period", "close", kit.PERIOD).output
    agg("period", "reopen", kit.PERIOD)
    assert "(k=2)" in agg("period", "close", kit.PERIOD).output
    agg("period", "publish", kit.PERIOD)
    exported = json.loads(agg("benchmarks", "--period", kit.PERIOD, "--format", "json").stdout)
    assert exported["groups"]
    agg("institution", "revoke", agents[0].institution_id)
    agg("user", "disable", "po")
    with pytest.raises(Unauthenticated):
        principal_for_token(db, token)
    assert get_period(db, kit.PERIOD).rho_budget == 0.05
    db.engine.dispose()
    assert not (state / "aggregator.db").exists()
    assert not (state / "aggregator.toml").exists()
