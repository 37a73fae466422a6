"""The segment model a workspace releases with, and the warning while it is the demo.

`publiek agent segment-model install FILE` checks a model file
(:meth:`SegmentModel.load`: a version the release design knows, with exactly its
segments) and keeps a copy in the workspace. `agent submit` and `agent export`
release with that copy unless `--segment-model` names another file, and with the
synthetic demo model when neither is there. A real install must not publish
synthetic segments without knowing it, so `agent ingest` (the command cron runs
every day) and every release say so on stderr while the demo model is what the
workspace would release with.
"""

from __future__ import annotations

from pathlib import Path

from agent.segments import DEMO_VERSION, SegmentModel, is_demo, synthetic_demo_model
from agent.workspace import Workspace
from protocol.errors import UsageError
from protocol.state_files import write_private

INSTALLED_NAME = "segment-model.json"

NOT_INSTALLED = (
    "warning: no segment model installed in this workspace: its releases would use the "
    "synthetic demo segment model; install the published one with "
    "`publiek agent segment-model install FILE` (docs/segment-model.md)"
)
DEMO_INSTALLED = (
    "warning: the segment model installed in this workspace is the synthetic demo model "
    f"({DEMO_VERSION}): its segments describe no real neighbourhood (docs/segment-model.md)"
)


def installed_path(workspace: Workspace) -> Path:
    return workspace.root / INSTALLED_NAME


def install_model(workspace: Workspace, source: Path) -> SegmentModel:
    """Check ``source`` and keep its bytes, unchanged, as the workspace's model: the
    bytes checked are the bytes kept (read once)."""
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise UsageError(f"segment model {source} cannot be read", hint="check the path") from exc
    model = SegmentModel.parse(data, where=str(source))
    write_private(installed_path(workspace), data)
    return model


def model_for_release(workspace: Workspace, override: Path | None) -> SegmentModel:
    """``override`` if given, else the installed model, else the synthetic demo model."""
    if override is not None:
        return SegmentModel.load(override)
    if installed_path(workspace).exists():
        return SegmentModel.load(installed_path(workspace))
    return synthetic_demo_model()


def ingest_warning(workspace: Workspace) -> str | None:
    """The line `agent ingest` prints while the workspace would release demo segments."""
    if not installed_path(workspace).exists():
        return NOT_INSTALLED
    if is_demo(SegmentModel.load(installed_path(workspace))):
        return DEMO_INSTALLED
    return None
