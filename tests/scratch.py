"""Folders for module fixtures, removed when the fixture ends.

pytest keeps a module or session fixture's folder until the whole run ends,
and a demo run writes about 50 MB per institution (the segment-model release
and its verified cache in every workspace). Kept to the end, a full run held
some 4 GB at once, and a CI machine short of disk failed with "No space left on
device". A function's ``tmp_path`` is removed when its test passes
(``tmp_path_retention_policy = "failed"`` in pyproject.toml); the heavy module
fixtures take their folder from :func:`scratch` instead of
``tmp_path_factory.mktemp``. Set ``PUBLIEK_KEEP_TEST_FILES=1`` to keep them for
a look after the run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def scratch(factory: pytest.TempPathFactory, name: str) -> Iterator[Path]:
    """A new folder under the run's base folder, removed on leaving the block."""
    path = factory.mktemp(name)
    try:
        yield path
    finally:
        discard(path)


def discard(path: Path) -> None:
    """Remove ``path`` (for a fixture whose body is too long to wrap in :func:`scratch`)."""
    if os.environ.get("PUBLIEK_KEEP_TEST_FILES") != "1":
        shutil.rmtree(path, ignore_errors=True)
