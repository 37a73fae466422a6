"""docs/protocol.md states every wire schema exactly as the code declares it.

The tables in the document are the ones :meth:`protocol.schema.Schema.rows`
gives; when a rule changes, this test fails and prints the table to paste.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from protocol.messages import SCHEMAS
from protocol.schema import Schema
from protocol.sector_keys import SealedSectorKey

DOC = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text(encoding="utf-8")
ALL = (*SCHEMAS, SealedSectorKey.SCHEMA)


def table(schema: Schema) -> str:
    """The Markdown table of ``schema`` (``|`` escaped inside cells)."""
    lines = ["| field | type | rule |", "|---|---|---|"]
    for name, json_type, rule in schema.rows():
        lines.append(f"| `{name}` | {json_type} | {rule.replace('|', chr(92) + '|')} |")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("schema", ALL, ids=[f"{s.what}" for s in ALL])
def test_the_protocol_document_holds_the_schema_table(schema: Schema) -> None:
    assert table(schema) in DOC, f"docs/protocol.md lacks or differs from:\n\n{table(schema)}"


def test_every_field_has_a_rule_that_never_quotes_a_value() -> None:
    for schema in ALL:
        for name, json_type, rule in schema.rows():
            plain = json_type.removesuffix(" or null")
            assert plain in {"string", "integer", "number", "boolean", "array", "object"}, name
            assert rule, name
