"""The one-way import rule (docs/architecture.md, ADR 0001, 0040):
protocol ← dp ← views ← agent / aggregator."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "protocol": {"dp", "views", "agent", "aggregator", "custodian", "segments", "demo", "cli"},
    "dp": {"views", "agent", "aggregator", "custodian", "segments", "demo", "cli"},
    "views": {"agent", "aggregator", "custodian", "segments", "demo", "cli"},
    "agent": {"aggregator", "custodian", "segments", "demo", "cli"},
    "aggregator": {"agent", "custodian", "segments", "demo", "cli"},
    "custodian": {"dp", "views", "agent", "aggregator", "segments", "demo", "cli"},
    "segments": {"views", "agent", "aggregator", "custodian", "demo", "cli"},
}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def violations(package: str) -> list[str]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = imported_roots(path) & FORBIDDEN[package]
        found.extend(f"{path.relative_to(ROOT)} imports {b}" for b in sorted(bad))
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_downward(package: str) -> None:
    assert violations(package) == []


def test_the_checker_catches_an_upward_import(tmp_path: Path) -> None:
    bad = tmp_path / "x.py"
    bad.write_text("from aggregator.app import create_app\nimport agent.release\n")
    assert imported_roots(bad) == {"aggregator", "agent"}
