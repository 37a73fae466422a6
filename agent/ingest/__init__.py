"""Ingest: box-office exports in, canonical household visits out.

The entry points: :func:`agent.ingest.process.ingest_files` for a process
that ingests (it tunes the process first: allocator, early digest,
collector), and :func:`ingest_exports` (``run``) for the run itself. The
modules, in the order a row meets them:

``mapping`` reads the mapping file; ``file_scan`` digests an export and
checks its UTF-8; ``readers`` opens CSV / XLSX / Parquet as strings;
``dialect`` detects encoding, delimiter, decimal separator and date format;
``plan`` settles one export's read plan; ``rows`` is the per-row pass
(values, period, address hashes, reasons; ``reasons`` lists the codes);
``coded_values`` maps prices and genre labels once per distinct value
(``disciplines`` for the genres); ``stream`` runs the pass group by group
(``chunks`` keeps computed columns in the groups' chunks); ``address_book``
numbers, normalises and keys the distinct raw addresses (``address_index``
is its hash table, ``normalise`` the rules of the household key,
docs/architecture.md; ``keying`` with ``keying_process`` computes the HMACs
in a child process, ``household_keys`` turns their bytes into keys);
``outputs`` writes the visit parts and moves the outputs into place;
``ingested`` records which exports were ingested; ``report`` is what the
operator is told. ``suggest`` drafts a mapping from an export's headers.
See docs/adr/0004-ingest.md, 0009 and 0011.

The package imports nothing at import time: :mod:`agent.ingest.process` must
be importable before polars is, so ``ingest_exports`` and ``IngestReport``
are loaded from their modules on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.ingest.report import IngestReport
    from agent.ingest.run import ingest_exports

__all__ = ["IngestReport", "ingest_exports"]


def __getattr__(name: str) -> Any:
    if name == "ingest_exports":
        from agent.ingest.run import ingest_exports

        return ingest_exports
    if name == "IngestReport":
        from agent.ingest.report import IngestReport

        return IngestReport
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
