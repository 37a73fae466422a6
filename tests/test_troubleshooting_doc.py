"""docs/troubleshooting.md has a row for every message an operator can meet that
the code names: each ingest reason, each problem type (with its HTTP status),
each database cause, each exit code other than 2 and the agent's messages that
are neither; and no row for one that no longer exists. A new reason or problem
type fails here until it is documented; the message prints the row to fill in."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from types import ModuleType

import pytest

import agent.ingest.run
import agent.pinned_keys
import agent.sector_keys
import agent.segment_install
import agent.workspace
import cli.agent
from agent.ingest.reasons import REASONS
from agent.segment_install import DEMO_INSTALLED, NOT_INSTALLED, SYNTHETIC_INSTALLED
from agent.segments import DEMO_WARNING, SYNTHETIC_WARNING
from aggregator.database_url import CAUSES
from cli.custodian import SKIPPED_EXIT_CODE
from cli.errors import TOO_MANY_REJECTED
from protocol.errors import ALL_ERRORS

DOC = (Path(__file__).resolve().parents[1] / "docs" / "troubleshooting.md").read_text(
    encoding="utf-8"
)


def section(title: str) -> str:
    """The text of the ``## title`` section, up to the next one."""
    start = DOC.index(f"\n## {title}\n")
    end = DOC.find("\n## ", start + 1)
    return DOC[start : end if end != -1 else len(DOC)]


def first_cells(title: str) -> set[str]:
    """The code-quoted first cell of every table row of a section."""
    return set(re.findall(r"^\| `([^`]+)` \|", section(title), flags=re.MULTILINE))


@pytest.mark.parametrize("reason", sorted(REASONS))
def test_every_ingest_reason_has_its_cause_and_next_step(reason: str) -> None:
    row = f"| `{reason}` | {REASONS[reason]} | "
    assert row in section("Ingest reasons"), f"docs/troubleshooting.md lacks:\n{row}NEXT STEP |"


@pytest.mark.parametrize("error", ALL_ERRORS, ids=[e.slug for e in ALL_ERRORS])
def test_every_problem_type_has_its_cause_and_next_step(error: type) -> None:
    row = f"| `{error.slug}` | {error.status} | "  # type: ignore[attr-defined]
    assert row in section("Problem types"), (
        f"docs/troubleshooting.md lacks:\n{row}CAUSE ({error.title}) | NEXT STEP |"  # type: ignore[attr-defined]
    )


def test_no_row_names_a_reason_or_problem_type_the_code_no_longer_has() -> None:
    assert first_cells("Ingest reasons") == set(REASONS)
    assert first_cells("Problem types") == {e.slug for e in ALL_ERRORS}


def test_every_database_cause_is_explained() -> None:
    for _fragments, what, _hint in CAUSES:
        assert f"| `{what}` |" in section("The aggregator's database"), what


def test_every_exit_code_is_explained() -> None:
    codes = set(re.findall(r"^\| (\d+) \|", section("Exit codes"), flags=re.MULTILINE))
    assert codes >= {"0", "1", "2", str(SKIPPED_EXIT_CODE), str(TOO_MANY_REJECTED)}
    three = re.search(r"^\| 3 \|.*$", section("Exit codes"), flags=re.MULTILINE)
    assert three is not None and "held back" in three.group(0) and "distribute" in three.group(0)


# The agent's lines that an f-string writes: a fragment that stays the same
# whatever the line names, and the module that writes it.
AGENT_LINES: list[tuple[str, ModuleType]] = [
    ("is not an agent workspace (no agent.db or agent.toml there)", agent.workspace),
    ("is not an enrolled agent workspace (no agent.toml)", agent.workspace),
    ("no sector key for ", agent.workspace),
    (" in this workspace: an export with visits ", agent.workspace),
    ("no custodian key is pinned in this workspace", agent.sector_keys),
    ("no segment model key is pinned in this workspace", agent.segment_install),
    (") is already pinned", agent.pinned_keys),
    ("warning: the installed segment model does not verify: ", agent.segment_install),
    ("were already keyed with another sector key; ", agent.sector_keys),
    ("cannot replace it, its visits of ", agent.ingest.run),
    ("released already (", agent.ingest.run),
    ("visits have the same household, date and event as ", cli.agent),
]


@pytest.mark.parametrize("fragment, module", AGENT_LINES, ids=[f for f, _ in AGENT_LINES])
def test_every_agent_line_written_by_an_f_string_has_its_row(
    fragment: str, module: ModuleType
) -> None:
    assert fragment in inspect.getsource(module), (
        f"{module.__name__} no longer writes {fragment!r}: update its row and this list"
    )
    assert fragment in section("Agent messages"), f"docs/troubleshooting.md lacks {fragment!r}"


@pytest.mark.parametrize(
    "warning",
    [
        NOT_INSTALLED, DEMO_INSTALLED, DEMO_WARNING,
        SYNTHETIC_INSTALLED.format(version="synthetic-2026.1"),
        SYNTHETIC_WARNING.format(version="synthetic-2026.1"),
    ],
    ids=["none", "demo", "release", "synthetic-installed", "synthetic-release"],
)  # fmt: skip
def test_every_segment_model_warning_has_its_row(warning: str) -> None:
    # The row quotes the warning up to its second clause, "warning: WHAT: ...".
    head = ": ".join(warning.split(": ")[:2])
    assert f"| `{head}: ...` |" in section("Agent messages"), (
        f"docs/troubleshooting.md lacks:\n| `{head}: ...` | CAUSE | NEXT STEP |"
    )
