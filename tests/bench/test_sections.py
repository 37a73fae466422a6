"""``--write`` of the bench scripts replaces its own section of docs/benchmarks.md."""

from pathlib import Path

import pytest

from tests.file_modules import load_module

ROOT = Path(__file__).resolve().parents[2]
sections = load_module("bench_sections", ROOT / "bench" / "sections.py")


def test_a_section_is_replaced_up_to_the_next_heading_and_a_new_one_appended(
    tmp_path: Path,
) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# B\n\n## One\n\nold\n\n## Two\n\nkept\n", encoding="utf-8")
    sections.replace_section(doc, "## One\n\nnew\n")
    assert doc.read_text(encoding="utf-8") == "# B\n\n## One\n\nnew\n\n## Two\n\nkept\n"
    sections.replace_section(doc, "## Three\n\nadded\n")
    assert doc.read_text(encoding="utf-8").endswith("## Two\n\nkept\n\n## Three\n\nadded\n")
    with pytest.raises(ValueError, match="heading"):
        sections.replace_section(doc, "no heading\n")
