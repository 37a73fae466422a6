"""``aggregator import`` reads at most the size limit (issue 14).

``/dev/zero`` has a size of 0, so a size check on the file let it through and
the import read until memory ran out. Now at most limit + 1 bytes are read
from whatever the path is; more is refused with one line and exit code 2.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from protocol.envelope import MAX_ENVELOPE_BYTES

runner = CliRunner()


@pytest.fixture
def state(tmp_path: Path) -> Path:
    folder = tmp_path / "aggregator-state"
    ran = runner.invoke(app, ["aggregator", "init", "--state", str(folder)])
    assert ran.exit_code == 0, ran.output
    return folder


def import_file(path: Path, state: Path) -> tuple[int, str]:
    ran = runner.invoke(app, ["aggregator", "import", str(path), "--state", str(state)])
    return ran.exit_code, ran.stderr


@pytest.mark.timeout(60)
def test_dev_zero_is_refused_after_the_limit(state: Path) -> None:
    code, stderr = import_file(Path("/dev/zero"), state)
    assert code == 2
    assert stderr.strip() == (
        f"error: /dev/zero is larger than the limit of {MAX_ENVELOPE_BYTES} bytes — "
        "this is not an envelope written by `publiek agent export`"
    )


@contextmanager
def feeding(path: Path, chunks: Iterable[bytes]) -> Iterator[None]:
    """A writer thread pushing ``chunks`` into the named pipe ``path``, then closing it
    (or stopping when the reader closed its end first)."""
    os.mkfifo(path)
    writer = threading.Thread(target=_write, args=(path, chunks), daemon=True)
    writer.start()
    yield
    writer.join(timeout=30)
    assert not writer.is_alive()


def _write(path: Path, chunks: Iterable[bytes]) -> None:
    try:
        with path.open("wb") as pipe:  # blocks until the import opens the other end
            for chunk in chunks:
                pipe.write(chunk)
    except BrokenPipeError:
        return  # the reader stopped reading: what an endless pipe must come to


@pytest.mark.timeout(60)
def test_an_endless_pipe_is_refused_after_the_limit(state: Path, tmp_path: Path) -> None:
    pipe = tmp_path / "endless.fifo"
    with feeding(pipe, itertools.repeat(bytes(1 << 16))):
        code, stderr = import_file(pipe, state)
    assert code == 2
    assert stderr.strip().startswith(
        f"error: {pipe} is larger than the limit of {MAX_ENVELOPE_BYTES} bytes"
    )


@pytest.mark.timeout(60)
def test_a_pipe_within_the_limit_is_read_to_its_end_and_checked_as_an_envelope(
    state: Path, tmp_path: Path
) -> None:
    pipe = tmp_path / "short.fifo"
    with feeding(pipe, [b" " * (MAX_ENVELOPE_BYTES // 2), b" " * (MAX_ENVELOPE_BYTES // 2)]):
        code, stderr = import_file(pipe, state)  # exactly the limit: not too large
    assert code == 2
    assert "larger than the limit" not in stderr
    assert stderr.startswith("error: ") and len(stderr.strip().splitlines()) == 1


def test_a_file_one_byte_over_the_limit_is_refused(state: Path, tmp_path: Path) -> None:
    big = tmp_path / "big.envelope"
    with big.open("wb") as out:
        out.truncate(MAX_ENVELOPE_BYTES + 1)
    code, stderr = import_file(big, state)
    assert code == 2 and "is larger than the limit" in stderr


def test_a_folder_is_a_usage_error(state: Path, tmp_path: Path) -> None:
    code, stderr = import_file(tmp_path, state)
    assert code == 2
    assert stderr.strip() == f"error: {tmp_path} cannot be read (Is a directory)"
