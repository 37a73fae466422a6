"""docs/architecture.md names every exit code ``cli/`` gives besides 0 and 1 (the
page is a bug where it and the code disagree)."""

from __future__ import annotations

import re
from pathlib import Path

from cli.custodian import SKIPPED_EXIT_CODE
from cli.errors import TOO_MANY_REJECTED

DOC = (Path(__file__).resolve().parents[1] / "docs" / "architecture.md").read_text(encoding="utf-8")


def test_the_cli_row_names_each_exit_code_and_its_constant() -> None:
    row = re.search(r"^\| `cli/` \|.*$", DOC, flags=re.MULTILINE)
    assert row is not None
    assert "exit code 2" in row.group(0)
    for code, constant in (
        (TOO_MANY_REJECTED, "TOO_MANY_REJECTED"),
        (SKIPPED_EXIT_CODE, "SKIPPED_EXIT_CODE"),
    ):
        assert f"exit code {code}" in row.group(0) and constant in row.group(0), constant
