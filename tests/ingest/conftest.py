"""Shared helpers for the ingest tests: write exports and mappings, run the real CLI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from tests.ingest.ingest_fixtures import GOOD_ROWS, HEADER, MAPPING


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """Write text (or bytes) to a file under tmp_path and return its path."""

    def _write(name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_bytes(content.encode(encoding))
        return path

    return _write


@pytest.fixture
def mapping_file(write: Callable[..., Path]) -> Path:
    return write("map.toml", MAPPING)


@pytest.fixture
def export_csv(write: Callable[..., Path]) -> Path:
    return write("export.csv", "\n".join([HEADER, *GOOD_ROWS]) + "\n")


@pytest.fixture(autouse=True)
def workspace(tmp_path: Path) -> Path:
    """tmp_path/ws, created as an operator tries a mapping before enrolling: `agent init`."""
    result = CliRunner().invoke(app, ["agent", "init", "-w", str(tmp_path / "ws")])
    assert result.exit_code == 0, result.output
    return tmp_path / "ws"


@pytest.fixture
def run_cli() -> Callable[..., object]:
    runner = CliRunner()

    def _run(*args: str) -> object:
        return runner.invoke(app, list(args), catch_exceptions=False)

    return _run
