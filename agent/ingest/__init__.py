"""Ingest: box-office exports in, canonical household visits out.

``ingest_exports`` is the entry point; ``mapping`` reads the mapping file,
``normalise`` holds the vectorised postcode / house-number / e-mail rules of
DESIGN "Household key", ``households`` derives the keyed household hashes.
"""

from agent.ingest.pipeline import IngestReport, ingest_exports

__all__ = ["IngestReport", "ingest_exports"]
