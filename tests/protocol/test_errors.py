"""Every error class has a stable, documented problem type."""

from __future__ import annotations

from pathlib import Path

from protocol.errors import ALL_ERRORS, PubliekError

DOC = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text(encoding="utf-8")


def test_problem_types_are_unique() -> None:
    types = [e.problem_type() for e in ALL_ERRORS]
    assert len(types) == len(set(types))


def test_every_problem_type_is_in_the_protocol_document() -> None:
    for error in ALL_ERRORS:
        assert f"| `{error.problem_type()}` | {error.status} |" in DOC


def test_problem_document_has_the_rfc_9457_members() -> None:
    doc = ALL_ERRORS[3]("too big", hint="send less").problem("/v1/submissions")
    assert set(doc) == {"type", "title", "status", "detail", "instance"}
    assert doc["detail"] == "too big — send less"


def test_every_error_is_a_publiek_error() -> None:
    assert all(issubclass(e, PubliekError) for e in ALL_ERRORS)
