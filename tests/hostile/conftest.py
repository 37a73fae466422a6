"""Fixtures of the hostile-input suite (README.md): a permissive umask."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The common default umask (group and others may read new files), put back after."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)
