"""The aggregator's command line: init, config file, periods, exports, staff accounts."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from aggregator.auth import principal_for_token
from aggregator.intake import Intake
from aggregator.settings import load_settings
from aggregator.storage import Database
from cli import app
from protocol.errors import UsageError

runner = CliRunner()


def run(*args: str, input: str | None = None) -> Any:
    result = runner.invoke(app, list(args), input=input)
    assert result.exit_code == 0, result.output
    return result


def test_init_writes_a_config_file_and_migrates_the_schema(tmp_path: Path) -> None:
    out = run("aggregator", "init", "--state", str(tmp_path)).output
    assert "schema revision 0008" in out
    config = (tmp_path / "aggregator.toml").read_text()
    assert 'host = "127.0.0.1"' in config
    assert "k = 5" in config
    assert "schema revision 0008" in run("aggregator", "init", "--state", str(tmp_path)).output


def test_flags_override_the_config_file_which_overrides_defaults(tmp_path: Path) -> None:
    (tmp_path / "aggregator.toml").write_text("[aggregator]\nk = 7\nport = 9000\n")
    assert load_settings(tmp_path).k == 7
    assert load_settings(tmp_path, k=3).k == 3
    assert load_settings(tmp_path).host == "127.0.0.1"


def test_an_unknown_config_key_is_refused(tmp_path: Path) -> None:
    (tmp_path / "aggregator.toml").write_text("[aggregator]\npasword = 'x'\n")
    with pytest.raises(UsageError, match="unknown key"):
        load_settings(tmp_path)


def test_close_publish_and_export_benchmarks_from_the_command_line(
    tmp_path: Path, kit: Any
) -> None:
    url = f"sqlite:///{tmp_path / 'aggregator.db'}"
    agg = kit.make_aggregator(tmp_path, url)
    agents = kit.enroll(agg.db, [(f"Dans {i}", "dance", "limburg", "large") for i in range(5)])
    intake = Intake(agg.db, agg.keyring)
    for a in agents:
        intake.accept(a.seal(a.payload(), agg.recipient))
    agg.db.engine.dispose()
    common = ["--state", str(tmp_path), "--database", url]
    assert "5 institutions" in run("aggregator", "period", "close", kit.PERIOD, *common).output
    run("aggregator", "period", "publish", kit.PERIOD, *common)
    as_json = json.loads(
        run("aggregator", "benchmarks", "--period", kit.PERIOD, "--format", "json", *common).stdout
    )
    csv = run("aggregator", "benchmarks", "--period", kit.PERIOD, "--format", "csv", *common)
    run("aggregator", "benchmarks", "--period", kit.PERIOD, "--format", "parquet",
        "--output", str(tmp_path / "b.parquet"), *common)  # fmt: skip
    cells = sum(len(g["cells"]) for g in as_json["groups"])
    assert {g["group_id"] for g in as_json["groups"]} == {"dance/limburg/large", "sector"}
    assert pl.read_csv(io.StringIO(csv.stdout)).height == cells
    assert pl.read_parquet(tmp_path / "b.parquet").height == cells


def test_a_staff_account_gets_an_api_token(tmp_path: Path) -> None:
    common = ["--state", str(tmp_path)]
    run("aggregator", "user", "add", "privacy", "--role", "privacy-officer", "--password-stdin",
        *common, input="a long enough passphrase\n")  # fmt: skip
    token = run("aggregator", "user", "token", "privacy", *common).stdout.strip()
    db = Database(load_settings(tmp_path).db_url)
    assert principal_for_token(db, token).role == "privacy-officer"
    db.engine.dispose()


def test_a_short_password_is_refused_with_one_line(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["aggregator", "user", "add", "tf", "--role", "taskforce", "--password-stdin",
         "--state", str(tmp_path)],
        input="short\n",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "at least 12 characters" in result.output
