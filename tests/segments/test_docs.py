"""docs/segment-model.md states the format as the code has it, and its worked example builds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from protocol.keys import SigningKey
from protocol.schema import Schema
from protocol.segment_release import DEMO_LABEL, SCHEMAS, verify_release
from segments.build import BuildInputs, build_release

DOC = (Path(__file__).resolve().parents[2] / "docs" / "segment-model.md").read_text(
    encoding="utf-8"
)


def table(schema: Schema) -> str:
    lines = ["| field | type | rule |", "|---|---|---|"]
    for name, json_type, rule in schema.rows():
        lines.append(f"| `{name}` | {json_type} | {rule.replace('|', chr(92) + '|')} |")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("schema", SCHEMAS, ids=[s.what for s in SCHEMAS])
def test_the_document_holds_each_schema_table(schema: Schema) -> None:
    assert table(schema) in DOC, f"docs/segment-model.md lacks or differs from:\n\n{table(schema)}"


def test_the_worked_example_builds_a_release_that_verifies(tmp_path: Path) -> None:
    blocks = re.findall(r"^`(\w+\.csv)`:.*?\n\n```csv\n(.*?)```", DOC, flags=re.DOTALL | re.M)
    assert [name for name, _ in blocks] == [
        "segments.csv", "municipalities.csv", "pc4.csv", "pc6.csv"
    ]  # fmt: skip
    for name, text in blocks:
        assert len(text.splitlines()) == 3, name  # a header and two rows
        (tmp_path / name).write_text(text, encoding="utf-8")
    key = SigningKey.generate()
    built = build_release(
        BuildInputs.in_folder(tmp_path), version="cbs-2026.1", created="2026-01-01", key=key
    )
    release = verify_release(built.data, model_key=key.public, where="example")
    assert release.segments == ("city-dwellers", "village-life")
    assert built.normalised == 0


def test_the_document_quotes_the_demo_label() -> None:
    assert DEMO_LABEL in DOC
