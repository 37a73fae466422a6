"""State files are private whatever the umask (issue 14, ADR 0017).

The aggregator's database (password hashes, token hashes, unpublished tables)
was created 0644 by the demo and by ``aggregator init``. Every test here runs
with umask 022, under which a plain ``open`` makes files others can read.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from agent.workspace import AgentConfig, Workspace
from aggregator.settings import Settings
from aggregator.storage import Database
from cli import app
from custodian.state import CustodianState
from demo.run import aggregator_process
from demo.sector import generate_sector, write_exports
from protocol.keys import SecretBytes

pytestmark = pytest.mark.usefixtures("umask_022")
runner = CliRunner()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def loose(root: Path) -> list[str]:
    """Every folder under ``root`` (itself included) not 0700 and every file not 0600."""
    found = [] if mode(root) == 0o700 else [f"{root} {mode(root):o}"]
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            if mode(Path(folder, name)) != 0o700:
                found.append(f"{Path(folder, name)} {mode(Path(folder, name)):o}")
        for name in files:
            if mode(Path(folder, name)) != 0o600:
                found.append(f"{Path(folder, name)} {mode(Path(folder, name)):o}")
    return found


def test_the_umask_lets_others_read_a_plain_new_file(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("x")
    assert mode(tmp_path / "plain") == 0o644  # what every test below is up against


def test_aggregator_init_creates_every_state_file_0600_and_folder_0700(tmp_path: Path) -> None:
    state = tmp_path / "aggregator-state"
    ran = runner.invoke(app, ["aggregator", "init", "--state", str(state)])
    assert ran.exit_code == 0, ran.output
    assert {p.name for p in state.iterdir()} >= {"aggregator.db", "aggregator.toml", "keys"}
    assert loose(state) == []
    assert "warning" not in ran.stderr


def test_the_command_puts_the_callers_umask_back(tmp_path: Path) -> None:
    runner.invoke(app, ["aggregator", "init", "--state", str(tmp_path / "s")])
    assert os.umask(0o022) == 0o022


def test_sqlite_wal_and_shm_files_take_the_database_files_mode(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'aggregator.db'}")
    db.create_schema()  # writes, in WAL mode
    companions = [tmp_path / "aggregator.db-wal", tmp_path / "aggregator.db-shm"]
    with db.session() as s:
        s.execute(text("SELECT COUNT(*) FROM institutions"))
        assert all(p.exists() for p in companions)  # while a connection is open
        assert [mode(p) for p in [tmp_path / "aggregator.db", *companions]] == [0o600] * 3
    db.engine.dispose()


def test_a_database_made_by_sqlite_itself_would_be_readable_by_others(tmp_path: Path) -> None:
    """Why the database file is created before SQLite opens it: SQLite uses the umask
    and gives -wal and -shm the same mode."""
    with sqlite3.connect(tmp_path / "plain.db") as con:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("CREATE TABLE t (x)")
        assert mode(tmp_path / "plain.db") == 0o644
        assert mode(tmp_path / "plain.db-wal") == 0o644
    con.close()


def test_the_agent_workspace_is_private(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "workspace").ensure()
    ws.save_config(AgentConfig("podium", "http://127.0.0.1:1", "theater", "utrecht"))
    ws.install_sector_key("2026-Q3", SecretBytes(bytes(range(32))))
    ws.link_key()
    with ws.connect() as db:
        db.execute("INSERT INTO receipts VALUES ('x', '{}')")
        assert loose(ws.root) == []
    db.close()


def test_the_custodian_folder_is_private(tmp_path: Path) -> None:
    custodian = CustodianState(tmp_path / "custodian")
    custodian.approve("podium", "0" * 32)  # before init: the folder is made here
    custodian.init()
    custodian.sector_key("2026-Q3")
    assert {p.name for p in custodian.root.iterdir()} == {
        "custodian.key", "roster.json", "sector-keys"
    }  # fmt: skip
    assert loose(custodian.root) == []


@contextmanager
def loosened(state: Path) -> Iterator[list[Path]]:
    """What an older version (or a restore that dropped modes) left behind, with a
    connection held open so that the -wal and -shm files stay while the test runs."""
    opened = sqlite3.connect(state / "aggregator.db")
    try:
        opened.execute("PRAGMA journal_mode=WAL")
        opened.execute("CREATE TABLE IF NOT EXISTS t (x)")
        wide = [
            state,
            state / "keys",
            state / "aggregator.db",
            state / "aggregator.db-wal",
            state / "aggregator.db-shm",
            state / "aggregator.toml",
            *sorted((state / "keys").iterdir()),
        ]
        for path in wide:
            path.chmod(0o755 if path.is_dir() else 0o644)
        yield wide
    finally:
        opened.close()


def test_aggregator_init_repairs_looser_modes_with_a_warning_per_path(tmp_path: Path) -> None:
    state = tmp_path / "aggregator-state"
    assert runner.invoke(app, ["aggregator", "init", "--state", str(state)]).exit_code == 0
    with loosened(state) as wide:
        ran = runner.invoke(app, ["aggregator", "init", "--state", str(state)])
        assert ran.exit_code == 0, ran.output
        warned = [line for line in ran.stderr.splitlines() if line.startswith("warning: ")]
        for path in wide:
            was = "0755" if path.is_dir() else "0644"
            now = "0700" if path.is_dir() else "0600"
            assert f"warning: {path} was mode {was} (others could read it); made it {now}" in warned
        assert loose(state) == []
    again = runner.invoke(app, ["aggregator", "init", "--state", str(state)])
    assert again.exit_code == 0 and "warning" not in again.stderr


def test_a_sqlite_database_outside_the_state_folder_is_repaired_too(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere" / "publiek.db"
    outside.parent.mkdir()
    args = ["aggregator", "init", "--state", str(tmp_path / "s"), "--database",
            f"sqlite:///{outside}"]  # fmt: skip
    assert runner.invoke(app, args).exit_code == 0
    assert mode(outside) == 0o600
    outside.chmod(0o644)
    ran = runner.invoke(app, args)
    assert f"warning: {outside} was mode 0644" in ran.stderr
    assert mode(outside) == 0o600


@pytest.mark.slow
def test_aggregator_serve_repairs_looser_modes_before_it_listens(tmp_path: Path) -> None:
    state = tmp_path / "aggregator-state"
    assert runner.invoke(app, ["aggregator", "init", "--state", str(state)]).exit_code == 0
    with loosened(state) as wide, aggregator_process(Settings(state_dir=state), lambda _: None):
        assert loose(state) == []
    log = (state / "server.log").read_text(encoding="utf-8")
    for path in wide:
        assert f"warning: {path} was mode" in log


def test_an_ingest_through_the_command_leaves_only_private_files(tmp_path: Path) -> None:
    """Parquet files are written by polars, which takes no mode: the command's umask
    covers them (visits hold household keys and link keys)."""
    sector = generate_sector(institutions=1, households=300, seed=3)
    export = write_exports(sector, tmp_path / "agents")[sector.institutions[0].slug]
    mapping = tmp_path / "agents" / sector.institutions[0].slug / "mapping.toml"
    ws = tmp_path / "workspace"
    assert runner.invoke(app, ["agent", "init", "-w", str(ws)]).exit_code == 0
    ran = runner.invoke(app, ["agent", "ingest", str(export), "-m", str(mapping), "-w", str(ws)])
    assert ran.exit_code == 0, ran.output
    assert list((ws / "visits").rglob("*.parquet"))
    assert loose(ws) == []
