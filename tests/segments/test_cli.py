"""``publiek segments``: keygen, build, verify, show and synthetic, as an operator runs them.

Bad input ends with exit code 2 and one line on stderr that says what to do."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cli import app
from protocol.keys import SigningKey, fingerprint
from protocol.segment_release import DEMO_LABEL
from segments.build import ModelTables, write_inputs

runner = CliRunner()


def run(*args: str | Path) -> Result:
    return runner.invoke(app, ["segments", *map(str, args)])


def refused(result: Result, text: str) -> None:
    """Exit code 2, and one line on stderr that names the problem."""
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert text in lines[0], lines[0]


@pytest.fixture
def key_file(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "model.key"
    result = run("keygen", "--key", path)
    assert result.exit_code == 0, result.output
    return path, result.stdout.strip()


@pytest.fixture
def built(tables: ModelTables, key_file: tuple[Path, str], tmp_path: Path) -> Path:
    inputs = write_inputs(tables, tmp_path / "inputs").segments.parent
    out = tmp_path / "owner-2026.1.segments"
    result = run("build", inputs, "--version", "owner-2026.1", "--key", key_file[0],
                 "--created", "2026-03-01", "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "segment model owner-2026.1, 7 segments" in result.stdout
    return out


def test_keygen_writes_an_owner_only_key_and_prints_its_public_half(
    key_file: tuple[Path, str],
) -> None:
    path, public = key_file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert SigningKey.load(path).public.to_text() == public


def test_keygen_never_overwrites_a_key(key_file: tuple[Path, str]) -> None:
    refused(run("keygen", "--key", key_file[0]), "exists already")


def test_verify_accepts_a_release_under_its_key(built: Path, key_file: tuple[Path, str]) -> None:
    result = run("verify", built, "--model-key", key_file[1])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{built}: verified: segment model owner-2026.1, 7 segments")
    assert "synthetic" not in result.stdout


def test_verify_refuses_a_release_under_another_key(built: Path) -> None:
    other = SigningKey.generate().public
    result = run("verify", built, "--model-key", other.to_text())
    refused(result, f"not by the pinned model key {fingerprint(other)}")


def test_verify_refuses_a_tampered_release(built: Path, key_file: tuple[Path, str]) -> None:
    data = bytearray(built.read_bytes())
    data[len(data) // 2] ^= 0x10
    built.write_bytes(bytes(data))
    refused(run("verify", built, "--model-key", key_file[1]), str(built))


def test_verify_refuses_an_unexpected_version(built: Path, key_file: tuple[Path, str]) -> None:
    result = run("verify", built, "--model-key", key_file[1], "--expect-version", "owner-2026.2")
    refused(result, "not owner-2026.2, the version asked for")


def test_verify_refuses_a_key_that_is_not_a_key(built: Path) -> None:
    refused(run("verify", built, "--model-key", "not a key"), "base64url")


def test_verify_refuses_a_missing_file(tmp_path: Path, key_file: tuple[Path, str]) -> None:
    refused(run("verify", tmp_path / "none.segments", "--model-key", key_file[1]), "does not exist")


def test_show_lists_segments_and_counts_and_who_signed(
    built: Path, key_file: tuple[Path, str], tables: ModelTables
) -> None:
    pinned = run("show", built, "--model-key", key_file[1])
    assert pinned.exit_code == 0, pinned.output
    assert "checked against the pinned model key" in pinned.stdout
    assert "  urban-young           Jonge stedelingen / Urban young adults" in pinned.stdout
    assert f"{tables.pc4.height:,} PC4 areas, {tables.pc6.height:,} PC6 codes" in pinned.stdout
    assert "synthetic: no" in pinned.stdout
    assert len(pinned.stdout.splitlines()) == 6 + len(tables.segments)  # no rows, only counts
    unpinned = run("show", built)
    assert "NOT checked against a pinned model key" in unpinned.stdout


def test_build_refuses_bad_input_in_one_line(
    tables: ModelTables, key_file: tuple[Path, str], tmp_path: Path
) -> None:
    inputs = write_inputs(tables, tmp_path / "inputs")
    inputs.pc6.write_text("pc6,urban-young\n1011AB,1\n", encoding="utf-8")
    result = run("build", inputs.pc6.parent, "--version", "v-1", "--key", key_file[0])
    refused(result, "pc6.csv lacks the columns students")


def test_build_refuses_a_key_file_that_is_not_a_key(tables: ModelTables, tmp_path: Path) -> None:
    inputs = write_inputs(tables, tmp_path / "inputs")
    bad = tmp_path / "bad.key"
    bad.write_text("AAAA\n", encoding="ascii")
    refused(
        run("build", inputs.pc6.parent, "--version", "v-1", "--key", bad), "not a model signing key"
    )


def test_build_never_overwrites_a_release(
    built: Path, key_file: tuple[Path, str], tmp_path: Path
) -> None:
    result = run("build", tmp_path / "inputs", "--version", "owner-2026.1", "--key", key_file[0],
                 "--out", built)  # fmt: skip
    refused(result, "exists already")


@pytest.mark.slow
def test_the_synthetic_release_says_what_it_is_wherever_it_is_shown(tmp_path: Path) -> None:
    out = tmp_path / "synthetic.segments"
    made = run("synthetic", "--out", out)
    assert made.exit_code == 0, made.output
    assert DEMO_LABEL in made.stdout
    shown = run("show", out)
    assert f"synthetic: yes ({DEMO_LABEL})" in shown.stdout
    public = made.stderr.split()[2]
    verified = run("verify", out, "--model-key", public)
    assert verified.exit_code == 0, verified.output
    assert DEMO_LABEL in verified.stdout
