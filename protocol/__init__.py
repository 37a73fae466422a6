"""Wire protocol between agents and the aggregator.

This package holds the message types, their one canonical encoding, the
envelope cryptography and the error taxonomy. It imports nothing from
``dp``, ``agent`` or ``aggregator`` so that a second implementation (or an
auditor) can read the protocol without reading either side.
"""

PROTOCOL_VERSION = "publiek/1"
