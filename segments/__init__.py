"""Segment model releases for the model owner and the taskforce (``publiek segments``).

A model owner (a statistics office's PC4/PC6 tables, or a licensed commercial
model) turns four CSV files into one signed release file (``build``); the
taskforce signs with its model key, whose fingerprint agents and the
aggregator pin. ``synthetic`` is the openly generated release the demo and
the tests use. The format, its checks and its verification are in
``protocol.segment_release``, which the agent and the aggregator import; this
package imports only ``protocol`` and ``dp`` (tests/test_layering.py), like
the custodian it is a taskforce tool, not part of an institution's agent.

Modules: ``build`` (CSV inputs → release), ``synthetic`` (the synthetic
release and its public demo key), ``describe`` (what ``show`` prints).
"""
