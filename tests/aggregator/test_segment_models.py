"""Segment model releases on the aggregator: the model key, publishing, serving (ADR 0027)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from cli import app
from protocol.keys import SigningKey, fingerprint
from protocol.segment_release import verify_release
from tests.small_release import small_release, tampered

runner = CliRunner()
KEY = SigningKey.generate()

# Each test builds and signs releases and runs the aggregator's commands (seconds):
# `pytest -m "not slow"` leaves them out, `make test` runs them.
pytestmark = pytest.mark.slow


def agg(state: Path, *args: str) -> Any:
    return runner.invoke(app, ["aggregator", *args, "--state", str(state)])


@pytest.fixture
def state(tmp_path: Path) -> Path:
    state = tmp_path / "state"
    assert agg(state, "init").exit_code == 0
    registered = agg(state, "segment-model", "register-key", "--key", KEY.public.to_text())
    assert registered.exit_code == 0, registered.output
    assert f"model key {fingerprint(KEY.public)} registered" in registered.output
    return state


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def served(state: Path, server_factory: Any) -> httpx.Client:
    server = server_factory(state, f"sqlite:///{state / 'aggregator.db'}")
    return httpx.Client(base_url=server.url, timeout=30)


def test_a_release_is_published_once_and_served_as_published(
    state: Path, tmp_path: Path, server_factory: Any
) -> None:
    data = small_release(KEY)
    file = write(tmp_path / "synthetic-2026.1.segments", data)
    first = agg(state, "segment-model", "publish", str(file))
    assert first.exit_code == 0, first.output
    assert "segment model synthetic-2026.1 (synthetic) published" in first.output
    again = agg(state, "segment-model", "publish", str(file))
    assert again.exit_code == 0, again.output
    assert "already published, unchanged" in again.output

    digest = verify_release(data, model_key=KEY.public, where="t").digest
    with served(state, server_factory) as client:
        listed = client.get("/v1/segment-models").json()["segment_models"]
        assert [(m["version"], m["digest"], m["synthetic"], m["size"]) for m in listed] == [
            ("synthetic-2026.1", digest, True, len(data))
        ]
        got = client.get("/v1/segment-models/synthetic-2026.1")
        assert got.status_code == 200
        assert got.content == data
        assert got.headers["content-type"] == "application/zip"
        assert got.headers["publiek-segment-model-digest"] == digest
        missing = client.get("/v1/segment-models/other-2026")
        assert missing.status_code == 404
        assert missing.json()["type"].endswith("not-found")


def refused(state: Path, file: Path) -> str:
    result = agg(state, "segment-model", "publish", str(file))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.output.count("\n") == 1
    return result.output


def test_unsigned_tampered_and_other_key_releases_are_refused(
    state: Path, tmp_path: Path, server_factory: Any
) -> None:
    data = small_release(KEY)
    assert "altered after it was signed" in refused(state, write(tmp_path / "t", tampered(data)))
    other = small_release(SigningKey.generate())
    assert "model key this aggregator does not know" in refused(state, write(tmp_path / "o", other))
    assert "not a segment model release" in refused(state, write(tmp_path / "j", b"{}"))
    with served(state, server_factory) as client:
        assert client.get("/v1/segment-models").json() == {"segment_models": []}


def test_other_bytes_under_a_published_version_are_refused(state: Path, tmp_path: Path) -> None:
    assert agg(state, "segment-model", "publish",
               str(write(tmp_path / "a", small_release(KEY)))).exit_code == 0  # fmt: skip
    other_key = SigningKey.generate()
    agg(state, "segment-model", "register-key", "--key", other_key.public.to_text())
    out = refused(state, write(tmp_path / "b", small_release(other_key)))
    assert "synthetic-2026.1 is already published with other content" in out
