"""Memory settings of the ingest process: polars' allocator and Python's collector.

Polars allocates with jemalloc and sets it, at its import, to hand freed
memory back to the operating system within half a second to a second
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
Standard library only: importing this module must not import polars.

Python's cyclic garbage collector, left as it is, runs full collections over
every object of polars and pyarrow while the ingest creates a few objects per
engine batch (about 2 % of the pass's CPU in ``perf``); after the imports
those objects are frozen out of its sight (:func:`settle_garbage_collector`).
"""

from __future__ import annotations

import gc
import os
import sys

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
