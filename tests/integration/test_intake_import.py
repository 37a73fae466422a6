"""Acceptance: `publiek aggregator import` of a tampered file exits 2 with one
clear line and leaves the database exactly as it was (real subprocess)."""

from __future__ import annotations

import importlib.util
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "publiek_vector_state", VECTORS / "aggregator_state.py"
)
assert _spec and _spec.loader
state = importlib.util.module_from_spec(_spec)
sys.modules["publiek_vector_state"] = state
_spec.loader.exec_module(state)


def publiek(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def dump(db: Path) -> list[str]:
    with sqlite3.connect(db) as con:
        return list(con.iterdump())


@pytest.mark.slow
def test_import_of_a_tampered_file_exits_2_with_one_line_and_changes_nothing(
    tmp_path: Path,
) -> None:
    settings = state.build_state(tmp_path / "aggregator")
    db = settings.state_dir / "aggregator.db"
    valid = tmp_path / "valid.envelope"
    valid.write_bytes((VECTORS / "submissions" / "valid.envelope").read_bytes())
    assert (
        publiek("aggregator", "import", str(valid), "--state", str(settings.state_dir)).returncode
        == 0
    )
    before = dump(db)
    tampered = tmp_path / "tampered.envelope"
    tampered.write_bytes((VECTORS / "submissions" / "tampered-ciphertext.envelope").read_bytes())
    ran = publiek("aggregator", "import", str(tampered), "--state", str(settings.state_dir))
    assert ran.returncode == 2
    lines = ran.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "does not decrypt" in lines[0]
    assert ran.stdout == ""
    assert dump(db) == before
