"""Wire protocol between agents and the aggregator.

This package holds the message types, their one canonical encoding, the
envelope cryptography, the error taxonomy and the one HTTP client that
speaks it (``protocol.client``). It imports nothing from
``dp``, ``agent`` or ``aggregator`` so that a second implementation (or an
auditor) can read the protocol without reading either side.
"""

# publiek/4: the period config may fix a household sketch and a payload carries
# its released sketch and the named-overlaps consent (docs/adr/0036-*.md);
# publiek/3: the period config names its segment model release and a payload
# its catchment origin (docs/adr/0030-period-binds-the-segment-model.md);
# publiek/2: RFC 8785 (JCS) canonical JSON; publiek/1 was Python's sorted-key
# json.dumps, whose numbers differ (docs/adr/0014-rfc8785-canonical-json.md).
PROTOCOL_VERSION = "publiek/4"
# Versions an agent may still find in its own records from before an upgrade
# (its release ledger). Nothing in them is accepted on the wire.
EARLIER_VERSIONS = ("publiek/1", "publiek/2", "publiek/3")
