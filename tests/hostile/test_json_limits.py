"""JSON from another party is measured before it is parsed (``protocol.json_limits``).

The depth pre-scan must agree with the real nesting of any JSON (strings full
of brackets, quotes and backslashes included), never fail on arbitrary
bytes, and sit in front of every parser of a peer's bytes: request bodies
(over HTTP in ``test_http_surface.py``), envelopes and sealed sector keys
(also from an imported file), and the aggregator's answers to its clients.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from cli import app
from protocol.client import ProblemClient
from protocol.encoding import parse_canonical
from protocol.envelope import parse_envelope
from protocol.errors import DeepJson, MalformedMessage, PayloadTooLarge, PubliekError
from protocol.json_limits import MAX_DEPTH, check_depth, nesting_exceeds, parse_json
from protocol.sector_keys import SealedSectorKey
from tests.protocol.scripted_server import ScriptedServers

TRICKY = st.text(alphabet=st.sampled_from('[]{}"\\/:,ab \n\u00e9\u2028\U0001f600'), max_size=12)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TRICKY,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TRICKY, inner, max_size=4),
    max_leaves=40,
)


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    return 0


def nested(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


@given(JSON_VALUES, st.integers(min_value=0, max_value=12), st.booleans(), st.booleans())
def test_the_scan_agrees_with_the_real_nesting(
    value: Any, limit: int, ascii_only: bool, indented: bool
) -> None:
    data = json.dumps(value, ensure_ascii=ascii_only, indent=1 if indented else None).encode()
    assert nesting_exceeds(data, limit) == (depth(value) > limit)


@given(st.binary(max_size=200), st.integers(min_value=0, max_value=8))
def test_any_bytes_are_measured_or_refused_as_a_problem(data: bytes, limit: int) -> None:
    nesting_exceeds(data, limit)
    try:
        parse_json(data, what="the body", max_bytes=100, max_depth=limit)
    except PubliekError as exc:
        assert isinstance(exc, MalformedMessage | PayloadTooLarge)


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 2_000, 5_000, 50_000, 1_000_000])
def test_deep_json_is_refused_before_it_is_parsed(levels: int) -> None:
    with pytest.raises(DeepJson, match="deeper than 32 levels"):
        parse_json(nested(levels), what="the body", max_bytes=10_000_000)


def test_the_limit_itself_is_parsed() -> None:
    assert depth(parse_json(nested(MAX_DEPTH), what="the body", max_bytes=1000)) == MAX_DEPTH


def test_brackets_in_strings_are_not_nesting() -> None:
    text = json.dumps({"a": "[" * 10_000 + '\\"{' * 1000, "b": ["]]]", "\\\\", "[[["]})
    check_depth(text.encode(), what="the body", max_depth=2)
    check_depth(b'["\\\\\\"[[[["]', what="the body", max_depth=1)  # escaped backslash, then quote


def test_size_is_checked_first_and_json_is_strict() -> None:
    with pytest.raises(PayloadTooLarge):
        parse_json(nested(100), what="the body", max_bytes=10)
    for junk in (b"NaN", b"[Infinity]", b"\xff", '"x"'.encode("utf-16"), b"[1,]", b""):
        with pytest.raises(MalformedMessage, match="is not JSON"):
            parse_json(junk, what="the body", max_bytes=100)


@pytest.mark.parametrize(
    "parse",
    [
        lambda data: parse_canonical(data, what="envelope"),
        parse_envelope,
        SealedSectorKey.from_bytes,
    ],
    ids=["canonical", "envelope", "sealed-sector-key"],
)
def test_the_protocol_parsers_refuse_deep_json(parse: Any) -> None:
    for levels in (MAX_DEPTH + 1, 2_000):  # a sealed sector key is at most 4 KiB
        with pytest.raises(DeepJson):
            parse(b'{"payload":' + nested(levels) + b"}")


# --- what the aggregator answers its clients ------------------------------------------------


@pytest.fixture
def answering() -> Iterator[Any]:
    """A server on 127.0.0.1 that answers every request with the given status and body."""
    with ScriptedServers() as servers:
        yield lambda status, body, media: servers.start(lambda _: (status, media, body))


def test_a_deep_answer_is_deep_json_for_the_client(answering: Any) -> None:
    url = answering(200, nested(100_000), "application/json")
    with ProblemClient(url, attempts=1) as client, pytest.raises(DeepJson):
        client.get("/v1/keys")


def test_a_deep_problem_document_still_gives_its_status(answering: Any) -> None:
    url = answering(403, b'{"type":' + nested(100_000) + b"}", "application/problem+json")
    with ProblemClient(url, attempts=1) as client, pytest.raises(PubliekError) as raised:
        client.get("/v1/keys")
    assert str(raised.value) == "aggregator answered 403: Forbidden"


# --- an imported file ---------------------------------------------------------------------


def test_importing_a_deep_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    deep = tmp_path / "deep.envelope"
    deep.write_bytes(b'{"payload":' + nested(200_000) + b"}")
    runner = CliRunner()
    result = runner.invoke(app, ["aggregator", "import", str(deep), "--state", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert "deeper than 32 levels" in result.output
    assert "Traceback" not in result.output
