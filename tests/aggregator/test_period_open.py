"""Opening a quarter: the default budget (ε = 1 at δ = 1e-7), its flags, the signed config file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from aggregator.keyring import Keyring
from aggregator.periods import close_period, get_period, open_period
from aggregator.settings import Settings, load_settings, write_default_config
from aggregator.storage import Database
from cli import app
from dp.measurements import rho_for_epsilon
from protocol.errors import InvalidPayload
from protocol.messages import PeriodConfig
from protocol.period_config import verify_period_config

runner = CliRunner()


def run(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def test_the_default_budget_is_epsilon_one_per_quarter_at_delta_1e_7(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path)
    assert settings.period_rho == rho_for_epsilon(1.0, 1e-7)
    assert settings.period_delta == 1e-7
    assert 0.015 < settings.period_rho < 0.025  # OpenDP's conversion: about 0.0202


def test_the_default_follows_the_configured_delta_and_the_file_round_trips(
    tmp_path: Path,
) -> None:
    (tmp_path / "aggregator.toml").write_text("[aggregator]\nperiod_delta = 1e-9\n")
    assert load_settings(tmp_path).period_rho == rho_for_epsilon(1.0, 1e-9)
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    written = write_default_config(Settings(state_dir=fresh))
    reread = load_settings(fresh, written)
    assert (reread.period_rho, reread.period_delta) == (rho_for_epsilon(1.0, 1e-7), 1e-7)


def test_period_open_uses_the_default_budget_and_fixes_the_config(tmp_path: Path) -> None:
    state = ["--state", str(tmp_path)]
    out = run("aggregator", "period", "open", "2026-Q3", *state).output
    assert f"ρ budget {rho_for_epsilon(1.0, 1e-7):g} per institution" in out
    run("aggregator", "period", "open", "2026-Q4", "--epsilon", "0.5", *state)
    run("aggregator", "period", "open", "2027-Q1", "--rho", "0.01", *state)
    db = Database(f"sqlite:///{tmp_path / 'aggregator.db'}")
    assert get_period(db, "2026-Q4").rho_budget == rho_for_epsilon(0.5, 1e-7)
    assert get_period(db, "2027-Q1").rho_budget == 0.01
    db.engine.dispose()


def test_period_open_refuses_months_and_two_budgets(tmp_path: Path) -> None:
    state = ["--state", str(tmp_path)]
    month = runner.invoke(app, ["aggregator", "period", "open", "2026-M07", *state])
    assert month.exit_code == 2 and "periods are quarters only" in month.stderr
    both = runner.invoke(
        app, ["aggregator", "period", "open", "2026-Q3", "--rho", "0.1", "--epsilon", "1", *state]
    )
    assert both.exit_code == 2 and "not both" in both.stderr


def test_period_config_writes_a_file_signed_by_the_receipt_key(tmp_path: Path) -> None:
    state = ["--state", str(tmp_path)]
    run("aggregator", "period", "open", "2026-Q3", *state)
    out = tmp_path / "2026-Q3.json"
    run("aggregator", "period", "config", "2026-Q3", "--out", str(out), *state)
    config = PeriodConfig.from_dict(json.loads(out.read_text()))
    settings = Settings(state_dir=tmp_path)
    db = Database(settings.db_url)
    verify_period_config(config, Keyring(settings, db).receipt_key().public)
    db.engine.dispose()
    assert config.rho_budget == rho_for_epsilon(1.0, 1e-7) and config.k == 5
    unknown = runner.invoke(app, ["aggregator", "period", "config", "2031-Q1", *state])
    assert unknown.exit_code == 2 and "does not exist" in unknown.stderr


def test_open_period_refuses_a_month_in_the_library_too(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'a.db'}")
    db.create_schema()
    with pytest.raises(InvalidPayload, match="quarters only"):
        open_period(db, "2026-M07", rho_budget=0.02)
    db.engine.dispose()


def test_closing_never_uses_a_k_below_the_one_the_period_promised(tmp_path: Path) -> None:
    """An operator who lowers k in aggregator.toml after opening a period cannot
    publish groups below the k its signed config told the institutions."""
    db = Database(f"sqlite:///{tmp_path / 'a.db'}")
    db.create_schema()
    open_period(db, "2026-Q3", rho_budget=0.02, k=5)
    assert close_period(db, "2026-Q3", k=1).k == 5
    assert get_period(db, "2026-Q3").benchmark_k == 5


def test_a_database_url_with_quotes_and_backslashes_round_trips(tmp_path: Path) -> None:
    # The config is written by a TOML writer, not by string formatting (issue 13).
    url = 'postgresql+psycopg://pub"liek:p\\a\\\\ss"@db.internal/publiek?x=\t\n'
    written = write_default_config(Settings(state_dir=tmp_path, database_url=url))
    assert load_settings(tmp_path, written).database_url == url


def test_the_agent_config_round_trips_any_url(tmp_path: Path) -> None:
    from agent.workspace import AgentConfig, Workspace

    config = AgentConfig("i-1", 'https://agg.example/"x"\\y', "theater", "Utrecht")
    workspace = Workspace(tmp_path)
    workspace.save_config(config)
    assert workspace.load_config() == config
