"""The demo: a synthetic sector run through the real system end to end.

Like ``cli/`` this package is a composition root: it is allowed to know both
the agent and the aggregator, and nothing imports it.
"""
