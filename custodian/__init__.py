"""The taskforce's sector-key custodian (``publiek custodian``).

A separate role from the aggregator operator: it holds the custodian signing
key and each period's sector key, and talks to the aggregator only to learn
enrolled agents' public sealing keys and to upload sealed, signed sector
keys. It imports only ``protocol`` (see tests/test_layering.py).
"""
