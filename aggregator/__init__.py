"""The central aggregator: intake, storage, benchmarks, transparency log, dashboard.

Imports ``protocol`` and ``dp``; never ``agent``. It never holds personal
data: only public keys, sealed envelopes, DP tables and derived benchmarks.
"""
