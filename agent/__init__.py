"""The on-premise agent: ingest, tables, DP release, sealing and submission.

Imports ``protocol`` and ``dp``; never ``aggregator``."""
