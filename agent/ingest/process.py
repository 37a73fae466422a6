"""The ingest as a process of its own: its settings, then the run (:func:`ingest_files`).

What the ``publiek agent ingest`` command runs. Before polars is imported it
sets polars' allocator for the ingest and starts the first export's digest
on a thread (:func:`agent.ingest.file_scan.start`: one core is idle while
polars is imported); after the imports it freezes the imported objects out
of the cyclic collector's sight; then it runs the ingest
(:func:`agent.ingest.run.ingest_exports`). Nothing else in the agent tunes
its process: this module is where the ingest's process tuning lives (ADR 0011).
Standard library only at import: importing this module must not import polars.

**Allocator.** Polars allocates with jemalloc and sets it, at its import,
to hand freed memory back to the operating system within half a second to a second
(``dirty_decay_ms:500,muzzy_decay_ms:1000``): right for a long-running
process that should not hold on to memory. The ingest frees and allocates
columns of a million rows about every second, group after group, so with
that setting every group faults its memory in anew from the kernel: about a
million minor page faults and 3.5–4.5 CPU seconds of kernel time for a
ten-million-row export. Kept for five seconds, freed pages are reused by the
next groups instead (about 0.6 million faults, 2.0–2.5 s of kernel time, the
same peak RSS within the noise); ``muzzy_decay_ms:0`` returns pages for good
once they do go, so that they stop counting as resident (ADR 0011).

Polars reads ``_RJEM_MALLOC_CONF`` once, when it is imported, and appends it
to its own setting, so this must run before anything imports polars. An
operator's own ``_RJEM_MALLOC_CONF`` is left as it is; polars' own options,
which polars writes into the variable and so hands down to every child of a
process that imported it (the benchmark's, a test's), are not an operator's.

**Collector.** Python's cyclic garbage collector, left as it is, runs full
collections over every object of polars and pyarrow while the ingest creates a few objects per
engine batch (about 2 % of the pass's CPU in ``perf``); after the imports
those objects are frozen out of its sight (:func:`settle_garbage_collector`).
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from agent.ingest import file_scan

if TYPE_CHECKING:
    from agent.ingest.report import IngestReport

ENVIRONMENT = "_RJEM_MALLOC_CONF"
INGEST = "dirty_decay_ms:5000,muzzy_decay_ms:0"
# What polars (2.1) puts in the variable itself; see ``polars/__init__.py``.
POLARS_OWN = frozenset({"dirty_decay_ms:500", "muzzy_decay_ms:1000"})


def tune_for_ingest() -> bool:
    """Set the ingest's allocator options; False when it is too late (polars imported)
    or when an operator set options of their own."""
    if "polars" in sys.modules:
        return False
    inherited = os.environ.get(ENVIRONMENT, "")
    if set(filter(None, inherited.split(","))) - POLARS_OWN:
        return False
    os.environ[ENVIRONMENT] = INGEST
    return True


def settle_garbage_collector() -> None:
    """Freeze what was imported and built so far: later collections skip it."""
    gc.collect()
    gc.freeze()


def ingest_files(
    exports: Sequence[Path],
    mapping_file: Path,
    workspace_folder: Path,
    *,
    replace: bool = False,
    max_rejected: float | None = None,
) -> IngestReport:
    """Tune this process for the ingest, then ingest ``exports`` into the workspace.

    The settings take effect only in a process that has not imported polars
    yet; called in a process that has (a test calling the command in-process),
    it runs the same ingest with the process as it is."""
    fresh_process = tune_for_ingest()  # before polars is imported
    # The first export's digest is read while polars is imported (one core is idle then).
    early = {exports[0]: scan} if exports and (scan := file_scan.start(exports[0])) else {}

    from agent.ingest.mapping import Mapping
    from agent.ingest.run import ingest_exports
    from agent.workspace import Workspace

    if fresh_process:  # not when called in-process (tests): freezing there would pile up
        settle_garbage_collector()
    return ingest_exports(
        exports,
        Mapping.load(mapping_file),
        Workspace(workspace_folder),
        early_scans=early,
        replace=replace,
        max_rejected=max_rejected,
    )
