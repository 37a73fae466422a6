"""Differential privacy: contribution bounding, OpenDP measurements, accounting.

Imports ``protocol`` for message types only; never ``agent`` or
``aggregator``. Every noisy number is drawn by an OpenDP sampler and every
privacy cost is computed by an OpenDP privacy map.
"""
