"""Python files that are not importable by package name, loaded by path.

The vector state builder (``tests/vectors/``) stands on its own so that a
second implementation can run it, and another folder's ``conftest.py`` is
not importable as a module; tests that reuse either load it from its file
under a name of their own.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def load_module(name: str, path: Path) -> ModuleType:
    """The module in ``path``, registered as ``name`` (dataclasses and pickling
    look their module up in ``sys.modules``)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
