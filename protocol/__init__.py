"""Wire protocol between agents and the aggregator.

This package holds the message types, their one canonical encoding, the
envelope cryptography, the error taxonomy and the one HTTP client that
speaks it (``protocol.client``). It imports nothing from
``dp``, ``agent`` or ``aggregator`` so that a second implementation (or an
auditor) can read the protocol without reading either side.
"""

PROTOCOL_VERSION = "publiek/1"
