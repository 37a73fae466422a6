"""``--write`` of the privacy pages' bench keeps its figures in a sub-section of
"Web pages", leaving the rest of that section (the sector page's) as it is."""

from pathlib import Path

from tests.file_modules import load_module

ROOT = Path(__file__).resolve().parents[2]
bench = load_module("bench_privacy_page_render", ROOT / "bench" / "privacy_page_render.py")
OURS = "### The privacy officer's pages\n\n"


def test_the_sub_section_is_appended_to_web_pages_then_replaced_in_place(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# B\n\n## Web pages\n\nsector\n\n## Later\n\nkept\n", encoding="utf-8")
    bench.write_subsection(doc, OURS + "first\n")
    assert doc.read_text(encoding="utf-8") == (
        "# B\n\n## Web pages\n\nsector\n\n" + OURS + "first\n\n## Later\n\nkept\n"
    )
    bench.write_subsection(doc, OURS + "second\n")
    assert doc.read_text(encoding="utf-8") == (
        "# B\n\n## Web pages\n\nsector\n\n" + OURS + "second\n\n## Later\n\nkept\n"
    )


def test_without_a_web_pages_section_both_are_appended(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# B\n", encoding="utf-8")
    bench.write_subsection(doc, OURS + "figures\n")
    assert doc.read_text(encoding="utf-8") == "# B\n\n## Web pages\n\n" + OURS + "figures\n"
