"""``--write`` of the bench scripts: one section of docs/benchmarks.md replaced.

A section runs from its ``## `` heading (the first line of the new text) to
the next ``## `` heading or the end; a section not yet there is appended.
"""

from __future__ import annotations

import re
from pathlib import Path


def replace_section(path: Path, text: str) -> None:
    """Replace the section that ``text`` heads in ``path`` (or append it)."""
    heading = text.split("\n", 1)[0]
    if not heading.startswith("## "):
        raise ValueError("a section's text starts with its '## ' heading")
    current = path.read_text(encoding="utf-8")
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(current):
        updated = pattern.sub(lambda _: text + "\n", current, count=1)
    else:
        updated = current.rstrip("\n") + "\n\n" + text
    path.write_text(updated.rstrip("\n") + "\n", encoding="utf-8")
