"""Every error class has a stable, documented problem type."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from pathlib import Path

from protocol.errors import _BY_TYPE, ALL_ERRORS, PubliekError, error_from_problem

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


PACKAGES = ("protocol", "dp", "agent", "aggregator", "custodian", "cli", "demo")


def _import_every_module() -> int:
    """Import every module of the project's packages, so every error class is defined.

    Left out: ``__main__`` modules (they run) and the alembic migration scripts
    (they need alembic's context); neither defines an error class.
    """
    count = 0
    for package in PACKAGES:
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, f"{package}."):
            if info.name.endswith(".__main__") or info.name.startswith("aggregator.migrations"):
                continue
            importlib.import_module(info.name)
            count += 1
    return count


def _subclasses(cls: type[PubliekError]) -> Iterator[type[PubliekError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_publiek_error_subclass_is_in_the_registry() -> None:
    """A class defined anywhere in the project but missing from ``ALL_ERRORS`` would
    come back from a peer as a bare ``PubliekError``: this fails for it."""
    assert _import_every_module() > 50  # the walk found the project, not an empty path
    defined = {
        cls
        for cls in _subclasses(PubliekError)
        if cls.__module__.split(".")[0] in PACKAGES  # not a test's local subclass
    }
    missing = sorted(f"{c.__module__}.{c.__qualname__}" for c in defined - set(ALL_ERRORS))
    assert not missing, f"PubliekError subclasses missing from ALL_ERRORS: {missing}"


def test_every_registered_problem_maps_back_to_its_class() -> None:
    for error in ALL_ERRORS:
        assert _BY_TYPE[error.problem_type()] is error
        doc = error("x").problem("/v1/anything")
        assert type(error_from_problem(error.status, doc)) is error
