"""Ingest: box-office exports in, canonical household visits out.

``ingest_exports`` (``pipeline``) is the entry point; ``mapping`` reads the
mapping file, ``readers`` opens CSV / XLSX / Parquet as strings, ``dialect``
detects encoding, delimiter, decimal separator and date format, ``normalise``
holds the vectorised postcode / house-number / e-mail and value rules of
the household key (docs/architecture.md), ``households`` derives the keyed household hashes,
``address_index`` numbers the distinct raw addresses across row groups,
``keying`` (with ``keying_process``) computes the HMACs in a child process,
``reasons`` lists the reject codes, ``suggest`` drafts a mapping from headers.
See docs/adr/0004-ingest.md and docs/adr/0009-stored-visits-household-numbers.md.
"""

from agent.ingest.pipeline import IngestReport, ingest_exports

__all__ = ["IngestReport", "ingest_exports"]
