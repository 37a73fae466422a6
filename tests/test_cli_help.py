"""Every help text of ``publiek`` reads as written: typer renders it as Rich
markup, where a bracketed word (``[ingest]``, a TOML table) is a style tag and
silently vanishes unless escaped as ``\\[ingest]``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import typer
from rich.errors import MarkupError
from rich.markup import render
from typer.testing import CliRunner

from cli import app

runner = CliRunner()


def commands(command: Any, path: str) -> Iterator[tuple[str, Any]]:
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from commands(sub, f"{path} {name}")


HELP_TEXTS = [
    (f"{path} {where}", text)
    for path, command in commands(typer.main.get_command(app), "publiek")
    for where, text in [
        ("", command.help),
        *((param.name, getattr(param, "help", None)) for param in command.params),
    ]
    if text
]


def shown(text: str) -> str:
    """The text as Rich shows it (a text Rich cannot parse shows nothing)."""
    try:
        return render(text).plain
    except MarkupError:
        return ""


def test_no_help_text_loses_a_bracketed_word_to_rich_markup() -> None:
    assert len(HELP_TEXTS) > 100  # every command and option was found
    lost = [where for where, text in HELP_TEXTS if shown(text) != text.replace("\\[", "[")]
    assert lost == [], f"escape [ as \\[ in the help of: {lost}"


def test_ingest_help_names_the_agent_toml_table_of_max_rejected() -> None:
    result = runner.invoke(app, ["agent", "ingest", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "(default: [ingest] max_rejected in agent.toml" in result.output
